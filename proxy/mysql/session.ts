/**
 * The MySQL wire of one client session (see `proxy/session/wire.ts` for how
 * a wire plugs into the session core). After the connection phase
 * (`startup_flow.ts`), commands flow: each client packet is checked
 * (sequence ids, command byte, size, the fields the proxy reads) and
 * forwarded, and the database's answers stream back untouched while the
 * response tracker (`commands.ts`) reads just enough of them to know where
 * each answer ends and what it did to the session (`session_state.ts`).
 *
 * Towards the core: the session is quiescent between commands, outside a
 * transaction, with the client stream at a packet boundary. A session that
 * holds `LOCK TABLES`, a named lock or a temporary table is pinned to its
 * connection: it is never quiescent, so it runs on through a pause (to
 * release what it holds, as a transaction runs to its end) and blocks the
 * drain, with the reason. Shadowing goes through `shadowing.ts`, on the
 * connection `shadow_backend.ts` chooses.
 *
 * Moves (`legs.ts`): to the target, the session gets a translated backend
 * (`proxy/translate/backend.ts`), an in-process stream answering MySQL
 * packets from CockroachDB, relayed through the same framing and tracker;
 * its MySQL connection is parked (`parked.ts`) for a move back. A client
 * that connects while the target is the source of truth is verified by the
 * proxy (`auth_local.ts`) and served from a translated backend.
 *
 * @module
 */

import type net from "node:net";
import type { Duplex } from "node:stream";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { proxyTagOf } from "../../shared/cancel_key.ts";
import type { AcceptClient, SessionContext } from "../session/context.ts";
import { SessionCore } from "../session/core.ts";
import type { SessionFailure, SessionWire, WireActivity } from "../session/wire.ts";
import {
  Cap,
  Com,
  COMMAND_NAMES,
  Err,
  type ProxyErrorCode,
  Status,
  SUPPORTED_CAPABILITIES,
} from "./constants.ts";
import { type Packet, PacketScanner, PacketSplitter } from "./framing.ts";
import { errPayload, okPayload, packet, PayloadReader, TruncatedPayload, utf8 } from "./packets.ts";
import { type PendingCommand, RELAYED_COMMANDS, ResponseTracker } from "./commands.ts";
import { MySqlSessionState } from "./session_state.ts";
import { type KillStatement, parseKill, queryEffects } from "./statements.ts";
import { killKey, killOnDatabase, killStatement } from "./cancel.ts";
import { refuseMySqlStartup, runMySqlStartup } from "./startup_flow.ts";
import type { LocalAuthContext, LocalLogin } from "./auth_local.ts";
import {
  changeUserPlugin,
  CLEARTEXT_PLUGINS,
  cleartextRefusal,
  cleartextSwitch,
} from "./auth_cleartext.ts";
import { defaultShadowBackend, type MySqlShadowBackend } from "./shadow_backend.ts";
import { MySqlShadowing } from "./shadowing.ts";
import { type MySqlLeg, openLeg, parkLeg, type TargetServing } from "./legs.ts";
import { type ParkedMySql, TARGET_STATEMENT_IDS } from "./parked.ts";
import { ParamTypes } from "./param_types.ts";

/** Largest packet accepted from a database: MySQL's own 1 GiB `max_allowed_packet` ceiling. */
const BACKEND_MAX_PACKET = 1 << 30;
/** How much of each database packet the response tracker reads. */
const BACKEND_PREFIX = 1024;
/** How much of a statement's text is kept for state tracking and listings. */
const QUERY_TEXT_LIMIT = 64 * 1024;

/** MySQL error per failure the session core reports. */
const FAILURE_ERROR: Record<SessionFailure["kind"], ProxyErrorCode> = {
  "backend-unavailable": Err.NET_READ_ERROR,
  "admin-shutdown": Err.SERVER_SHUTDOWN,
  "limit-exceeded": Err.OUT_OF_RESOURCES,
};

