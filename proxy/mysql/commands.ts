/**
 * The command phase, one command at a time: which commands the proxy relays,
 * what each one's response looks like, and where it ends. The tracker reads
 * only the first bytes of each packet the database sends (the scanner hands
 * them over) and follows every response shape of the protocol:
 *
 * - OK / ERR (COM_PING, COM_INIT_DB, COM_STMT_RESET, COM_RESET_CONNECTION, ...);
 * - result sets: column count, column definitions, an EOF unless the client
 *   negotiated `CLIENT_DEPRECATE_EOF`, rows (text or binary), and an EOF or
 *   OK-as-EOF terminator, repeated while `SERVER_MORE_RESULTS_EXISTS` is set
 *   (multi-statements, stored procedures);
 * - a cursor opened by COM_STMT_EXECUTE (`SERVER_STATUS_CURSOR_EXISTS`: no
 *   rows until COM_STMT_FETCH);
 * - COM_STMT_PREPARE's statement OK with parameter and column definitions;
 * - `LOAD DATA LOCAL INFILE` (0xFB): the client sends the file, then an
 *   empty packet, then the database answers;
 * - COM_CHANGE_USER's authentication exchange;
 * - COM_STATISTICS's bare string, COM_FIELD_LIST's column list.
 *
 * Commands without a response (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA,
 * COM_QUIT) are not queued. Clients that pipeline (send the next command
 * before the answer) are followed: commands queue in order.
 *
 * @module
 */

import { Com, MAX_PACKET_PAYLOAD, Status } from "./constants.ts";
import { decodeErr, decodeOk, eofStatus, type ErrPacket, PayloadReader } from "./packets.ts";
import type { StatementEffect } from "./statements.ts";
import type { PacketListener } from "./framing.ts";

/** Commands the proxy relays; any other command byte ends the session. */
export const RELAYED_COMMANDS: ReadonlySet<number> = new Set([
  Com.QUIT,
  Com.INIT_DB,
  Com.QUERY,
  Com.FIELD_LIST,
  Com.REFRESH,
  Com.STATISTICS,
  Com.PROCESS_KILL,
  Com.DEBUG,
  Com.PING,
  Com.CHANGE_USER,
  Com.STMT_PREPARE,
  Com.STMT_EXECUTE,
  Com.STMT_SEND_LONG_DATA,
  Com.STMT_CLOSE,
  Com.STMT_RESET,
  Com.SET_OPTION,
  Com.STMT_FETCH,
  Com.RESET_CONNECTION,
]);

/** Commands the database does not answer. */
export const UNANSWERED_COMMANDS: ReadonlySet<number> = new Set([
  Com.QUIT,
  Com.STMT_SEND_LONG_DATA,
  Com.STMT_CLOSE,
]);

type Phase =
  | "first"
  | "columns"
  | "columnsEof"
  | "rows"
  | "prepParams"
  | "prepParamsEof"
  | "prepCols"
  | "prepColsEof"
  | "infile"
  | "auth"
  | "fieldList"
  | "synthetic";

/** A command waiting for (the rest of) its response. */
export interface PendingCommand {
  /** The command byte. */
  readonly command: number;
  /** `performance.now()` when it was sent. */
  readonly startedAt: number;
  /** COM_QUERY: the effects of its statements, applied one per successful result. */
  effects: StatementEffect[];
  /** COM_STMT_PREPARE: the statement text. */
  sql?: string;
  /** COM_CHANGE_USER: the new user and database. */
  changeUser?: { user: string; database: string };
  /** A response the proxy makes itself, sent when the command reaches the head of the queue. */
  synthetic?: Uint8Array;
  /** Whether an ERR ended it. */
  failed: boolean;
  phase: Phase;
  left: number;
  columns: number;
}

/** What the tracker tells its session. */
export interface TrackerHooks {
  /** Status flags from an OK or EOF packet. */
  status(status: number): void;
  /** A statement of `cmd` succeeded (OK, or a result set's end). */
  succeeded(cmd: PendingCommand, schema: string | undefined): void;
  /** The database answered `cmd` with ERR. */
  failed(cmd: PendingCommand, err: ErrPacket): void;
  /** COM_STMT_PREPARE succeeded: the statement's id and parameter count. */
  prepared(cmd: PendingCommand, statementId: number, params: number): void;
  /** COM_CHANGE_USER or COM_RESET_CONNECTION succeeded. */
  reset(cmd: PendingCommand): void;
  /** `cmd`'s response ended. */
  done(cmd: PendingCommand): void;
  /** Sends a synthetic response that reached the head of the queue. */
  sendSynthetic(bytes: Uint8Array): void;
}

