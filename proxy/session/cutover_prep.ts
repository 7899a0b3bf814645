/**
 * What one held session prepares on the other database while a consistent
 * cutover drains, so that the fleet commits only once every session is known
 * to be able to follow, and a commit only swaps connections for the sessions
 * that have a client waiting:
 *
 * - an idle session joins the login proof of its credential
 *   ({@linkcode ./login_proofs.ts}) and opens its connection after the commit;
 * - a session with a request waiting, or whose wire shares no proofs, opens
 *   and prepares its own *standby* connection there, ahead of idle ones
 *   (`open_queue.ts`). Nothing it replays can change while it is held.
 *
 * A refused login (no credential there, or the credential refused) is the
 * session's refusal: it blocks the drain, with the reason. The session core
 * ({@linkcode ./core.ts}) decides when to prepare, take or drop.
 *
 * @module
 */

import { type DatabaseSide, otherSide } from "../../shared/control.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { Route } from "../router.ts";
import type { SessionContext } from "./context.ts";
import { type LoginProof, type Settlement, watchLogin } from "./login_proofs.ts";
import { openQueue, type QueuedOpen } from "./open_queue.ts";
import type { SessionWire } from "./wire.ts";

/** A connection to the other database prepared while a consistent cutover holds a session. */
interface Standby<B> {
  side: DatabaseSide;
  /** Its place in the process's open queue. */
  open: QueuedOpen<B>;
  ready: Promise<B | undefined>;
  /** Whether the drain may stop waiting for it. */
  watch: Settlement;
}

/**
 * One session's preparation; see the module documentation.
 *
 * @typeParam B the wire's prepared backend connection (see {@linkcode SessionWire})
 */
export class CutoverPrep<B> {
  readonly #ctx: SessionContext;
  readonly #wire: SessionWire<B>;
  readonly #log: () => Logger;
  #standby: Standby<B> | undefined;
  #proof: LoginProof | undefined;
  /** Why the standby could not be opened: the session cannot run as its own user there. */
  #refused: string | undefined;

  /**
   * @param ctx what the proxy's sessions share
   * @param wire the session's wire, which opens the connections
   * @param log the session's logger (made on first use)
   */
  constructor(ctx: SessionContext, wire: SessionWire<B>, log: () => Logger) {
    this.#ctx = ctx;
    this.#wire = wire;
    this.#log = log;
  }

  /** Why the session cannot log in on the other database, or undefined. */
  get refusal(): string | undefined {
    return this.#refused ?? this.#proof?.refusal;
  }

  /**
   * Whether the session's login there is known (or the wait passed). Once a
   * shared proof did that, a standby opened later for a request only speeds
   * up the commit: a drained proxy must not become undrained by it.
   */
  get proven(): boolean {
    const watch = this.#proof ? this.#proof.watch : this.#standby?.watch;
    return watch === undefined || watch.settled || watch.waitedOut;
  }

  /**
   * Prepares the held, quiescent session on `route`'s other database: its
   * own standby when `waiting` (a request is held) or its wire shares no
   * proofs, else the proof of its credential. Once per pause.
   */
  prepare(route: Route, waiting: boolean): void {
    if (this.#standby || this.#proof || this.#wire.blockingReason !== undefined) return;
    const key = waiting ? undefined : this.#wire.loginKey?.();
    if (key === undefined) return this.prepareStandby(route, waiting);
    const side = otherSide(route.side);
    const spec = this.#ctx.router.spec(side);
    if (!spec) return;
    const gate = this.#ctx.gate;
    this.#proof = this.#ctx.proofs.proof(
      `${gate.cutoverId}\u0000${gate.pausedAt}`,
      `${side}\u0000${key}`,
      async () => {
        const b = await openQueue.open(() => this.#wire.openBackend(side, spec), true).result;
        if (b !== undefined) this.#wire.discardBackend(b);
      },
      (err) => this.#ctx.identity.refused(err, side, "move"),
    );
  }

  /**
   * Opens and prepares the session's own connection on `route`'s other
   * database, `urgent` when a request is held; hurries the one already
   * opening instead.
   */
  prepareStandby(route: Route, urgent: boolean): void {
    if (this.#standby) {
      if (urgent) this.#standby.open.hurry();
      return;
    }
    // A pinned session stays where it is: nothing to prepare.
    if (this.#wire.blockingReason !== undefined) return;
    const side = otherSide(route.side);
    const spec = this.#ctx.router.spec(side);
    if (!spec) return;
    const open = openQueue.open(() => this.#wire.openBackend(side, spec), urgent);
    const ready = open.result.then((b): B | undefined => b, (err) => {
      this.#refused = this.#ctx.identity.refused(err, side, "move");
      this.#log().debug("could not prepare a connection for the cutover", {
        side,
        error: errorMessage(err),
      });
      return undefined;
    });
    this.#standby = { side, open, ready, watch: watchLogin(ready, () => this.#ctx.gate.notify()) };
  }

  /** Hurries the standby's open: a request is held now. */
  hurry(): void {
    this.#standby?.open.hurry();
  }

  /**
   * For a move to `side`: the prepared connection there (undefined when it
   * could not be opened), or undefined when none was prepared. Forgets the
   * proof either way: it belonged to the pause that is over.
   */
  take(side: DatabaseSide): Promise<B | undefined> | undefined {
    this.#proof = undefined;
    const standby = this.#standby?.side === side ? this.#standby : undefined;
    if (!standby) return undefined;
    this.#standby = undefined;
    return standby.ready;
  }

  /** Forgets everything prepared for a cutover that did not happen; closes the standby. */
  drop(): void {
    const standby = this.#standby;
    this.#refused = undefined;
    this.#proof = undefined;
    if (!standby) return;
    this.#standby = undefined;
    standby.open.cancel();
    standby.ready.then((b) => {
      if (b !== undefined) this.#wire.discardBackend(b);
    });
  }
}