/** What the MySQL wire needs beyond the shared session context. */
export interface MySqlWireOptions {
  /** The `INIT_SOURCE` user's connection, for kills forwarded from other proxies. */
  serviceSpec: ConnectionSpec;
  /** This proxy's cancel tag (see `shared/cancel_key.ts`). */
  ownTag: number;
  /** Verifying logins without MySQL once the target is the source of truth; needs INIT_TARGET. */
  localAuth?: LocalAuthContext;
  /** The shadow connection's backend (default: `defaultShadowBackend`). */
  shadowBackend?: MySqlShadowBackend;
  /** Translation for sessions served from the target. */
  serving: TargetServing;
}

/** The MySQL wire's {@linkcode AcceptClient}, for `sourceDialect: mysql`. */
export function acceptMySqlClient(options: MySqlWireOptions): AcceptClient {
  return (socket, ctx) => {
    const address = `${socket.remoteAddress}:${socket.remotePort}`;
    void new SessionCore<MySqlLeg>(
      ctx,
      address,
      (core) => new MySqlWire(socket, ctx, core, options),
    )
      .run();
  };
}

/** The MySQL wire of one session; see the module documentation. */
export class MySqlWire implements SessionWire<MySqlLeg> {
  /** State tracker; present once the client said who it is. */
  state: MySqlSessionState | undefined;

  readonly #ctx: SessionContext;
  readonly #core: SessionCore<MySqlLeg>;
  readonly #options: MySqlWireOptions;
  #client: Duplex;
  #backend: Duplex | undefined;
  /** The current connection when it is a translated backend (served from the target). */
  #translated: MySqlLeg & { kind: "translated" } | undefined;
  /** The MySQL connection kept while the session is on the target. */
  #parked: ParkedMySql | undefined;
  /** Client statement id → MySQL's, after a move back re-prepared statements. */
  #idMap = new Map<number, number>();
  #nextStatementId = TARGET_STATEMENT_IDS;
  /** The parameter types of the prepared statements, for the first execute after a move. */
  readonly #params = new ParamTypes();
  #capabilities = 0;
  #serverVersion = "";
  #mariadbCapabilities = 0;
  #backendThread = 0;
  #connectionId = 0;
  #startupSeq = -1;
  #splitter: PacketSplitter | undefined;
  #scanner: PacketScanner | undefined;
  #tracker: ResponseTracker | undefined;
  #closed = false;
  #terminating = false;
  #backpressure = false;
  #lastBackendErr = false;
  #clientEncrypted = false;
  /** A cleartext plugin the database asked for in a COM_CHANGE_USER exchange, with its packet's sequence id. */
  #cleartextAsked: { plugin: string; seq: number } | undefined;
  #charset = 45;
  readonly #shadowing: MySqlShadowing;