/** `bytes[start, end)` as its own view, for the decoders. */
function view(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start);
}

/** Follows the responses of queued commands; see the module documentation. */
export class ResponseTracker {
  readonly #queue: PendingCommand[] = [];
  readonly #hooks: TrackerHooks;
  #deprecateEof: boolean;
  #sessionTrack: boolean;
  /** Sequence id of the last packet the database sent for the command at the head. */
  lastSeq = 0;
  /**
   * Whether the head command waits for the end of its rows, where only a
   * packet starting with 0xFE or 0xFF matters (the scanner skips the others:
   * `RowSkipping`).
   */
  inRows = false;

  /**
   * @param capabilities the capabilities both sides negotiated
   * @param hooks what to tell the session
   */
  constructor(deprecateEof: boolean, sessionTrack: boolean, hooks: TrackerHooks) {
    this.#deprecateEof = deprecateEof;
    this.#sessionTrack = sessionTrack;
    this.#hooks = hooks;
  }

  /** The command byte of the command whose answer comes next, if any. */
  get answering(): number | undefined {
    return this.#queue[0]?.command;
  }

  /** Whether no command waits for an answer. */
  get idle(): boolean {
    return this.#queue.length === 0;
  }

  /** Commands waiting for an answer. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Whether the database waits for packets of the client: a LOAD DATA file, an auth answer. */
  get awaitingClient(): boolean {
    const head = this.#queue[0];
    return head !== undefined && (head.phase === "infile" || head.phase === "auth");
  }

  /** The sequence id the client's next packet within the current command must carry. */
  get expectedClientSeq(): number {
    return (this.lastSeq + 1) & 0xff;
  }

  /** Queues a command that was sent to the database. */
  begin(
    command: number,
    extra: Partial<Pick<PendingCommand, "effects" | "sql" | "changeUser">> = {},
  ): PendingCommand {
    const cmd: PendingCommand = {
      command,
      startedAt: performance.now(),
      effects: extra.effects ?? [],
      sql: extra.sql,
      changeUser: extra.changeUser,
      failed: false,
      phase: command === Com.STMT_FETCH ? "rows" : "first",
      left: 0,
      columns: 0,
    };
    this.#queue.push(cmd);
    this.#noteRows();
    return cmd;
  }

