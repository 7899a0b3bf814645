/**
 * MySQL's statement-level rollback, emulated on CockroachDB.
 *
 * In MySQL a statement that fails inside a transaction (a duplicate key, a
 * NULL into NOT NULL, a lock wait timeout) undoes only its own changes and
 * the transaction goes on. CockroachDB (and PostgreSQL) abort the whole
 * transaction instead: every later statement gets 25P02 until ROLLBACK. So a
 * write (INSERT, UPDATE, DELETE, REPLACE, upserts) inside a transaction is
 * preceded, in the same batch (one write, one Sync, no extra round trip), by
 * `SAVEPOINT lms_stmt`; when the statement fails, `ROLLBACK TO SAVEPOINT
 * lms_stmt` (one more round trip, only then) brings the transaction back to
 * where it was and the client gets the statement's MySQL error.
 *
 * The savepoint is not released after the statement (that would cost a
 * message per statement): the next guarded write's batch starts with
 * `RELEASE SAVEPOINT lms_stmt`, as does a client's own SAVEPOINT (so the
 * client's savepoints never nest inside the proxy's, where releasing ours
 * would release theirs); a client's RELEASE or ROLLBACK TO ends it with their
 * savepoint, COMMIT and ROLLBACK with the transaction. Reads are not guarded (they change nothing, and
 * `oltp_read_only` pays nothing): a failing SELECT still aborts the
 * transaction on CockroachDB. Errors that abort the transaction in MySQL too
 * (deadlock, serialization failure: 40001, 40P01) are not undone here; the
 * executor rolls the whole transaction back. CockroachDB refuses a rollback
 * to a savepoint over DDL unless the savepoint opened the transaction; DDL
 * commits the transaction first (`implicit_commit.ts`), so none is inside.
 *
 * @module
 */

import { abortsTransaction } from "./error_map.ts";
import type { PgStep, TargetConnection } from "./target_connection.ts";
import type { StatementKind } from "./types.ts";

/** The proxy's savepoint name (a client savepoint of that name would be confused with it). */
export const STATEMENT_SAVEPOINT = "lms_stmt";

const GUARDED: ReadonlySet<StatementKind> = new Set(["insert", "update", "delete"]);

const SAVEPOINT: PgStep = { sql: `SAVEPOINT ${STATEMENT_SAVEPOINT}`, params: [], fields: null };
const RELEASE: PgStep = {
  sql: `RELEASE SAVEPOINT ${STATEMENT_SAVEPOINT}`,
  params: [],
  fields: null,
};
const UNDO: PgStep = {
  sql: `ROLLBACK TO SAVEPOINT ${STATEMENT_SAVEPOINT}`,
  params: [],
  fields: null,
};

/** One session's statement savepoint: whether it is held, and the steps around statements. */
export class StatementRollback {
  /** The savepoint exists in the current transaction and is not released. */
  #held = false;

  /** The transaction ended (COMMIT, ROLLBACK, a new BEGIN, DDL): the savepoint went with it. */
  forget(): void {
    this.#held = false;
  }

  /**
   * The steps to put before a statement of `kind`, which runs inside a
   * transaction when `inTransaction`; empty when it is not guarded.
   */
  before(kind: StatementKind, inTransaction: boolean): PgStep[] {
    if (!inTransaction || !GUARDED.has(kind)) return [];
    const steps = this.#held ? [RELEASE, SAVEPOINT] : [SAVEPOINT];
    this.#held = true;
    return steps;
  }

  /**
   * The steps to put before a client's own SAVEPOINT, RELEASE or ROLLBACK TO.
   * The proxy's savepoint is released before a client SAVEPOINT, so it is
   * always the innermost one: a client's RELEASE or ROLLBACK TO of any of
   * its savepoints ends ours too, and needs nothing before it (a RELEASE
   * there would fail in a transaction a read has aborted, which the
   * client's ROLLBACK TO is about to recover).
   */
  beforeClientSavepoint(action: "savepoint" | "release" | "rollback_to"): PgStep[] {
    const held = this.#held;
    this.#held = false;
    return held && action === "savepoint" ? [RELEASE] : [];
  }

  /**
   * After a guarded statement failed with `sqlstate`: rolls back to the
   * savepoint, so the transaction goes on as in MySQL. Not for the errors
   * MySQL ends the transaction for (the executor rolls it back). Should
   * CockroachDB refuse the rollback, the transaction stays aborted and the
   * later statements say so (25P02 → 1105).
   */
  async undo(conn: TargetConnection, sqlstate: string): Promise<void> {
    if (abortsTransaction(sqlstate)) return;
    await conn.run([UNDO]);
  }
}
