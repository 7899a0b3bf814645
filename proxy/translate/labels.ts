/**
 * MySQL's result labels for unaliased select items.
 *
 * MySQL names a result column after the item as written: a column by its
 * name as typed (`Name`), a string literal by its value, any other
 * expression by its source text (`COUNT(*)`, `a > 30`). Drivers hand rows to
 * the application keyed by these labels (mysql2 objects, `row["COUNT(*)"]`),
 * and CockroachDB would label the same items `name`, `count`, `?column?`. So
 * the outermost select list is cut into its items' source text here, with the
 * lexer (scan.ts), and every unaliased item gets MySQL's label as an alias.
 *
 * @module
 */

import { scan, type Token } from "./scan.ts";

const MODIFIERS = new Set([
  "ALL",
  "DISTINCT",
  "DISTINCTROW",
  "HIGH_PRIORITY",
  "STRAIGHT_JOIN",
  "SQL_SMALL_RESULT",
  "SQL_BIG_RESULT",
  "SQL_BUFFER_RESULT",
  "SQL_CACHE",
  "SQL_NO_CACHE",
  "SQL_CALC_FOUND_ROWS",
]);

const END = new Set([
  "FROM",
  "WHERE",
  "GROUP",
  "HAVING",
  "ORDER",
  "LIMIT",
  "UNION",
  "EXCEPT",
  "INTERSECT",
  "FOR",
  "LOCK",
  "INTO",
  "WINDOW",
]);

/**
 * The source text of each item of the statement's outermost select list (the
 * first SELECT outside parentheses), or null when there is none.
 */
export function selectItemTexts(sql: string, maxTokens: number, maxDepth: number): string[] | null {
  const { tokens } = scan(sql, maxTokens, maxDepth);
  let depth = 0;
  let at = -1;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === "punct" && t.text === "(") depth++;
    else if (t.kind === "punct" && t.text === ")") depth--;
    else if (depth === 0 && t.kind === "word" && t.text === "SELECT") {
      at = i + 1;
      break;
    }
  }
  if (at < 0) return null;
  while (at < tokens.length && tokens[at].kind === "word" && MODIFIERS.has(tokens[at].text)) at++;
  const items: string[] = [];
  let first: Token | null = null;
  let last: Token | null = null;
  depth = 0;
  for (let i = at; i <= tokens.length; i++) {
    const t = tokens[i];
    const ends = t === undefined ||
      (depth === 0 && t.kind === "word" && END.has(t.text)) ||
      (depth === 0 && t.kind === "punct" && (t.text === ";" || t.text === ")"));
    if (ends || (depth === 0 && t.kind === "punct" && t.text === ",")) {
      if (first === null || last === null) return null;
      items.push(sql.slice(first.start, last.end));
      first = last = null;
      if (ends) break;
      continue;
    }
    if (t.kind === "punct" && t.text === "(") depth++;
    if (t.kind === "punct" && t.text === ")") depth--;
    first ??= t;
    last = t;
  }
  return items;
}
