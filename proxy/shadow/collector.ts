/**
 * Turns one database's backend message stream into per-statement results.
 *
 * In shadow mode the same client bytes go to both databases, so both backend
 * streams answer the same requests in the same order. One collector per
 * database sees the client's messages (to know each statement's SQL and the
 * result formats it asked for) and that database's answers, and yields the
 * results of each request once its ReadyForQuery arrived. Results are paired
 * by position: every Execute, and every statement of a simple query, yields
 * exactly one result, skipped ones included.
 *
 * Runs on the hot path of every shadowed statement: rows past the row limit
 * are only hashed, and canonical text values are hashed from their bytes.
 *
 * @module
 */

import { decodeFields, decodeText, readCString, readInt16, readInt32 } from "../pg/messages.ts";
import { splitStatements } from "../pg/sql_session_commands.ts";
import { isIdentityText, normaliseValue } from "./values.ts";

/** One result column. */
export interface ResultColumn {
  /** Column name as the database reported it. */
  name: string;
  /** Type OID. */
  typeOid: number;
  /** Wire format of its values: 0 text, 1 binary. */
  format: number;
}

/** The outcome of one statement on one database. */
export interface StatementResult {
  /** The statement's SQL text ("" if unknown). */
  sql: string;
  /** The statement succeeded. */
  ok: boolean;
  /** SQLSTATE when it failed. */
  sqlstate?: string;
  /** Error message when it failed. */
  message?: string;
  /** CommandComplete tag; "" for EmptyQueryResponse; absent for a suspended portal. */
  commandTag?: string;
  /** Result columns, when it returned rows. */
  columns?: ResultColumn[];
  /** The first `rowLimit` rows, normalised. */
  rows: (string | null)[][];
  /** All DataRows seen. */
  rowCount: number;
  /** Order-independent digest of all normalised rows, as hex. */
  digest: string;
  /** The SQL has a top-level ORDER BY: rows compare in order. */
  ordered: boolean;
  /** The portal was suspended (Execute row limit reached); rows are one chunk of the result. */
  suspended?: boolean;
  /** Not executed because an earlier statement of the request failed. */
  skipped?: boolean;
}

interface StatementInfo {
  sql: string;
  ordered: boolean;
  columns: ResultColumn[] | undefined;
}

interface PortalInfo {
  stmt: StatementInfo | undefined;
  formats: number[];
  columns: ResultColumn[] | undefined;
}

const QUERY = 0;
const PARSE = 1;
const BIND = 2;
const DESCRIBE_S = 3;
const DESCRIBE_P = 4;
const EXECUTE = 5;
const CLOSE = 6;
const SYNC = 7;
const FUNC = 8;

interface Op {
  kind: number;
  stmt?: StatementInfo;
  portal?: PortalInfo;
  statements?: string[];
  index: number;
}

const MAX_PREPARED = 10_000;
const UNKNOWN_STATEMENT: StatementInfo = { sql: "", ordered: false, columns: undefined };

const CH = (c: string): number => c.charCodeAt(0);

/** Streaming two-lane hash of rows; module state so hashing allocates nothing. */
let h1 = 0;
let h2 = 0;

function hashReset(): void {
  h1 = 0x811c9dc5;
  h2 = 0x9747b28c;
}

function hashUnit(c: number): void {
  h1 = Math.imul(h1 ^ c, 0x01000193);
  h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  h2 ^= h2 >>> 15;
}

function hashString(s: string): void {
  for (let i = 0; i < s.length; i++) hashUnit(s.charCodeAt(i));
  hashUnit(0x1_0000);
}

