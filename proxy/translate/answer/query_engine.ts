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
import { distinct, keyOf, limit, order, type Output } from "./query_clauses.ts";
import { AnswerError, intColumn, mariaDbFlavour, notSupported, rowsAnswer } from "./result.ts";
import { type CatalogTable, readCatalog } from "./schema_catalog.ts";
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
  if (!tree.Query) return null;
  const names = tableNames(tree);
  const inSchema = names.filter((n) =>
    n.length === 2 && n[0].toLowerCase() === "information_schema"
  );
  if (inSchema.length === 0) return null;
  try {
    if (inSchema.length !== names.length) {
      throw new Unanswerable("information_schema joined with other tables");
    }
    let catalog: Promise<CatalogTable[]> | null = null;
    const run: Run = {
      env: { ctx, params: ctx.params, placeholders: placeholderIndex(tree) },
      ctx,
      tables: () => (catalog ??= readCatalog(ctx)),
    };
    const texts = selectItemTexts(
      sql,
      DEFAULT_PARSE_LIMITS.maxTokens,
      DEFAULT_PARSE_LIMITS.maxDepth,
    );
    const result = await runQuery(tree.Query, run, texts);
    const columns: AnswerColumn[] = result.items.map((item, k) =>
      item.intColumn ? intColumn(item.label) : columnFor(
        item.label,
        result.out.map((o) => o.values[k]).find((v) => v !== null) ?? "",
      )
    );
    return rowsAnswer(columns, result.out.map((o) => o.values));
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

/** Every table a tree reads, as name parts. */
function tableNames(node: Node): string[][] {
  const found: string[][] = [];
  const walk = (n: Node) => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === "object") {
      if (n.relation?.Table) {
        found.push(n.relation.Table.name.map((p: Node) => String(p.Identifier?.value ?? "")));
      }
      for (const k of Object.keys(n)) if (k !== "span") walk(n[k]);
    }
  };
  walk(node);
  return found;
}

interface Run {
  env: Omit<EvalEnv, "column">;
  ctx: AnswerContext;
  tables: () => Promise<CatalogTable[]>;
}

interface Item {
  label: string;
  intColumn: boolean;
}

interface Result {
  items: Item[];
  out: Output[];
}

/** A query: its body (a SELECT or a UNION), then ORDER BY and LIMIT. */
async function runQuery(q: Node, run: Run, texts: string[] | null): Promise<Result> {
  if (q.with) throw new Unanswerable("WITH");
  const result = await runBody(q.body, run, texts);
  let out = order(q, result.out, result.items.map((i) => i.label));
  out = limit(q, out, run.env);
  return { items: result.items, out };
}

async function runBody(body: Node, run: Run, texts: string[] | null): Promise<Result> {
  const [kind, v] = variant(body);
  if (kind === "Select") return await runSelect(v, run, texts);
  if (kind === "Query") return await runQuery(v, run, null);
  if (kind === "SetOperation" && v.op === "Union") {
    const left = await runBody(v.left, run, texts);
    const right = await runBody(v.right, run, null);
    if (left.items.length !== right.items.length) {
      throw new AnswerError(
        [1222, "21000"],
        "The used SELECT statements have a different number of columns",
      );
    }
    const items = left.items.map((item, k) => ({
      label: item.label,
      intColumn: item.intColumn && right.items[k].intColumn,
    }));
    const labels = items.map((i) => i.label.toLowerCase());
    let out: Output[] = [...left.out, ...right.out].map((o) => ({
      values: o.values,
      env: {
        ...run.env,
        column: (parts: string[]) => {
          const at = labels.indexOf(parts[parts.length - 1]);
          return at >= 0 ? o.values[at] : undefined;
        },
      },
    }));
    if (v.set_quantifier !== "All") out = distinct(out);
    return { items, out };
  }
  throw new Unanswerable(`${kind === "SetOperation" ? v.op : kind} over information_schema`);
}

