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
import { type ErrorFields, errorResponse, TERMINATE } from "./messages.ts";
import { SocketReader } from "./reader.ts";
import { BACKEND_WATCHED, SessionState } from "./session_state.ts";
import { decodeStartupPacket, encodeStartupMessage } from "./startup.ts";
import type { ClientTlsUpgrader } from "./tls.ts";

/** Message types a client may send after startup (protocol 3.0). */
const FRONTEND_ALLOWED = typeSet("BCdcfDEHFPpQSX");
/** Largest message accepted from a database: PostgreSQL's own 1 GiB limit. */
const BACKEND_MAX_MESSAGE = 1 << 30;
const CHAR_X = 0x58;
const FRONTEND_SCANNED = typeSet("QPCSFBX");

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
  #backendScanner: FrameScanner | undefined;
  #closed = false;
  #terminating = false;

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
        this.#ctx.metrics.cancelRequests.inc({ outcome: found ? "forwarded" : "unknown" });
        this.#client.destroy();
        this.#ctx.sessions.delete(this);
        this.#ctx.metrics.connectionsOpen.dec();
        this.#closed = true;
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
    this.#backend = backend;
    backend.on("error", () => {});
    backend.write(encodeStartupMessage(this.state.startupParams));
    const backendReader = new SocketReader(backend, BACKEND_MAX_MESSAGE, label);
    const key = this.#ctx.cancels.register(this);
    this.#processId = key.processId;
    const auth = await relayAuthentication(this.#client, reader, backend, backendReader, key);
    this.#backendKey = { processId: auth.backendProcessId, secretKey: auth.backendSecretKey };
    for (const [k, v] of auth.parameters) this.state.serverParameters.set(k, v);
    this.#log.debug("session started", {
      user: this.user,
      database: this.database,
      side: route.side,
    });
    this.#relay(reader.detach(), backendReader.detach());
  }

  #relay(clientPending: Uint8Array, backendPending: Uint8Array): void {
    const state = this.state!;
    const client = this.#client;
    const backend = this.#backend!;
    const tallies = this.#ctx.metrics.tallies;
    const frontScanner = new FrameScanner(
      FRONTEND_SCANNED,
      FRONTEND_ALLOWED,
      this.#ctx.maxMessageSize,
      (type, body) => {
        if (type === CHAR_X) this.#terminating = true;
        else state.onFrontend(type, body);
      },
    );
    const backScanner = new FrameScanner(
      BACKEND_WATCHED,
      undefined,
      BACKEND_MAX_MESSAGE,
      (type, body) => state.onBackend(type, body),
    );
    this.#backendScanner = backScanner;
    const onClientData = (chunk: Uint8Array) => {
      tallies.bytesIn += chunk.length;
      // After a protocol error the rest of the bad message still arrives; it
      // is drained (so closing sends FIN, not a reset that would lose our
      // ErrorResponse) but neither scanned again nor forwarded.
      if (this.#closed) return;
      try {
        frontScanner.scan(chunk);
      } catch (err) {
        this.#protocolError(err);
        return;
      }
      if (!backend.write(chunk)) {
        client.pause();
        backend.once("drain", () => client.resume());
      }
      if (this.#terminating) this.close();
    };
    const onBackendData = (chunk: Uint8Array) => {
      tallies.bytesOut += chunk.length;
      try {
        backScanner.scan(chunk);
      } catch (err) {
        this.#log.error("database sent a malformed message", { error: errorMessage(err) });
        this.close();
        return;
      }
      if (!client.write(chunk)) {
        backend.pause();
        client.once("drain", () => backend.resume());
      }
    };
    client.on("data", onClientData);
    backend.on("data", onBackendData);
    client.on("close", () => this.close());
    backend.on("close", () => this.#backendLost());
    if (backendPending.length > 0) onBackendData(backendPending);
    if (clientPending.length > 0) onClientData(clientPending);
    client.resume();
    backend.resume();
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
    if (!this.#backendScanner || this.#backendScanner.atBoundary) {
      this.#client.write(errorResponse(fields));
    }
    this.close();
  }

  #failStartup(err: unknown): void {
    if (this.#closed) return;
    if (!(err instanceof BackendRejectedError)) {
      const known = err instanceof LmsError;
      const code = !known
        ? "XX000"
        : err.code === "BACKEND_UNAVAILABLE" || err.code === "BACKEND_TLS_REQUIRED"
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
          message: err instanceof LmsError ? err.message : `LMS internal error: ${errorMessage(err)}`,
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

  /**
   * Ends the session and releases its database connection. A request still
   * running on the database is cancelled first, so the database does not keep
   * working for a client that is gone.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ctx.sessions.delete(this);
    this.#ctx.metrics.connectionsOpen.dec();
    if (this.#processId) this.#ctx.cancels.unregister(this.#processId);
    const backend = this.#backend;
    if (backend && !backend.destroyed) {
      if ((this.state?.pendingRequests ?? 0) > 0 && !this.#terminating) this.cancel();
      if (!this.#terminating) backend.write(TERMINATE);
      backend.end();
      setTimeout(() => backend.destroy(), 1_000).unref?.();
    }
    this.#client.end();
    setTimeout(() => this.#client.destroy(), 1_000).unref?.();
  }
}
