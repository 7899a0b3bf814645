/**
 * One client session of the PostgreSQL proxy, from the first packet to the
 * last: startup and TLS, authentication relayed to the source of truth, then
 * the steady state, where chunks are forwarded as they arrive while a scanner
 * reads just enough of them to keep the session's state.
 *
 * @module
 */

import type net from "node:net";
import type { Duplex } from "node:stream";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { ConnectionState, DatabaseSide } from "../../shared/control.ts";
import type { ProxyMetrics } from "../metrics.ts";
import type { Route, Router } from "../router.ts";
import { connectBackend } from "./backend.ts";
import { BackendRejectedError, relayAuthentication } from "./auth.ts";
import { type CancelRegistry, sendCancelRequest } from "./cancel.ts";
import { FrameScanner, FramingError, typeSet } from "./framing.ts";
import { cstring, type ErrorFields, errorResponse, message, query, TERMINATE } from "./messages.ts";
import { SocketReader } from "./reader.ts";
import { SessionState } from "./session_state.ts";
import { openReplayedBackend, type ReplayedBackend } from "./replay.ts";
import type { Gate } from "../gate.ts";
import { type ShadowContext, ShadowLink } from "../shadow/link.ts";
import { HeldAnswers } from "../shadow/answers.ts";
import { ResultCollector } from "../shadow/collector.ts";
import { decodeStartupPacket, encodeStartupMessage } from "./startup.ts";
import { ClientCertificateRejected, type ClientTlsUpgrader } from "./tls.ts";

/** Message types a client may send after startup (protocol 3.0). */
const FRONTEND_ALLOWED = typeSet("BCdcfDEHFPpQSX");
/** Largest message accepted from a database: PostgreSQL's own 1 GiB limit. */
const BACKEND_MAX_MESSAGE = 1 << 30;
/** Frontend types the session reads: the state tracker's, plus batch and COPY boundaries. */
const FRONTEND_SCANNED = typeSet("QPCSFBXEDHcf");
/** Backend types the session reads: the state tracker's, plus COPY-in starts. */
const BACKEND_SCANNED = typeSet("ZSE13CGW");
const CHAR_X = 0x58, CHAR_c = 0x63, CHAR_f = 0x66, CHAR_S = 0x53, CHAR_P = 0x50, CHAR_B = 0x42;
const CHAR_E = 0x45, CHAR_D = 0x44, CHAR_C = 0x43, CHAR_H = 0x48, CHAR_G = 0x47, CHAR_W = 0x57;
const CHAR_Z = 0x5a, CHAR_Q = 0x51, CHAR_F = 0x46;
/** With shadowing, the result collector reads more message types on both sides. */
const FRONTEND_SCANNED_SHADOWING = typeSet("QPCSFBXEDHcf" + ResultCollector.FRONTEND_TYPES);
const BACKEND_SCANNED_SHADOWING = typeSet("ZSE13CGW" + ResultCollector.BACKEND_TYPES);

/** What every session of one proxy shares. */
export interface SessionContext {
  /** Largest accepted client message, in bytes. */
  maxMessageSize: number;
  /** Present when the listener offers TLS (`SSL_CERT`/`SSL_KEY`). */
  tls: ClientTlsUpgrader | undefined;
  /** Decides the source of truth. */
  router: Router;
  /** Cancel keys handed to clients. */
  cancels: CancelRegistry;
  /** Metrics to update. */
  metrics: ProxyMetrics;
  /** Logger for session events. */
  log: Logger;
  /** Live sessions, for listing and shutdown. */
  sessions: Set<PgSession>;
  /** The consistent-cutover pause gate. */
  gate: Gate;
  /**
   * Passes a CancelRequest whose key this proxy did not hand out to the proxy
   * that did (over the control channel); false when that is not possible.
   */
  forwardCancel: (processId: number, secretKey: number) => boolean;
  /** Shadowing settings; undefined when the shadow mode is `none`. */
  shadow: ShadowContext | undefined;
}

let nextSessionId = 0;

/** A client session; see the module documentation. */
export class PgSession {
  /** Proxy-local id, for logs and `connections list`. */
  readonly id: string = `s${++nextSessionId}`;
  /** Client address as `host:port`. */
  readonly clientAddress: string;
  /** When the client connected (epoch ms). */
  readonly connectedAt: number = Date.now();
  /** State tracker; present once the client sent its StartupMessage. */
  state: SessionState | undefined;
  /** The database this session currently talks to. */
  route: Route | undefined;

