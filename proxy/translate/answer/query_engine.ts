/**
 * Runs a SELECT over `information_schema` in the proxy: the MySQL-shaped
 * tables of information_schema.ts, joined (inner, left, cross; ON and
 * USING), filtered, grouped (COUNT/SUM/MIN/MAX/AVG/GROUP_CONCAT), sorted and
 * limited with the evaluator's MySQL semantics (case-insensitive
 * comparisons). Running it here rather than rewriting it for CockroachDB's
 * own information_schema keeps MySQL's column names, values and collation
 * without a second translator; the tables are small. A construct the
 * engine lacks (subqueries, UNION, window functions) is refused with ER 1235
 * naming it.
 *
 * @module
 */

import { type Node, variant } from "../ast.ts";
import { selectItemTexts } from "../labels.ts";
import { DEFAULT_PARSE_LIMITS } from "../parse.ts";
import {
  compare,
  type EvalEnv,
  evaluate,
  functionName,
  isAggregate,
  placeholderIndex,
  toNumber,
  truthy,
  Unanswerable,
  type Value,
} from "./eval.ts";
import { informationSchemaTable, type VirtualTable } from "./information_schema.ts";
import { intColumn, notSupported, rowsAnswer } from "./result.ts";
import { readCatalog } from "./schema_catalog.ts";
import { columnFor } from "./select_values.ts";
import type { Answer, AnswerColumn, AnswerContext } from "./types.ts";

interface Binding {
  alias: string;
  table: VirtualTable;
  row: Value[] | null;
}

type Row = Binding[];

/**
 * Answers a SELECT whose tables are all in information_schema; null when
 * none is (the translator's); ER 1235 when it mixes them with application
 * tables or uses a construct the engine lacks.
 */
export async function answerInformationSchema(
  sql: string,
  tree: Node,
  ctx: AnswerContext,
): Promise<Answer | null> {
  const q = tree.Query;
  if (!q) return null;
  try {
    const select = q.body?.Select;
    if (!select) throw new Unanswerable(`${variant(q.body)[0]} over information_schema`);
    if (q.with) throw new Unanswerable("WITH");
    const refs = select.from.flatMap((
      f: Node,
    ) => [f.relation, ...f.joins.map((j: Node) => j.relation)]);
    const schemaOf = (r: Node) => {
      const parts = r?.Table?.name?.map((p: Node) => String(p.Identifier?.value ?? "")) ?? [];
      return parts.length === 2 ? parts[0].toLowerCase() : "";
    };
    const inSchema = refs.filter((r: Node) => schemaOf(r) === "information_schema").length;
    if (inSchema === 0) return null;
    if (inSchema !== refs.length) {
      throw new Unanswerable("information_schema joined with other tables");
    }
    const env = { ctx, params: ctx.params, placeholders: placeholderIndex(tree) };
    let catalog: Promise<Awaited<ReturnType<typeof readCatalog>>> | null = null;
    const tables = () => (catalog ??= readCatalog(ctx));
    const load = async (r: Node): Promise<Binding> => {
      const name = String(r.Table.name[1].Identifier.value);
      const table = await informationSchemaTable(name, ctx, tables);
      return { alias: String(r.Table.alias?.name?.value ?? name).toLowerCase(), table, row: null };
    };
    let rows: Row[] = [[]];
    for (const from of select.from) {
      rows = cross(rows, await load(from.relation));
      for (const join of from.joins) {
        const right = await load(join.relation);
        rows = joinRows(rows, right, join.join_operator, env);
      }
    }
    if (select.selection) {
      rows = rows.filter((r) => isTrue(evaluate(select.selection, rowEnv(env, r))));
    }
    return project(sql, q, select, rows, env);
  } catch (err) {
    if (err instanceof Unanswerable) {
      throw notSupported(
        err.construct,
        "the proxy answers information_schema queries itself once CockroachDB serves the " +
          "database, without this construct",
      );
    }
    throw err;
  }
}

function isTrue(v: Value): boolean {
  return v !== null && truthy(v);
}

