/**
 * Decodes one MySQL database's answers into neutral per-statement results
 * for the shadow comparison (`../shadow/result.ts`), as the packets stream
 * past, once.
 *
 * The collector is told each command the client sent (its first packet) and
 * fed every logical packet the database answered with. Each answered command
 * is one request; it yields one result per statement: every statement of a
 * COM_QUERY (a failed one ends the text, the rest are `skipped`, as MySQL
 * stops there), every result of a stored procedure, a COM_STMT_PREPARE's
 * outcome (so a statement one side cannot prepare is seen), a
 * COM_STMT_EXECUTE's result set or OK, and one result for any other command.
 * OK packets give affected rows and the last insert id; ERR packets the
 * error number (the neutral error's `code`) and SQLSTATE; an ERR 1235 naming
 * a translation gap (`../translate/errors.ts`), on the translated side, is a
 * `translation_gap`.
 *
 * Runs on the hot path of every shadowed statement: rows past the row limit
 * are only hashed, and integer and text renderings are hashed from their bytes.
 *
 * @module
 */

import { RowDigest } from "../shadow/digest.ts";
import { type NeutralResult, notRun } from "../shadow/result.ts";
import { TranslationGap } from "../translate/errors.ts";
import { hasTopLevelOrderBy } from "../pg/order_by.ts";
import { Com, MAX_PACKET_PAYLOAD, Status } from "./constants.ts";
import { decodeErr, decodeOk, eofStatus, PayloadReader, utf8 } from "./packets.ts";
import { decodeColumnDefinition, type MySqlColumn } from "./result_values.ts";
import { collectRow } from "./result_rows.ts";
import { splitStatements, stripComments } from "./statements.ts";
import { commandVerb } from "./verbs.ts";

/** How the collector reads its database's packets. */
export interface MySqlCollectorOptions {
  /** Rows kept per statement for detailed comparison (default 1000). */
  rowLimit?: number;
  /** The connection negotiated CLIENT_DEPRECATE_EOF. */
  deprecateEof: boolean;
  /** The connection negotiated CLIENT_SESSION_TRACK. */
  sessionTrack?: boolean;
  /** The database is reached through translation: ERR 1235 naming a gap is a `translation_gap`. */
  translated?: boolean;
}

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
  | "fieldList";

interface Prepared {
  sql: string;
  ordered: boolean;
}

interface Pending {
  command: number;
  /** COM_QUERY: its statements; otherwise the one statement (or ""). */
  statements: string[];
  index: number;
  ordered: boolean;
  phase: Phase;
  left: number;
  binary: boolean;
  columns: MySqlColumn[];
  results: NeutralResult[];
  current: NeutralResult | undefined;
  digest: RowDigest | undefined;
  /** The proxy's own command: answered, but yields nothing. */
  ignore: boolean;
  /** Synthetic requests that come right after this command's. */
  after: NeutralResult[][];
}

/**
 * What {@linkcode MySqlResultCollector.takeRequests} returns for a command
 * fed with `ignore`: it was answered, but there is nothing to compare.
 */
export const IGNORED: readonly NeutralResult[] = Object.freeze([]);

const MAX_PREPARED = 10_000;
const ER_NOT_SUPPORTED_YET = 1235;
/** How every translation gap's message begins (taken from the class, so the two never drift). */
const GAP_TEXT = new TranslationGap("\u0000").message.split("\u0000")[0];

/** See the module documentation. */
export class MySqlResultCollector {
  readonly #rowLimit: number;
  readonly #deprecateEof: boolean;
  readonly #sessionTrack: boolean;
  /** See {@linkcode MySqlCollectorOptions.translated}. */
  translated: boolean;
  readonly #prepared = new Map<number, Prepared>();
  readonly #queue: Pending[] = [];
  #done: (readonly NeutralResult[])[] = [];
  /**
   * Called with the statement id of each COM_STMT_PREPARE the database
   * answered; -1 and the failed result when it failed.
   */
  onPrepared: (id: number, failure?: NeutralResult) => void = () => {};

  /** @param opts see {@linkcode MySqlCollectorOptions} */
  constructor(opts: MySqlCollectorOptions) {
    this.#rowLimit = opts.rowLimit ?? 1000;
    this.#deprecateEof = opts.deprecateEof;
    this.#sessionTrack = opts.sessionTrack ?? false;
    this.translated = opts.translated ?? false;
  }

  /** Whether no command waits for its answer. */
  get idle(): boolean {
    return this.#queue.length === 0;
  }

