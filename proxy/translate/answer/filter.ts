/**
 * The `LIKE 'pattern'` and `WHERE condition` tails of `SHOW` statements,
 * applied to the rows the proxy built: LIKE to the statement's name column,
 * WHERE with the result's column names as identifiers, as MySQL does.
 *
 * @module
 */

import type { Node } from "../ast.ts";
import { evaluate, likeMatch, placeholderIndex, truthy, type Value } from "./eval.ts";
import { type Cursor, parseCondition } from "./tokens.ts";
import type { AnswerColumn, AnswerContext } from "./types.ts";

/** A SHOW statement's filter. */
export type Filter = { like: string } | { where: Node };

/** Reads `LIKE 'x'` or `WHERE ...` to the end; null when there is none. Throws on leftovers. */
export function readFilter(c: Cursor): Filter | null {
  if (c.done()) return null;
  if (c.acceptWords("LIKE")) {
    const t = c.peek();
    if (t?.kind !== "string") throw c.syntaxError();
    const like = c.text()!;
    if (!c.done()) throw c.syntaxError();
    return { like };
  }
  if (c.acceptWords("WHERE")) {
    if (c.done()) throw c.syntaxError();
    return { where: parseCondition(c.rest()) };
  }
  throw c.syntaxError();
}

/** The rows that pass the filter; `likeColumn` is the index LIKE matches. */
export function applyFilter(
  filter: Filter | null,
  columns: AnswerColumn[],
  rows: Value[][],
  likeColumn: number,
  ctx: AnswerContext,
): Value[][] {
  if (!filter) return rows;
  if ("like" in filter) {
    return rows.filter((r) =>
      r[likeColumn] !== null && likeMatch(String(r[likeColumn]), filter.like)
    );
  }
  const names = columns.map((c) => c.name.toLowerCase());
  const placeholders = placeholderIndex(filter.where);
  return rows.filter((row) => {
    const v = evaluate(filter.where, {
      ctx,
      params: ctx.params,
      placeholders,
      column: (parts) => {
        const at = names.indexOf(parts[parts.length - 1]);
        return parts.length === 1 && at >= 0 ? row[at] : undefined;
      },
    });
    return v !== null && truthy(v);
  });
}