function cross(rows: Row[], b: Binding): Row[] {
  return rows.flatMap((r) => b.table.rows.map((row) => [...r, { ...b, row }]));
}

function joinRows(rows: Row[], b: Binding, op: Node, env: Omit<EvalEnv, "column">): Row[] {
  const [kind, constraint] = variant(op);
  if (kind === "CrossJoin") return cross(rows, b);
  const left = kind === "Left" || kind === "LeftOuter";
  if (!left && kind !== "Join" && kind !== "Inner") throw new Unanswerable(`${kind} join`);
  const [ck, cv] = variant(constraint);
  const matches = (r: Row): boolean => {
    if (ck === "On") return isTrue(evaluate(cv, rowEnv(env, r)));
    if (ck === "Using") {
      return cv.every((name: Node) => {
        const col = String((name[0]?.Identifier ?? name.Identifier ?? name).value).toLowerCase();
        const mine = lookup(r.slice(0, -1), [col]);
        const theirs = lookup(r.slice(-1), [col]);
        return mine !== undefined && theirs !== undefined && mine !== null && theirs !== null &&
          compare(mine, theirs) === 0;
      });
    }
    if (ck === "None") return true;
    throw new Unanswerable(`join ${ck}`);
  };
  return rows.flatMap((r) => {
    const hits = b.table.rows.map((row) => [...r, { ...b, row }]).filter(matches);
    return hits.length > 0 || !left ? hits : [[...r, { ...b, row: null }]];
  });
}

/** A column of the row by its name parts (lower case); undefined when no table has it. */
function lookup(row: Row, parts: string[]): Value | undefined {
  const col = parts[parts.length - 1];
  const qualifier = parts.length >= 2 ? parts[parts.length - 2] : null;
  for (const b of row) {
    if (qualifier !== null && b.alias !== qualifier) continue;
    const at = b.table.columns.findIndex((c) => c.toLowerCase() === col);
    if (at >= 0) return b.row === null ? null : b.row[at];
  }
  return undefined;
}

function rowEnv(env: Omit<EvalEnv, "column">, row: Row): EvalEnv {
  return { ...env, column: (parts) => lookup(row, parts) };
}

function hasAggregate(node: Node): boolean {
  if (Array.isArray(node)) return node.some(hasAggregate);
  if (!node || typeof node !== "object") return false;
  if (node.Function && isAggregate(functionName(node.Function))) return true;
  return Object.entries(node).some(([k, v]) => k !== "span" && hasAggregate(v));
}

interface Output {
  values: Value[];
  env: EvalEnv;
}