async function load(relation: Node, run: Run): Promise<Binding> {
  const [kind, r] = variant(relation);
  if (kind === "Table") {
    const name = String(r.name[1].Identifier.value);
    const table = await informationSchemaTable(name, run.ctx, run.tables);
    return { alias: String(r.alias?.name?.value ?? name).toLowerCase(), table, row: null };
  }
  if (kind === "Derived") {
    const result = await runQuery(r.subquery, run, null);
    const columns = result.items.map((i) => i.label);
    return {
      alias: String(r.alias?.name?.value ?? "").toLowerCase(),
      table: {
        columns,
        intColumns: new Set(result.items.filter((i) => i.intColumn).map((i) => i.label)),
        rows: result.out.map((o) => o.values),
      },
      row: null,
    };
  }
  throw new Unanswerable(`${kind} in FROM`);
}

async function runSelect(select: Node, run: Run, texts: string[] | null): Promise<Result> {
  let rows: Row[] = [[]];
  const shape: Row = [];
  for (const from of select.from) {
    const first = await load(from.relation, run);
    shape.push(first);
    rows = cross(rows, first);
    for (const join of from.joins) {
      const next = await load(join.relation, run);
      shape.push(next);
      rows = joinRows(rows, next, join.join_operator, run.env);
    }
  }
  if (select.selection) {
    rows = rows.filter((r) => isTrue(evaluate(select.selection, rowEnv(run.env, r))));
  }
  return project(select, rows, shape, run, texts);
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

/**
 * The select list over the rows; `shape` is the FROM tables (for `*` and
 * column types even when no row matched).
 */
function project(
  select: Node,
  rows: Row[],
  shape: Row,
  run: Run,
  texts: string[] | null,
): Result {
  const env = run.env;
  const mariaDb = mariaDbFlavour(run.ctx);
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
  const items: { label: string; get: (e: EvalEnv) => Value; intColumn: boolean }[] = [];
  for (const [k, item] of select.projection.entries()) {
    const [kind, body] = variant(item);
    if (kind === "Wildcard" || kind === "QualifiedWildcard") {
      const qualifier = kind === "QualifiedWildcard"
        ? String(body[0].ObjectName.at(-1).Identifier.value).toLowerCase()
        : null;
      for (const b of shape) {
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
    const label = kind === "ExprWithAlias"
      ? String(body.alias.value)
      : labelOf(expr, texts?.[k], mariaDb ? null : shape);
    items.push({ label, get: (e) => evaluate(expr, e), intColumn: isIntColumn(expr, shape) });
  }
  let out: Output[] = sources.map((e) => ({ values: items.map((i) => i.get(e)), env: e }));
  if (select.distinct) out = distinct(out);
  return { items: items.map(({ label, intColumn }) => ({ label, intColumn })), out };
}

/**
 * MySQL's label of an unaliased item: a column by its name, which MySQL 8
 * prints as the table defines it (information_schema's are upper case)
 * and MariaDB as written (`shape` null); anything else by its text.
 */
function labelOf(expr: Node, text: string | undefined, shape: Row | null): string {
  const [kind, body] = variant(expr);
  if (kind !== "Identifier" && kind !== "CompoundIdentifier") return text ?? "?";
  const parts: string[] = kind === "Identifier"
    ? [String(body.value)]
    : body.map((p: Node) => String(p.value));
  const written = parts[parts.length - 1];
  const qualifier = parts.length >= 2 ? parts[parts.length - 2].toLowerCase() : null;
  for (const b of shape ?? []) {
    if (qualifier !== null && b.alias !== qualifier) continue;
    const defined = b.table.columns.find((c) => c.toLowerCase() === written.toLowerCase());
    if (defined) return defined;
  }
  return written;
}

function isIntColumn(expr: Node, shape: Row): boolean {
  const [kind, body] = variant(expr);
  const parts = kind === "Identifier"
    ? [String(body.value).toLowerCase()]
    : kind === "CompoundIdentifier"
    ? body.map((p: Node) => String(p.value).toLowerCase())
    : null;
  if (!parts) return false;
  const col = parts[parts.length - 1];
  const qualifier = parts.length >= 2 ? parts[parts.length - 2] : null;
  return shape.some((b) =>
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
