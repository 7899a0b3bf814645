/**
 * Runs one MySQL session's statements on CockroachDB. A statement is first
 * offered to the proxy's own answerers (`answer/mod.ts`), else translated
 * (through the proxy's shared cache) and run over the extended protocol;
 * CockroachDB's answer becomes MySQL's: a result set (text or binary rows),
 * or an OK with MySQL's affected rows (upsert and REPLACE counts, honouring
 * CLIENT_FOUND_ROWS), last insert id (the `RETURNING` of the generated key)
 * and warnings; errors through `error_map.ts`.
 *
 * The session's MySQL state lives here: current database, autocommit (an
 * implicit BEGIN before the first statement when it is off), the
 * characteristics `SET TRANSACTION` gave the next transaction, session and
 * user variables (for the answerers), warnings, `LAST_INSERT_ID()` and
 * `FOUND_ROWS()` (bound as parameters of the translations that use them).
 * A deadlock or serialization failure (40001, 40P01) rolls the whole
 * transaction back, as MySQL does for a deadlock, so the session is outside
 * a transaction afterwards; any other failed write inside a transaction
 * undoes only itself, as in MySQL (`statement_rollback.ts`). DDL commits the
 * open transaction first, as in MySQL (`implicit_commit.ts`).
 *
 * @module
 */

import { Status } from "../mysql/constants.ts";
import type { AnswerContext, NamedLocks, SessionValue } from "./answer/types.ts";
import { answerStatement } from "./answer/mod.ts";
import { abortsTransaction, type MySqlError, mysqlError } from "./error_map.ts";
import { bindParams } from "./params.ts";
import { kindOfMySqlType, type MySqlColumn, mysqlColumn } from "./result_columns.ts";
import { type MySqlValue, mysqlValue } from "./result_values.ts";
import type { PgBatchResult, PgField, PgStep, TargetConnection } from "./target_connection.ts";
import type { Translation } from "./types.ts";
import { mysqlAffectedRows } from "./upsert.ts";
import { ER_NOT_SUPPORTED_YET } from "./errors.ts";
import type { Translator } from "./translate.ts";
import type { TranslatorPool } from "./translator_pool.ts";
import type { Target } from "./context.ts";
import { commitsImplicitly, implicitCommitSteps } from "./implicit_commit.ts";
import { TransactionControl } from "./transaction_control.ts";

/** What running one statement produced. */
export type Outcome =
  | {
    kind: "rows";
    columns: MySqlColumn[];
    /** Values already in MySQL's form; empty when `bodies` holds the rows. */
    rows: MySqlValue[][];
    /** CockroachDB's DataRows as received, written to the client without converting to `rows`. */
    bodies?: Uint8Array[];
    warnings: number;
  }
  | {
    kind: "ok";
    affectedRows: number;
    lastInsertId: number | bigint;
    warnings: number;
    info?: string;
  }
  | { kind: "error"; error: MySqlError };

/** Who the session is and what it negotiated. */
export interface SessionIdentityFacts {
  user: string;
  host: string;
  connectionId: number;
  serverVersion: string;
  clientFoundRows: boolean;
}

/** A MySQL error for a translation or protocol problem. */
export function errorOutcome(code: number, sqlState: string, message: string): Outcome {
  return { kind: "error", error: { code, sqlState, message } };
}

/** Turns a thrown translation error into the outcome MySQL would give. */
export function translationFailure(err: unknown): Outcome {
  if (err instanceof Error && "mysqlErrno" in err) {
    const code = Number((err as { mysqlErrno: number }).mysqlErrno);
    return errorOutcome(code, code === ER_NOT_SUPPORTED_YET ? "42000" : "42000", err.message);
  }
  throw err;
}

function isOff(v: SessionValue | undefined): boolean {
  if (v === undefined || v === null) return false;
  const s = String(v).toLowerCase();
  return s === "0" || s === "off" || s === "false";
}

function tagCount(tag: string): number {
  const m = /(\d+)$/.exec(tag);
  return m ? Number(m[1]) : 0;
}

/** See the module documentation. */
export class Executor implements AnswerContext {
  /** The connection statements run on (replaced by a database switch). */
  conn: TargetConnection;
  readonly #pool: TranslatorPool;
  readonly #target: Target;
  readonly #facts: SessionIdentityFacts;
  #translator: Translator | undefined;
  database: string | null;
  readonly variables = new Map<string, SessionValue>();
  readonly userVariables = new Map<string, SessionValue>();
  warnings: AnswerContext["warnings"] = [];
  /** MySQL's named locks (GET_LOCK), held on the target. */
  locks: NamedLocks | undefined;
  /** Values of the executing prepared statement's `?`, for the answerers. */
  params: readonly SessionValue[] | undefined;
  /** MySQL's LAST_INSERT_ID(). */
  lastInsertId: bigint = 0n;
  /** MySQL's FOUND_ROWS(). */
  foundRows = 0;
  /** Transactions, savepoints, the deferred BEGIN (`transaction_control.ts`). */
  readonly transactions = new TransactionControl();

