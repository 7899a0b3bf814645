/**
 * CockroachDB errors as MySQL errors: the error number, SQLSTATE and the
 * message shapes drivers and ORMs parse (`Duplicate entry '…' for key '…'`
 * is read by Sequelize, TypeORM and Laravel to name the failing key). The
 * table is in README.md ("Errors"); anything not in it becomes 1105
 * `ER_UNKNOWN_ERROR` with CockroachDB's message and SQLSTATE in the text.
 *
 * @module
 */

import { ER_NOT_SUPPORTED_YET, ER_PARSE_ERROR } from "./errors.ts";
import type { PgNotice } from "./target_connection.ts";

/** A MySQL error to send. */
export interface MySqlError {
  code: number;
  sqlState: string;
  message: string;
}

/** What the messages name besides the error's own fields. */
export interface ErrorContext {
  database: string | null;
  user: string;
  host: string;
}

function quoted(text: string | undefined, pattern: RegExp): string | undefined {
  return text === undefined ? undefined : pattern.exec(text)?.[1];
}

/** The value in a unique violation's detail: `Key (a, b)=(1, x) already exists.` → `1-x`. */
function duplicateValue(detail: string | undefined): string {
  const m = /\)=\((.*)\) already exists/.exec(detail ?? "");
  if (!m) return "";
  return m[1].split(", ").join("-");
}

function keyName(constraint: string | undefined): string {
  if (!constraint) return "";
  return /_pkey$|^primary$/i.test(constraint) ? "PRIMARY" : constraint;
}

/** The MySQL error for a CockroachDB ErrorResponse; see the module documentation. */
export function mysqlError(n: PgNotice, ctx: ErrorContext): MySqlError {
  const e = (code: number, sqlState: string, message: string) => ({ code, sqlState, message });
  const column = n.column ?? quoted(n.message, /column "([^"]+)"/) ?? "";
  switch (n.sqlstate) {
    case "23505":
      return e(
        1062,
        "23000",
        `Duplicate entry '${duplicateValue(n.detail)}' for key '${keyName(n.constraint)}'`,
      );
    case "23503":
      return /still referenced|update or delete/.test(`${n.message} ${n.detail ?? ""}`)
        ? e(
          1451,
          "23000",
          `Cannot delete or update a parent row: a foreign key constraint fails (${
            n.constraint ?? ""
          })`,
        )
        : e(
          1452,
          "23000",
          `Cannot add or update a child row: a foreign key constraint fails (${
            n.constraint ?? ""
          })`,
        );
    case "23502":
      return e(1048, "23000", `Column '${column}' cannot be null`);
    case "23514":
      return e(3819, "HY000", `Check constraint '${n.constraint ?? ""}' is violated.`);
    case "22001":
      return e(1406, "22001", `Data too long for column '${column}' at row 1`);
    case "22003":
      return e(1264, "22003", `Out of range value for column '${column}' at row 1`);
    case "22012":
      return e(1365, "22012", "Division by 0");
    case "22007":
    case "22008":
      return e(1292, "22007", `Incorrect datetime value: ${n.message}`);
    case "22P02":
      return e(1366, "HY000", `Incorrect value: ${n.message}`);
    case "42P01": {
      const table = quoted(n.message, /relation "([^"]+)"/) ?? n.table ?? "";
      const name = table.includes(".") || !ctx.database ? table : `${ctx.database}.${table}`;
      return e(1146, "42S02", `Table '${name}' doesn't exist`);
    }
    case "42703":
      return e(1054, "42S22", `Unknown column '${column}' in 'field list'`);
    case "42P07":
      return e(
        1050,
        "42S01",
        `Table '${quoted(n.message, /relation "([^"]+)"/) ?? ""}' already exists`,
      );
    case "42701":
      return e(1060, "42S21", `Duplicate column name '${column}'`);
    case "42704":
      return e(
        1091,
        "42000",
        `Can't DROP '${quoted(n.message, /"([^"]+)"/) ?? ""}'; check that it exists`,
      );
    case "42883":
      return e(
        1305,
        "42000",
        `FUNCTION ${quoted(n.message, /function ([^\s(]+)/) ?? ""} does not exist`,
      );
    case "42601":
      return e(
        ER_PARSE_ERROR,
        "42000",
        `You have an error in your SQL syntax (CockroachDB: ${n.message})`,
      );
    case "42501":
      return e(
        1142,
        "42000",
        `command denied to user '${ctx.user}'@'${ctx.host}' (CockroachDB: ${n.message})`,
      );
    case "40001":
    case "40P01":
      return e(1213, "40001", "Deadlock found when trying to get lock; try restarting transaction");
    case "55P03":
      return e(1205, "HY000", "Lock wait timeout exceeded; try restarting transaction");
    case "57014":
      return e(1317, "70100", "Query execution was interrupted");
    case "25006":
      return e(1792, "25006", "Cannot execute statement in a READ ONLY transaction.");
    case "25P02":
      return e(
        1105,
        "HY000",
        "LMS: an earlier statement of this transaction failed on CockroachDB, which ends the " +
          "transaction there (MySQL would go on); ROLLBACK and retry the transaction",
      );
    case "3D000":
      return e(
        1049,
        "42000",
        `Unknown database '${quoted(n.message, /database "([^"]+)"/) ?? ""}'`,
      );
    case "53300":
      return e(1040, "08004", "Too many connections");
    case "57P01":
    case "57P02":
    case "57P03":
      return e(1053, "08S01", "Server shutdown in progress");
    case "0A000":
      return e(
        ER_NOT_SUPPORTED_YET,
        "42000",
        `This version of CockroachDB doesn't yet support: ${n.message}`,
      );
  }
  if (n.sqlstate.startsWith("28")) {
    return e(1045, "28000", `Access denied for user '${ctx.user}'@'${ctx.host}'`);
  }
  return e(1105, "HY000", `${n.message} (CockroachDB SQLSTATE ${n.sqlstate})`);
}

/** Whether CockroachDB ended the whole transaction: MySQL rolls back on a deadlock too. */
export function abortsTransaction(sqlstate: string): boolean {
  return sqlstate === "40001" || sqlstate === "40P01";
}
