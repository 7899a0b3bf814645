/**
 * The shadow side of one MySQL client session: a connection to the database
 * that is not the source of truth (`shadow_backend.ts` chooses it), fed the
 * client's commands. Both databases' answers are decoded into neutral results
 * (`result_collector.ts`) and handed, command by command, to the wire-neutral
 * pairing (`../shadow/pairing.ts`), which compares and records them.
 *
 * Commands reach the shadow when `../shadow/forwarding.ts` says (at once in
 * `async`, bounded; in `sync`/`strict-sync` once the source of truth answered
 * them). What MySQL adds:
 * - prepared statements have an id per connection: the n-th COM_STMT_PREPARE
 *   on one side is the n-th on the other, so statement ids in
 *   COM_STMT_EXECUTE/FETCH/RESET/CLOSE/SEND_LONG_DATA are rewritten to the
 *   shadow's (a command waits, in order, until the shadow answered its
 *   prepare). A statement the shadow could not prepare is not sent; its
 *   executions compare with a result that did not run there (a
 *   `translation_gap` when the prepare was one). Statements prepared before
 *   the shadow opened run on the source of truth only, uncompared;
 * - statements the shadow's backend answers itself (`answersItself`) still
 *   run on both sides but are not compared;
 * - COM_CHANGE_USER carries an answer to the source of truth's scramble,
 *   which no other database would accept: it ends shadowing for the session.
 *
 * In `async` the client never waits for any of it: the session hands the link
 * each client packet after it went to the source of truth, and the source of
 * truth's bytes as it sends them to the client; the link keeps them (views,
 * no copies), with the shadow's answers, in a {@linkcode ShadowBacklog}
 * (`../shadow/session_backlog.ts`), and rewrites statement ids, writes to the
 * shadow, decodes and compares once the event loop has forwarded what was
 * due. In `sync` and `strict-sync` the client waits for the verdict anyway,
 * so that work runs as the packets pass.
 *
 * @module
 */

import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { ShadowBacklog } from "../shadow/after_io.ts";
import { ShadowForwarder } from "../shadow/forwarding.ts";
import { sessionBacklog, shadowDataListener } from "../shadow/session_backlog.ts";
import { type RequestVerdict, type ShadowContext, ShadowPairing } from "../shadow/pairing.ts";
import { type NeutralResult, notRun } from "../shadow/result.ts";
import { hasTopLevelOrderBy } from "../pg/order_by.ts";
import { Cap, Com } from "./constants.ts";
import type { Packet } from "./framing.ts";
import { LogicalPackets } from "./logical_packets.ts";
import { prepareAnswer } from "../translate/answer/mod.ts";
import { decodeErr, utf8 } from "./packets.ts";
import { statementIdOf, StatementIds, withStatementId } from "./statement_ids.ts";
import { IGNORED, MySqlResultCollector } from "./result_collector.ts";
import type { MySqlShadowBackend, MySqlShadowConnection, ShadowLogin } from "./shadow_backend.ts";

/** `strict-sync`: the shadow's ERR payload for a command the source of truth completed. */
export type MySqlShadowVerdict = RequestVerdict<Uint8Array>;

const MAX_PACKET = 1 << 30;
const QUIT = new Uint8Array([1, 0, 0, 0, Com.QUIT]);
const STATEMENT_COMMANDS: ReadonlySet<number> = new Set([
  Com.STMT_EXECUTE,
  Com.STMT_FETCH,
  Com.STMT_RESET,
  Com.STMT_CLOSE,
  Com.STMT_SEND_LONG_DATA,
]);
const UNANSWERED: ReadonlySet<number> = new Set([
  Com.STMT_CLOSE,
  Com.STMT_SEND_LONG_DATA,
  Com.QUIT,
]);

/**
 * What an `async` backlog chunk is: a client command's first packet, a client
 * packet inside a command (a continuation, or not), the payload of a command
 * the proxy sent itself, or either database's bytes.
 */
type Kept =
  | "command"
  | "inside"
  | "continuation"
  | "proxy command"
  | "source of truth"
  | "shadow";

/** A command (and the packets of it the client sent after the first) on its way to the shadow. */
interface Outgoing {
  /** The packets, as the client sent them. */
  packets: Uint8Array[];
  /** The first packet's payload. */
  payload: Uint8Array;
  /** Index of the prepare it names, for statement commands. */
  prepare?: number;
  /** Feed the shadow collector with `ignore`. */
  ignore: boolean;
  /** A packet inside a command, not a command of its own. */
  inside: boolean;
}