  /** Queues a response the proxy makes itself; sent at once when nothing is pending. */
  synthetic(bytes: Uint8Array): void {
    if (this.#queue.length === 0) return this.#hooks.sendSynthetic(bytes);
    this.#queue.push({
      command: -1,
      startedAt: performance.now(),
      effects: [],
      failed: false,
      phase: "synthetic",
      left: 0,
      columns: 0,
      synthetic: bytes,
    });
  }

  /** A packet from the client inside a command (LOAD DATA file data, an auth answer). */
  clientPacket(seq: number, length: number): void {
    const head = this.#queue[0];
    this.lastSeq = seq;
    // The empty packet ends the file; the database answers next.
    if (head?.phase === "infile" && length === 0) head.phase = "first";
    this.#noteRows();
  }

  /**
   * Every physical packet the database sends, at its end (continuations
   * included); its first payload bytes are `bytes[start, end)` (see
   * `PacketListener`). Rows are judged by their first byte alone; a view of
   * the bytes is made only for the packets that are decoded.
   */
  onPacket: PacketListener = (seq, length, bytes, start, end, continuation) => {
    this.#packet(seq, length, bytes, start, end, continuation);
    this.#noteRows();
  };

  #noteRows(): void {
    this.inRows = this.#queue[0]?.phase === "rows";
  }

  #packet(
    seq: number,
    length: number,
    bytes: Uint8Array,
    start: number,
    end: number,
    continuation: boolean,
  ): void {
    this.lastSeq = seq;
    if (continuation) return;
    const head = this.#queue[0];
    if (!head) return;
    const first = start < end ? bytes[start] : -1;
    switch (head.phase) {
      case "first":
        return this.#first(head, first, length, view(bytes, start, end));
      case "columns":
        if (--head.left === 0) head.phase = this.#deprecateEof ? "rows" : "columnsEof";
        return;
      case "columnsEof": {
        const status = eofStatus(view(bytes, start, end));
        this.#hooks.status(status);
        if (status & Status.CURSOR_EXISTS) return this.#resultEnd(head, status, undefined);
        head.phase = "rows";
        return;
      }
      case "rows":
      case "fieldList":
        if (first === 0xff) return this.#failed(head, view(bytes, start, end));
        if (this.#isTerminator(first, length)) {
          const prefix = view(bytes, start, end);
          const ok = this.#deprecateEof && length > 5
            ? decodeOk(prefix, this.#sessionTrack)
            : undefined;
          const status = ok ? ok.status : eofStatus(prefix);
          this.#hooks.status(status);
          return this.#resultEnd(head, status, ok?.schema);
        }
        return;
      case "prepParams":
        if (--head.left === 0) {
          if (!this.#deprecateEof) head.phase = "prepParamsEof";
          else this.#prepColumns(head);
        }
        return;
      case "prepParamsEof":
        return this.#prepColumns(head);
      case "prepCols":
        if (--head.left === 0) {
          if (this.#deprecateEof) this.#finish(head);
          else head.phase = "prepColsEof";
        }
        return;
      case "prepColsEof":
        return this.#finish(head);
      case "infile":
        // The database may refuse before the file ends.
        return this.#first(head, first, length, view(bytes, start, end));
      case "auth":
        if (first === 0x00) return this.#ok(head, view(bytes, start, end));
        if (first === 0xff) return this.#failed(head, view(bytes, start, end));
        return;
      case "synthetic":
        return;
    }
  }

  #isTerminator(first: number, length: number): boolean {
    if (first !== 0xfe) return false;
    return this.#deprecateEof ? length < MAX_PACKET_PAYLOAD : length < 9;
  }

  #first(head: PendingCommand, first: number, length: number, prefix: Uint8Array): void {
    if (first === 0xff) return this.#failed(head, prefix);
    switch (head.command) {
      case Com.STATISTICS:
        return this.#finish(head);
      case Com.FIELD_LIST:
        if (this.#isTerminator(first, length)) {
          return this.#resultEnd(head, eofStatus(prefix), undefined);
        }
        head.phase = "fieldList";
        return;
      case Com.CHANGE_USER:
        if (first === 0x00) return this.#ok(head, prefix);
        head.phase = "auth";
        return;
      case Com.STMT_PREPARE:
        if (first === 0x00) {
          const r = new PayloadReader(prefix, 1);
          const id = r.u32("statement id");
          const columns = r.u16("column count");
          const params = r.u16("parameter count");
          this.#hooks.prepared(head, id, params);
          head.columns = columns;
          if (params > 0) {
            head.phase = "prepParams";
            head.left = params;
          } else this.#prepColumns(head);
          return;
        }
        return this.#finish(head);
      case Com.QUERY:
      case Com.STMT_EXECUTE:
        if (first === 0x00) return this.#ok(head, prefix);
        if (first === 0xfb && head.command === Com.QUERY) {
          head.phase = "infile";
          return;
        }
        head.phase = "columns";
        head.left = new PayloadReader(prefix).lenenc("column count");
        if (head.left === 0) head.phase = "rows";
        return;
      default:
        if (first === 0x00) return this.#ok(head, prefix);
        if (first === 0xfe) {
          this.#hooks.status(eofStatus(prefix));
          return this.#finish(head);
        }
        return this.#finish(head);
    }
  }

  #prepColumns(head: PendingCommand): void {
    if (head.columns > 0) {
      head.phase = "prepCols";
      head.left = head.columns;
    } else this.#finish(head);
  }

  #ok(head: PendingCommand, prefix: Uint8Array): void {
    const ok = decodeOk(prefix, this.#sessionTrack);
    this.#hooks.status(ok.status);
    if (head.command === Com.CHANGE_USER || head.command === Com.RESET_CONNECTION) {
      this.#hooks.reset(head);
    }
    this.#resultEnd(head, ok.status, ok.schema);
  }

  #resultEnd(head: PendingCommand, status: number, schema: string | undefined): void {
    this.#hooks.succeeded(head, schema);
    if (status & Status.MORE_RESULTS_EXISTS) {
      head.phase = "first";
      return;
    }
    this.#finish(head);
  }

  #failed(head: PendingCommand, prefix: Uint8Array): void {
    head.failed = true;
    this.#hooks.failed(head, decodeErr(prefix));
    this.#finish(head);
  }

  #finish(head: PendingCommand): void {
    this.#queue.shift();
    this.#hooks.done(head);
    while (this.#queue[0]?.synthetic) {
      const next = this.#queue.shift()!;
      this.#hooks.sendSynthetic(next.synthetic!);
      this.#hooks.done(next);
    }
  }
}
