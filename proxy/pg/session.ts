/**
 * The PostgreSQL wire of a client session: after the startup
 * ({@linkcode ./startup_flow.ts}), chunks are forwarded as they arrive while a
 * scanner reads just enough of them to keep the session's state, and the
 * shadow (if any) is fed and waited for. When to hold, release or move is the
 * session core's decision (`proxy/session/core.ts`); this file implements
 * its {@linkcode SessionWire} for PostgreSQL.
 *
 * @module
 */

import type net from "node:net";
import type { Duplex } from "node:stream";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import type { AcceptClient, SessionContext } from "../session/context.ts";
import { SessionCore } from "../session/core.ts";
import type { SessionFailure, SessionWire, WireActivity } from "../session/wire.ts";
import { sendCancelRequest } from "./cancel.ts";
import { FrameScanner, typeSet } from "./framing.ts";
import { takesNoLocks } from "./lock_free.ts";
import { type ErrorFields, errorResponse, query, TERMINATE } from "./messages.ts";
import { changedParameters, openReplayedBackend, type ReplayedBackend } from "./replay.ts";
import type { SessionIdentity } from "./identity.ts";
import { ResultCollector } from "./result_collector.ts";
import { endsSession } from "./session_end.ts";
import type { SessionState } from "./session_state.ts";
import { HeldAnswers } from "./shadow_answers.ts";
import { ShadowLink } from "./shadow_link.ts";
import { BACKEND_MAX_MESSAGE, refuseStartup, runStartup } from "./startup_flow.ts";

/** Message types a client may send after startup (protocol 3.0). */
const FRONTEND_ALLOWED = typeSet("BCdcfDEHFPpQSX");
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

/** SQLSTATE per failure the session core reports. */
const FAILURE_SQLSTATE: Record<SessionFailure["kind"], string> = {
  "backend-unavailable": "08006",
  "admin-shutdown": "57P01",
  "limit-exceeded": "53400",
};

/** Serves a PostgreSQL client on `socket`: the PostgreSQL wire's {@linkcode AcceptClient}. */
export const acceptPgClient: AcceptClient = (socket, ctx) => {
  const address = `${socket.remoteAddress}:${socket.remotePort}`;
  void new SessionCore<ReplayedBackend>(ctx, address, (core) => new PgSession(socket, ctx, core))
    .run();
};

/** The PostgreSQL wire of one session; see the module documentation. */
export class PgSession implements SessionWire<ReplayedBackend> {
  /** State tracker; present once the client sent its StartupMessage. */
  state: SessionState | undefined;

  readonly #ctx: SessionContext;
  readonly #core: SessionCore<ReplayedBackend>;
  #client: Duplex;
  #backend: Duplex | undefined;
  #backendKey = { processId: 0, secretKey: 0 };
  /** The credential this session carries to other databases; set once authenticated. */
  #identity: SessionIdentity | undefined;
  #frontScanner: FrameScanner | undefined;
  #backScanner: FrameScanner | undefined;
  #closed = false;
  #terminating = false;
  /** Extended-protocol messages were sent since the last Sync. */
  #openBatch = false;
  /** The database is in COPY FROM STDIN and waits for the client's data. */
  #copyIn = false;
  #backpressure = false;
  #readySeen = false;
  /** The database sent a FATAL/PANIC error: it ends the session and has said why. */
  #databaseSaidWhy = false;
  #link: ShadowLink | undefined;
  /**
   * `async`: the link gets whole chunks once they were forwarded, and the
   * session's scanners read no more than without shadowing.
   */
  readonly #deferShadow: boolean;
  /**
   * `sync`/`strict-sync`: answers of the source of truth waiting for the
   * shadow's; undefined in other modes, so unshadowed sessions carry none.
   */
  readonly #answers: HeldAnswers | undefined;
  /** Offsets in the client chunk being scanned where a new request begins (for the shadow). */
  #requestStarts: number[] = [];
  /** The last frontend message ended a request (Query, Sync, FunctionCall). */
  #requestEnded = true;
  /**
   * `sync`/`strict-sync`: where the latest request ends in the chunk being
   * scanned when it may go to the shadow at once (a lock-free query on a
   * session with nothing in flight, see `lock_free.ts`), else -1.
   */
  #lockFreeEnd = -1;
  /** The client sent Flush and waits for answers before its Sync. */
  #flushed = false;