/** See the module documentation. */
export class MySqlShadowLink {
  /** The database this link shadows to. */
  readonly side: DatabaseSide;
  readonly #ctx: ShadowContext;
  readonly #log: Logger;
  readonly #capabilities: number;
  readonly #sot: MySqlResultCollector;
  readonly #shadow: MySqlResultCollector;
  readonly #pairing: ShadowPairing<Uint8Array>;
  readonly #forwarder: ShadowForwarder;
  readonly #sotPackets = new LogicalPackets("source of truth (shadow decoding)", MAX_PACKET);
  readonly #shadowPackets: LogicalPackets;
  #connection: MySqlShadowConnection | undefined;
  #stopped = false;
  readonly #statements = new StatementIds();
  #outgoing: Outgoing[] = [];
  #outgoingBytes = 0;
  /** `sync`/`strict-sync`: per command the source of truth answers, whether it went to the shadow. */
  readonly #forwarded: boolean[] = [];
  readonly #sentAt: number[] = [];
  /** `async`: the work kept until the event loop forwarded what was due. */
  readonly #backlog: ShadowBacklog<Kept> | undefined;
  /** Called after each command the shadow completed, and when the link stops. */
  onProgress: () => void = () => {};

  /**
   * @param side the database shadowed to
   * @param ctx the proxy's shadow settings
   * @param capabilities what the client's leg negotiated
   * @param log the session's logger
   */
  constructor(side: DatabaseSide, ctx: ShadowContext, capabilities: number, log: Logger) {
    this.side = side;
    this.#ctx = ctx;
    this.#log = log.child({ shadow: side });
    this.#capabilities = capabilities;
    const options = {
      rowLimit: ctx.rowLimit,
      deprecateEof: (capabilities & Cap.DEPRECATE_EOF) !== 0,
      sessionTrack: (capabilities & Cap.SESSION_TRACK) !== 0,
    };
    this.#sot = new MySqlResultCollector(options);
    this.#shadow = new MySqlResultCollector(options);
    this.#shadowPackets = new LogicalPackets(`${side} database (shadow)`, MAX_PACKET);
    this.#sot.onPrepared = (id) => this.#statements.sourceOfTruthAnswered(id);
    this.#shadow.onPrepared = (id, failure) => {
      this.#statements.shadowAnswered(failure ? { id, failure } : { id });
      this.#pump();
    };
    this.#pairing = new ShadowPairing(side, ctx);
    this.#forwarder = new ShadowForwarder(ctx, (reason) => this.stop(reason));
    this.#backlog = sessionBacklog<Kept>(
      ctx,
      this.#forwarder,
      (kept, chunk, at) => this.#process(kept, chunk, at),
    );
  }

  /** Whether the link still shadows. */
  get active(): boolean {
    return !this.#stopped;
  }

  /**
   * Opens the shadow connection through `backend`; commands sent meanwhile
   * are kept (bounded) and sent once connected. Resolves undefined when the
   * backend cannot shadow this session (nothing was opened).
   */
  open(
    backend: MySqlShadowBackend,
    spec: ConnectionSpec,
    login: ShadowLogin,
  ): Promise<void> | undefined {
    const opening = backend(this.side, spec, login);
    if (!opening) {
      this.#stopped = true;
      return undefined;
    }
    return opening.then((connection) => this.#connected(connection), (err) => {
      this.#ctx.metrics.error(this.side, "08006");
      this.stop(`cannot open the shadow connection: ${errorMessage(err)}`);
      throw err;
    });
  }

  #connected(connection: MySqlShadowConnection): void {
    const { socket } = connection;
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    const differs = (connection.capabilities ^ this.#capabilities) &
      (Cap.DEPRECATE_EOF | Cap.MULTI_STATEMENTS | Cap.FOUND_ROWS);
    if (differs) {
      socket.destroy();
      this.stop("the shadow connection negotiated other capabilities than the client's");
      return;
    }
    this.#connection = connection;
    this.#shadow.translated = connection.translated;
    socket.on("error", () => {});
    socket.on("close", () => this.stop("the shadow database closed the connection"));
    socket.on(
      "data",
      shadowDataListener(this.#backlog, (chunk, at) => this.#onShadowData(chunk, at)),
    );
    socket.resume();
    this.#forwarder.connected(socket);
  }

  /**
   * The first packet of a client command, after it went to the source of
   * truth. Returns whether the command's answer gets a verdict (`sync`,
   * `strict-sync`: the session holds that answer until {@linkcode takeVerdict};
   * in `async` it is kept for later and gets none). The caller must not change
   * the packet afterwards.
   */
  command(p: Packet): boolean {
    if (this.#stopped) return false;
    if (this.#backlog) {
      this.#backlog.add("command", p.raw);
      return false;
    }
    return this.#command(p.raw, p.payload);
  }

  /** A client command's first packet (`raw`, whose payload is `payload`); see `command`. */
  #command(raw: Uint8Array, payload: Uint8Array): boolean {
    const command = payload[0];
    if (command === Com.CHANGE_USER) {
      this.stop("COM_CHANGE_USER cannot be shadowed (its answer is for the other scramble)");
      return false;
    }
    const answered = !UNANSWERED.has(command);
    let ignore = false;
    let prepare: number | undefined;
    if (STATEMENT_COMMANDS.has(command)) {
      const id = payload.length >= 5 ? statementIdOf(payload) : -1;
      prepare = this.#statements.prepareOf(id);
      if (command === Com.STMT_CLOSE) this.#statements.closed(id);
      if (prepare === undefined) {
        // Prepared before the shadow opened: the source of truth's alone.
        this.#sot.onCommand(payload, true);
        if (answered) this.#forwardedFlag(false);
        return false;
      }
      ignore = this.#statements.uncompared(prepare);
    } else if (command === Com.QUERY) {
      ignore = this.#answersItself(utf8(payload.subarray(1)));
    } else if (command === Com.STMT_PREPARE) {
      const sql = utf8(payload.subarray(1)).trim();
      ignore = this.#answersItself(sql);
      this.#statements.sent(sql, ignore);
    }
    this.#sot.onCommand(payload, ignore);
    if (command === Com.QUIT) {
      this.finish();
      return false;
    }
    this.#enqueue({ packets: [raw], payload, prepare, ignore, inside: false });
    return answered && !ignore;
  }

  /**
   * Whether the shadow's backend answers `sql` itself (then it is not
   * compared): as the backend says, else, for a translated backend, what the
   * proxy's own answerers may take (`../translate/answer/`).
   */
  #answersItself(sql: string): boolean {
    const connection = this.#connection;
    if (connection?.answersItself) return connection.answersItself(sql);
    return connection?.translated === true && prepareAnswer(sql).mayAnswer;
  }

  /**
   * A packet of the client inside a command (continuation, LOAD DATA file
   * data); the caller must not change it afterwards.
   */
  clientPacket(p: Packet): void {
    if (this.#stopped) return;
    if (this.#backlog) this.#backlog.add(p.continuation ? "continuation" : "inside", p.raw);
    else this.#clientPacket(p.raw, p.continuation);
  }

  #clientPacket(raw: Uint8Array, continuation: boolean): void {
    const payload = continuation ? new Uint8Array(0) : raw.subarray(4);
    if (!continuation) this.#sot.onClientPacket(payload);
    this.#enqueue({ packets: [raw], payload, ignore: true, inside: true });
  }

  /** A command the proxy sent the source of truth itself; nothing to pair or forward. */
  proxyCommand(payload: Uint8Array): void {
    if (this.#stopped) return;
    if (this.#backlog) return this.#backlog.add("proxy command", payload);
    this.#proxyCommand(payload);
  }

  #proxyCommand(payload: Uint8Array): void {
    this.#sot.onCommand(payload, true);
    this.#forwardedFlag(false);
  }

  /**
   * Bytes the source of truth sent (they go on to the client; here they are
   * only decoded). In `async` they are kept: the caller must not change them.
   */
  sotData(chunk: Uint8Array): void {
    if (this.#stopped) return;
    if (this.#backlog) this.#backlog.add("source of truth", chunk);
    else this.#sotData(chunk);
  }

  /** `async`: one kept chunk, in arrival order. */
  #process(kept: Kept, chunk: Uint8Array, at: number): void {
    switch (kept) {
      case "command":
        this.#command(chunk, chunk.subarray(4));
        return;
      case "inside":
      case "continuation":
        return this.#clientPacket(chunk, kept === "continuation");
      case "proxy command":
        return this.#proxyCommand(chunk);
      case "source of truth":
        return this.#sotData(chunk);
      case "shadow":
        return this.#onShadowData(chunk, at);
    }
  }

  #sotData(chunk: Uint8Array): void {
    let payloads: Uint8Array[];
    try {
      payloads = this.#sotPackets.push(chunk);
    } catch (err) {
      this.stop(`cannot decode the source of truth's answer: ${errorMessage(err)}`);
      return;
    }
    for (const payload of payloads) {
      this.#sot.onPacket(payload);
      for (const results of this.#sot.takeRequests()) this.#sotRequest(results);
      if (this.#stopped) return;
    }
  }

  /** The verdict on the oldest paired command both databases answered, if any. */
  takeVerdict(): MySqlShadowVerdict | undefined {
    return this.#pairing.takeVerdict();
  }

  #sotRequest(results: readonly NeutralResult[]): void {
    const sync = this.#ctx.mode !== "async";
    const forwarded = sync ? this.#forwarded.shift() ?? true : false;
    if (results !== IGNORED) this.#pairing.sourceOfTruthRequest(results);
    if (forwarded) this.#forwarder.answered();
  }

  #forwardedFlag(forwarded: boolean): void {
    if (this.#ctx.mode !== "async") this.#forwarded.push(forwarded);
  }

  #enqueue(out: Outgoing): void {
    this.#outgoing.push(out);
    for (const part of out.packets) this.#outgoingBytes += part.length;
    this.#pump();
    if (this.#outgoingBytes > this.#ctx.maxQueueBytes) {
      this.#ctx.metrics.droppedSession();
      this.#ctx.stats.recordDroppedSession();
      this.stop(
        `more than ${this.#ctx.maxQueueBytes} bytes wait for the shadow's prepared statements; ` +
          "shadowing stops for this session",
      );
    }
  }

  /** Hands the forwarder every command whose statement id can be rewritten now, in order. */
  #pump(): void {
    while (!this.#stopped && this.#outgoing.length > 0) {
      const out = this.#outgoing[0];
      let shadowId: number | undefined;
      let failure: NeutralResult | undefined;
      if (out.prepare !== undefined) {
        const answer = this.#statements.shadowAnswer(out.prepare);
        if (!answer) return;
        shadowId = answer.id;
        failure = answer.id < 0 ? (answer.failure ?? notRun("skipped", "", false)) : undefined;
      }
      this.#outgoing.shift();
      for (const part of out.packets) this.#outgoingBytes -= part.length;
      const command = out.payload[0];
      if (failure) {
        if (!UNANSWERED.has(command) && !out.inside) {
          this.#forwardedFlag(false);
          const sql = this.#statements.sqlOf(out.prepare!);
          const kind = failure.kind === "translation_gap" ? "translation_gap" : "skipped";
          this.#sentAt.push(performance.now());
          this.#shadow.synthetic([notRun(kind, sql, hasTopLevelOrderBy(sql), failure.error)]);
          this.#drainShadow(undefined, performance.now());
        }
        continue;
      }
      if (!out.inside) {
        if (shadowId !== undefined) out.packets[0] = withStatementId(out.packets[0], shadowId);
        // The shadow collector reads its own statement ids.
        this.#shadow.onCommand(out.packets[0].subarray(4), out.ignore);
        if (!UNANSWERED.has(command)) {
          this.#forwardedFlag(true);
          this.#sentAt.push(performance.now());
        }
        this.#forwarder.send(out.packets[0], [0]);
        for (let i = 1; i < out.packets.length; i++) this.#forwarder.send(out.packets[i], []);
      } else {
        if (out.payload.length > 0 || out.packets[0].length === 4) {
          this.#shadow.onClientPacket(out.payload);
        }
        for (const part of out.packets) this.#forwarder.send(part, []);
      }
    }
  }

  /** Bytes the shadow sent, which arrived at `at` (`performance.now()`). */
  #onShadowData(chunk: Uint8Array, at: number): void {
    let payloads: Uint8Array[];
    try {
      payloads = this.#shadowPackets.push(chunk);
    } catch (err) {
      this.stop(`the shadow database sent a malformed packet: ${errorMessage(err)}`);
      return;
    }
    for (const payload of payloads) {
      let failure: Uint8Array | undefined;
      if (payload[0] === 0xff) {
        failure = payload.slice();
        this.#ctx.metrics.error(this.side, decodeErr(payload).sqlState);
      }
      this.#shadow.onPacket(payload);
      this.#drainShadow(failure, at);
      if (this.#stopped) return;
    }
  }

  /**
   * Pairs every request the shadow collector completed; `failure` is the ERR
   * that ended one, `at` when its last bytes arrived.
   */
  #drainShadow(failure: Uint8Array | undefined, at: number): void {
    for (const results of this.#shadow.takeRequests()) {
      const sentAt = this.#sentAt.shift();
      if (sentAt !== undefined) {
        // In async a command waiting for its prepare is sent while an answer kept earlier is read.
        this.#ctx.metrics.observeDuration(this.side, Math.max(0, at - sentAt) / 1000);
      }
      if (results === IGNORED) continue;
      const err = results.some((r) => r.kind === "error" || r.kind === "translation_gap")
        ? failure
        : undefined;
      this.#pairing.shadowRequest(results, err);
      this.onProgress();
    }
  }

  /**
   * Ends the link at a command boundary without losing what was sent: the
   * shadow database still executes everything already written to it.
   */
  finish(): void {
    if (this.#stopped) return;
    // What the client sent and the source of truth answered still reaches the shadow and pairing.
    this.#backlog?.drain();
    if (this.#stopped) return;
    this.#stopped = true;
    const socket = this.#connection?.socket;
    socket?.removeAllListeners("close");
    socket?.end(QUIT);
    this.onProgress();
  }

  /** Stops shadowing for this session; logs `reason` once. */
  stop(reason?: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (reason) this.#log.warn("shadowing stopped for this session", { reason });
    this.#forwarder.discard();
    this.#backlog?.discard();
    this.#connection?.socket.destroy();
    this.onProgress();
  }
}
