/**
 * A translated session's transaction control: START TRANSACTION/BEGIN,
 * COMMIT, ROLLBACK, the client's savepoints (`client_savepoints.ts`), the
 * proxy's statement savepoint (`statement_rollback.ts`), and MySQL's
 * `SET TRANSACTION` for the next transaction.
 *
 * BEGIN is deferred: outside a transaction the client's BEGIN is answered
 * OK (with SERVER_STATUS_IN_TRANS) at once and rides in the batch of the
 * transaction's first statement, one round trip less per transaction. It
 * cannot fail there on its own account (its modes were checked when it was
 * translated), so an error in that batch is the statement's, with the
 * transaction open after it as MySQL has it. MySQL itself takes its
 * snapshot at the first read, not at START TRANSACTION. A COMMIT or
 * ROLLBACK of a transaction that ran nothing sends nothing; a client
 * SAVEPOINT, `SET SESSION TRANSACTION` and the proxy's own session
 * statements send the BEGIN first, so they apply as they would after it
 * (a session setting does not change the transaction already begun). A BEGIN
 * inside a transaction that has run statements commits it first, at once,
 * as MySQL's implicit commit does.
 *
 * @module
 */

import type { SessionValue } from "./answer/types.ts";
import { ClientSavepoints, ER_SP_DOES_NOT_EXIST } from "./client_savepoints.ts";
import { errorOutcome, type Outcome } from "./executor.ts";
import { StatementRollback } from "./statement_rollback.ts";
import type { PgBatchResult, PgStep, TargetConnection } from "./target_connection.ts";
import type { Translation } from "./types.ts";

/** What `SET TRANSACTION` (no SESSION) gave the next transaction. */
export interface NextTransaction {
  isolation?: string;
  readOnly?: boolean;
}

/** What transaction control needs of the executor. */
export interface TransactionHost {
  readonly conn: TargetConnection;
  readonly autocommit: boolean;
  readonly variables: Map<string, SessionValue>;
  /** Counts the batch's warnings into the session's. */
  notices(r: PgBatchResult): number;
  /** The MySQL error for a failed batch (rolling back what MySQL rolls back). */
  failed(r: PgBatchResult): Promise<Outcome>;
}

const ISOLATION_WORDS = /^(READ UNCOMMITTED|READ COMMITTED|REPEATABLE READ|SERIALIZABLE)$/;
const OK: Outcome = { kind: "ok", affectedRows: 0, lastInsertId: 0, warnings: 0 };
const COMMIT: PgStep = { sql: "COMMIT", params: [], fields: null };

/** One session's transaction state; see the module documentation. */
export class TransactionControl {
  /** The proxy's statement savepoint. */
  readonly rollback = new StatementRollback();
  /** The client's savepoint names. */
  readonly savepoints = new ClientSavepoints();
  /** `SET TRANSACTION`: characteristics of the next transaction. */
  nextTx: NextTransaction | undefined;
  /** The client's BEGIN, not yet sent: it goes with the next statement's batch. */
  #pendingBegin: PgStep | undefined;

  /** Whether the client began a transaction that has not reached the target yet. */
  get beginPending(): boolean {
    return this.#pendingBegin !== undefined;
  }

  /** The steps that put the deferred BEGIN on the target (none when there is none). */
  takeBegin(): PgStep[] {
    const begin = this.#pendingBegin;
    this.#pendingBegin = undefined;
    return begin ? [begin] : [];
  }

  /** The deferred transaction ended without running anything (DDL, `SET autocommit = 1`). */
  dropBegin(): void {
    this.#pendingBegin = undefined;
  }

  /** Forgets everything (COM_RESET_CONNECTION). */
  reset(): void {
    this.#pendingBegin = undefined;
    this.nextTx = undefined;
    this.rollback.forget();
    this.savepoints.forget();
  }

  /** Runs the transaction-control statement `t` for `host`. */
  async control(host: TransactionHost, t: Translation): Promise<Outcome> {
    const tx = t.tx!;
    const open = host.conn.txStatus !== "I";
    const inTransaction = open || this.beginPending;
    switch (tx.action) {
      case "set_next":
        if (inTransaction) {
          return errorOutcome(
            1568,
            "25001",
            "Transaction characteristics can't be changed while a transaction is in progress",
          );
        }
        this.nextTx = { ...this.nextTx, isolation: tx.isolation, readOnly: tx.readOnly };
        return OK;
      case "begin": {
        this.rollback.forget();
        this.savepoints.forget();
        const begin: PgStep = { sql: this.#beginSql(t.sql), params: [], fields: null };
        this.nextTx = undefined;
        if (!open) {
          // A pending one ran nothing: MySQL's implicit commit of it has nothing to do.
          this.#pendingBegin = begin;
          return OK;
        }
        this.#pendingBegin = undefined;
        return this.#send(host, [COMMIT, begin]);
      }
      case "commit":
      case "rollback":
        this.rollback.forget();
        this.savepoints.forget();
        this.nextTx = undefined;
        this.#pendingBegin = undefined;
        if (!open) return OK;
        return this.#send(host, [{ sql: t.sql, params: [], fields: null }]);
      case "savepoint":
      case "release":
      case "rollback_to": {
        const d = this.savepoints.decide(tx.action, tx.name!, inTransaction, host.autocommit);
        if (d.kind === "unknown") return errorOutcome(ER_SP_DOES_NOT_EXIST, "42000", d.message);
        if (d.kind === "ok") return OK;
        const steps = [...this.takeBegin(), ...this.rollback.beforeClientSavepoint(tx.action)];
        steps.push({ sql: t.sql, params: [], fields: null });
        return this.#send(host, steps);
      }
      case "set_session": {
        const r = await this.#send(host, [...this.takeBegin(), {
          sql: t.sql,
          params: [],
          fields: null,
        }]);
        if (r.kind === "error") return r;
        // The answerers read these back (SELECT @@transaction_isolation), in MySQL's spelling.
        if (tx.isolation) {
          host.variables.set("transaction_isolation", tx.isolation.replace(" ", "-"));
        }
        if (tx.readOnly !== undefined) {
          host.variables.set("transaction_read_only", tx.readOnly ? 1 : 0);
        }
        return r;
      }
    }
  }

  /** BEGIN with the characteristics `SET TRANSACTION` gave it. */
  #beginSql(sql: string): string {
    const next = this.nextTx;
    if (!next || sql !== "BEGIN") return sql;
    const modes: string[] = [];
    if (next.isolation && ISOLATION_WORDS.test(next.isolation)) {
      modes.push(`ISOLATION LEVEL ${next.isolation}`);
    }
    if (next.readOnly !== undefined) modes.push(next.readOnly ? "READ ONLY" : "READ WRITE");
    return modes.length > 0 ? `BEGIN TRANSACTION ${modes.join(", ")}` : sql;
  }

  async #send(host: TransactionHost, steps: PgStep[]): Promise<Outcome> {
    const r = await host.conn.run(steps);
    const warnings = host.notices(r);
    if (r.error) return host.failed(r);
    return { kind: "ok", affectedRows: 0, lastInsertId: 0, warnings };
  }
}
