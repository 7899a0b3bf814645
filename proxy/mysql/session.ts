/**
 * One client session of the MySQL proxy, from the handshake to the last
 * packet: the database is connected first (its handshake carries the
 * scramble the client must answer), the client gets that handshake with the
 * proxy's connection id, TLS is negotiated on each leg, authentication is
 * relayed, and then commands flow: each client packet is checked (sequence
 * ids, command byte, size) and forwarded, and the database's answers stream
 * back untouched while the response tracker reads just enough of them to
 * know where each answer ends and what it did to the session.
 *
 * Towards the cutover machinery the session behaves like the PostgreSQL one:
 * while the gate is closed, a session between transactions (no command in
 * flight, no open transaction, nothing tying it to its connection) holds its
 * next command, and a new client waits before reaching any database.
 *
 * @module
 */

import type net from "node:net";
import type { Duplex } from "node:stream";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { ConnectionState, DatabaseSide } from "../../shared/control.ts";
import { proxyTagOf } from "../../shared/cancel_key.ts";
import type { ProxyMetrics } from "../metrics.ts";
import type { Route, Router } from "../router.ts";
import type { Gate } from "../gate.ts";
import type { CancelRegistry } from "../pg/cancel.ts";
import { ClientCertificateRejected, type ClientTlsUpgrader } from "../pg/tls.ts";
import { Cap, Com, COMMAND_NAMES, Err, type ProxyErrorCode } from "./constants.ts";
import { type Packet, PacketScanner, PacketSplitter } from "./framing.ts";
import { errPayload, okPayload, packet, PayloadReader, TruncatedPayload, utf8 } from "./packets.ts";
import {
  backendCapabilities,
  backendMariaDbCapabilities,
  decodeHandshakeResponse,
  encodeBackendResponse,
  encodeClientHandshake,
  isSslRequest,
} from "./handshake.ts";
import {
  BackendRefusedError,
  connectMySql,
  type MySqlBackend,
  negotiateBackendTls,
} from "./backend.ts";
import { BackendAuthFailed, relayAuthExchange } from "./auth.ts";
import { type PendingCommand, RELAYED_COMMANDS, ResponseTracker } from "./commands.ts";
import { MySqlSessionState } from "./session_state.ts";
import { type KillStatement, parseKill, queryEffects } from "./statements.ts";
import { killKey, killOnDatabase, killStatement, readKillKey } from "./cancel.ts";
import { PacketReader } from "./reader.ts";

/** Largest packet accepted from a database: MySQL's own 1 GiB `max_allowed_packet` ceiling. */
const BACKEND_MAX_PACKET = 1 << 30;
/** How much of each database packet the response tracker reads. */
const BACKEND_PREFIX = 1024;
/** How much of a statement's text is kept for state tracking and listings. */
const QUERY_TEXT_LIMIT = 64 * 1024;

/** What every MySQL session of one proxy shares. */
export interface MySqlSessionContext {
  /** Largest accepted client packet (logical), in bytes. */
  maxMessageSize: number;
  /** Present when the listener offers TLS (`SSL_CERT`/`SSL_KEY`). */
  tls: ClientTlsUpgrader | undefined;
  /** Decides the source of truth. */
  router: Router;
  /** Connection ids handed to clients. */
  cancels: CancelRegistry;
  /** The proxy's own cancel tag (see `shared/cancel_key.ts`). */
  ownTag: number;
  /** Metrics to update. */
  metrics: ProxyMetrics;
  /** Logger for session events. */
  log: Logger;
  /** Live sessions, for listing and shutdown. */
  sessions: Set<MySqlSession>;
  /** The consistent-cutover pause gate. */
  gate: Gate;
  /** The `INIT_SOURCE` user's connection, for kills forwarded from other proxies. */
  serviceSpec: ConnectionSpec;
  /** Passes a kill for a connection id of another proxy on; false when that is not possible. */
  forwardCancel: (processId: number, secretKey: number) => boolean;
}

let nextSessionId = 0;

/** A client session; see the module documentation. */
export class MySqlSession {
  /** Proxy-local id, for logs and `connections list`. */
  readonly id: string = `m${++nextSessionId}`;
  /** Client address as `host:port`. */
  readonly clientAddress: string;
  /** When the client connected (epoch ms). */
  readonly connectedAt: number = Date.now();
  /** State tracker; present once the client authenticated. */
  state: MySqlSessionState | undefined;
  /** The database this session currently talks to. */
  route: Route | undefined;