  /**
   * @param socket the accepted client socket
   * @param ctx what all sessions share
   * @param core the session this wire serves
   */
  constructor(socket: net.Socket, ctx: SessionContext, core: SessionCore<ReplayedBackend>) {
    this.#ctx = ctx;
    this.#core = core;
    this.#client = socket;
    this.#deferShadow = ctx.shadow?.mode === "async";
    if (ctx.shadow && ctx.shadow.mode !== "async") {
      this.#answers = new HeldAnswers({
        toClient: (chunk) => this.#toClient(chunk),
        failSourceOfTruthTransaction: () => {
          if ((this.state?.pendingRequests ?? 0) > 0) return false;
          this.#backend!.write(query("SELECT 1/0 AS lms_strict_sync_shadow_failed"));
          return true;
        },
        drained: () => this.#core.checkpoint(),
      });
    }
    socket.setNoDelay(true);
    socket.on("error", this.#closeCore);
    // A client that leaves during startup must not leave a half-built session behind.
    socket.on("close", this.#closeCore);
  }

  /** @inheritdoc */
  get facts(): SessionState | undefined {
    return this.state;
  }

  /** PostgreSQL keeps nothing a move could not replay: never pinned. */
  readonly blockingReason: string | undefined = undefined;

  /** @inheritdoc */
  activity(): WireActivity {
    return this.state?.activity ?? "active";
  }

  /** @inheritdoc */
  quiescent(): boolean {
    return this.state!.idle && !this.#openBatch && !this.#copyIn &&
      (this.#answers?.empty ?? true) &&
      (this.#frontScanner?.atBoundary ?? true);
  }

  /** @inheritdoc */
  async start(): Promise<"accepted" | "cancel"> {
    const started = await runStartup(this.#client, this.#ctx, this.#core, {
      clientIs: (socket) => {
        this.#client = socket;
        socket.on("error", this.#closeCore);
        socket.on("close", this.#closeCore);
      },
      started: (state) => (this.state = state),
      backendIs: (backend) => (this.#backend = backend),
      authenticated: (auth) => {
        this.#identity = auth.identity;
        this.#backendKey = { processId: auth.backendProcessId, secretKey: auth.backendSecretKey };
      },
    });
    if (started === "cancel") return "cancel";
    if (started) this.#relay(started.reader.detach(), started.backendReader.detach());
    return "accepted";
  }

  /** @inheritdoc */
  refuse(err: unknown): void {
    if (this.#closed) return;
    this.#client = refuseStartup(err, this.#client, this.#ctx, this.#core.log);
    this.#core.close();
  }

  #relay(clientPending: Uint8Array, backendPending: Uint8Array): void {
    const state = this.state!;
    this.#frontScanner = new FrameScanner(
      this.#ctx.shadow && !this.#deferShadow ? FRONTEND_SCANNED_SHADOWING : FRONTEND_SCANNED,
      FRONTEND_ALLOWED,
      this.#ctx.maxMessageSize,
      (type, body) => this.#onFrontendMessage(type, body),
    );
    this.#core.relaying();
    this.#client.on("data", this.#onClientData);
    this.#attachBackend(this.#backend!);
    if (backendPending.length > 0) this.#onBackendData(backendPending);
    if (clientPending.length > 0) this.#onClientData(clientPending);
    this.#client.resume();
    if (state.idle) this.#core.checkpoint();
  }

  #onFrontendMessage(type: number, body: Uint8Array): void {
    const link = this.#deferShadow ? undefined : this.#link;
    if (link && type !== CHAR_c && type !== CHAR_f) {
      if (this.#requestEnded) {
        this.#requestStarts.push(this.#frontScanner!.messageEnd - 5 - body.length);
        this.#lockFreeEnd = type === CHAR_Q && this.state!.idle && takesNoLocks(body)
          ? this.#frontScanner!.messageEnd
          : -1;
      }
      this.#requestEnded = type === CHAR_Q || type === CHAR_S || type === CHAR_F;
    }
    switch (type) {
      case CHAR_X:
        this.#terminating = true;
        link?.frontMessage(type, body);
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
    link?.frontMessage(type, body);
    this.state!.onFrontend(type, body);
  }

  #onBackendMessage = (type: number, body: Uint8Array): void => {
    if (type === CHAR_G || type === CHAR_W) {
      this.#copyIn = true;
      this.#answers?.copyStarted();
      return;
    }
    if (type === CHAR_E && endsSession(body)) this.#databaseSaidWhy = true;
    if (type === CHAR_Z) {
      this.#copyIn = false;
      this.#readySeen = true;
      if (this.#waitsForShadow()) this.#answers!.readyForQueryAt(this.#backScanner!.messageEnd);
    }
    if (!this.#deferShadow) this.#link?.sotMessage(type, body);
    this.state!.onBackend(type, body);
  };

  #onClientData = (chunk: Uint8Array): void => {
    // After a protocol error the rest of the bad message still arrives; it is
    // drained (so closing sends FIN, not a reset that would destroy our
    // ErrorResponse) but neither scanned again nor forwarded.
    if (this.#closed) return;
    if (this.#core.holds(chunk)) return;
    this.#forward(chunk);
  };

  /** @inheritdoc */
  deliverHeld(chunk: Uint8Array): void {
    this.#forward(chunk);
  }

  /** Scans a client chunk and sends it to the source of truth (and the shadow). */
  #forward(chunk: Uint8Array): void {
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
      this.#link.send(chunk, this.#requestStarts, this.#lockFreeEnd === chunk.length);
      this.#requestStarts = [];
      this.#lockFreeEnd = -1;
    }
    if (!flowing) {
      this.#backpressure = true;
      this.clientFlowChanged();
      backend.once("drain", () => {
        this.#backpressure = false;
        this.clientFlowChanged();
      });
    }
    if (this.#terminating) this.#core.close();
  }

  #onBackendData = (chunk: Uint8Array): void => {
    this.#ctx.metrics.tallies.bytesOut += chunk.length;
    try {
      this.#backScanner!.scan(chunk);
    } catch (err) {
      this.#core.log.error("database sent a malformed message", { error: errorMessage(err) });
      this.#core.close();
      return;
    }
    const answers = this.#answers;
    if (answers && (!answers.empty || this.#waitsForShadow())) {
      answers.hold(chunk, this.#link, this.#flushed);
    } else this.#toClient(chunk);
    // After the client write: in async the shadow's share of this chunk waits its turn.
    if (this.#deferShadow) this.#link?.sourceOfTruthData(chunk);
    if (this.#readySeen) {
      this.#readySeen = false;
      this.#core.checkpoint();
    }
  };

  #toClient(chunk: Uint8Array): void {
    if (!this.#client.write(chunk)) {
      const backend = this.#backend!;
      backend.pause();
      this.#client.once("drain", () => backend.resume());
    }
  }

  /** @inheritdoc */
  clientFlowChanged(): void {
    if (this.#backpressure || this.#core.readsHeld) this.#client.pause();
    else this.#client.resume();
  }

  /** Whether answers of the source of truth wait for the shadow's (`sync`, `strict-sync`). */
  #waitsForShadow(): boolean {
    return this.#ctx.shadow !== undefined && this.#ctx.shadow.mode !== "async" &&
      this.#link !== undefined && this.#link.active;
  }

  /** @inheritdoc */
  openShadow(side: DatabaseSide, spec: ConnectionSpec): Promise<void> | undefined {
    const shadow = this.#ctx.shadow;
    if (!shadow || !this.state) return undefined;
    const link = new ShadowLink(side, shadow, this.#core.log);
    link.onProgress = () => this.#answers?.release(this.#link);
    this.#link = link;
    return link.open(spec, this.state, this.#identity!);
  }

  /** @inheritdoc */
  closeShadow(): void {
    this.#link?.finish();
    this.#link = undefined;
  }

  #onBackendClose = (): void => this.#backendLost();

  /** The client's `error` and `close` handler; one function for both, kept by every session. */
  #closeCore = (): void => this.#core.close();

  #attachBackend(backend: Duplex): void {
    this.#backend = backend;
    this.#backScanner = new FrameScanner(
      this.#ctx.shadow && !this.#deferShadow ? BACKEND_SCANNED_SHADOWING : BACKEND_SCANNED,
      undefined,
      BACKEND_MAX_MESSAGE,
      this.#onBackendMessage,
    );
    backend.on("data", this.#onBackendData);
    backend.on("close", this.#onBackendClose);
    backend.resume();
  }

  /** @inheritdoc */
  openBackend(side: DatabaseSide, spec: ConnectionSpec): Promise<ReplayedBackend> {
    return openReplayedBackend(spec, this.state!, `${side} database`, this.#identity!);
  }

  /**
   * The database and the identity's digest: the login depends on nothing
   * else the session chose (pg_hba sees the proxy's address for all of them).
   */
  loginKey(): string | undefined {
    const digest = this.#identity?.loginDigest();
    if (digest === undefined || !this.state) return undefined;
    const params = this.state.startupParams;
    return `${params.get("database") ?? params.get("user")}\u0000${digest}`;
  }

  /** @inheritdoc */
  swapBackend({ socket, auth }: ReplayedBackend): void {
    const old = this.#backend;
    old?.removeListener("data", this.#onBackendData);
    old?.removeListener("close", this.#onBackendClose);
    old?.pause();
    // Paused and unread, the old socket would never see the server's close: destroy it
    // once Terminate is flushed, or every move leaks a descriptor.
    old?.end(TERMINATE, () => old.destroy());
    this.#backendKey = { processId: auth.backendProcessId, secretKey: auth.backendSecretKey };
    socket.on("error", () => {});
    for (const m of changedParameters(this.state!, auth.parameters)) this.#client.write(m);
    this.#attachBackend(socket);
  }

  /** @inheritdoc */
  discardBackend(backend: ReplayedBackend): void {
    backend.socket.end(TERMINATE, () => backend.socket.destroy());
  }

  #protocolError(err: unknown): void {
    const kind = err instanceof LmsError ? err.code : "PROTOCOL_VIOLATION";
    this.#ctx.metrics.protocolErrors.inc({ kind });
    this.#core.log.warn("closing session after invalid client input", {
      error: errorMessage(err),
    });
    this.#fatal({
      severity: "FATAL",
      code: kind === "MESSAGE_TOO_LARGE" ? "54000" : "08P01",
      message: err instanceof Error ? err.message : String(err),
    });
  }

  #backendLost(): void {
    if (this.#closed || this.#terminating) return this.#core.close();
    const side = this.#core.side ?? "source";
    this.#ctx.metrics.backendErrors.inc({ database: side });
    if (this.#databaseSaidWhy) {
      // The client already has the database's own FATAL; anything added would be misread.
      this.#core.log.info("the database ended the session", { side });
      return this.#core.close();
    }
    this.#core.log.warn("lost the connection to the database", { side });
    this.#fatal({
      severity: "FATAL",
      code: "08006",
      message: `LMS lost the connection to the ${side} database`,
      hint: "reconnect; if this persists, check the database",
    });
  }

  /** @inheritdoc */
  fail(failure: SessionFailure): void {
    this.#fatal({
      severity: "FATAL",
      code: FAILURE_SQLSTATE[failure.kind],
      message: failure.message,
      hint: failure.hint,
    });
  }

  /** Sends an error to the client when the stream is at a message boundary, then closes. */
  #fatal(fields: ErrorFields): void {
    if (this.#closed) return;
    if (!this.#backScanner || this.#backScanner.atBoundary) {
      this.#client.write(errorResponse(fields));
    }
    this.#core.close();
  }

  /** @inheritdoc */
  cancelRunning(): Promise<void> {
    const route = this.#core.route;
    if (!route || !this.#backendKey.processId) return Promise.resolve();
    return sendCancelRequest(route.spec, this.#backendKey.processId, this.#backendKey.secretKey);
  }

  /** @inheritdoc */
  closeConnections(): void {
    this.#closed = true;
    this.closeShadow();
    const backend = this.#backend;
    if (backend && !backend.destroyed) {
      // An open batch may be executing without a Sync (Execute then Flush).
      const busy = (this.state?.pendingRequests ?? 0) > 0 || this.#openBatch;
      if (busy && !this.#terminating) void this.cancelRunning();
      if (!this.#terminating) backend.write(TERMINATE);
      backend.end();
      setTimeout(() => backend.destroy(), 1_000).unref?.();
    }
    this.#client.end();
    setTimeout(() => this.#client.destroy(), 1_000).unref?.();
  }
}
