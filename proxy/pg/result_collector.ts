/**
 * Decodes one PostgreSQL (or CockroachDB) backend message stream into
 * neutral per-statement results for the shadow comparison.
 *
 * In shadow mode the same client bytes go to both databases, so both backend
 * streams answer the same requests in the same order. One collector per
 * database sees the client's messages (to know each statement's SQL and the
 * result formats it asked for) and that database's answers, and yields the
 * results of each request once its ReadyForQuery arrived. Results are paired
 * by position: every Execute, and every statement of a simple query, yields
 * exactly one result, skipped ones included.
 *
 * Runs on the hot path of every shadowed statement: each value is decoded
 * once, rows past the row limit are only hashed, and renderings that already
 * are their value key (integers, text) are hashed from their bytes.
 *
 * @module
 */

import { RowDigest } from "../shadow/digest.ts";
import {
  type NeutralColumn,
  type NeutralResult,
  type NeutralValue,
  notRun,
} from "../shadow/result.ts";
import { decodeFields, decodeText, readCString, readInt16, readInt32 } from "./messages.ts";
import { completed } from "./command_tag.ts";
import { hasTopLevelOrderBy } from "./order_by.ts";
import { decodeValue, isKeyText, neutralColumn } from "./result_values.ts";
import { splitStatements } from "./sql_session_commands.ts";

/** A RowDescription: the neutral columns, and what decoding their values needs. */
interface Description {
  columns: NeutralColumn[];
  oids: number[];
  /** Result formats as RowDescription or Bind gave them (see {@linkcode formatAt}). */
  formats: number[];
}

interface StatementInfo {
  sql: string;
  ordered: boolean;
  description: Description | undefined;
}

interface PortalInfo {
  stmt: StatementInfo | undefined;
  /** Result formats of the Bind. */
  formats: number[];
  description: Description | undefined;
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
const UNKNOWN_STATEMENT: StatementInfo = { sql: "", ordered: false, description: undefined };

const CH = (c: string): number => c.charCodeAt(0);

class Building {
  readonly result: NeutralResult;
  readonly digest = new RowDigest();
  readonly oids: number[] | undefined;
  readonly formats: number[];
  constructor(
    sql: string,
    ordered: boolean,
    description: Description | undefined,
    formats?: number[],
  ) {
    this.result = { sql, kind: "ok", rows: [], rowCount: 0, digest: "", ordered };
    if (description) {
      this.result.columns = description.columns;
      this.result.kind = "rows";
    }
    this.oids = description?.oids;
    this.formats = formats ?? description?.formats ?? [];
  }
}

/** Collects the per-statement neutral results of one database's answers. */
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
  #results: NeutralResult[] = [];
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
        const info: StatementInfo = {
          sql,
          ordered: hasTopLevelOrderBy(sql),
          description: undefined,
        };
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
          description: undefined,
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
        const description = rowDescription(body);
        if (op.kind === DESCRIBE_S) {
          if (op.stmt) op.stmt.description = description;
          this.#pop();
        } else if (op.kind === DESCRIBE_P) {
          if (op.portal) op.portal.description = description;
          this.#pop();
        } else if (op.kind === QUERY) {
          this.#cur = this.#building(op, description);
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
          if (type === 0x43) completed(r, decodeText(body));
          else if (type === 0x73) r.suspended = true;
          else completed(r, "");
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
  takeRequest(): NeutralResult[] | undefined {
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

  #building(op: Op, description: Description | undefined, formats?: number[]): Building {
    if (op.kind === QUERY) {
      const sql = op.statements?.[op.index] ?? "";
      return new Building(sql, hasTopLevelOrderBy(sql), description);
    }
    const stmt = op.stmt ?? UNKNOWN_STATEMENT;
    return new Building(stmt.sql, stmt.ordered, description, formats);
  }

  #begin(op: Op): Building {
    if (this.#cur) return this.#cur;
    if (op.kind === EXECUTE && op.portal) {
      const p = op.portal;
      // Describe of the portal reports the formats too; otherwise they are the Bind's.
      this.#cur = p.description
        ? this.#building(op, p.description)
        : this.#building(op, p.stmt?.description, p.formats);
    } else this.#cur = this.#building(op, undefined);
    return this.#cur;
  }

  #finish(b: Building): NeutralResult {
    const r = b.result;
    r.digest = b.digest.hex();
    this.#results.push(r);
    this.#cur = undefined;
    return r;
  }

  #row(b: Building, body: Uint8Array): void {
    const r = b.result;
    const n = readInt16(body, 0);
    const keep = r.rows.length < this.#rowLimit;
    const row: NeutralValue[] | undefined = keep ? new Array(n) : undefined;
    const { oids, formats, digest } = b;
    digest.beginRow();
    let at = 2;
    for (let i = 0; i < n; i++) {
      const len = readInt32(body, at);
      at += 4;
      if (len < 0) {
        digest.value(null);
        if (row) row[i] = null;
        continue;
      }
      const oid = oids?.[i] ?? 0;
      const format = formatAt(formats, i);
      const end = at + len;
      if (isKeyText(oid, format) && digest.asciiKey(body, at, end)) {
        if (row) row[i] = decodeValue(oid, format, body.subarray(at, end));
      } else {
        const v = decodeValue(oid, format, body.subarray(at, end));
        digest.value(v);
        if (row) row[i] = v;
      }
      at = end;
    }
    digest.endRow();
    r.rowCount++;
    if (r.kind === "ok") r.kind = "rows";
    if (row) r.rows.push(row);
  }

  #error(op: Op, body: Uint8Array): void {
    const fields = decodeFields(body);
    const b = this.#begin(op);
    const r = this.#finish(b);
    r.kind = "error";
    delete r.columns;
    const sqlstate = fields.get("C");
    r.error = { sqlstate, code: sqlstate, message: fields.get("M") };
    if (op.kind === QUERY) {
      const statements = op.statements ?? [];
      for (let i = op.index + 1; i < statements.length; i++) {
        this.#results.push(
          notRun("skipped", statements[i], hasTopLevelOrderBy(statements[i])),
        );
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
          this.#results.push(notRun("skipped", stmt.sql, stmt.ordered));
        } else consumedExecute = true;
      }
      this.#pop();
    }
  }
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

/** The format of column `i` given a Bind's result format list (none: text, one: all). */
function formatAt(formats: number[], i: number): number {
  return formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : formats[i] ?? 0;
}

function rowDescription(body: Uint8Array): Description {
  const n = readInt16(body, 0);
  const columns = new Array<NeutralColumn>(n);
  const oids = new Array<number>(n);
  const formats = new Array<number>(n);
  let at = 2;
  for (let i = 0; i < n; i++) {
    const [name, next] = readCString(body, at);
    at = next + 6;
    const typeOid = readInt32(body, at) >>> 0;
    const typmod = readInt32(body, at + 6);
    at += 4 + 2 + 4;
    formats[i] = readInt16(body, at);
    at += 2;
    oids[i] = typeOid;
    columns[i] = neutralColumn(name, typeOid, typmod);
  }
  return { columns, oids, formats };
}