  readonly #ctx: MySqlSessionContext;
  #log: Logger;
  #client: Duplex;
  #backend: Duplex | undefined;
  #connectionId = 0;
  #backendThread = 0;
  #clientEncrypted = false;
  #splitter: PacketSplitter | undefined;
  #scanner: PacketScanner | undefined;
  #tracker: ResponseTracker | undefined;
  #closed = false;
  #terminating = false;
  #waitingAtGate = false;
  #backpressure = false;
  #lastBackendErr = false;
  /** Client chunks held back by the gate, oldest first, not yet scanned. */
  #held: Uint8Array[] = [];

  /**
   * @param socket the accepted client socket
   * @param ctx what all sessions share
   */
  constructor(socket: net.Socket, ctx: MySqlSessionContext) {
    this.#ctx = ctx;
    this.#client = socket;
    this.clientAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    this.#log = ctx.log.child({ session: this.id, client: this.clientAddress });
    socket.setNoDelay(true);
    socket.on("error", () => this.close());
    socket.on("close", () => this.close());
  }

  /** The user name the client logged in as. */
  get user(): string {
    return this.state?.user ?? "";
  }

  /** The current database. */
  get database(): string {
    return this.state?.database ?? "";
  }

  /** Which side serves this session now. */
  get side(): DatabaseSide | undefined {
    return this.route?.side;
  }

  /** The connection id the client was given. */
  get connectionId(): number {
    return this.#connectionId;
  }

  /** The database's thread id of this session's connection. */
  get backendThread(): number {
    return this.#backendThread;
  }

