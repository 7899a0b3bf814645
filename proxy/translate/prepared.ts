/**
 * MySQL prepared statements of a session served from CockroachDB. A
 * statement is translated once (through the shared cache) and, for
 * SELECT/INSERT/UPDATE/DELETE, prepared on CockroachDB as a named statement
 * (`lms_<id>`), so each COM_STMT_EXECUTE is one Bind/Execute. DDL and
 * transaction control run as text on every execute (their SQL can depend on
 * the session: `SET TRANSACTION` for the next BEGIN). A statement the
 * proxy answers itself is answered again on each execute.
 *
 * Statement ids are the session's, not CockroachDB's: a session that moved
 * here keeps the ids the client knows (each statement is prepared again,
 * translated, under its id), and new ones come from the session's counter.
 * A statement that cannot be translated when a session moves here stays
 * known under its id and answers each execute with the reason.
 *
 * @module
 */

import { prepareAnswer } from "./answer/mod.ts";
import type { MySqlError } from "./error_map.ts";
import { mysqlError } from "./error_map.ts";
import { type Executor, type Outcome, translationFailure } from "./executor.ts";
import { type MySqlColumn, mysqlColumn } from "./result_columns.ts";
import type { ParamTypes } from "./stmt_params.ts";
import { type PgField, PgServerError } from "./target_connection.ts";
import type { Translation } from "./types.ts";

/** One prepared statement. */
export interface PreparedStatement {
  id: number;
  sql: string;
  /** How many `?` the client binds. */
  paramCount: number;
  /** Result columns announced at prepare time. */
  columns: MySqlColumn[];
  translation: Translation | undefined;
  /** CockroachDB's statement name, when prepared there. */
  pgName: string | undefined;
  /** CockroachDB's result columns of that statement (all of them, as it returns them). */
  pgFields: PgField[] | null;
  /** Answered by the proxy itself on each execute. */
  answered: boolean;
  /** Why every execute fails (it could not be prepared again after a move). */
  refused: MySqlError | undefined;
  types: ParamTypes;
  longData: Map<number, Uint8Array[]>;
}

const ROWLESS = new Set(["ddl", "tx"]);

/**
 * Prepares `sql` under `id`. Resolves with the statement, or with the
 * error MySQL would answer COM_STMT_PREPARE with.
 */
export async function prepareStatement(
  ex: Executor,
  id: number,
  sql: string,
): Promise<PreparedStatement | MySqlError> {
  const base: PreparedStatement = {
    id,
    sql,
    paramCount: 0,
    columns: [],
    translation: undefined,
    pgName: undefined,
    pgFields: null,
    answered: false,
    refused: undefined,
    types: { types: [] },
    longData: new Map(),
  };
  const mine = prepareAnswer(sql);
  if (mine.mayAnswer) return { ...base, answered: true, paramCount: mine.paramCount };
  let t: Translation;
  try {
    t = await ex.translate(sql);
  } catch (err) {
    return (translationFailure(err) as Extract<Outcome, { kind: "error" }>).error;
  }
  base.translation = t;
  base.paramCount = t.clientParamCount;
  if (ROWLESS.has(t.kind)) return base;
  const pgName = `lms_${id}`;
  try {
    const desc = await ex.conn.prepare(pgName, t.sql);
    base.pgName = pgName;
    base.pgFields = desc.fields;
    if (t.returnsRows) {
      let fields = desc.fields ?? [];
      if (t.foundRowsColumn && fields.at(-1)?.name === t.foundRowsColumn) {
        fields = fields.slice(0, -1);
      }
      base.columns = fields.map(mysqlColumn);
    }
    return base;
  } catch (err) {
    if (err instanceof PgServerError) return mysqlError(err.notice, ex);
    throw err;
  }
}

/** Runs a prepared statement with its bound values. */
export function executeStatement(
  ex: Executor,
  s: PreparedStatement,
  values: (string | null)[],
): Promise<Outcome> {
  if (s.refused) return Promise.resolve({ kind: "error", error: s.refused });
  if (s.answered) return answeredExecute(ex, s, values);
  if (!s.translation) {
    return Promise.resolve({
      kind: "error",
      error: { code: 1235, sqlState: "42000", message: "LMS: this statement has no translation" },
    });
  }
  return ex.run(s.translation, values, s.pgName, s.pgFields, s.pgName ? s.columns : undefined);
}

/** A statement the proxy may answer: answered with the values, else translated and run. */
async function answeredExecute(
  ex: Executor,
  s: PreparedStatement,
  values: (string | null)[],
): Promise<Outcome> {
  const answered = await ex.answer(s.sql, values);
  if (answered) return answered;
  s.answered = false;
  try {
    s.translation = await ex.translate(s.sql);
  } catch (err) {
    return translationFailure(err);
  }
  return ex.run(s.translation, values, undefined);
}

/**
 * Prepares a statement again under the id the client knows (after a move);
 * one that cannot be is kept, refusing every execute with the reason.
 */
export async function reprepareStatement(
  ex: Executor,
  id: number,
  sql: string,
): Promise<PreparedStatement> {
  const s = await prepareStatement(ex, id, sql);
  if ("id" in s) return s;
  return {
    id,
    sql,
    paramCount: prepareAnswer(sql).paramCount,
    columns: [],
    translation: undefined,
    pgName: undefined,
    pgFields: null,
    answered: false,
    refused: {
      ...s,
      message: `LMS: this prepared statement could not be prepared on CockroachDB after the ` +
        `cutover: ${s.message}`,
    },
    types: { types: [] },
    longData: new Map(),
  };
}