  /**
   * The first packet of a command the client sent (or the proxy, with
   * `ignore`). Commands the database does not answer only update the
   * collector's statements.
   */
  onCommand(payload: Uint8Array, ignore = false): void {
    const command = payload[0];
    const r = new PayloadReader(payload, 1);
    let statements = [""];
    let binary = false;
    switch (command) {
      case Com.STMT_CLOSE:
        if (payload.length >= 5) this.#prepared.delete(r.u32());
        return;
      case Com.STMT_SEND_LONG_DATA:
      case Com.QUIT:
        return;
      case Com.QUERY: {
        const sql = utf8(payload.subarray(1));
        const split = splitStatements(stripComments(sql));
        statements = split.length > 1 ? split : [sql.trim()];
        break;
      }
      case Com.STMT_PREPARE:
        statements = [utf8(payload.subarray(1)).trim()];
        break;
      case Com.STMT_EXECUTE:
      case Com.STMT_FETCH: {
        const id = payload.length >= 5 ? r.u32() : -1;
        statements = [this.#prepared.get(id)?.sql ?? ""];
        binary = true;
        break;
      }
    }
    this.#queue.push({
      command,
      statements,
      index: 0,
      ordered: hasTopLevelOrderBy(statements[0]),
      phase: command === Com.STMT_FETCH ? "rows" : "first",
      left: 0,
      binary,
      columns: [],
      results: [],
      current: undefined,
      digest: undefined,
      ignore,
      after: [],
    });
  }

  /**
   * A request answered without the database (a command the other database
   * could not be given): `results` take their turn after the commands
   * already waiting for an answer.
   */
  synthetic(results: NeutralResult[]): void {
    if (this.#queue.length === 0) this.#done.push(results);
    else this.#queue.at(-1)!.after.push(results);
  }

  /** A packet the client sent inside a command (LOAD DATA file data): the empty one ends the file. */
  onClientPacket(payload: Uint8Array): void {
    const head = this.#queue[0];
    if (head?.phase === "infile" && payload.length === 0) head.phase = "first";
  }

  /** One logical packet from the database (continuations joined). */
  onPacket(payload: Uint8Array): void {
    const head = this.#queue[0];
    if (!head) return;
    const first = payload[0];
    switch (head.phase) {
      case "first":
      case "infile":
        return this.#first(head, payload);
      case "columns":
        head.columns.push(decodeColumnDefinition(payload));
        if (--head.left === 0) {
          if (this.#deprecateEof) this.#startRows(head);
          else head.phase = "columnsEof";
        }
        return;
      case "columnsEof": {
        this.#startRows(head);
        if (eofStatus(payload) & Status.CURSOR_EXISTS) {
          head.current!.suspended = true;
          this.#resultEnd(head, eofStatus(payload));
        }
        return;
      }
      case "rows":
        if (first === 0xff) return this.#error(head, payload);
        if (this.#isTerminator(payload)) {
          const status = this.#deprecateEof && payload.length > 5
            ? decodeOk(payload, this.#sessionTrack).status
            : eofStatus(payload);
          if (head.command === Com.STMT_FETCH) this.#building(head).suspended = true;
          return this.#resultEnd(head, status);
        }
        return this.#row(head, payload);
      case "prepParams":
        if (--head.left === 0) {
          if (this.#deprecateEof) this.#prepColumns(head);
          else head.phase = "prepParamsEof";
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
      case "auth":
        if (first === 0x00) return this.#ok(head, payload);
        if (first === 0xff) return this.#error(head, payload);
        return;
      case "fieldList":
        if (first === 0xff) return this.#error(head, payload);
        if (this.#isTerminator(payload)) return this.#resultEnd(head, eofStatus(payload));
        return;
    }
  }

  /**
   * Results of every command answered since the last call, one array per
   * command ({@linkcode IGNORED} for an ignored one).
   */
  takeRequests(): (readonly NeutralResult[])[] {
    const out = this.#done;
    this.#done = [];
    return out;
  }

  #isTerminator(payload: Uint8Array): boolean {
    if (payload[0] !== 0xfe) return false;
    return this.#deprecateEof ? payload.length < MAX_PACKET_PAYLOAD : payload.length < 9;
  }

  #first(head: Pending, payload: Uint8Array): void {
    const first = payload[0];
    if (first === 0xff) return this.#error(head, payload);
    switch (head.command) {
      case Com.QUERY:
      case Com.STMT_EXECUTE:
        if (first === 0x00) return this.#ok(head, payload);
        if (first === 0xfb && head.command === Com.QUERY) {
          head.phase = "infile";
          return;
        }
        head.columns = [];
        head.left = new PayloadReader(payload).lenenc("column count");
        head.phase = head.left === 0 ? "rows" : "columns";
        if (head.left === 0) this.#startRows(head);
        return;
      case Com.STMT_PREPARE: {
        if (first !== 0x00) return this.#finish(head);
        const r = new PayloadReader(payload, 1);
        const id = r.u32("statement id");
        const columns = r.u16("column count");
        const params = r.u16("parameter count");
        const sql = head.statements[0];
        remember(this.#prepared, id, { sql, ordered: hasTopLevelOrderBy(sql) });
        this.onPrepared(id);
        this.#building(head).command = "PREPARE";
        head.columns.length = columns;
        if (params > 0) {
          head.phase = "prepParams";
          head.left = params;
        } else this.#prepColumns(head);
        return;
      }
      case Com.CHANGE_USER:
        if (first === 0x00) return this.#ok(head, payload);
        head.phase = "auth";
        return;
      case Com.FIELD_LIST:
        this.#building(head).command = commandName(head.command);
        if (this.#isTerminator(payload)) return this.#resultEnd(head, eofStatus(payload));
        head.phase = "fieldList";
        return;
      default:
        if (first === 0x00) return this.#ok(head, payload);
        // COM_STATISTICS's bare text and the EOF of COM_DEBUG: done, nothing to compare.
        this.#building(head).command = commandName(head.command);
        return this.#finish(head);
    }
  }

  #prepColumns(head: Pending): void {
    const columns = head.columns.length;
    head.columns = [];
    if (columns > 0) {
      head.phase = "prepCols";
      head.left = columns;
    } else this.#finish(head);
  }

  /** The result of the statement being answered now. */
  #building(head: Pending): NeutralResult {
    if (head.current) return head.current;
    const sql = head.statements[Math.min(head.index, head.statements.length - 1)];
    const ordered = head.index === 0 ? head.ordered : hasTopLevelOrderBy(sql);
    head.current = { sql, kind: "ok", rows: [], rowCount: 0, digest: "", ordered };
    return head.current;
  }

  #startRows(head: Pending): void {
    const r = this.#building(head);
    r.kind = "rows";
    r.command = head.command === Com.QUERY || head.command === Com.STMT_EXECUTE ||
        head.command === Com.STMT_FETCH
      ? commandVerb(r.sql)
      : commandName(head.command);
    r.columns = head.columns.map((c) => c.column);
    head.digest = new RowDigest();
    head.phase = "rows";
  }

  #row(head: Pending, payload: Uint8Array): void {
    const r = this.#building(head);
    const digest = head.digest ??= new RowDigest();
    const keep = r.rows.length < this.#rowLimit;
    const row = collectRow(head.columns, head.binary, payload, digest, keep);
    r.rowCount++;
    if (row) r.rows.push(row);
  }

  #ok(head: Pending, payload: Uint8Array): void {
    const ok = decodeOk(payload, this.#sessionTrack);
    const r = this.#building(head);
    r.command = head.command === Com.QUERY || head.command === Com.STMT_EXECUTE
      ? commandVerb(r.sql)
      : commandName(head.command);
    if (head.command === Com.QUERY || head.command === Com.STMT_EXECUTE) {
      r.affectedRows = ok.affectedRows;
      if (ok.lastInsertId > 0) r.lastInsertId = BigInt(ok.lastInsertId);
    }
    this.#resultEnd(head, ok.status);
  }

  #error(head: Pending, payload: Uint8Array): void {
    const err = decodeErr(payload);
    const r = this.#building(head);
    r.kind = this.translated && err.code === ER_NOT_SUPPORTED_YET && err.message.includes(GAP_TEXT)
      ? "translation_gap"
      : "error";
    delete r.columns;
    delete r.command;
    r.rows = [];
    r.rowCount = 0;
    r.error = { sqlstate: err.sqlState, code: err.code, message: err.message };
    if (head.command === Com.STMT_PREPARE) this.onPrepared(-1, r);
    this.#endResult(head);
    if (head.command === Com.QUERY) {
      for (let i = head.index; i < head.statements.length; i++) {
        const sql = head.statements[i];
        head.results.push(notRun("skipped", sql, hasTopLevelOrderBy(sql)));
      }
    }
    this.#finish(head);
  }

  #endResult(head: Pending): void {
    const r = head.current;
    if (!r) return;
    r.digest = head.digest?.hex() ?? "";
    head.results.push(r);
    head.current = undefined;
    head.digest = undefined;
    head.index++;
  }

  #resultEnd(head: Pending, status: number): void {
    this.#endResult(head);
    if (status & Status.MORE_RESULTS_EXISTS) {
      head.phase = "first";
      return;
    }
    this.#finish(head);
  }

  #finish(head: Pending): void {
    this.#endResult(head);
    this.#queue.shift();
    this.#done.push(head.ignore ? IGNORED : head.results);
    for (const results of head.after) this.#done.push(results);
  }
}

function commandName(command: number): string {
  return `COM_${Object.entries(Com).find(([, c]) => c === command)?.[0] ?? command}`;
}

function remember(map: Map<number, Prepared>, key: number, value: Prepared): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_PREPARED) map.delete(map.keys().next().value as number);
}
