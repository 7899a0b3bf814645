/**
 * The neutral result model: what one statement did on one database, in terms
 * no wire owns. Each wire (`proxy/pg/`, `proxy/mysql/`) decodes its answers
 * into it, once, as they stream past; the comparison (`compare.ts`) only ever
 * sees two of these, so a MySQL result compares with a CockroachDB result
 * with the same code that compares two PostgreSQL results.
 *
 * Values are typed where JavaScript has the type (integers, floats,
 * booleans, bytes) and canonical text where it does not (decimals, dates,
 * times, timestamps, JSON, UUIDs): equal meanings give equal values, whatever
 * rendering or binary encoding the database chose. See `values.ts` for the
 * canonical forms and the type-tolerant equality on top of them.
 *
 * @module
 */

/**
 * Type family of a result column. Families, not database types: INT2, INT4,
 * INT8, MySQL TINY..LONGLONG are all `int`; NUMERIC and NEWDECIMAL are
 * `decimal`, whatever their scale.
 */
export type NeutralType =
  | "int"
  | "decimal"
  | "float"
  | "text"
  | "bytes"
  | "bool"
  | "date"
  | "time"
  | "timestamp"
  | "timestamptz"
  | "interval"
  | "json"
  | "uuid"
  | "array"
  | "unknown";

/** One result column. */
export interface NeutralColumn {
  /** Column name as the database reported it. */
  name: string;
  /** Type family; decides how its values were decoded. */
  type: NeutralType;
  /** Declared digits after the decimal point (`decimal`), when the wire says. Never compared. */
  scale?: number;
  /** The database's own name of the type, for messages (`int4`, `NEWDECIMAL(10,2)`, `TINY(1)`). */
  nativeType: string;
  /**
   * Text of this column compares case-, accent- and trailing-space-insensitively
   * on its database (a MySQL `_ci` collation). A difference that disappears
   * under that folding is reported as a `collation` mismatch, not `values`.
   */
  caseInsensitive?: boolean;
}

/**
 * One value, by type family of its column:
 * - `int`: `bigint`;
 * - `float`: `number`, rounded to the type's significant digits (6 for
 *   single precision, 15 for double), so renderings with more digits agree;
 * - `bool`: `boolean`;
 * - `bytes`: `Uint8Array`;
 * - `decimal`: canonical decimal text (`canonicalDecimal`: no exponent, no
 *   insignificant zeros, `NaN`, `Infinity`, `-Infinity`);
 * - `date` `YYYY-MM-DD`, `time` `HH:MM:SS[.ffffff]`, `timestamp`
 *   `YYYY-MM-DD HH:MM:SS[.ffffff]`, `timestamptz` the same instant in UTC
 *   with `+00` (see `canonicalTimestamp`); ` BC` appended before year 1;
 * - `json`: compact JSON with sorted object keys; `uuid`: lower-case text;
 * - `text`, `interval`, `array`, `unknown`: the database's text (for an
 *   undecodable binary value: `\x` and lower-case hex);
 * - SQL NULL: `null`.
 */
export type NeutralValue = bigint | number | boolean | string | Uint8Array | null;

/** Why a statement has no answer of its own on a database. */
export interface NeutralError {
  /** SQLSTATE, when the database gave one. */
  sqlstate?: string;
  /** The database's own error code (MySQL's error number; PostgreSQL's SQLSTATE). */
  code?: string | number;
  /** The database's message. */
  message?: string;
}

/**
 * What a statement produced:
 * - `rows`: a result set (possibly empty);
 * - `ok`: done without a result set (DML, DDL, SET, an empty query);
 * - `error`: the database failed it;
 * - `skipped`: not executed because an earlier statement of its request failed;
 * - `translation_gap`: the proxy could not translate it for this database
 *   (MySQL to CockroachDB), so it never ran here.
 */
export type ResultKind = "rows" | "ok" | "error" | "skipped" | "translation_gap";

/** The outcome of one statement on one database. */
export interface NeutralResult {
  /** The statement's SQL text as the client sent it ("" if unknown). */
  sql: string;
  /** See {@linkcode ResultKind}. */
  kind: ResultKind;
  /**
   * The command's verb (`SELECT`, `INSERT`, `CREATE TABLE`; "" for an empty
   * query); absent when the statement has not completed (a suspended portal).
   */
  command?: string;
  /** The database's own completion text, for messages (`INSERT 0 1`). */
  tag?: string;
  /** Result columns, for `rows`. */
  columns?: NeutralColumn[];
  /** The first rows, up to the row limit. */
  rows: NeutralValue[][];
  /** All rows seen. */
  rowCount: number;
  /** Order-independent digest of all rows (`RowDigest`); "" when no rows were digested. */
  digest: string;
  /** Rows the command inserted, updated, deleted or copied; absent for queries. */
  affectedRows?: number;
  /** The key the command generated (MySQL's last insert id), when the wire reports one. */
  lastInsertId?: bigint;
  /** The rows come in an order the statement asked for (top-level ORDER BY). */
  ordered: boolean;
  /** Only a chunk of the result: the client asked for a limited number of rows. */
  suspended?: boolean;
  /** For `error` and `translation_gap`. */
  error?: NeutralError;
}

/** A result for a statement that never ran on a database (see {@linkcode ResultKind}). */
export function notRun(
  kind: "skipped" | "translation_gap",
  sql: string,
  ordered: boolean,
  error?: NeutralError,
): NeutralResult {
  const r: NeutralResult = { sql, kind, rows: [], rowCount: 0, digest: "", ordered };
  if (error) r.error = error;
  return r;
}

/** The statement ran and succeeded (`rows` or `ok`). */
export function succeeded(r: NeutralResult): boolean {
  return r.kind === "rows" || r.kind === "ok";
}