  readonly #ctx: SessionContext;
  readonly #log: Logger;
  #client: Duplex;
  #backend: Duplex | undefined;
  #backendKey = { processId: 0, secretKey: 0 };
  #processId = 0;
  #frontScanner: FrameScanner | undefined;
  #backScanner: FrameScanner | undefined;
  #closed = false;
  #terminating = false;
  /** Client chunks held back by the gate or a move, oldest first, not yet scanned. */
  #held: Uint8Array[] = [];
  /** Extended-protocol messages were sent since the last Sync. */
  #openBatch = false;
  /** The database is in COPY FROM STDIN and waits for the client's data. */
  #copyIn = false;
  #moving = false;
  #waitingAtGate = false;
  #backpressure = false;
  #readySeen = false;
  #link: ShadowLink | undefined;
  /** `sync`/`strict-sync`: answers of the source of truth waiting for the shadow's. */
  readonly #answers: HeldAnswers = new HeldAnswers({
    toClient: (chunk) => this.#toClient(chunk),
    failSourceOfTruthTransaction: () => {
      if ((this.state?.pendingRequests ?? 0) > 0) return false;
      this.#backend!.write(query("SELECT 1/0 AS lms_strict_sync_shadow_failed"));
      return true;
    },
    drained: () => this.#afterReady(),
  });
  /** A connection to the other database prepared while a consistent cutover holds the session. */
  #standby: { side: DatabaseSide; ready: Promise<ReplayedBackend | undefined> } | undefined;
  /** Offsets in the client chunk being scanned where a new request begins (for the shadow). */
  #requestStarts: number[] = [];
  /** The last frontend message ended a request (Query, Sync, FunctionCall). */
  #requestEnded = true;
  /** The client sent Flush and waits for answers before its Sync. */
  #flushed = false;

  /**
   * @param socket the accepted client socket
   * @param ctx what all sessions share
   */
  constructor(socket: net.Socket, ctx: SessionContext) {
    this.#ctx = ctx;
    this.#client = socket;
    this.clientAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    this.#log = ctx.log.child({ session: this.id, client: this.clientAddress });
    socket.setNoDelay(true);
    socket.on("error", () => this.close());
    // A client that leaves during startup must not leave a half-built session behind.
    socket.on("close", () => this.close());
  }

  /** The user name the client logged in as. */
  get user(): string {
    return this.state?.startupParams.get("user") ?? "";
  }

  /** The database name the client asked for. */
  get database(): string {
    return this.state?.startupParams.get("database") ?? this.user;
  }

  /** Which side serves this session now. */
  get side(): DatabaseSide | undefined {
    return this.route?.side;
  }

  /** Coarse state for listings. */
  get connectionState(): ConnectionState {
    const s = this.state;
    if (this.held) return "held";
    if (!s) return "active";
    if (s.txStatus !== "I") return "in transaction";
    return s.pendingRequests > 0 ? "active" : "idle";
  }

  /** Runs the session to its end; never throws. */
  async run(): Promise<void> {
    this.#ctx.sessions.add(this);
    this.#ctx.metrics.connectionsOpen.inc();
    try {
      await this.#start();
      this.#ctx.metrics.connectionsTotal.inc({ outcome: "accepted" });
    } catch (err) {
      this.#ctx.metrics.connectionsTotal.inc({ outcome: "rejected" });
      this.#failStartup(err);
    }
  }

  async #start(): Promise<void> {
    let reader = new SocketReader(this.#client, this.#ctx.maxMessageSize, "client");
    let encrypted = false;
    for (;;) {
      const packet = decodeStartupPacket((await reader.nextStartup()).body);
      if (packet.kind === "ssl" && this.#ctx.tls && !encrypted) {
        if (reader.pending > 0) {
          throw new FramingError("PROTOCOL_VIOLATION", "client sent data after SSLRequest");
        }
        reader.detach();
        this.#client.write("S");
        this.#client = await this.#ctx.tls.upgrade(this.#client as net.Socket);
        this.#client.on("error", () => this.close());
        reader = new SocketReader(this.#client, this.#ctx.maxMessageSize, "client");
        encrypted = true;
      } else if (packet.kind === "ssl" || packet.kind === "gssenc") {
        this.#client.write("N");
      } else if (packet.kind === "cancel") {
        reader.detach();
        const found = await this.#ctx.cancels.cancel(packet.processId, packet.secretKey);
        const relayed = !found && this.#ctx.forwardCancel(packet.processId, packet.secretKey);
        this.#ctx.metrics.cancelRequests.inc({
          outcome: found ? "forwarded" : relayed ? "sent to another proxy" : "unknown",
        });
        this.close();
        return;
      } else {
        if (this.#ctx.tls?.verifiesClients && !encrypted) {
          throw new LmsError(
            "CLIENT_TLS_REQUIRED",
            "this proxy requires TLS with a client certificate",
            "connect with sslmode=require (or stricter) and sslcert/sslkey",
          );
        }
        this.state = new SessionState(packet.params, (outcome) => {
          const side = this.route?.side ?? "source";
          this.#ctx.metrics.observeQuery(
            side,
            outcome.failed,
            (performance.now() - outcome.startedAt) / 1000,
          );
        });
        break;
      }
    }
    if (this.#ctx.gate.paused) {
      this.#waitingAtGate = true;
      this.#ctx.gate.notify();
      await this.#ctx.gate.wait();
      this.#waitingAtGate = false;
    }
    const route = this.#ctx.router.current();
    this.route = route;
    const label = `${route.side} database`;
    let backend: Duplex;
    try {
      backend = await connectBackend(route.spec, label);
    } catch (err) {
      this.#ctx.metrics.backendErrors.inc({ database: route.side });
      throw err;
    }
    if (this.#closed) {
      backend.destroy();
      return;
    }
    this.#backend = backend;
    backend.on("error", () => {});
    backend.write(encodeStartupMessage(this.state.startupParams));
    const backendReader = new SocketReader(backend, BACKEND_MAX_MESSAGE, label);
    const key = this.#ctx.cancels.register(this);
    this.#processId = key.processId;
    const auth = await relayAuthentication(this.#client, reader, backend, backendReader, key);
    if (this.#closed) return;
    this.#backendKey = { processId: auth.backendProcessId, secretKey: auth.backendSecretKey };
    for (const [k, v] of auth.parameters) this.state.serverParameters.set(k, v);
    this.#log.debug("session started", {
      user: this.user,
      database: this.database,
      side: route.side,
    });
    await this.#startShadow();
    if (this.#closed) return;
    this.#relay(reader.detach(), backendReader.detach());
  }

  #relay(clientPending: Uint8Array, backendPending: Uint8Array): void {
    const state = this.state!;
    this.#frontScanner = new FrameScanner(
      this.#ctx.shadow ? FRONTEND_SCANNED_SHADOWING : FRONTEND_SCANNED,
      FRONTEND_ALLOWED,
      this.#ctx.maxMessageSize,
      (type, body) => this.#onFrontendMessage(type, body),
    );
    this.#client.on("data", this.#onClientData);
    this.#client.on("close", () => this.close());
    this.#attachBackend(this.#backend!);
    if (backendPending.length > 0) this.#onBackendData(backendPending);
    if (clientPending.length > 0) this.#onClientData(clientPending);
    this.#client.resume();
    if (state.idle) this.#afterReady();
  }

  #onFrontendMessage(type: number, body: Uint8Array): void {
    if (this.#link && type !== CHAR_c && type !== CHAR_f) {
      if (this.#requestEnded) {
        this.#requestStarts.push(this.#frontScanner!.messageEnd - 5 - body.length);
      }
      this.#requestEnded = type === CHAR_Q || type === CHAR_S || type === CHAR_F;
    }
    switch (type) {
      case CHAR_X:
        this.#terminating = true;
        this.#link?.frontMessage(type, body);
        return;
      case CHAR_c:
      case CHAR_f:
        this.#copyIn = false;
        return;
      case CHAR_S:
        this.#openBatch = false;
        this.#flushed = false;
        break;
      case CHAR_P:
      case CHAR_B:
      case CHAR_E:
      case CHAR_D:
      case CHAR_C:
        this.#openBatch = true;
        break;
      case CHAR_H:
        this.#openBatch = true;
        this.#flushed = true;
        break;
    }
    this.#link?.frontMessage(type, body);
    this.state!.onFrontend(type, body);
  }

  #onBackendMessage = (type: number, body: Uint8Array): void => {
    if (type === CHAR_G || type === CHAR_W) {
      this.#copyIn = true;
      this.#answers.copyStarted();
      return;
    }
    if (type === CHAR_Z) {
      this.#copyIn = false;
      this.#readySeen = true;
      if (this.#waitsForShadow()) this.#answers.readyForQueryAt(this.#backScanner!.messageEnd);
    }
    this.#link?.sotMessage(type, body);
    this.state!.onBackend(type, body);
  };

  #onClientData = (chunk: Uint8Array): void => {
    // After a protocol error the rest of the bad message still arrives; it is
    // drained (so closing sends FIN, not a reset that would destroy our
    // ErrorResponse) but neither scanned again nor forwarded.
    if (this.#closed) return;
    if (this.#held.length > 0 || this.#moving || (this.#ctx.gate.paused && this.#quiescent())) {
      this.#hold(chunk);
      return;
    }
    this.#ctx.metrics.tallies.bytesIn += chunk.length;
    try {
      this.#frontScanner!.scan(chunk);
    } catch (err) {
      this.#protocolError(err);
      return;
    }
    const backend = this.#backend!;
    const flowing = backend.write(chunk);
    if (this.#link) {
      this.#link.send(chunk, this.#requestStarts);
      this.#requestStarts = [];
    }
    if (!flowing) {
      this.#backpressure = true;
      this.#updateClientFlow();
      backend.once("drain", () => {
        this.#backpressure = false;
        this.#updateClientFlow();
      });
    }
    if (this.#terminating) this.close();
  };

  #onBackendData = (chunk: Uint8Array): void => {
    this.#ctx.metrics.tallies.bytesOut += chunk.length;
    try {
      this.#backScanner!.scan(chunk);
    } catch (err) {
      this.#log.error("database sent a malformed message", { error: errorMessage(err) });
      this.close();
      return;
    }
    if (!this.#answers.empty || this.#waitsForShadow()) {
      this.#answers.hold(chunk, this.#link, this.#flushed);
    } else this.#toClient(chunk);
    if (this.#readySeen) {
      this.#readySeen = false;
      this.#afterReady();
    }
  };

  #toClient(chunk: Uint8Array): void {
    if (!this.#client.write(chunk)) {
      const backend = this.#backend!;
      backend.pause();
      this.#client.once("drain", () => backend.resume());
    }
  }

  /** Whether answers of the source of truth wait for the shadow's (`sync`, `strict-sync`). */
  #waitsForShadow(): boolean {
    return this.#ctx.shadow !== undefined && this.#ctx.shadow.mode !== "async" &&
      this.#link !== undefined && this.#link.active;
  }

  /** Opens the shadow connection for the current route, as the shadow mode says. */
  async #startShadow(): Promise<void> {
    const shadow = this.#ctx.shadow;
    if (!shadow || !this.route || !this.state) return;
    const side: DatabaseSide = this.route.side === "source" ? "target" : "source";
    const spec = this.#ctx.router.spec(side);
    if (!spec) return;
    const link = new ShadowLink(side, shadow, this.#log);
    link.onProgress = () => this.#answers.release(this.#link);
    this.#link = link;
    const opening = link.open(spec, this.state);
    if (shadow.mode === "async") {
      opening.catch(() => {});
      return;
    }
    try {
      await opening;
    } catch (err) {
      if (shadow.mode === "strict-sync") {
        throw new LmsError(
          "BACKEND_UNAVAILABLE",
          `strict-sync shadowing needs the ${side} database: ${errorMessage(err)}`,
          "bring the other database back, or use shadow mode sync or async",
        );
      }
    }
  }

  #onBackendClose = (): void => this.#backendLost();

  #attachBackend(backend: Duplex): void {
    this.#backend = backend;
    this.#backScanner = new FrameScanner(
      this.#ctx.shadow ? BACKEND_SCANNED_SHADOWING : BACKEND_SCANNED,
      undefined,
      BACKEND_MAX_MESSAGE,
      this.#onBackendMessage,
    );
    backend.on("data", this.#onBackendData);
    backend.on("close", this.#onBackendClose);
    backend.resume();
  }

  #detachBackend(): Duplex | undefined {
    const backend = this.#backend;
    backend?.removeListener("data", this.#onBackendData);
    backend?.removeListener("close", this.#onBackendClose);
    backend?.pause();
    return backend;
  }

  /** The client is between requests and nothing is in flight: work may move or wait here. */
  #quiescent(): boolean {
    return this.state!.idle && !this.#openBatch && !this.#copyIn && this.#answers.empty &&
      (this.#frontScanner?.atBoundary ?? true);
  }

  /** Whether this session is not holding up a drain. */
  get drained(): boolean {
    if (this.#waitingAtGate) return true;
    return this.#frontScanner !== undefined && this.#quiescent() && !this.#moving;
  }

  /** Whether the session holds client work back (at the gate or before its first database). */
  get held(): boolean {
    return this.#waitingAtGate || this.#held.length > 0;
  }

  #hold(chunk: Uint8Array): void {
    const first = this.#held.length === 0;
    this.#held.push(chunk);
    this.#updateClientFlow();
    if (first) this.#ctx.gate.notify();
  }

  #updateClientFlow(): void {
    if (this.#backpressure || this.#held.length > 0 || this.#moving) this.#client.pause();
    else this.#client.resume();
  }

  /**
   * Runs after each ReadyForQuery and whenever the gate or the route changes:
   * moves an idle session to a newer source of truth, releases held work when
   * it may run, and reports drain progress.
   */
  #afterReady(): void {
    if (this.#closed || this.#moving) return;
    const gate = this.#ctx.gate;
    if (gate.paused) {
      if (this.#held.length > 0 && !this.#quiescent()) this.#release();
      else {
        if (this.#quiescent()) this.#prepareStandby();
        gate.notify();
      }
      return;
    }
    const latest = this.#ctx.router.current();
    if (this.route && latest.epoch > this.route.epoch && this.#quiescent()) {
      if (latest.side === this.route.side) this.route = latest;
      else {
        this.#moveTo(latest);
        return;
      }
    }
    this.#dropStandby();
    if (this.#held.length > 0) this.#release();
  }

  /**
   * While a consistent cutover holds this (drained) session, opens and
   * prepares its connection on the other database, so that a commit only
   * has to swap connections. Nothing the session replays can change while
   * it is held; an abort closes the spare.
   */
  #prepareStandby(): void {
    if (this.#standby || !this.route || !this.state) return;
    const side: DatabaseSide = this.route.side === "source" ? "target" : "source";
    const spec = this.#ctx.router.spec(side);
    if (!spec) return;
    this.#standby = {
      side,
      ready: openReplayedBackend(spec, this.state, `${side} database`).catch((err) => {
        this.#log.debug("could not prepare a connection for the cutover", {
          side,
          error: errorMessage(err),
        });
        return undefined;
      }),
    };
  }

  /** Closes a spare connection prepared for a cutover that did not happen. */
  #dropStandby(): void {
    const standby = this.#standby;
    if (!standby) return;
    this.#standby = undefined;
    standby.ready.then((b) => b?.socket.end(TERMINATE));
  }

  /** Called when the gate opens or the routing state changed. */
  reconsider(): void {
    if (this.#frontScanner) this.#afterReady();
  }

  #release(): void {
    const held = this.#held;
    this.#held = [];
    this.#updateClientFlow();
    for (let i = 0; i < held.length; i++) {
      if (this.#closed) return;
      if (this.#moving || this.#held.length > 0 || (this.#ctx.gate.paused && this.#quiescent())) {
        this.#held.push(...held.slice(i));
        this.#updateClientFlow();
        return;
      }
      this.#onClientData(held[i]);
    }
  }

  async #moveTo(route: Route): Promise<void> {
    this.#moving = true;
    this.#updateClientFlow();
    const from = this.route!;
    const label = `${route.side} database`;
    const started = performance.now();
    try {
      const standby = this.#standby?.side === route.side ? await this.#standby.ready : undefined;
      this.#standby = undefined;
      const { socket, auth } = standby ??
        await openReplayedBackend(route.spec, this.state!, label);
      if (this.#closed) {
        socket.destroy();
        return;
      }
      const old = this.#detachBackend();
      old?.end(TERMINATE);
      this.route = route;
      this.#backendKey = { processId: auth.backendProcessId, secretKey: auth.backendSecretKey };
      socket.on("error", () => {});
      this.#announceParameters(auth.parameters);
      this.#attachBackend(socket);
      this.#link?.finish();
      this.#link = undefined;
      await this.#startShadow();
      this.#ctx.metrics.sessionMoves.inc({ to: route.side, outcome: "ok" });
      this.#log.info("session moved", {
        from: from.side,
        to: route.side,
        epoch: route.epoch,
        ms: Math.round(performance.now() - started),
      });
    } catch (err) {
      this.#ctx.metrics.sessionMoves.inc({ to: route.side, outcome: "failed" });
      this.#log.error("could not move session", { to: route.side, error: errorMessage(err) });
      this.#moving = false;
      this.#fatal({
        severity: "FATAL",
        code: "08006",
        message: `LMS could not move this session to the ${route.side} database: ${
          errorMessage(err)
        }`,
        hint: "reconnect",
      });
      return;
    }
    this.#moving = false;
    this.#updateClientFlow();
    this.#afterReady();
  }

  /** Tells the client about server parameters that differ on the new database. */
  #announceParameters(parameters: Map<string, string>): void {
    const known = this.state!.serverParameters;
    for (const [name, value] of parameters) {
      if (known.get(name) === value) continue;
      known.set(name, value);
      this.#client.write(message("S", cstring(name), cstring(value)));
    }
  }

  #protocolError(err: unknown): void {
    const kind = err instanceof LmsError ? err.code : "PROTOCOL_VIOLATION";
    this.#ctx.metrics.protocolErrors.inc({ kind });
    this.#log.warn("closing session after invalid client input", { error: errorMessage(err) });
    this.#fatal({
      severity: "FATAL",
      code: kind === "MESSAGE_TOO_LARGE" ? "54000" : "08P01",
      message: err instanceof Error ? err.message : String(err),
    });
  }

  #backendLost(): void {
    if (this.#closed || this.#terminating) return this.close();
    const side = this.route?.side ?? "source";
    this.#ctx.metrics.backendErrors.inc({ database: side });
    this.#log.warn("lost the connection to the database", { side });
    this.#fatal({
      severity: "FATAL",
      code: "08006",
      message: `LMS lost the connection to the ${side} database`,
      hint: "reconnect; if this persists, check the database",
    });
  }

  /** Sends an error to the client when the stream is at a message boundary, then closes. */
  #fatal(fields: ErrorFields): void {
    if (this.#closed) return;
    if (!this.#backScanner || this.#backScanner.atBoundary) {
      this.#client.write(errorResponse(fields));
    }
    this.close();
  }

  #failStartup(err: unknown): void {
    if (this.#closed) return;
    if (err instanceof ClientCertificateRejected) this.#client = err.socket;
    if (!(err instanceof BackendRejectedError)) {
      const known = err instanceof LmsError;
      const code = !known
        ? "XX000"
        : err.code === "BACKEND_UNAVAILABLE" || err.code === "BACKEND_TLS_REQUIRED" ||
            err.code === "BACKEND_LOST"
        ? "08006"
        : err.code === "CLIENT_TLS_REQUIRED"
        ? "28000"
        : err.code === "MESSAGE_TOO_LARGE"
        ? "54000"
        : "08P01";
      if (known && (err.code === "PROTOCOL_VIOLATION" || err.code === "MESSAGE_TOO_LARGE")) {
        this.#ctx.metrics.protocolErrors.inc({ kind: err.code });
      }
      this.#log.warn("session refused", { error: errorMessage(err) });
      if (!this.#client.destroyed) {
        this.#client.write(errorResponse({
          severity: "FATAL",
          code,
          message: err instanceof LmsError
            ? err.message
            : `LMS internal error: ${errorMessage(err)}`,
          hint: err instanceof LmsError && err.hint ? err.hint : undefined,
        }));
      }
    }
    this.close();
  }

  /** Asks the current database to cancel this session's running query. */
  cancel(): Promise<void> {
    if (!this.route || !this.#backendKey.processId) return Promise.resolve();
    return sendCancelRequest(
      this.route.spec,
      this.#backendKey.processId,
      this.#backendKey.secretKey,
    );
  }

  /** Disconnects the client with an admin-shutdown error naming `reason`. */
  terminate(reason: string): void {
    this.#fatal({ severity: "FATAL", code: "57P01", message: `LMS: ${reason}` });
  }

  /**
   * Ends the session and releases its database connection. A request still
   * running on the database is cancelled first, so the database does not keep
   * working for a client that is gone.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#link?.finish();
    this.#dropStandby();
    this.#ctx.sessions.delete(this);
    this.#ctx.metrics.connectionsOpen.dec();
    if (this.#processId) this.#ctx.cancels.unregister(this.#processId);
    const backend = this.#backend;
    if (backend && !backend.destroyed) {
      // An open batch may be executing without a Sync (Execute then Flush).
      const busy = (this.state?.pendingRequests ?? 0) > 0 || this.#openBatch;
      if (busy && !this.#terminating) this.cancel();
      if (!this.#terminating) backend.write(TERMINATE);
      backend.end();
      setTimeout(() => backend.destroy(), 1_000).unref?.();
    }
    this.#client.end();
    setTimeout(() => this.#client.destroy(), 1_000).unref?.();
  }
}