/** Hashes bytes as the string they encode, without decoding ASCII; false when not ASCII. */
function hashAscii(body: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (body[i] >= 0x80) return false;
  for (let i = from; i < to; i++) hashUnit(body[i]);
  hashUnit(0x1_0000);
  return true;
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

class Building {
  readonly result: StatementResult;
  sumLo = 0;
  sumHi = 0;
  constructor(sql: string, ordered: boolean, columns: ResultColumn[] | undefined) {
    this.result = { sql, ok: true, rows: [], rowCount: 0, digest: "", ordered };
    if (columns) this.result.columns = columns;
  }
}

/** Collects the per-statement results of one database's answers. */
export class ResultCollector {
  /** Client message types the collector needs to see. */
  static readonly FRONTEND_TYPES: string = "QPBDECSF";
  /** Backend message types the collector needs to see. */
  static readonly BACKEND_TYPES: string = "TDCEIns123tZGHWV";

  readonly #rowLimit: number;
  readonly #statements = new Map<string, StatementInfo>();
  readonly #portals = new Map<string, PortalInfo>();
  #ops: Op[] = [];
  #head = 0;
  #cur: Building | undefined;
  #results: StatementResult[] = [];
  #completed = 0;
  #hasCompleted = false;

  /** @param opts.rowLimit rows kept per statement for detailed comparison (default 1000) */
  constructor(opts?: { rowLimit?: number }) {
    this.#rowLimit = opts?.rowLimit ?? 1000;
  }

  /** Feeds one client message (any type; unwatched types are ignored). */
  onFrontend(type: number, body: Uint8Array): void {
    switch (type) {
      case 0x51: { // Q
        const sql = decodeText(body);
        this.#push(QUERY, undefined, undefined, splitStatements(sql));
        return;
      }
      case 0x50: { // P
        const [name, at] = readCString(body, 0);
        const sql = readCString(body, at)[0];
        const info: StatementInfo = { sql, ordered: hasTopLevelOrderBy(sql), columns: undefined };
        remember(this.#statements, name, info);
        this.#push(PARSE, info);
        return;
      }
      case 0x42: { // B
        const [portalName, at] = readCString(body, 0);
        const [stmtName, next] = readCString(body, at);
        const portal: PortalInfo = {
          stmt: this.#statements.get(stmtName),
          formats: bindResultFormats(body, next),
          columns: undefined,
        };
        remember(this.#portals, portalName, portal);
        this.#push(BIND, portal.stmt, portal);
        return;
      }
      case 0x44: { // D(escribe)
        const name = readCString(body, 1)[0];
        if (body[0] === CH("S")) this.#push(DESCRIBE_S, this.#statements.get(name));
        else {
          const portal = this.#portals.get(name);
          this.#push(DESCRIBE_P, portal?.stmt, portal);
        }
        return;
      }
      case 0x45: { // E(xecute)
        const portal = this.#portals.get(readCString(body, 0)[0]);
        this.#push(EXECUTE, portal?.stmt, portal);
        return;
      }
      case 0x43: { // C(lose)
        const name = readCString(body, 1)[0];
        if (body[0] === CH("S")) this.#statements.delete(name);
        else this.#portals.delete(name);
        this.#push(CLOSE);
        return;
      }
      case 0x53: // S(ync)
        this.#push(SYNC);
        return;
      case 0x46: // F(unction call)
        this.#push(FUNC);
        return;
    }
  }

  /** Feeds one message of this database (any type; unwatched types are ignored). */
  onBackend(type: number, body: Uint8Array): void {
    if (type === 0x5a) {
      this.#ready();
      return;
    }
    const op = this.#head < this.#ops.length ? this.#ops[this.#head] : undefined;
    if (!op) return;
    switch (type) {
      case 0x44: // D(ataRow)
        if (op.kind === QUERY || op.kind === EXECUTE) this.#row(this.#begin(op), body);
        return;
      case 0x54: { // T
        const columns = rowDescription(body);
        if (op.kind === DESCRIBE_S) {
          if (op.stmt) op.stmt.columns = columns;
          this.#pop();
        } else if (op.kind === DESCRIBE_P) {
          if (op.portal) op.portal.columns = columns;
          this.#pop();
        } else if (op.kind === QUERY) {
          this.#cur = this.#building(op, columns);
        }
        return;
      }
      case 0x43: // C(ommandComplete)
      case 0x49: // I (EmptyQueryResponse)
      case 0x56: // V (FunctionCallResponse)
      case 0x73: // s (PortalSuspended)
        if (op.kind !== QUERY && op.kind !== EXECUTE && op.kind !== FUNC) return;
        {
          const r = this.#finish(this.#begin(op));
          if (type === 0x43) r.commandTag = decodeText(body);
          else if (type === 0x73) r.suspended = true;
          else r.commandTag = "";
          if (op.kind === QUERY) op.index++;
          else this.#pop();
        }
        return;
      case 0x47: // G, H, W: COPY started; it has no rows, only its tag compares
      case 0x48:
      case 0x57:
        if (op.kind === QUERY || op.kind === EXECUTE) this.#begin(op);
        return;
      case 0x6e: // n (NoData)
        if (op.kind === DESCRIBE_S || op.kind === DESCRIBE_P) this.#pop();
        return;
      case 0x31: // 1, 2, 3: Parse/Bind/CloseComplete
      case 0x32:
      case 0x33:
        if (op.kind === PARSE || op.kind === BIND || op.kind === CLOSE) this.#pop();
        return;
      case 0x45: // E(rrorResponse)
        this.#error(op, body);
        return;
    }
  }

  /**
   * Results of the requests completed by ReadyForQuery since the last call, in
   * statement order; `undefined` when no ReadyForQuery arrived since then.
   */
  takeRequest(): StatementResult[] | undefined {
    if (!this.#hasCompleted) return undefined;
    this.#hasCompleted = false;
    const out = this.#results.splice(0, this.#completed);
    this.#completed = 0;
    return out;
  }

  /** ReadyForQuery ends the oldest outstanding request (Query, Sync or FunctionCall). */
  #ready(): void {
    this.#cur = undefined;
    while (this.#head < this.#ops.length) {
      const kind = this.#ops[this.#head].kind;
      this.#pop();
      if (kind === QUERY || kind === SYNC || kind === FUNC) break;
    }
    this.#completed = this.#results.length;
    this.#hasCompleted = true;
  }

  #push(kind: number, stmt?: StatementInfo, portal?: PortalInfo, statements?: string[]): void {
    if (this.#head > 64 && this.#head * 2 > this.#ops.length) {
      this.#ops = this.#ops.slice(this.#head);
      this.#head = 0;
    }
    this.#ops.push({ kind, stmt, portal, statements, index: 0 });
  }

  #pop(): void {
    this.#head++;
    if (this.#head === this.#ops.length) {
      this.#ops.length = 0;
      this.#head = 0;
    }
  }

  #building(op: Op, columns: ResultColumn[] | undefined): Building {
    if (op.kind === QUERY) {
      const sql = op.statements?.[op.index] ?? "";
      return new Building(sql, hasTopLevelOrderBy(sql), columns);
    }
    const stmt = op.stmt ?? UNKNOWN_STATEMENT;
    return new Building(stmt.sql, stmt.ordered, columns);
  }

  #begin(op: Op): Building {
    if (this.#cur) return this.#cur;
    let columns: ResultColumn[] | undefined;
    if (op.kind === EXECUTE && op.portal) {
      const p = op.portal;
      columns = p.columns ?? withFormats(p.stmt?.columns, p.formats);
    }
    this.#cur = this.#building(op, columns);
    return this.#cur;
  }

  #finish(b: Building): StatementResult {
    const r = b.result;
    r.digest = hex32(b.sumHi) + hex32(b.sumLo);
    this.#results.push(r);
    this.#cur = undefined;
    return r;
  }

  #row(b: Building, body: Uint8Array): void {
    const r = b.result;
    const n = readInt16(body, 0);
    const keep = r.rows.length < this.#rowLimit;
    const row: (string | null)[] | undefined = keep ? new Array(n) : undefined;
    const columns = r.columns;
    hashReset();
    let at = 2;
    for (let i = 0; i < n; i++) {
      const len = readInt32(body, at);
      at += 4;
      if (len < 0) {
        hashUnit(0x1_0001);
        if (row) row[i] = null;
        continue;
      }
      const col = columns?.[i];
      const oid = col ? col.typeOid : 0;
      const format = col ? col.format : 0;
      if (!row && isIdentityText(oid, format) && hashAscii(body, at, at + len)) {
        at += len;
        continue;
      }
      const v = normaliseValue(oid, format, body.subarray(at, at + len)) as string;
      at += len;
      hashString(v);
      if (row) row[i] = v;
    }
    b.sumLo = (b.sumLo + h1) | 0;
    b.sumHi = (b.sumHi + h2) | 0;
    r.rowCount++;
    if (row) r.rows.push(row);
  }

  #error(op: Op, body: Uint8Array): void {
    const fields = decodeFields(body);
    const b = this.#begin(op);
    const r = this.#finish(b);
    r.ok = false;
    r.sqlstate = fields.get("C");
    r.message = fields.get("M");
    if (op.kind === QUERY) {
      const statements = op.statements ?? [];
      for (let i = op.index + 1; i < statements.length; i++) {
        this.#results.push(skipped(statements[i], hasTopLevelOrderBy(statements[i])));
      }
      op.index = statements.length;
      return;
    }
    if (op.kind === FUNC || op.kind === SYNC) return;
    let consumedExecute = op.kind === EXECUTE;
    this.#pop();
    // The backend skips everything up to the next Sync; each skipped Execute
    // still yields a result so both databases' results stay aligned.
    while (this.#head < this.#ops.length && this.#ops[this.#head].kind !== SYNC) {
      const next = this.#ops[this.#head];
      if (next.kind === EXECUTE) {
        if (consumedExecute) {
          const stmt = next.stmt ?? UNKNOWN_STATEMENT;
          this.#results.push(skipped(stmt.sql, stmt.ordered));
        } else consumedExecute = true;
      }
      this.#pop();
    }
  }
}

