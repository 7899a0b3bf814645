/**
 * `SELECT` without a table, of what only the session knows: system
 * variables (`SELECT @@session.auto_increment_increment AS ...`, Connector/J's
 * connect query), user variables, `DATABASE()`, `SCHEMA()`, `VERSION()`,
 * `CONNECTION_ID()`, `USER()`, `CURRENT_USER()`, and the expressions over
 * them the evaluator knows (`@@sql_mode NOT LIKE '%ANSI%'`,
 * `REPLACE(@@sql_mode, ...)`). Named locks are refused (locks.ts). A select
 * with anything else (`NOW()`, a table) is left to the translator.
 *
 * @module
 */

import { MyType } from "../../mysql/constants.ts";
import { type Node, variant } from "../ast.ts";
import { selectItemTexts } from "../labels.ts";
import { DEFAULT_PARSE_LIMITS } from "../parse.ts";
import {
  evaluate,
  functionArgs,
  functionName,
  placeholderIndex,
  toNumber,
  Unanswerable,
  type Value,
} from "./eval.ts";
import { isLockFunction, runLockCalls } from "./locks.ts";
import { COLUMN_FLAG, intColumn, rowsAnswer, textColumn } from "./result.ts";
import type { Answer, AnswerColumn, AnswerContext } from "./types.ts";

/** Answers a table-less SELECT of session values, or null when it is not one. */
export async function answerSelectValues(
  sql: string,
  tree: Node,
  ctx: AnswerContext,
): Promise<Answer | null> {
  const select = tree.Query?.body?.Select;
  if (!select || tree.Query.with) return null;
  if (select.from.length > 0 && !isDual(select.from)) return null;
  if (select.selection || select.having || select.group_by?.Expressions?.[0]?.length) return null;
  const base = { ctx, params: ctx.params, placeholders: placeholderIndex(tree) };
  const calls = lockCalls(select.projection).map((node) => ({
    node,
    name: functionName(node),
    args: () => functionArgs(node).map((a) => evaluate(a, base)),
  }));
  if (calls.length) {
    // Take no lock for a statement that is not answered here after all.
    const dry = { ...base, lockResults: new Map(calls.map((c) => [c.node, 0])) };
    try {
      for (const item of select.projection) {
        const expr = item.UnnamedExpr ?? item.ExprWithAlias?.expr;
        if (!expr) return null;
        evaluate(expr, dry);
      }
    } catch (err) {
      if (err instanceof Unanswerable) return null;
      throw err;
    }
  }
  const env = calls.length ? { ...base, lockResults: await runLockCalls(calls, ctx) } : base;
  const texts = selectItemTexts(sql, DEFAULT_PARSE_LIMITS.maxTokens, DEFAULT_PARSE_LIMITS.maxDepth);
  const columns: AnswerColumn[] = [];
  const row: Value[] = [];
  try {
    for (const [k, item] of select.projection.entries()) {
      const expr = item.UnnamedExpr ?? item.ExprWithAlias?.expr;
      if (!expr) return null;
      const label = item.ExprWithAlias?.alias.value ?? texts?.[k] ?? `column_${k}`;
      const v = evaluate(expr, env);
      row.push(v);
      columns.push(columnFor(label, v));
    }
  } catch (err) {
    if (err instanceof Unanswerable) return null;
    throw err;
  }
  return rowsAnswer(columns, keepsRow(tree.Query.limit_clause, env) ? [row] : []);
}

/**
 * Whether `LIMIT`/`OFFSET` keep the one row (the mysql client sends
 * `select @@version_comment limit 1` on connect); ORDER BY cannot reorder it.
 */
function keepsRow(clause: Node, env: Parameters<typeof evaluate>[1]): boolean {
  if (!clause) return true;
  const [kind, body] = variant(clause);
  const num = (
    n: Node | undefined,
    fallback: number,
  ) => (n ? toNumber(evaluate(n, env)) : fallback);
  const offset = kind === "OffsetCommaLimit" ? num(body.offset, 0) : num(body.offset?.value, 0);
  return offset < 1 && num(body.limit, 1) >= 1;
}

/** The named-lock calls in a tree, in source order. */
function lockCalls(node: Node): Node[] {
  const found: Node[] = [];
  const walk = (n: Node) => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === "object") {
      if (n.Function && isLockFunction(functionName(n.Function))) found.push(n.Function);
      for (const k of Object.keys(n)) if (k !== "span") walk(n[k]);
    }
  };
  walk(node);
  return found;
}

function isDual(from: Node[]): boolean {
  const t = from[0]?.relation?.Table;
  return from.length === 1 && !from[0].joins?.length && t?.name?.length === 1 &&
    String(t.name[0].Identifier?.value ?? "").toUpperCase() === "DUAL";
}

/** The column a computed value gets: BIGINT for integers, DOUBLE, else text. */
export function columnFor(label: string, v: Value): AnswerColumn {
  if (typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v))) {
    return intColumn(label);
  }
  if (typeof v === "number") {
    return {
      name: label,
      type: MyType.DOUBLE,
      length: 23,
      flags: COLUMN_FLAG.BINARY,
      decimals: 31,
      charset: 63,
    };
  }
  return textColumn(label, Math.max(64, typeof v === "string" ? v.length : 0));
}
