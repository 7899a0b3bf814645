/**
 * The session core: what one client session does between its wire and the
 * rest of the proxy, whatever protocol the client speaks.
 *
 * - It is **idle**, **active** or **in transaction** as its wire reports,
 *   **held** while the pause gate keeps its work back, and **moving** while
 *   it changes databases.
 * - While the gate is closed, a quiescent session holds its next request
 *   (its bytes are kept, not failed); a session in a transaction or request
 *   runs on until it is quiescent. A held session with a request waiting
 *   prepares its connection on the other database meanwhile, so a commit
 *   only swaps connections; an idle one only has its login proven, once per
 *   credential ({@linkcode ./login_proofs.ts}), and opens after the commit.
 * - When the router names a newer epoch on another database, the session
 *   moves there at its next quiescent point: a transaction never spans two
 *   databases. Held work is released once the session may run it.
 * - It reports every drain-relevant change to the gate, registers itself for
 *   listings and cancels, and pairs with its shadow as the shadow mode says.
 * - It runs everywhere as the user its client authenticated as: a session
 *   the wire cannot log in as that user on the other database is not moved
 *   (it blocks the drain, or is told to reconnect) and gets no shadow
 *   ({@linkcode ./identity_context.ts}).
 *
 * The wire it drives is described in {@linkcode ./wire.ts}.
 *
 * @module
 */

import { type ConnectionState, type DatabaseSide, otherSide } from "../../shared/control.ts";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { Route } from "../router.ts";
import type { CancelKey } from "./cancel_registry.ts";
import type { SessionContext } from "./context.ts";
import { reconnectFailure } from "./identity_context.ts";
import { CutoverPrep } from "./cutover_prep.ts";
import { isAuthFailure } from "./limits.ts";
import { openQueue, type QueuedOpen } from "./open_queue.ts";
import type { ClientSession } from "./session.ts";
import type { SessionWire } from "./wire.ts";

let nextSessionId = 0;

/**
 * One client session; see the module documentation.
 *
 * @typeParam B the wire's prepared backend connection (see {@linkcode SessionWire})
 */
export class SessionCore<B> implements ClientSession {
  /** Proxy-local id, for logs and `connections list`. */
  readonly id: string = `s${++nextSessionId}`;
  /** Client address as `host:port`. */
  readonly clientAddress: string;
  /** When the client connected (epoch ms). */
  readonly connectedAt: number = Date.now();
  #log: Logger | undefined;
  /** The wire this session speaks. */
  readonly wire: SessionWire<B>;

  readonly #ctx: SessionContext;
  #route: Route | undefined;
  #processId = 0;
  #relaying = false;
  #closed = false;
  #moving = false;
  #waitingAtGate = false;
  /** Client chunks held back by the gate or a move, oldest first, not yet processed. */
  #held: Uint8Array[] = [];
  /** Bytes in `#held`, against `LMS_MAX_HELD_BYTES`. */
  #heldBytes = 0;
  /** Whether this session counts against `LMS_MAX_HELD_CLIENTS`. */
  #holdsSlot = false;
  /** What the session prepares on the other database while a consistent cutover holds it. */
  readonly #prep: CutoverPrep<B>;
  /** The open a move waits for its turn in the open queue (no standby was ready). */
  #moveOpen: QueuedOpen<B> | undefined;
  /**
   * A move waits for its connection to be opened: the client may still be
   * read, so that a request it sends meanwhile hurries the open.
   */
  #awaitingOpen = false;

  /**
   * @param ctx what all sessions share
   * @param clientAddress the client's `host:port`
   * @param wire builds the wire for this session
   */
  constructor(
    ctx: SessionContext,
    clientAddress: string,
    wire: (core: SessionCore<B>) => SessionWire<B>,
  ) {
    this.#ctx = ctx;
    this.clientAddress = clientAddress;
    this.wire = wire(this);
    this.#prep = new CutoverPrep(ctx, this.wire, () => this.log);
  }