function skipped(sql: string, ordered: boolean): StatementResult {
  return { sql, ok: false, skipped: true, rows: [], rowCount: 0, digest: "", ordered };
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_PREPARED) map.delete(map.keys().next().value as string);
}

function bindResultFormats(body: Uint8Array, at: number): number[] {
  const nFormats = readInt16(body, at);
  at += 2 + nFormats * 2;
  const nParams = readInt16(body, at);
  at += 2;
  for (let i = 0; i < nParams; i++) {
    const len = readInt32(body, at);
    at += 4 + (len > 0 ? len : 0);
  }
  if (at + 2 > body.length) return [];
  const nResult = readInt16(body, at);
  at += 2;
  const formats = new Array<number>(nResult);
  for (let i = 0; i < nResult; i++) formats[i] = readInt16(body, at + i * 2);
  return formats;
}

function withFormats(
  columns: ResultColumn[] | undefined,
  formats: number[],
): ResultColumn[] | undefined {
  if (!columns) return undefined;
  return columns.map((c, i) => ({
    name: c.name,
    typeOid: c.typeOid,
    format: formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : formats[i] ?? 0,
  }));
}

function rowDescription(body: Uint8Array): ResultColumn[] {
  const n = readInt16(body, 0);
  const out = new Array<ResultColumn>(n);
  let at = 2;
  for (let i = 0; i < n; i++) {
    const [name, next] = readCString(body, at);
    at = next + 6;
    const typeOid = readInt32(body, at) >>> 0;
    at += 4 + 2 + 4;
    const format = readInt16(body, at);
    at += 2;
    out[i] = { name, typeOid, format };
  }
  return out;
}

/**
 * True when the statement has an ORDER BY outside parentheses, quotes and
 * comments, i.e. one that orders the statement's own result.
 */
export function hasTopLevelOrderBy(sql: string): boolean {
  const n = sql.length;
  let depth = 0;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 0x27 || c === 0x22) { // ' or "
      const end = sql.indexOf(sql[i], i + 1);
      i = end < 0 ? n : end + 1;
    } else if (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d) {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === 0x24) { // $
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (m) {
        const end = sql.indexOf(m[0], i + m[0].length);
        i = end < 0 ? n : end + m[0].length;
      } else i++;
    } else if (c === 0x28) {
      depth++;
      i++;
    } else if (c === 0x29) {
      depth--;
      i++;
    } else if (depth === 0 && (c === 0x6f || c === 0x4f) && isOrderBy(sql, i)) {
      return true;
    } else i++;
  }
  return false;
}

const ORDER_BY = /^order\s+by\b/i;

function isOrderBy(sql: string, i: number): boolean {
  if (i > 0 && /[A-Za-z0-9_$]/.test(sql[i - 1])) return false;
  return ORDER_BY.test(sql.slice(i, i + 32));
}