  /** Coarse state for listings. */
  get connectionState(): ConnectionState {
    const s = this.state;
    if (this.held) return "held";
    if (!s || !this.#tracker) return "active";
    if (s.inTransaction) return "in transaction";
    return this.#tracker.idle ? "idle" : "active";
  }

  /** Why the session blocks a drain although it is between commands, or undefined. */
  get blockingReason(): string | undefined {
    return this.state?.blockingReason();
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
    this.#client.pause();
    if (this.#ctx.gate.paused) {
      this.#waitingAtGate = true;
      this.#ctx.gate.notify();
      await this.#ctx.gate.wait();
      this.#waitingAtGate = false;
    }
    if (this.#closed) return;
    const route = this.#ctx.router.current();
    this.route = route;
    if (route.side === "target") {
      throw new LmsError(
        "NOT_SUPPORTED",
        "LMS cannot serve MySQL sessions from the target (CockroachDB) yet",
        "cut back over to the source; MySQL sessions on CockroachDB come with a later release",
      );
    }
    let backend: MySqlBackend;
    try {
      backend = await connectMySql(route.spec, `${route.side} database`);
    } catch (err) {
      this.#ctx.metrics.backendErrors.inc({ database: route.side });
      throw err;
    }
    if (this.#closed) {
      backend.socket.destroy();
      return;
    }
    this.#backend = backend.socket;
    this.#backendThread = backend.handshake.connectionId;
    const key = this.#ctx.cancels.register(this);
    this.#connectionId = key.processId;
    this.#client.write(
      packet(0, encodeClientHandshake(backend.handshake, this.#connectionId, !!this.#ctx.tls)),
    );
    let reader = new PacketReader(
      this.#client,
      Math.min(this.#ctx.maxMessageSize, 1 << 20),
      "client",
    );
    let first = await reader.next();
    if (isSslRequest(first.payload)) {
      if (!this.#ctx.tls) {
        throw new LmsError(
          "PROTOCOL_VIOLATION",
          "the client asked for TLS, which this proxy does not offer",
        );
      }
      if (reader.pending > 0) {
        throw new LmsError("PROTOCOL_VIOLATION", "the client sent data after its SSL request");
      }
      reader.detach();
      this.#client = await this.#ctx.tls.upgrade(this.#client as net.Socket);
      this.#client.on("error", () => this.close());
      this.#clientEncrypted = true;
      reader = new PacketReader(
        this.#client,
        Math.min(this.#ctx.maxMessageSize, 1 << 20),
        "client",
      );
      first = await reader.next();
    } else if (this.#ctx.tls?.verifiesClients) {
      throw new LmsError(
        "CLIENT_TLS_REQUIRED",
        "this proxy requires TLS with a client certificate",
        "connect with --ssl (ssl: {...} in drivers) and a client certificate and key",
      );
    }
    const response = decodeHandshakeResponse(first.payload);
    const mariadbCaps = backendMariaDbCapabilities(
      response.mariadbCapabilities,
      backend.handshake.mariadbCapabilities,
    );
    const hello = {
      capabilities: backendCapabilities(
        response.capabilities,
        backend.handshake.capabilities,
        false,
      ),
      maxPacket: response.maxPacket,
      charset: response.charset,
      mariadbCapabilities: mariadbCaps,
    };
    const backendTls = await negotiateBackendTls(backend, route.spec, hello);
    this.#backend = backend.socket;
    const caps = backendCapabilities(
      response.capabilities,
      backend.handshake.capabilities,
      backendTls,
    );
    const backendSeq = backendTls ? 2 : 1;
    backend.socket.write(packet(backendSeq, encodeBackendResponse(response, caps, mariadbCaps)));
    this.state = new MySqlSessionState(response.user, response.database);
    this.#log = this.#log.child({ user: response.user });
    const okBytes = await relayAuthExchange(
      { socket: this.#client, reader },
      { socket: backend.socket, reader: backend.reader },
      first.seq - backendSeq,
      this.#clientEncrypted,
    );
    if (this.#closed) return;
    const ok = new PayloadReader(okBytes, 1);
    ok.lenenc();
    ok.lenenc();
    if (ok.remaining >= 2) this.state.onStatus(ok.u16());
    this.#log.debug("session started", { database: response.database, side: route.side });
    this.#relay(reader.detach(), backend.reader.detach(), caps);
  }

  #relay(clientPending: Uint8Array, backendPending: Uint8Array, caps: number): void {
    const state = this.state!;
    this.#splitter = new PacketSplitter("client", this.#ctx.maxMessageSize);
    this.#tracker = new ResponseTracker(
      (caps & Cap.DEPRECATE_EOF) !== 0,
      (caps & Cap.SESSION_TRACK) !== 0,
      {
        status: (status) => state.onStatus(status),
        succeeded: (cmd, schema) => {
          const effect = cmd.effects.shift();
          if (effect) state.apply(effect);
          if (schema !== undefined) state.database = schema;
        },
        failed: (cmd) => {
          cmd.effects.length = 0;
        },
        prepared: (cmd, id) => state.statements.set(id, cmd.sql ?? ""),
        reset: (cmd) => {
          state.reset(cmd.changeUser?.user, cmd.changeUser?.database);
          if (cmd.changeUser) this.#log = this.#log.child({ user: cmd.changeUser.user });
        },
        done: (cmd) => this.#commandDone(cmd),
        sendSynthetic: (bytes) => this.#toClient(bytes),
      },
    );
    this.#scanner = new PacketScanner(
      `${this.route!.side} database`,
      BACKEND_MAX_PACKET,
      BACKEND_PREFIX,
      this.#tracker.onPacket,
    );
    this.#client.on("data", this.#onClientData);
    this.#client.on("close", () => this.close());
    const backend = this.#backend!;
    backend.on("data", this.#onBackendData);
    backend.on("close", () => this.#backendLost());
    backend.resume();
    if (backendPending.length > 0) this.#onBackendData(backendPending);
    if (clientPending.length > 0) this.#onClientData(clientPending);
    this.#client.resume();
    this.#afterReady();
  }

  #commandDone(cmd: PendingCommand): void {
    if (cmd.command < 0) return;
    this.#ctx.metrics.observeQuery(
      this.route?.side ?? "source",
      cmd.failed,
      (performance.now() - cmd.startedAt) / 1000,
    );
  }

  #onClientData = (chunk: Uint8Array): void => {
    if (this.#closed) return;
    if (this.#held.length > 0 || (this.#ctx.gate.paused && this.#quiescent())) {
      this.#hold(chunk);
      return;
    }
    this.#ctx.metrics.tallies.bytesIn += chunk.length;
    let packets: Packet[];
    try {
      packets = this.#splitter!.push(chunk);
    } catch (err) {
      return this.#protocolError(
        err instanceof LmsError && err.code === "MESSAGE_TOO_LARGE"
          ? Err.NET_PACKET_TOO_LARGE
          : Err.NET_PACKETS_OUT_OF_ORDER,
        err,
      );
    }
    const backend = this.#backend!;
    backend.cork();
    try {
      for (const p of packets) {
        if (this.#closed) return;
        this.#clientPacket(p);
      }
    } finally {
      backend.uncork();
    }
    if (backend.writableNeedDrain && !this.#backpressure) {
      this.#backpressure = true;
      this.#updateClientFlow();
      backend.once("drain", () => {
        this.#backpressure = false;
        this.#updateClientFlow();
      });
    }
  };

  #clientPacket(p: Packet): void {
    const tracker = this.#tracker!;
    const backend = this.#backend!;
    if (p.continuation) {
      backend.write(p.raw);
      return;
    }
    if (tracker.awaitingClient) {
      if (p.seq !== tracker.expectedClientSeq) {
        return this.#protocolError(
          Err.NET_PACKETS_OUT_OF_ORDER,
          `client sent packet sequence id ${p.seq} where ${tracker.expectedClientSeq} belongs`,
        );
      }
      tracker.clientPacket(p.seq, p.payload.length);
      backend.write(p.raw);
      return;
    }
    if (p.seq !== 0) {
      return this.#protocolError(
        Err.NET_PACKETS_OUT_OF_ORDER,
        `client sent packet sequence id ${p.seq} where a new command (sequence id 0) belongs`,
      );
    }
    if (p.payload.length === 0) {
      return this.#protocolError(Err.MALFORMED_PACKET, "client sent an empty command packet");
    }
    const command = p.payload[0];
    if (!RELAYED_COMMANDS.has(command)) {
      return this.#protocolError(
        Err.UNKNOWN_COM_ERROR,
        `client sent unknown or unsupported command byte 0x${
          command.toString(16).padStart(2, "0")
        }`,
      );
    }
    try {
      if (this.#command(command, p)) backend.write(p.raw);
    } catch (err) {
      if (!(err instanceof TruncatedPayload)) throw err;
      this.#protocolError(
        Err.MALFORMED_PACKET,
        `client sent a malformed ${COMMAND_NAMES.get(command)} packet: ${err.message}`,
      );
    }
  }

