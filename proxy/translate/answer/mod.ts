/**
 * Statements the proxy answers itself with a MySQL source, once CockroachDB
 * serves the database (or where CockroachDB has no such statement): the
 * executor offers every statement to {@linkcode answerStatement} before
 * translating it. The decision is made on the lexer's first tokens, so the
 * common path (a statement that is not one of these) costs a few tokens'
 * scan and no parse. One file per family, README.md ("Answered by the
 * proxy") lists them.
 *
 * @module
 */

import { SqlSyntaxError, TranslationGap, TranslationLimit } from "../errors.ts";
import { DEFAULT_PARSE_LIMITS, parseMysql } from "../parse.ts";
import { scan, type Token } from "../scan.ts";
import { isLockFunction } from "./locks.ts";
import { answerInformationSchema } from "./query_engine.ts";
import { AnswerError, ER } from "./result.ts";
import { answerSelectValues } from "./select_values.ts";
import { answerSet } from "./set.ts";
import { answerDescribe, answerShowColumns, EXPLAINED_STATEMENT_WORDS } from "./show_columns.ts";
import { answerShowCreateTable } from "./show_create_table.ts";
import { answerShowIndex } from "./show_index.ts";
import { answerShowRoutines } from "./show_routines.ts";
import { answerShowServer } from "./show_server.ts";
import { answerShowDatabases, answerShowTables } from "./show_tables.ts";
import { answerShowVariables } from "./show_variables.ts";
import { answerShowWarnings } from "./show_warnings.ts";
import { Cursor } from "./tokens.ts";
import type { Answer, AnswerContext } from "./types.ts";

export type { Answer, AnswerColumn, AnswerContext, NamedLocks, SessionValue } from "./types.ts";
export { type LockConnection, type OpenLockConnection, RowNamedLocks } from "./named_locks.ts";

/** Functions only the session can answer; a SELECT using one is looked at more closely. */
const SESSION_FUNCTIONS = new Set([
  "DATABASE",
  "SCHEMA",
  "VERSION",
  "CONNECTION_ID",
  "USER",
  "CURRENT_USER",
  "SESSION_USER",
  "SYSTEM_USER",
]);

/**
 * Answers `sql` when it is one of the statements the proxy answers itself
 * (`SET` of session state, `SHOW ...`, `DESCRIBE t`, `SELECT @@x` and other
 * session values, `information_schema` queries, named locks), reading and
 * changing the session through `ctx`. Returns null for any other statement:
 * the executor then translates it.
 *
 * An answer of kind `ok` may carry `run` (CockroachDB statements the
 * executor runs for the answer to hold) and `endsTransaction`. Refusals are
 * answers of kind `error` with MySQL's error number; the function throws
 * only when `ctx.query` or `ctx.locks` fails (the target unreachable).
 */
export async function answerStatement(sql: string, ctx: AnswerContext): Promise<Answer | null> {
  const head = scan(sql, 2, DEFAULT_PARSE_LIMITS.maxDepth).tokens;
  const first = head[0];
  if (first?.kind !== "word") return null;
  try {
    switch (first.text) {
      case "SET":
        return answerSet(new Cursor(sql), ctx);
      case "SHOW":
        return await answerShow(new Cursor(sql), ctx);
      case "DESCRIBE":
      case "DESC":
      case "EXPLAIN":
        return await answerDescribe(new Cursor(sql), ctx);
      case "SELECT":
        return await answerSelect(sql, ctx);
      default:
        return null;
    }
  } catch (err) {
    if (err instanceof AnswerError) return err.toAnswer();
    if (err instanceof SqlSyntaxError) {
      return {
        kind: "error",
        code: ER.PARSE_ERROR[0],
        sqlState: ER.PARSE_ERROR[1],
        message: err.message,
      };
    }
    if (err instanceof TranslationLimit || err instanceof TranslationGap) {
      return {
        kind: "error",
        code: ER.NOT_SUPPORTED_YET[0],
        sqlState: ER.NOT_SUPPORTED_YET[1],
        message: err.message,
      };
    }
    throw err;
  }
}

/**
 * What COM_STMT_PREPARE needs before any value is bound: whether
 * {@linkcode answerStatement} may answer `sql` (the same first-token
 * decision, without parsing or evaluating), and how many `?` it has. When
 * `mayAnswer` is true the executor answers the prepared statement's
 * executions with `answerStatement` (values in `ctx.params`), translating
 * only when that returns null.
 */
export function prepareAnswer(sql: string): { mayAnswer: boolean; paramCount: number } {
  const { tokens } = scan(sql, DEFAULT_PARSE_LIMITS.maxTokens, DEFAULT_PARSE_LIMITS.maxDepth);
  const paramCount = tokens.filter((t) => t.kind === "punct" && t.text === "?").length;
  const first = tokens[0];
  if (first?.kind !== "word") return { mayAnswer: false, paramCount };
  const describes = ["DESCRIBE", "DESC", "EXPLAIN"].includes(first.text);
  const mayAnswer = first.text === "SET" || first.text === "SHOW" ||
    (describes && tokens[1] !== undefined && tokens[1].kind !== "punct" &&
      !EXPLAINED_STATEMENT_WORDS.has(tokens[1].text)) ||
    (first.text === "SELECT" && selectIsMine(tokens));
  return { mayAnswer, paramCount };
}

async function answerShow(c: Cursor, ctx: AnswerContext): Promise<Answer | null> {
  c.acceptWords("SHOW");
  const at = c.i;
  const families = [
    answerShowVariables,
    answerShowWarnings,
    answerShowColumns,
    answerShowIndex,
    answerShowCreateTable,
    answerShowTables,
    answerShowDatabases,
    answerShowServer,
    answerShowRoutines,
  ];
  for (const family of families) {
    c.i = at;
    const answer = await family(c, ctx);
    if (answer) return answer;
  }
  return null;
}

/** A SELECT is looked at only when its tokens name something the session answers. */
function selectIsMine(tokens: Token[]): boolean {
  return tokens.some((t, k) => {
    if (t.kind === "punct") return t.text === "@";
    if (t.kind === "ident") return t.text.toLowerCase() === "`information_schema`";
    if (t.kind !== "word") return false;
    if (t.text === "CURRENT_USER" || t.text.startsWith("INFORMATION_SCHEMA.")) return true;
    const call = tokens[k + 1]?.kind === "punct" && tokens[k + 1].text === "(";
    return call && (SESSION_FUNCTIONS.has(t.text) || isLockFunction(t.text));
  });
}

async function answerSelect(sql: string, ctx: AnswerContext): Promise<Answer | null> {
  const { tokens } = scan(sql, DEFAULT_PARSE_LIMITS.maxTokens, DEFAULT_PARSE_LIMITS.maxDepth);
  if (!selectIsMine(tokens)) return null;
  let tree;
  try {
    tree = parseMysql(sql);
  } catch {
    // The translator parses it again and reports the error in its own terms.
    return null;
  }
  return await answerSelectValues(sql, tree, ctx) ?? await answerInformationSchema(sql, tree, ctx);
}
