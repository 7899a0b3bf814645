/**
 * What a statement the proxy answers itself looks like, and what it may ask
 * of the session to answer it. With `sourceDialect: mysql`, a statement that
 * CockroachDB has no equivalent for (`SHOW VARIABLES`, `SELECT @@version`,
 * `SET NAMES`, `SHOW CREATE TABLE`, ...) never reaches the translator: the
 * executor (`proxy/translate/` backend) first offers it to
 * `answerStatement()` (`./mod.ts`), which returns an {@linkcode Answer} or
 * `null` ("not mine, translate it").
 *
 * Answers are wire-neutral in shape but MySQL in meaning: column types are
 * MySQL type codes, values are MySQL's text rendering. The executor encodes
 * them as text or binary rows, as the command (COM_QUERY or
 * COM_STMT_EXECUTE) needs.
 *
 * @module
 */

/** A column of an answered result set, in MySQL's terms. */
export interface AnswerColumn {
  /** Column label as MySQL would print it. */
  name: string;
  /** MySQL type code (`MYSQL_TYPE_*`, e.g. 253 VAR_STRING, 8 LONGLONG). */
  type: number;
  /** Column length MySQL reports (characters × 4 for utf8mb4 text). */
  length: number;
  /** Column definition flags (NOT_NULL 1, PRI_KEY 2, UNSIGNED 32, BINARY 128, ...). */
  flags: number;
  /** Digits after the decimal point; 0 for integers, 31 for strings. */
  decimals: number;
  /** Character set id: 45 utf8mb4_general_ci for text, 63 binary otherwise. */
  charset: number;
  /** Schema and table the column belongs to, when it has one (SHOW COLUMNS has none). */
  schema?: string;
  table?: string;
}

/** The proxy's answer to one statement. */
export type Answer =
  | {
    kind: "rows";
    columns: AnswerColumn[];
    /** Each value is MySQL's text rendering, or null for NULL. */
    rows: (string | null)[][];
  }
  | {
    kind: "ok";
    affectedRows: number;
    /** OK packet info text (e.g. `Rows matched: ...`), usually "". */
    info?: string;
    warnings?: number;
    /**
     * CockroachDB statements the executor runs, in order, for the answer to
     * hold on the target (e.g. `SET TIME ZONE 'UTC'` for `SET time_zone`).
     * They return no rows; if one fails, the executor answers its error.
     */
    run?: string[];
    /**
     * MySQL commits an open transaction here (`SET autocommit = 1` inside
     * one): the executor commits before answering.
     */
    endsTransaction?: boolean;
  }
  | {
    kind: "error";
    /** MySQL error number (e.g. 1193 ER_UNKNOWN_SYSTEM_VARIABLE). */
    code: number;
    sqlState: string;
    message: string;
  };

/** A MySQL session variable as the session keeps it. */
export type SessionValue = string | number | bigint | null;

/**
 * What an answerer may read and change in its session. The executor owns
 * the real state; answerers never touch a database except through
 * {@linkcode AnswerContext.query}.
 */
export interface AnswerContext {
  /** Current database (MySQL's schema; a CockroachDB schema/database as configured), or null. */
  database: string | null;
  /** The MySQL user the client authenticated as, and the host it came from. */
  user: string;
  host: string;
  /** The connection id the proxy handed the client (what `CONNECTION_ID()` returns). */
  connectionId: number;
  /** The server version the client was told in the handshake. */
  serverVersion: string;
  /** Session variables (`@@session.x`), lower-case names; unset ones take MySQL's default. */
  variables: Map<string, SessionValue>;
  /** User variables (`@x`), lower-case names. */
  userVariables: Map<string, SessionValue>;
  /** Warnings of the previous statement, for `SHOW WARNINGS`. */
  warnings: { level: "Note" | "Warning" | "Error"; code: number; message: string }[];
  /** True inside an explicit transaction. */
  inTransaction: boolean;
  /**
   * Runs a read-only catalog query on CockroachDB, as the session's own user,
   * with `$n` parameters; returns rows as objects of text values.
   */
  query(sql: string, params: unknown[]): Promise<Record<string, string | null>[]>;
  /** Values of the statement's `?` placeholders, in order (COM_STMT_EXECUTE); none for COM_QUERY. */
  params?: readonly SessionValue[];
  /** The CockroachDB schema the MySQL database's tables live in; default `public`. */
  schema?: string;
  /**
   * The session's MySQL named locks (`GET_LOCK` ...), e.g. `RowNamedLocks`
   * (`./named_locks.ts`). Without it those functions are refused (ER 1235).
   */
  locks?: NamedLocks;
}

/**
 * MySQL's named locks for one session, with MySQL's return values: 1, 0, or
 * null. A lock is held until released or until the session ends; the
 * executor calls `releaseAll()` when the client disconnects.
 */
export interface NamedLocks {
  /** GET_LOCK: 1 acquired (again, counting), 0 on timeout; a negative timeout waits for ever. */
  get(name: string, timeoutSeconds: number): Promise<0 | 1>;
  /** RELEASE_LOCK: 1 released by this session, 0 held by another, null held by none. */
  release(name: string): Promise<0 | 1 | null>;
  /** IS_FREE_LOCK: 1 when no session holds it. */
  isFree(name: string): Promise<0 | 1>;
  /** RELEASE_ALL_LOCKS: how many acquisitions were released. */
  releaseAll(): Promise<number>;
}