  /**
   * @param conn the session's connection
   * @param pool the proxy's translators
   * @param facts who the session is
   * @param database the current database, or null
   */
  constructor(
    conn: TargetConnection,
    pool: TranslatorPool,
    facts: SessionIdentityFacts,
    database: string | null,
  ) {
    this.conn = conn;
    this.#pool = pool;
    this.#facts = facts;
    this.database = database;
    this.#target = conn.parameters.has("crdb_version") ? "cockroachdb" : "postgresql";
  }

  /** @inheritdoc */
  get user(): string {
    return this.#facts.user;
  }

  /** @inheritdoc */
  get host(): string {
    return this.#facts.host;
  }

  /** @inheritdoc */
  get connectionId(): number {
    return this.#facts.connectionId;
  }

  /** @inheritdoc */
  get serverVersion(): string {
    return this.#facts.serverVersion;
  }

  /** @inheritdoc */
  get inTransaction(): boolean {
    return this.conn.txStatus !== "I" || this.transactions.beginPending;
  }

  /** Whether autocommit is on (the answerers keep `autocommit` among the variables). */
  get autocommit(): boolean {
    return !isOff(this.variables.get("autocommit"));
  }

  /** The status flags of the next OK/EOF. */
  get status(): number {
    return (this.autocommit ? Status.AUTOCOMMIT : 0) | (this.inTransaction ? Status.IN_TRANS : 0);
  }

  /** @inheritdoc */
  async query(sql: string, params: unknown[]): Promise<Record<string, string | null>[]> {
    const r = await this.conn.run([{
      sql,
      params: params.map((p) => p === null || p === undefined ? null : String(p)),
    }]);
    if (r.error) throw r.error;
    const { fields, rows } = r.results[0];
    return rows.map((row) => Object.fromEntries((fields ?? []).map((f, i) => [f.name, row[i]])));
  }