  /** Tracks one command; returns whether its packet goes to the database as received. */
  #command(command: number, p: Packet): boolean {
    const state = this.state!;
    const tracker = this.#tracker!;
    const r = new PayloadReader(p.payload, 1);
    switch (command) {
      case Com.QUIT:
        this.#terminating = true;
        this.#backend!.write(p.raw);
        this.close();
        return false;
      case Com.QUERY: {
        const sql = utf8(p.payload.subarray(1, 1 + QUERY_TEXT_LIMIT));
        const kill = sql.length < 200 ? parseKill(sql) : undefined;
        state.noteQuery(sql);
        if (kill) {
          this.#kill(kill);
          return false;
        }
        tracker.begin(command, { effects: queryEffects(sql) });
        return true;
      }
      case Com.PROCESS_KILL:
        this.#kill({ connection: true, id: r.u32("connection id"), modifier: "" });
        return false;
      case Com.STMT_PREPARE: {
        const sql = utf8(p.payload.subarray(1, 1 + QUERY_TEXT_LIMIT));
        state.noteQuery(sql);
        tracker.begin(command, { sql });
        return true;
      }
      case Com.STMT_EXECUTE: {
        const id = r.u32("statement id");
        r.u8("cursor flags");
        r.u32("iteration count");
        state.noteQuery(state.statements.get(id) ?? `(prepared statement ${id})`);
        tracker.begin(command);
        return true;
      }
      case Com.STMT_FETCH:
        r.u32("statement id");
        r.u32("row count");
        tracker.begin(command);
        return true;
      case Com.STMT_CLOSE:
        state.statements.delete(r.u32("statement id"));
        return true;
      case Com.STMT_SEND_LONG_DATA:
        r.u32("statement id");
        r.u16("parameter number");
        return true;
      case Com.STMT_RESET:
        r.u32("statement id");
        tracker.begin(command);
        return true;
      case Com.SET_OPTION:
        r.u16("option");
        tracker.begin(command);
        return true;
      case Com.INIT_DB: {
        const database = utf8(r.rest());
        tracker.begin(command, { effects: [{ kind: "use", database }] });
        return true;
      }
      case Com.CHANGE_USER: {
        const user = r.cstr("user name");
        const authLength = r.u8("auth response length");
        r.bytes(authLength, "auth response");
        const database = r.cstr("database", true);
        tracker.begin(command, { changeUser: { user, database } });
        return true;
      }
      default:
        tracker.begin(command);
        return true;
    }
  }

  /** Handles `KILL [QUERY] n` and COM_PROCESS_KILL; see `cancel.ts`. */
  #kill(kill: KillStatement): void {
    const tracker = this.#tracker!;
    const local = this.#ctx.cancels.lookup(kill.id);
    if (local instanceof MySqlSession && local.backendThread > 0) {
      const sql = killStatement(local.backendThread, kill.connection, kill.modifier);
      tracker.begin(Com.QUERY);
      this.#backend!.write(
        packet(0, new Uint8Array([Com.QUERY, ...new TextEncoder().encode(sql)])),
      );
      this.#ctx.metrics.cancelRequests.inc({ outcome: "forwarded" });
      return;
    }
    const remote = !local && proxyTagOf(kill.id) !== this.#ctx.ownTag &&
      this.#ctx.forwardCancel(kill.id, killKey(this.user, kill.connection));
    this.#ctx.metrics.cancelRequests.inc({ outcome: remote ? "sent to another proxy" : "unknown" });
    tracker.synthetic(packet(
      1,
      remote
        ? okPayload(this.state!.status)
        : errPayload(Err.NO_SUCH_THREAD, `Unknown thread id: ${kill.id}`),
    ));
  }

  #onBackendData = (chunk: Uint8Array): void => {
    this.#ctx.metrics.tallies.bytesOut += chunk.length;
    this.#lastBackendErr = false;
    try {
      this.#scanner!.scan(chunk);
    } catch (err) {
      this.#log.error("database sent a malformed packet", { error: errorMessage(err) });
      this.close();
      return;
    }
    if (this.#tracker!.idle && chunk.length >= 5 && chunk[4] === 0xff) this.#lastBackendErr = true;
    this.#toClient(chunk);
    if (this.#tracker!.idle) this.#afterReady();
  };

  #toClient(chunk: Uint8Array): void {
    if (!this.#client.write(chunk)) {
      const backend = this.#backend;
      backend?.pause();
      this.#client.once("drain", () => backend?.resume());
    }
  }

  /** Between commands, outside a transaction, with nothing tying the session to its connection. */
  #quiescent(): boolean {
    const state = this.state;
    const tracker = this.#tracker;
    if (!state || !tracker) return false;
    return tracker.idle && !state.inTransaction && (this.#splitter?.atBoundary ?? true) &&
      state.blockingReason() === undefined;
  }

  /** Whether this session is not holding up a drain. */
  get drained(): boolean {
    if (this.#waitingAtGate) return true;
    return this.#tracker !== undefined && this.#quiescent();
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
    if (this.#backpressure || this.#held.length > 0) this.#client.pause();
    else this.#client.resume();
  }

  /**
   * Runs after each answer and whenever the gate or the route changes:
   * reports drain progress, follows a new epoch on the same side, refuses to
   * follow the source of truth to the target (not supported for MySQL yet),
   * and releases held work when it may run.
   */
  #afterReady(): void {
    if (this.#closed || !this.#tracker) return;
    const gate = this.#ctx.gate;
    if (gate.paused) {
      if (this.#held.length > 0 && !this.#quiescent()) this.#release();
      else gate.notify();
      return;
    }
    const latest = this.#ctx.router.current();
    if (this.route && latest.epoch > this.route.epoch && this.#quiescent()) {
      if (latest.side === this.route.side) this.route = latest;
      else {
        this.#ctx.metrics.sessionMoves.inc({ to: latest.side, outcome: "failed" });
        this.#log.error("cannot move a MySQL session to the target; disconnecting it", {
          epoch: latest.epoch,
        });
        this.#fatal(
          Err.NOT_SUPPORTED_YET,
          "LMS: the target (CockroachDB) is now the source of truth, and LMS cannot serve MySQL sessions from it yet; " +
            "cut back over to the source",
        );
        return;
      }
    }
    if (this.#held.length > 0) this.#release();
  }

  /** Called when the gate opens or the routing state changed. */
  reconsider(): void {
    this.#afterReady();
  }

  #release(): void {
    const held = this.#held;
    this.#held = [];
    this.#updateClientFlow();
    for (let i = 0; i < held.length; i++) {
      if (this.#closed) return;
      if (this.#held.length > 0 || (this.#ctx.gate.paused && this.#quiescent())) {
        this.#held.push(...held.slice(i));
        this.#updateClientFlow();
        return;
      }
      this.#onClientData(held[i]);
    }
  }

  #protocolError(err: ProxyErrorCode, problem: unknown): void {
    const message = problem instanceof Error ? problem.message : String(problem);
    const kind = problem instanceof LmsError ? problem.code : "PROTOCOL_VIOLATION";
    this.#ctx.metrics.protocolErrors.inc({ kind });
    this.#log.warn("closing session after invalid client input", { error: message });
    this.#fatal(err, `LMS: ${message}`);
  }

  #backendLost(): void {
    if (this.#closed || this.#terminating) return this.close();
    const side = this.route?.side ?? "source";
    this.#ctx.metrics.backendErrors.inc({ database: side });
    if (this.#lastBackendErr) return this.close();
    this.#log.warn("lost the connection to the database", { side });
    this.#fatal(Err.NET_READ_ERROR, `LMS lost the connection to the ${side} database; reconnect`);
  }

  /**
   * Sends an ERR the client reads as the answer to its command (or its next
   * one when idle), unless a database answer is half sent, then closes.
   */
  #fatal(err: ProxyErrorCode, message: string): void {
    if (this.#closed) return;
    const tracker = this.#tracker;
    if (!this.#scanner || this.#scanner.atBoundary) {
      const seq = tracker && !tracker.idle ? tracker.expectedClientSeq : 1;
      this.#client.write(packet(seq, errPayload(err, message)));
    }
    this.close();
  }

  #failStartup(err: unknown): void {
    if (this.#closed) return;
    if (err instanceof ClientCertificateRejected) this.#client = err.socket;
    if (err instanceof BackendAuthFailed) return this.close();
    if (err instanceof BackendRefusedError) {
      this.#client.write(packet(0, err.errPacket));
      return this.close();
    }
    const known = err instanceof LmsError;
    const code: ProxyErrorCode = err instanceof TruncatedPayload
      ? Err.HANDSHAKE_ERROR
      : !known
      ? Err.UNKNOWN_ERROR
      : err.code === "CLIENT_TLS_REQUIRED"
      ? Err.SECURE_TRANSPORT_REQUIRED
      : err.code === "MESSAGE_TOO_LARGE"
      ? Err.NET_PACKET_TOO_LARGE
      : err.code === "NOT_SUPPORTED"
      ? Err.NOT_SUPPORTED_YET
      : err.code === "PROTOCOL_VIOLATION"
      ? Err.HANDSHAKE_ERROR
      : Err.UNKNOWN_ERROR;
    if (
      err instanceof TruncatedPayload ||
      (known && (err.code === "PROTOCOL_VIOLATION" || err.code === "MESSAGE_TOO_LARGE"))
    ) {
      this.#ctx.metrics.protocolErrors.inc({
        kind: known ? (err as LmsError).code : "PROTOCOL_VIOLATION",
      });
    }
    this.#log.warn("session refused", { error: errorMessage(err) });
    const text = err instanceof TruncatedPayload
      ? `LMS: bad handshake: ${err.message}`
      : err instanceof LmsError
      ? `LMS: ${err.describe()}`
      : `LMS internal error: ${errorMessage(err)}`;
    if (!this.#client.destroyed) {
      this.#client.write(packet(this.state ? 2 : 1, errPayload(code, text)));
    }
    this.close();
  }

  /** Whether a kill request's key was made for this session's user (see `cancel.ts`). */
  acceptsCancelKey(secretKey: number): boolean {
    return readKillKey(this.user, secretKey).matches;
  }

  /**
   * Kills this session's running statement (or, for a forwarded `KILL
   * CONNECTION`, its connection) on the database, through a connection of
   * the `INIT_SOURCE` user.
   */
  cancel(secretKey?: number): Promise<void> {
    if (!this.route || !this.#backendThread) return Promise.resolve();
    const connection = secretKey !== undefined && readKillKey(this.user, secretKey).connection;
    return killOnDatabase(this.#ctx.serviceSpec, this.#backendThread, connection, this.#log);
  }

  /** Disconnects the client with ER_SERVER_SHUTDOWN (1053) naming `reason`. */
  terminate(reason: string): void {
    this.#fatal(Err.SERVER_SHUTDOWN, `LMS: ${reason}`);
  }

  /**
   * Ends the session and releases its database connection. A statement still
   * running on the database is killed first, so the database does not keep
   * working for a client that is gone.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ctx.sessions.delete(this);
    this.#ctx.metrics.connectionsOpen.dec();
    if (this.#connectionId) this.#ctx.cancels.unregister(this.#connectionId);
    const backend = this.#backend;
    if (backend && !backend.destroyed) {
      const busy = this.#tracker !== undefined && !this.#tracker.idle;
      if (busy && !this.#terminating) void this.cancel();
      if (!this.#terminating && this.#tracker) backend.write(packet(0, new Uint8Array([Com.QUIT])));
      backend.end();
      setTimeout(() => backend.destroy(), 1_000).unref?.();
    }
    this.#client.end();
    setTimeout(() => this.#client.destroy(), 1_000).unref?.();
  }
}