  /** Logger naming this session and its client; made on first use, as most sessions never log. */
  get log(): Logger {
    return this.#log ??= this.#ctx.log.child({ session: this.id, client: this.clientAddress });
  }

  /** The database this session talks to now; undefined before {@linkcode admit}. */
  get route(): Route | undefined {
    return this.#route;
  }

  /** @inheritdoc */
  get side(): DatabaseSide | undefined {
    return this.#route?.side;
  }

  /** @inheritdoc */
  get user(): string {
    return this.wire.facts?.user ?? "";
  }

  /** @inheritdoc */
  get database(): string {
    return this.wire.facts?.database ?? "";
  }

  /** @inheritdoc */
  get lastQuery(): string {
    return this.wire.facts?.lastQuery ?? "";
  }

  /** @inheritdoc */
  get lastQueryAt(): number {
    return this.wire.facts?.lastQueryAt ?? 0;
  }

  /** @inheritdoc */
  get txStartedAt(): number {
    return this.wire.facts?.txStartedAt ?? 0;
  }

  /** @inheritdoc */
  get blockingReason(): string | undefined {
    return this.wire.blockingReason ?? this.#prep.refusal;
  }

  /** @inheritdoc */
  get connectionState(): ConnectionState {
    return this.held ? "held" : this.wire.activity();
  }