  /** The translator for the session's database and options. */
  async translator(): Promise<Translator> {
    this.#translator ??= await this.#pool.translator(
      this.database ?? "",
      this.#facts.clientFoundRows,
      this.#target,
    );
    return this.#translator;
  }

  /** Translates through the shared cache. */
  async translate(sql: string): Promise<Translation> {
    return this.#pool.translate(await this.translator(), sql);
  }

  /** The database changed: translations now qualify names for the new one. */
  databaseChanged(database: string | null, conn: TargetConnection): void {
    this.database = database;
    this.conn = conn;
    this.#translator = undefined;
  }

  /**
   * The proxy's own answer to `sql`, or null; `params` are a prepared
   * statement's values. An OK answer's CockroachDB statements run first.
   */
  async answer(sql: string, params?: readonly SessionValue[]): Promise<Outcome | null> {
    this.params = params;
    const a = await answerStatement(sql, this);
    this.params = undefined;
    if (!a) return null;
    if (a.kind === "error") return errorOutcome(a.code, a.sqlState, a.message);
    if (a.kind === "ok") {
      const steps: PgStep[] = [];
      if (a.endsTransaction) {
        this.transactions.dropBegin();
        if (this.conn.txStatus !== "I") steps.push({ sql: "COMMIT", params: [] });
      } else if (a.run?.length) {
        // A session setting applies after the transaction the client began, as in MySQL.
        steps.push(...this.transactions.takeBegin());
      }
      for (const sql of a.run ?? []) steps.push({ sql, params: [] });
      if (steps.length > 0) {
        const r = await this.conn.run(steps);
        if (r.error) return this.#failed(r);
      }
      return {
        kind: "ok",
        affectedRows: a.affectedRows,
        lastInsertId: 0,
        warnings: a.warnings ?? 0,
        info: a.info,
      };
    }
    const columns = a.columns.map((c) => ({ ...c, kind: kindOfMySqlType(c.type) }));
    return { kind: "rows", columns, rows: a.rows, warnings: 0 };
  }

  /** Runs a statement given as text (COM_QUERY): answered, or translated and run. */
  async runText(sql: string): Promise<Outcome> {
    const answered = await this.answer(sql);
    if (answered) return answered;
    let t: Translation;
    try {
      t = await this.translate(sql);
    } catch (err) {
      return translationFailure(err);
    }
    return this.run(t, [], undefined);
  }

  /**
   * Runs a translation with the client's parameter values; `statement` names
   * the CockroachDB prepared statement made for it, if any, with its result
   * columns as CockroachDB described them (`fields`) and as MySQL columns
   * (`columns`), so an execute neither describes nor maps them again.
   */
  async run(
    t: Translation,
    clientValues: (string | null)[],
    statement: string | undefined,
    fields?: PgField[] | null,
    columns?: MySqlColumn[],
  ): Promise<Outcome> {
    this.warnings = [];
    const tx = this.transactions;
    // The transaction ended since the last statement (COMMIT, DDL, a deadlock): so did the savepoint.
    if (!this.inTransaction) {
      tx.rollback.forget();
      tx.savepoints.outsideTransaction(this.autocommit);
    }
    if (t.tx) {
      return tx.control({
        conn: this.conn,
        autocommit: this.autocommit,
        variables: this.variables,
        notices: (r) => this.#notices(r),
        failed: (r) => this.#failed(r),
      }, t);
    }
    const inTransaction = this.inTransaction;
    const ddl = commitsImplicitly(t);
    let steps: PgStep[];
    if (ddl) {
      // A begun transaction that ran nothing commits with nothing to commit.
      tx.dropBegin();
      tx.savepoints.forget();
      steps = implicitCommitSteps(t, this.conn.txStatus !== "I");
    } else steps = tx.takeBegin();
    const implicitBegin = !this.autocommit && !inTransaction && !ddl;
    if (implicitBegin) {
      steps.push({ sql: "BEGIN", params: [], fields: null }, ...tx.savepoints.pendingSteps());
    }
    const guard = tx.rollback.before(t.kind, implicitBegin || inTransaction);
    steps.push(...guard);
    const at = steps.length;
    const params = bindParams(t.params, clientValues, {
      lastInsertId: String(this.lastInsertId),
      foundRows: String(this.foundRows),
    });
    // Rows go to the client from CockroachDB's bytes, unless FOUND_ROWS needs them read.
    const raw = t.returnsRows && !t.foundRowsColumn;
    steps.push(statement ? { statement, params, fields, raw } : { sql: t.sql, params, raw });
    for (const sql of t.followUp) steps.push({ sql, params: [] });
    const r = await this.conn.run(steps);
    const warnings = this.#notices(r);
    if (r.error) {
      if (guard.length > 0 && r.results.length === at) {
        await tx.rollback.undo(this.conn, r.error.notice.sqlstate);
      }
      return this.#failed(r);
    }
    if (t.kind === "ddl" && t.invalidates.length > 0) {
      await this.#pool.invalidate(this.database ?? "", t.invalidates);
    }
    const main = r.results[at];
    if (raw) {
      this.foundRows = main.bodies.length;
      const cols = columns ?? (main.fields ?? []).map(mysqlColumn);
      return { kind: "rows", columns: cols, rows: [], bodies: main.bodies, warnings };
    }
    if (t.returnsRows) return this.#rows(t, main.fields, main.rows, warnings);
    if (t.affectedRows !== "plain") {
      const row = main.rows[0] ?? ["0", "0"];
      return {
        kind: "ok",
        affectedRows: mysqlAffectedRows(
          t.affectedRows,
          t.proposedRows,
          Number(row[0]),
          Number(row[1]),
          this.#facts.clientFoundRows,
        ),
        lastInsertId: 0,
        warnings,
      };
    }
    let lastInsertId: number | bigint = 0;
    if (t.generatedKey && main.rows.length > 0 && main.rows[0][0] !== null) {
      this.lastInsertId = BigInt(main.rows[0][0]!);
      lastInsertId = this.lastInsertId;
    }
    return { kind: "ok", affectedRows: tagCount(main.tag), lastInsertId, warnings };
  }

  #rows(
    t: Translation,
    fields: PgField[] | null,
    pgRows: (string | null)[][],
    warnings: number,
  ): Outcome {
    let all = fields ?? [];
    if (t.foundRowsColumn && all.length > 0 && all[all.length - 1].name === t.foundRowsColumn) {
      all = all.slice(0, -1);
      this.foundRows = pgRows.length > 0 ? Number(pgRows[0][all.length]) : 0;
    } else this.foundRows = pgRows.length;
    const columns = all.map(mysqlColumn);
    const rows = pgRows.map((row) => columns.map((c, i) => mysqlValue(c, row[i])));
    return { kind: "rows", columns, rows, warnings };
  }

  #notices(r: PgBatchResult): number {
    let n = 0;
    for (const notice of r.notices) {
      if (notice.severity !== "WARNING") continue;
      n++;
      this.warnings.push({ level: "Warning", code: 1105, message: notice.message });
    }
    return n;
  }

  async #failed(r: PgBatchResult): Promise<Outcome> {
    const notice = r.error!.notice;
    if (abortsTransaction(notice.sqlstate) && this.conn.txStatus !== "I") {
      await this.conn.run([{ sql: "ROLLBACK", params: [] }]);
    }
    const error = mysqlError(notice, this);
    this.warnings.push({ level: "Error", code: error.code, message: error.message });
    return { kind: "error", error };
  }
}
