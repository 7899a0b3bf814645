/**
 * The clauses of an information_schema query that work on its output rows
 * (query_engine.ts): DISTINCT and UNION's duplicate removal, ORDER BY (by
 * position, label or expression, NULLs first as in MySQL) and LIMIT/OFFSET.
 *
 * @module
 */

import { type Node, variant } from "../ast.ts";
import { compare, type EvalEnv, evaluate, toNumber, type Value } from "./eval.ts";

/** An output row, with the environment its expressions were evaluated in (for ORDER BY). */
export interface Output {
  values: Value[];
  env: EvalEnv;
}

/** The rows without duplicates, compared as MySQL's case-insensitive collation compares. */
export function distinct(out: Output[]): Output[] {
  const seen = new Set<string>();
  return out.filter((o) => {
    const key = JSON.stringify(o.values.map(keyOf));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A value as a grouping and duplicate key (strings folded to lower case). */
export function keyOf(v: Value): Value {
  return typeof v === "string" ? v.toLowerCase() : typeof v === "bigint" ? Number(v) : v;
}

/** The rows in the query's ORDER BY; `labels` are the output columns' names. */
export function order(q: Node, out: Output[], labels: string[]): Output[] {
  const keys: Node[] = q.order_by?.kind?.Expressions ?? [];
  if (keys.length === 0) return out;
  const lower = labels.map((l) => l.toLowerCase());
  const value = (o: Output, expr: Node): Value => {
    const [kind, body] = variant(expr);
    if (kind === "Value" && body.value?.Number) {
      return o.values[Number(body.value.Number[0]) - 1] ?? null;
    }
    if (kind === "Identifier") {
      const at = lower.indexOf(String(body.value).toLowerCase());
      if (at >= 0) return o.values[at];
    }
    return evaluate(expr, o.env);
  };
  const decorated = out.map((o, i) => ({ o, i, k: keys.map((key) => value(o, key.expr)) }));
  decorated.sort((a, b) => {
    for (const [n, key] of keys.entries()) {
      const x = a.k[n];
      const y = b.k[n];
      const c = x === null ? (y === null ? 0 : -1) : y === null ? 1 : compare(x, y);
      if (c !== 0) return key.options?.asc === false ? -c : c;
    }
    return a.i - b.i;
  });
  return decorated.map((d) => d.o);
}

/** The rows the query's LIMIT and OFFSET keep. */
export function limit(q: Node, out: Output[], env: Omit<EvalEnv, "column">): Output[] {
  if (!q.limit_clause) return out;
  const [kind, body] = variant(q.limit_clause);
  const num = (n: Node | undefined) => (n ? toNumber(evaluate(n, env as EvalEnv)) : null);
  if (kind === "OffsetCommaLimit") {
    const offset = num(body.offset) ?? 0;
    return out.slice(offset, offset + (num(body.limit) ?? out.length));
  }
  const offset = num(body.offset?.value) ?? 0;
  const count = body.limit ? num(body.limit) ?? out.length : out.length;
  return out.slice(offset, offset + count);
}
