/**
 * What a translation hands to the executor.
 *
 * @module
 */

import type { ParamSource } from "./params.ts";

/** The family a statement belongs to, for routing and for the OK packet. */
export type StatementKind = "select" | "insert" | "update" | "delete" | "ddl" | "tx";

/** Transaction-control details, so the session can track its state without parsing. */
export interface TxControl {
  action:
    | "begin"
    | "commit"
    | "rollback"
    | "savepoint"
    | "release"
    | "rollback_to"
    | "set_next"
    | "set_session";
  /** `SET TRANSACTION` without SESSION applies to the next transaction only (MySQL rule). */
  isolation?: string;
  readOnly?: boolean;
  /** The savepoint's name as the client wrote it (`savepoint`, `release`, `rollback_to`). */
  name?: string;
}

/**
 * How the executor turns CockroachDB's answer into MySQL's affected-rows count.
 * - `plain`: the command tag's row count.
 * - `upsert`: the statement returns one row `(written, existing)`; MySQL counts 1 per inserted
 *   row, 2 per changed row (0 per unchanged row, 1 with CLIENT_FOUND_ROWS). See upsert.ts.
 * - `replace`: like `upsert`, but a replaced row counts 2 whether changed or not.
 */
export type AffectedRowsMode = "plain" | "upsert" | "replace";

/** The result of translating one MySQL statement. */
export interface Translation {
  /** The CockroachDB statement, with `$n` parameters. */
  sql: string;
  /** Statements to run after `sql` in the same transaction (DDL split in several). */
  followUp: string[];
  /** For each `$n` (index n-1): the client's `?` index or a session value. */
  params: ParamSource[];
  /** How many `?` the MySQL statement has (what COM_STMT_PREPARE reports). */
  clientParamCount: number;
  kind: StatementKind;
  /** True when the client expects a result set (not an OK packet). */
  returnsRows: boolean;
  /**
   * For an INSERT into a table with an AUTO_INCREMENT column: that column's name, returned by
   * `RETURNING`, whose first value is MySQL's last insert id. The rows are not sent to the client.
   */
  generatedKey: string | null;
  affectedRows: AffectedRowsMode;
  /** For `upsert`/`replace`: how many rows the statement proposes (see upsert.ts). */
  proposedRows: number;
  /**
   * `SQL_CALC_FOUND_ROWS`: the name of an extra last column holding the total row count; the
   * executor strips it from the result and keeps it for `FOUND_ROWS()`.
   */
  foundRowsColumn: string | null;
  /** Present for transaction-control statements. */
  tx: TxControl | null;
  /** Tables whose catalog entries the executor must drop after this DDL succeeds. */
  invalidates: string[];
}