  /**
   * @param socket the accepted client socket
   * @param ctx what all sessions share
   * @param core the session this wire serves
   * @param options MySQL-specific settings
   */
  constructor(
    socket: net.Socket,
    ctx: SessionContext,
    core: SessionCore<MySqlLeg>,
    options: MySqlWireOptions,
  ) {
    this.#ctx = ctx;
    this.#core = core;
    this.#options = options;
    this.#client = socket;
    this.#shadowing = new MySqlShadowing(ctx.shadow, {
      toClient: (chunk) => this.#toClient(chunk),
      drained: () => core.checkpoint(),
    });
    socket.setNoDelay(true);
    socket.pause();
    socket.on("error", () => core.close());
    socket.on("close", () => core.close());
  }

  /** @inheritdoc */
  get facts(): MySqlSessionState | undefined {
    return this.state;
  }

  /** The database's thread id of this session's connection. */
  get backendThread(): number {
    return this.#backendThread;
  }

  /** The connection id the client was given (minted by the proxy). */
  get connectionId(): number {
    return this.#connectionId;
  }

  /** @inheritdoc */
  get blockingReason(): string | undefined {
    return this.state?.blockingReason();
  }

  /** @inheritdoc */
  activity(): WireActivity {
    if (!this.state || !this.#tracker) return "active";
    if (this.state.inTransaction) return "in transaction";
    return this.#tracker.idle ? "idle" : "active";
  }

  /** @inheritdoc */
  quiescent(): boolean {
    const state = this.state, tracker = this.#tracker;
    if (!state || !tracker) return false;
    return tracker.idle && !state.inTransaction && (this.#splitter?.atBoundary ?? true) &&
      state.blockingReason() === undefined && this.#shadowing.settled;
  }

  /** Runs the handshake; always "accepted", since MySQL cancels with a KILL query, not a connection. */
  async start(): Promise<"accepted"> {
    const core = this.#core;
    const startupCore = {
      admit: () => core.admit(),
      mintCancelKey: () => {
        const key = core.mintCancelKey();
        this.#connectionId = key.processId;
        return key;
      },
      get closed() {
        return core.closed;
      },
    };
    const started = await runMySqlStartup(this.#client, this.#ctx, startupCore, {
      clientIs: (socket) => {
        this.#client = socket;
        socket.on("error", () => core.close());
      },
      backendIs: (socket, thread) => {
        this.#backend = socket;
        this.#backendThread = thread;
      },
      identified: (response) => {
        this.state = new MySqlSessionState(response.user, response.database);
        this.#charset = response.charset;
      },
      sequence: (seq) => (this.#startupSeq = seq),
    }, this.#options.localAuth && { auth: this.#options.localAuth, openTarget: this.#openTarget });
    if (!started || this.#closed) return "accepted";
    if ("kind" in started) {
      // Verified by the proxy (the target is the source of truth): served from a translated backend.
      this.#useLeg(started.backend);
      this.#clientEncrypted = started.client.encrypted;
      this.#ctx.cancels.rekey(this.#connectionId, killKey(this.state!.user));
      this.state!.onStatus(Status.AUTOCOMMIT);
      await core.pairShadow();
      if (this.#closed) return "accepted";
      this.#relay(started.client.reader.detach(), new Uint8Array(0), this.#capabilities);
      return "accepted";
    }
    this.#capabilities = started.capabilities;
    // The shadow's leg is shaped like the client's, so it needs these first.
    this.#serverVersion = started.serverVersion;
    this.#mariadbCapabilities = started.mariadbCapabilities;
    await core.pairShadow();
    if (this.#closed) return "accepted";
    this.#ctx.cancels.rekey(this.#connectionId, killKey(this.state!.user));
    this.state!.onStatus(started.status);
    this.#clientEncrypted = started.clientEncrypted;
    const backendPending = started.backendReader.detach();
    core.log.debug("session started", { user: this.state!.user, database: this.state!.database });
    this.#relay(started.clientReader.detach(), backendPending, started.capabilities);
    return "accepted";
  }

  /** `LocalStartup.openTarget`: the translated backend for a login the proxy verified itself. */
  #openTarget = (login: LocalLogin, client: { encrypted: boolean }): Promise<MySqlLeg> => {
    const route = this.#core.route!;
    this.#capabilities = login.response.capabilities & SUPPORTED_CAPABILITIES;
    this.#serverVersion = login.serverVersion;
    this.#mariadbCapabilities = 0;
    this.#clientEncrypted = client.encrypted;
    const facts = this.#legFacts();
    return openLeg("target", route.spec, {
      ...facts,
      serving: { ...facts.serving, roles: new Map([[facts.state.user, login.targetUser]]) },
    });
  };

  /** @inheritdoc */
  refuse(err: unknown): void {
    if (this.#closed) return;
    const seq = this.#startupSeq < 0 ? 0 : this.#startupSeq + 1;
    this.#client = refuseMySqlStartup(err, this.#client, this.#ctx, this.#core.log, seq);
    this.#core.close();
  }

  #relay(clientPending: Uint8Array, backendPending: Uint8Array, caps: number): void {
    const state = this.state!;
    this.#capabilities = caps;
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
        prepared: (cmd, id, params) => {
          state.statements.set(id, cmd.sql ?? "");
          this.#params.prepared(id, params);
        },
        reset: (cmd) => {
          state.reset(cmd.changeUser?.user, cmd.changeUser?.database);
          if (cmd.changeUser) this.#ctx.cancels.rekey(this.#connectionId, killKey(state.user));
        },
        done: (cmd) => {
          if (cmd.command >= 0) this.#shadowing.answerEndsAt(this.#scanner!.packetEnd);
          this.#commandDone(cmd);
        },
        sendSynthetic: (bytes) => {
          if (!this.#shadowing.synthetic(bytes)) this.#toClient(bytes);
        },
      },
    );
    this.#scanner = this.#scannerFor();
    this.#core.relaying();
    this.#client.on("data", this.#onClientData);
    this.#client.on("close", () => this.#core.close());
    this.#attach(this.#backend!);
    if (backendPending.length > 0) this.#onBackendData(backendPending);
    if (clientPending.length > 0) this.#onClientData(clientPending);
    this.#client.resume();
    this.#core.checkpoint();
  }

  #scannerFor(): PacketScanner {
    const tracker = this.#tracker!;
    return new PacketScanner(
      `${this.#core.side ?? "source"} database`,
      BACKEND_MAX_PACKET,
      BACKEND_PREFIX,
      (seq, length, bytes, start, end, continuation) => {
        if (!continuation && !this.#clientEncrypted && tracker.answering === Com.CHANGE_USER) {
          const plugin = cleartextSwitch(bytes.subarray(start, end));
          if (plugin) this.#cleartextAsked ??= { plugin, seq };
        }
        tracker.onPacket(seq, length, bytes, start, end, continuation);
      },
      tracker,
    );
  }

  #attach(backend: Duplex): void {
    backend.on("data", this.#onBackendData);
    backend.on("close", this.#onBackendClose);
    backend.resume();
  }

  #detach(backend: Duplex): void {
    backend.removeListener("data", this.#onBackendData);
    backend.removeListener("close", this.#onBackendClose);
    backend.pause();
  }

  #onBackendClose = (): void => this.#backendLost();

  #legFacts() {
    return {
      state: this.state!,
      parked: this.#parked,
      capabilities: this.#capabilities,
      mariadbCapabilities: this.#mariadbCapabilities,
      serverVersion: this.#serverVersion,
      connectionId: this.#connectionId,
      clientHost: (this.#client as net.Socket).remoteAddress ?? "",
      clientEncrypted: this.#clientEncrypted,
      serving: this.#options.serving,
      nextStatementId: () => this.#nextStatementId++,
      paramTypes: this.#params.kept,
    };
  }

  /** Makes `leg` the current connection (before relaying, or at a swap). */
  #useLeg(leg: MySqlLeg): void {
    if (leg.kind === "translated") {
      this.#backend = leg.backend;
      this.#translated = leg;
      this.#backendThread = 0;
      this.#idMap = new Map();
    } else {
      this.#backend = leg.socket;
      this.#translated = undefined;
      this.#backendThread = leg.thread;
      this.#idMap = leg.idMap;
      this.#parked = undefined;
    }
  }

  /** Rewrites a statement id the client sent to MySQL's, after a move back re-prepared it. */
  #mapStatementId(p: Packet, id: number): void {
    const mapped = this.#idMap.get(id);
    if (mapped === undefined) return;
    new DataView(p.payload.buffer, p.payload.byteOffset + 1, 4).setUint32(0, mapped, true);
  }

  #commandDone(cmd: PendingCommand): void {
    if (cmd.command < 0) return;
    this.#ctx.metrics.observeQuery(
      this.#core.side ?? "source",
      cmd.failed,
      (performance.now() - cmd.startedAt) / 1000,
    );
  }

  #onClientData = (chunk: Uint8Array): void => {
    if (this.#closed || this.#core.holds(chunk)) return;
    this.#process(chunk);
  };

  /** @inheritdoc */
  deliverHeld(chunk: Uint8Array): void {
    this.#process(chunk);
  }

  #process(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#ctx.metrics.tallies.bytesIn += chunk.length;
    let packets: Packet[];
    try {
      packets = this.#splitter!.push(chunk);
    } catch (err) {
      const tooLarge = err instanceof LmsError && err.code === "MESSAGE_TOO_LARGE";
      return this.#protocolError(
        tooLarge ? Err.NET_PACKET_TOO_LARGE : Err.NET_PACKETS_OUT_OF_ORDER,
        err,
      );
    }
    const backend = this.#backend!;
    // One command per chunk is the common case; corking it would only add the stream's bookkeeping.
    if (packets.length === 1) this.#clientPacket(packets[0]);
    else {
      backend.cork();
      try {
        for (const p of packets) {
          if (this.#closed) return;
          this.#clientPacket(p);
        }
      } finally {
        backend.uncork();
      }
    }
    if (backend.writableNeedDrain && !this.#backpressure) {
      this.#backpressure = true;
      this.clientFlowChanged();
      backend.once("drain", () => {
        this.#backpressure = false;
        this.clientFlowChanged();
      });
    }
  }

  #clientPacket(p: Packet): void {
    const tracker = this.#tracker!;
    const backend = this.#backend!;
    if (p.continuation) {
      backend.write(p.raw);
      this.#shadowing.clientPacket(p);
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
      this.#shadowing.clientPacket(p);
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
      if (this.#command(command, p)) {
        backend.write(p.raw);
        this.#shadowing.clientCommand(p);
      }
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
        this.#core.close();
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
        this.#mapStatementId(p, id);
        r.u8("cursor flags");
        r.u32("iteration count");
        state.noteQuery(state.statements.get(id) ?? `(prepared statement ${id})`);
        tracker.begin(command);
        const typed = this.#params.withTypes(p, id, r.pos);
        if (typed === p.payload) return true;
        this.#backend!.write(packet(0, typed));
        return false;
      }
      case Com.STMT_FETCH:
        this.#mapStatementId(p, r.u32("statement id"));
        r.u32("row count");
        tracker.begin(command);
        return true;
      case Com.STMT_CLOSE: {
        const id = r.u32("statement id");
        this.#params.closed(id);
        this.#mapStatementId(p, id);
        this.#idMap.delete(id);
        state.statements.delete(id);
        return true;
      }
      case Com.STMT_SEND_LONG_DATA:
        this.#mapStatementId(p, r.u32("statement id"));
        r.u16("parameter number");
        return true;
      case Com.STMT_RESET:
        this.#mapStatementId(p, r.u32("statement id"));
        tracker.begin(command);
        return true;
      case Com.SET_OPTION:
        r.u16("option");
        tracker.begin(command);
        return true;
      case Com.INIT_DB:
        tracker.begin(command, { effects: [{ kind: "use", database: utf8(r.rest()) }] });
        return true;
      case Com.CHANGE_USER: {
        const plugin = changeUserPlugin(p.payload, this.#capabilities);
        if (CLEARTEXT_PLUGINS.has(plugin) && !this.#clientEncrypted) {
          this.#refuseCleartext(plugin, 1);
          return false;
        }
        const user = r.cstr("user name");
        r.bytes(r.u8("auth response length"), "auth response");
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
    const found = this.#ctx.cancels.find(kill.id);
    const local = found instanceof SessionCore && found.wire instanceof MySqlWire
      ? found.wire
      : undefined;
    if (local && (local.servedFromTarget || this.#translated)) {
      void local.cancelRunning();
      this.#ctx.metrics.cancelRequests.inc({ outcome: "forwarded" });
      tracker.synthetic(packet(1, okPayload(this.state!.status)));
      return;
    }
    if (local && local.backendThread > 0) {
      const sql = killStatement(local.backendThread, kill.connection, kill.modifier);
      const payload = new Uint8Array([Com.QUERY, ...new TextEncoder().encode(sql)]);
      tracker.begin(Com.QUERY);
      this.#shadowing.proxyAnswer(payload);
      this.#backend!.write(packet(0, payload));
      this.#ctx.metrics.cancelRequests.inc({ outcome: "forwarded" });
      return;
    }
    this.#shadowing.proxyAnswer();
    const elsewhere = !found && proxyTagOf(kill.id) !== this.#options.ownTag;
    const forwarded = elsewhere &&
      this.#ctx.forwardCancel(kill.id, killKey(this.state!.user), kill.connection);
    this.#ctx.metrics.cancelRequests.inc({
      outcome: forwarded ? "sent to another proxy" : "unknown",
    });
    tracker.synthetic(packet(
      1,
      forwarded
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
      this.#core.log.error("database sent a malformed packet", { error: errorMessage(err) });
      this.#core.close();
      return;
    }
    const cleartext = this.#cleartextAsked;
    if (cleartext) return this.#refuseCleartext(cleartext.plugin, cleartext.seq);
    const tracker = this.#tracker!;
    if (tracker.idle && chunk.length >= 5 && chunk[4] === 0xff) this.#lastBackendErr = true;
    if (!this.#shadowing.sourceOfTruthData(chunk, tracker.awaitingClient)) this.#toClient(chunk);
    if (tracker.idle) this.#core.checkpoint();
  };

  #toClient(chunk: Uint8Array): void {
    if (!this.#client.write(chunk)) {
      const backend = this.#backend;
      backend?.pause();
      this.#client.once("drain", () => backend?.resume());
    }
  }

  /** @inheritdoc */
  clientFlowChanged(): void {
    if (this.#backpressure || this.#core.readsHeld) this.#client.pause();
    else this.#client.resume();
  }

  /** Whether the session is served from the target through translation. */
  get servedFromTarget(): boolean {
    return this.#translated !== undefined;
  }

  /** Opens the session's connection on `side` (see `legs.ts`). */
  openBackend(side: DatabaseSide, spec: ConnectionSpec): Promise<MySqlLeg> {
    if (!this.state) {
      return Promise.reject(new LmsError("NOT_SUPPORTED", "the session has not started"));
    }
    const parked = this.#parked;
    if (side === "source") this.#parked = undefined;
    return openLeg(side, spec, { ...this.#legFacts(), parked }).catch((err) => {
      if (side === "source" && this.#parked === undefined && parked) this.#parked = parked;
      throw err;
    });
  }

  /** @inheritdoc */
  swapBackend(leg: MySqlLeg): void {
    const old = this.#backend!;
    this.#detach(old);
    if (this.#translated) this.#translated.backend.destroy();
    else {
      this.#parked?.close();
      this.#parked = parkLeg(
        { kind: "mysql", socket: old, thread: this.#backendThread, idMap: this.#idMap },
        this.state!,
        this.#capabilities,
      );
    }
    this.#useLeg(leg);
    this.#params.moved();
    this.#scanner = this.#scannerFor();
    this.#attach(this.#backend!);
  }

  /** @inheritdoc */
  discardBackend(leg: MySqlLeg): void {
    if (leg.kind === "translated") return void leg.backend.destroy();
    // A revived MySQL connection that will not be used is parked again.
    if (this.#translated && !this.#parked) {
      this.#parked = parkLeg(leg, this.state!, this.#capabilities);
    } else leg.socket.destroy();
  }

  /** @inheritdoc */
  openShadow(side: DatabaseSide, spec: ConnectionSpec): Promise<void> | undefined {
    const state = this.state;
    if (!state) return undefined;
    const facts = this.#legFacts();
    const login = {
      user: state.user,
      database: state.database,
      capabilities: this.#capabilities,
      charset: this.#charset,
      session: {
        host: facts.clientHost,
        connectionId: facts.connectionId,
        serverVersion: facts.serverVersion,
        mariadbCapabilities: facts.mariadbCapabilities,
        serving: facts.serving,
        settings: [...new Set([state.setNames, ...state.sessionVars.values()])].filter((s) => s),
      },
    };
    const backend = this.#options.shadowBackend ?? defaultShadowBackend;
    return this.#shadowing.open(side, spec, login, backend, this.#core.log);
  }

  /** @inheritdoc */
  closeShadow(): void {
    this.#shadowing.close();
  }

  /**
   * Ends the session instead of letting a cleartext plugin run over the
   * plain client leg (see `auth_cleartext.ts`): the client gets ERR 3159 in
   * place of the packet numbered `seq`; the database's half-done COM_CHANGE_USER
   * goes with its connection.
   */
  #refuseCleartext(plugin: string, seq: number): void {
    if (this.#closed) return;
    this.#core.log.warn("refused a cleartext password over an unencrypted client connection", {
      plugin,
    });
    this.#terminating = true;
    this.#client.write(
      packet(seq, errPayload(Err.SECURE_TRANSPORT_REQUIRED, cleartextRefusal(plugin))),
    );
    this.#core.close();
  }

  #protocolError(err: ProxyErrorCode, problem: unknown): void {
    const message = problem instanceof Error ? problem.message : String(problem);
    const kind = problem instanceof LmsError ? problem.code : "PROTOCOL_VIOLATION";
    this.#ctx.metrics.protocolErrors.inc({ kind });
    this.#core.log.warn("closing session after invalid client input", { error: message });
    this.#fatal(err, `LMS: ${message}`);
  }

  #backendLost(): void {
    if (this.#closed || this.#terminating) return this.#core.close();
    const side = this.#core.side ?? "source";
    this.#ctx.metrics.backendErrors.inc({ database: side });
    // The database said why (a KILL, its shutdown) and the client got that.
    if (this.#lastBackendErr) return this.#core.close();
    this.#core.log.warn("lost the connection to the database", { side });
    this.#fatal(Err.NET_READ_ERROR, `LMS lost the connection to the ${side} database; reconnect`);
  }

  /**
   * Sends an ERR the client reads as the answer to its command (or to its
   * next one when idle), unless a database answer is half sent, then closes.
   */
  #fatal(err: ProxyErrorCode, message: string): void {
    if (this.#closed) return;
    const tracker = this.#tracker;
    if (!this.#scanner || this.#scanner.atBoundary) {
      const seq = tracker && !tracker.idle ? tracker.expectedClientSeq : 1;
      this.#client.write(packet(seq, errPayload(err, message)));
    }
    this.#core.close();
  }

  /** @inheritdoc */
  fail(failure: SessionFailure): void {
    const text = failure.hint ? `${failure.message} (${failure.hint})` : failure.message;
    this.#fatal(FAILURE_ERROR[failure.kind], text);
  }

  /**
   * Kills the running statement on the database through a connection of the
   * `INIT_SOURCE` user (a forwarded `KILL QUERY`, `cancel --blocking`, or a
   * client that left mid-statement).
   */
  cancelRunning(): Promise<void> {
    if (this.#translated) return this.#translated.backend.cancel().catch(() => {});
    if (!this.#backendThread) return Promise.resolve();
    return killOnDatabase(this.#options.serviceSpec, this.#backendThread, this.#core.log);
  }

  /** @inheritdoc */
  closeConnections(): void {
    this.#closed = true;
    this.closeShadow();
    this.#parked?.close();
    this.#parked = undefined;
    const backend = this.#backend;
    if (backend && !backend.destroyed) {
      const busy = this.#tracker !== undefined && !this.#tracker.idle;
      if (busy && !this.#terminating) void this.cancelRunning();
      if (!this.#terminating && this.#tracker) backend.write(packet(0, new Uint8Array([Com.QUIT])));
      backend.end();
      setTimeout(() => backend.destroy(), 1_000).unref?.();
    }
    this.#client.end();
    setTimeout(() => this.#client.destroy(), 1_000).unref?.();
  }
}
