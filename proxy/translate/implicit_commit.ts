/**
 * MySQL's implicit commit around DDL, emulated on CockroachDB.
 *
 * In MySQL, CREATE/ALTER/DROP TABLE, CREATE/DROP INDEX, TRUNCATE and RENAME
 * TABLE commit the open transaction before they run and run in a transaction
 * of their own (with autocommit off too: no transaction is open after
 * them). CockroachDB would run them inside the open transaction, so a later
 * ROLLBACK would undo the DDL (and the writes before it), where MySQL had
 * committed both. So the executor sends COMMIT in the same batch before the
 * DDL, and never opens autocommit-off's implicit transaction for it.
 *
 * @module
 */

import type { PgStep } from "./target_connection.ts";
import type { Translation } from "./types.ts";

/** Whether MySQL commits around this statement (and runs it outside any transaction). */
export function commitsImplicitly(t: Translation): boolean {
  return t.kind === "ddl";
}

/** The steps before `t`: COMMIT when it commits implicitly and a transaction is open. */
export function implicitCommitSteps(t: Translation, inTransaction: boolean): PgStep[] {
  return commitsImplicitly(t) && inTransaction ? [{ sql: "COMMIT", params: [], fields: null }] : [];
}