  /** @inheritdoc */
  get drained(): boolean {
    if (this.#waitingAtGate) return true;
    // A held session is drained once its login on the other database is
    // proven (or the wait passed), so that a session that cannot log in
    // there blocks the drain, with the reason, before a commit.
    return this.#relaying && this.wire.quiescent() && !this.#moving &&
      this.blockingReason === undefined && this.#prep.proven;
  }

  /** @inheritdoc */
  get held(): boolean {
    return this.#waitingAtGate || this.#held.length > 0;
  }

  /**
   * Whether the wire must not read from its client now: work is held, or the
   * session is swapping connections. While a move waits for its connection
   * to open, the client is read up to its first request (which is held).
   */
  get readsHeld(): boolean {
    return this.#held.length > 0 || (this.#moving && !this.#awaitingOpen);
  }

  /** Whether the session has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Serves the session to its end; never throws. */
  async run(): Promise<void> {
    this.#ctx.sessions.add(this);
    this.#ctx.metrics.connectionsOpen.inc();
    try {
      this.#ctx.metrics.connectionsTotal.inc({ outcome: await this.wire.start() });
    } catch (err) {
      this.#ctx.metrics.connectionsTotal.inc({ outcome: "rejected" });
      if (isAuthFailure(err)) this.#ctx.limits.recordAuthFailure(this.clientAddress);
      if (!this.#closed) this.wire.refuse(err);
    }
  }

  /**
   * For the wire's handshake, before it reaches any database: waits while
   * the gate is closed (the session counts as held and drained meanwhile),
   * then returns the route to the source of truth in force.
   */
  async admit(): Promise<Route> {
    const gate = this.#ctx.gate;
    this.#ctx.limits.admit(this.clientAddress, this.#ctx.sessions.size);
    if (gate.paused) {
      if (!this.#takeSlot()) throw this.#ctx.limits.heldClientsError();
      this.#waitingAtGate = true;
      gate.notify();
      await gate.wait();
      this.#waitingAtGate = false;
      this.#giveSlot();
    }
    this.#route = this.#ctx.router.current();
    return this.#route;
  }

  /** For the wire's handshake: mints the cancel key (or connection id) to hand the client. */
  mintCancelKey(): CancelKey {
    const key = this.#ctx.cancels.register(this);
    this.#processId = key.processId;
    return key;
  }

  /**
   * Opens the shadow connection to the other database, as the shadow mode
   * says: `async` does not wait for it; `sync` waits but goes on without a
   * shadow; `strict-sync` refuses to go on without one.
   *
   * @throws {LmsError} `BACKEND_UNAVAILABLE` in `strict-sync` when the shadow cannot be opened
   */
  async pairShadow(): Promise<void> {
    const shadow = this.#ctx.shadow;
    if (!shadow || !this.#route) return;
    const side = otherSide(this.#route.side);
    const spec = this.#ctx.router.spec(side);
    if (!spec) return;
    const opening = this.wire.openShadow(side, spec);
    if (!opening) return;
    if (shadow.mode === "async") {
      opening.catch((err) => this.#ctx.identity.refused(err, side, "shadow"));
      return;
    }
    try {
      await opening;
    } catch (err) {
      this.#ctx.identity.refused(err, side, "shadow");
      if (shadow.mode === "strict-sync") {
        throw new LmsError(
          "BACKEND_UNAVAILABLE",
          `strict-sync shadowing needs the ${side} database: ${errorMessage(err)}`,
          "bring the other database back, or use shadow mode sync or async",
        );
      }
    }
  }

  /**
   * The wire's handshake is done and it starts relaying: from now on the
   * session can be drained, held and moved. The wire calls
   * {@linkcode checkpoint} next if the session is already quiescent.
   */
  relaying(): void {
    this.#relaying = true;
  }

  /**
   * Hot path, for every client chunk: keeps it (and returns true) when the
   * session must not run new work now — other work is held already, the
   * session is moving, or the gate is closed and this chunk would start a
   * new request.
   */
  holds(chunk: Uint8Array): boolean {
    if (this.#held.length > 0 || this.#moving || (this.#ctx.gate.paused && this.wire.quiescent())) {
      const first = this.#held.length === 0;
      if (first && !this.#takeSlot()) return this.#overLimit(this.#ctx.limits.heldClientsError());
      this.#heldBytes += chunk.length;
      if (this.#heldBytes > this.#ctx.limits.maxHeldBytes) {
        return this.#overLimit(this.#ctx.limits.heldBytesError());
      }
      this.#held.push(chunk);
      this.wire.clientFlowChanged();
      if (first) {
        // The client waits now: its connection on the other side is opened ahead of idle ones'.
        const route = this.#route;
        if (route && this.#ctx.gate.paused && !this.#moving) this.#prep.prepareStandby(route, true);
        else this.#prep.hurry();
        this.#moveOpen?.hurry();
        this.#ctx.gate.notify();
      }
      return true;
    }
    return false;
  }

  /** Ends this session only, with `err`; the chunk that crossed the limit is dropped. */
  #overLimit(err: LmsError): true {
    this.log.warn("session ended: over a hold limit", { error: err });
    this.wire.fail({ kind: "limit-exceeded", message: `LMS: ${err.message}`, hint: err.hint });
    return true;
  }

  /** Counts this session as held, once; false when the proxy holds as many as it may. */
  #takeSlot(): boolean {
    if (this.#holdsSlot) return true;
    if (!this.#ctx.limits.tryHold()) return false;
    this.#holdsSlot = true;
    return true;
  }

  #giveSlot(): void {
    if (!this.#holdsSlot) return;
    this.#holdsSlot = false;
    this.#ctx.limits.unhold();
  }

  /** @inheritdoc */
  reconsider(): void {
    if (this.#relaying) this.checkpoint();
  }

  /**
   * Called by the wire whenever the session may have become quiescent (a
   * request ended, answers held for the shadow were released), and by
   * {@linkcode reconsider}: moves a quiescent session to a newer source of
   * truth, releases held work when it may run, and reports drain progress.
   */
  checkpoint(): void {
    if (this.#closed) return;
    const gate = this.#ctx.gate;
    if (this.#moving) {
      // A move still waiting for its turn holds no work: a new pause takes it back, so the
      // session waits the pause out where it is, as an idle one, instead of keeping the
      // drain waiting for opens the commit may make pointless.
      if (gate.paused) this.#moveOpen?.cancel();
      return;
    }
    if (gate.paused) {
      if (this.#held.length > 0 && !this.wire.quiescent()) this.#release();
      else {
        if (this.#route && this.wire.quiescent()) {
          this.#prep.prepare(this.#route, this.#held.length > 0);
        }
        gate.notify();
      }
      return;
    }
    const latest = this.#ctx.router.current();
    const route = this.#route;
    if (
      route && latest.epoch > route.epoch && this.wire.quiescent() &&
      this.wire.blockingReason === undefined
    ) {
      if (latest.side === route.side) this.#route = latest;
      else {
        this.#moveTo(latest);
        return;
      }
    }
    this.#prep.drop();
    if (this.#held.length > 0) this.#release();
  }

  /** Hands held chunks back to the wire, in order, until something must hold again. */
  #release(): void {
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    this.wire.clientFlowChanged();
    for (let i = 0; i < held.length; i++) {
      if (this.#closed) return;
      if (
        this.#moving || this.#held.length > 0 || (this.#ctx.gate.paused && this.wire.quiescent())
      ) {
        for (let j = i; j < held.length; j++) this.#heldBytes += held[j].length;
        this.#held.push(...held.slice(i));
        this.wire.clientFlowChanged();
        return;
      }
      this.wire.deliverHeld(held[i]);
    }
    if (this.#held.length === 0) this.#giveSlot();
  }

  /** Moves the (quiescent) session to `route`, then lets it go on there. */
  async #moveTo(route: Route): Promise<void> {
    this.#moving = true;
    this.wire.clientFlowChanged();
    const from = this.#route!;
    const started = performance.now();
    try {
      const backend = await this.#connectionFor(route);
      if (this.#closed) {
        if (backend !== undefined) this.wire.discardBackend(backend);
        return;
      }
      // Undefined: a new pause took the open back before it started (see checkpoint).
      if (backend !== undefined) {
        this.#route = route;
        this.wire.swapBackend(backend);
        this.wire.closeShadow();
        await this.pairShadow();
        this.#ctx.metrics.sessionMoves.inc({ to: route.side, outcome: "ok" });
        this.log.info("session moved", {
          from: from.side,
          to: route.side,
          epoch: route.epoch,
          ms: Math.round(performance.now() - started),
        });
      }
    } catch (err) {
      this.#ctx.metrics.sessionMoves.inc({ to: route.side, outcome: "failed" });
      this.log.error("could not move session", { to: route.side, error: errorMessage(err) });
      this.#moving = false;
      const refused = this.#ctx.identity.refused(err, route.side, "move");
      this.wire.fail(
        refused !== undefined ? reconnectFailure(route.side, refused) : {
          kind: "backend-unavailable",
          message: `LMS could not move this session to the ${route.side} database: ${
            errorMessage(err)
          }`,
          hint: "reconnect",
        },
      );
      return;
    }
    this.#moving = false;
    this.wire.clientFlowChanged();
    this.checkpoint();
  }

  /**
   * The connection a move to `route` swaps in: the standby when one was
   * prepared there, else one opened in its turn (see `open_queue.ts`).
   * Meanwhile the client is read, so that a request hurries the open.
   * Undefined when the session closed before its open started.
   */
  async #connectionFor(route: Route): Promise<B | undefined> {
    this.#awaitingOpen = true;
    this.wire.clientFlowChanged();
    try {
      const standby = this.#prep.take(route.side);
      const prepared = standby ? await standby : undefined;
      if (prepared !== undefined || this.#closed) return prepared;
      const open = openQueue.open(
        () => this.wire.openBackend(route.side, route.spec),
        this.#held.length > 0,
      );
      this.#moveOpen = open;
      return await open.result;
    } finally {
      this.#moveOpen = undefined;
      this.#awaitingOpen = false;
      this.wire.clientFlowChanged();
    }
  }

  /** @inheritdoc */
  cancel(): Promise<void> {
    return this.wire.cancelRunning();
  }

  /** @inheritdoc */
  terminate(reason: string): void {
    this.wire.fail({ kind: "admin-shutdown", message: `LMS: ${reason}` });
  }

  /** @inheritdoc */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#giveSlot();
    this.#prep.drop();
    this.#moveOpen?.cancel();
    this.#ctx.sessions.delete(this);
    this.#ctx.metrics.connectionsOpen.dec();
    if (this.#processId) this.#ctx.cancels.unregister(this.#processId);
    this.wire.closeConnections();
  }
}