function project(
  sql: string,
  q: Node,
  select: Node,
  rows: Row[],
  env: Omit<EvalEnv, "column">,
): Answer {
  const groupBy: Node[] = select.group_by?.Expressions?.[0] ?? [];
  const grouped = groupBy.length > 0 || hasAggregate(select.projection) ||
    (select.having && hasAggregate(select.having));
  let sources: EvalEnv[];
  if (grouped) {
    const groups = new Map<string, Row[]>();
    for (const r of rows) {
      const key = JSON.stringify(groupBy.map((g) => keyOf(evaluate(g, rowEnv(env, r)))));
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    if (groups.size === 0 && groupBy.length === 0) groups.set("", []);
    sources = [...groups.values()].map((group) => groupEnv(env, group));
    if (select.having) sources = sources.filter((e) => isTrue(evaluate(select.having, e)));
  } else {
    sources = rows.map((r) => rowEnv(env, r));
  }
  const texts = selectItemTexts(sql, DEFAULT_PARSE_LIMITS.maxTokens, DEFAULT_PARSE_LIMITS.maxDepth);
  const sample = rows[0] ?? null;
  const items: { label: string; get: (e: EvalEnv) => Value; intColumn: boolean }[] = [];
  for (const [k, item] of select.projection.entries()) {
    const [kind, body] = variant(item);
    if (kind === "Wildcard" || kind === "QualifiedWildcard") {
      const qualifier = kind === "QualifiedWildcard"
        ? String(body[0].ObjectName.at(-1).Identifier.value).toLowerCase()
        : null;
      for (const b of sample ?? []) {
        if (qualifier !== null && b.alias !== qualifier) continue;
        for (const col of b.table.columns) {
          items.push({
            label: col,
            get: (e) => e.column?.([b.alias, col.toLowerCase()]) ?? null,
            intColumn: b.table.intColumns.has(col),
          });
        }
      }
      continue;
    }
    const expr = kind === "ExprWithAlias" ? body.expr : body;
    const label = kind === "ExprWithAlias" ? String(body.alias.value) : labelOf(expr, texts?.[k]);
    items.push({ label, get: (e) => evaluate(expr, e), intColumn: isIntColumn(expr, sample) });
  }
  let out: Output[] = sources.map((e) => ({ values: items.map((i) => i.get(e)), env: e }));
  if (select.distinct) {
    const seen = new Set<string>();
    out = out.filter((o) => {
      const key = JSON.stringify(o.values.map(keyOf));
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  out = order(q, out, items.map((i) => i.label));
  out = limit(q, out, env);
  const columns: AnswerColumn[] = items.map((item, k) =>
    item.intColumn ? intColumn(item.label) : columnFor(
      item.label,
      out.map((o) => o.values[k]).find((v) => v !== null) ?? "",
    )
  );
  return rowsAnswer(columns, out.map((o) => o.values));
}

function keyOf(v: Value): Value {
  return typeof v === "string" ? v.toLowerCase() : typeof v === "bigint" ? Number(v) : v;
}

function labelOf(expr: Node, text: string | undefined): string {
  const [kind, body] = variant(expr);
  if (kind === "Identifier") return String(body.value);
  if (kind === "CompoundIdentifier") return String(body[body.length - 1].value);
  return text ?? "?";
}

function isIntColumn(expr: Node, sample: Row | null): boolean {
  const [kind, body] = variant(expr);
  const parts = kind === "Identifier"
    ? [String(body.value).toLowerCase()]
    : kind === "CompoundIdentifier"
    ? body.map((p: Node) => String(p.value).toLowerCase())
    : null;
  if (!parts || !sample) return false;
  const col = parts[parts.length - 1];
  const qualifier = parts.length >= 2 ? parts[parts.length - 2] : null;
  return sample.some((b) =>
    (qualifier === null || b.alias === qualifier) &&
    [...b.table.intColumns].some((c) => c.toLowerCase() === col)
  );
}

function groupEnv(env: Omit<EvalEnv, "column">, group: Row[]): EvalEnv {
  const first = group[0];
  return {
    ...env,
    column: (parts) => (first ? lookup(first, parts) : null),
    aggregate: (name, args, distinct) => {
      if (name === "COUNT" && args[0] === "*") return group.length;
      let values = group.map((r) => evaluate(args[0], rowEnv(env, r))).filter((v) =>
        v !== null
      ) as Exclude<Value, null>[];
      if (distinct) {
        const seen = new Set<Value>();
        values = values.filter((v) => !seen.has(keyOf(v)) && !!seen.add(keyOf(v)));
      }
      switch (name) {
        case "COUNT":
          return values.length;
        case "SUM":
          return values.length ? values.reduce((s: number, v) => s + toNumber(v), 0) : null;
        case "AVG":
          return values.length
            ? values.reduce((s: number, v) => s + toNumber(v), 0) / values.length
            : null;
        case "MIN":
          return values.length ? values.reduce((m, v) => (compare(v, m) < 0 ? v : m)) : null;
        case "MAX":
          return values.length ? values.reduce((m, v) => (compare(v, m) > 0 ? v : m)) : null;
        case "GROUP_CONCAT":
          return values.length ? values.map(String).join(",") : null;
        default:
          throw new Unanswerable(`aggregate ${name}`);
      }
    },
  };
}

function order(q: Node, out: Output[], labels: string[]): Output[] {
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

function limit(q: Node, out: Output[], env: Omit<EvalEnv, "column">): Output[] {
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
