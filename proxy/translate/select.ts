/**
 * SELECT: projection, FROM and joins, ORDER BY, `LIMIT a, b`, locking reads.
 *
 * MySQL sorts NULLs first in ascending order and last in descending order,
 * CockroachDB the other way round, so every sort key says NULLS FIRST/LAST
 * explicitly. `LOCK IN SHARE MODE` arrives here as FOR SHARE (parse.ts).
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { gap, variant } from "./ast.ts";
import type { Ctx } from "./context.ts";
import { TranslationGap } from "./errors.ts";
import { cond, expr, value } from "./expr.ts";
import { aliasName, identValue, objectName, objectNameParts } from "./identifiers.ts";

/** The extra column that carries SQL_CALC_FOUND_ROWS's total. */
export const FOUND_ROWS_COLUMN = "_lms_found_rows";

/** A table name, with the session database's qualifier dropped. */
export function tableName(ctx: Ctx, name: Node): string {
  const parts = objectNameParts(name);
  if (parts.length === 2) {
    if (ctx.options.database === null || parts[0] !== ctx.options.database) {
      throw new TranslationGap("a reference to another database", parts[0]);
    }
    return objectName(parts[1]);
  }
  if (parts.length !== 1) throw new TranslationGap("a table name with more than two parts");
  return objectName(parts[0]);
}

/** ORDER BY items with MySQL's NULL ordering made explicit. */
export function orderBy(ctx: Ctx, items: Node[]): string {
  return items.map((item) => {
    const desc = item.options?.asc === false;
    if (item.with_fill) throw new TranslationGap("ORDER BY ... WITH FILL");
    return `${expr(ctx, item.expr)} ${desc ? "DESC NULLS LAST" : "ASC NULLS FIRST"}`;
  }).join(", ");
}

/**
 * A complete query (SELECT, UNION, WITH ...), top level or nested.
 *
 * Only the outermost query's aliases keep their case (they are the labels the client reads);
 * nested aliases are lower-cased like every other name, because MySQL matches them
 * case-insensitively (`` `distinctAlias`.`User_id` `` finds `AS User_id`).
 */
export function query(ctx: Ctx, q: Node, top = false): string {
  const outer = ctx.labels;
  ctx.labels = null;
  try {
    return queryBody(ctx, q, top);
  } finally {
    ctx.labels = outer;
  }
}

function queryBody(ctx: Ctx, q: Node, top: boolean): string {
  const out: string[] = [];
  if (q.with) {
    if (q.with.recursive) out.push("WITH RECURSIVE");
    else out.push("WITH");
    out.push(
      q.with.cte_tables.map((cte: Node) =>
        `${objectName(identValue(cte.alias.name))} AS (${query(ctx, cte.query)})`
      ).join(", "),
    );
  }
  const labels = new Map<string, string>();
  out.push(setExpr(ctx, q.body, top ? labels : null, top));
  if (q.order_by) {
    const [kind, items] = variant(q.order_by.kind);
    if (kind !== "Expressions") throw new TranslationGap("ORDER BY ALL");
    ctx.labels = labels;
    out.push(`ORDER BY ${orderBy(ctx, items)}`);
    ctx.labels = null;
  }
  if (q.limit_clause) out.push(limitClause(ctx, q.limit_clause));
  if (q.fetch) throw new TranslationGap("FETCH FIRST");
  for (const lock of q.locks ?? []) {
    out.push(lock.lock_type === "Share" ? "FOR SHARE" : "FOR UPDATE");
    if (lock.of) out.push(`OF ${tableName(ctx, lock.of)}`);
    if (lock.nonblock === "Nowait") out.push("NOWAIT");
    else if (lock.nonblock === "SkipLocked") out.push("SKIP LOCKED");
  }
  return out.join(" ");
}

/** `LIMIT n`, `LIMIT n OFFSET m`, or MySQL's `LIMIT m, n`. */
export function limitClause(ctx: Ctx, clause: Node): string {
  const [kind, p] = variant(clause);
  if (kind === "OffsetCommaLimit") {
    // Printed limit first: parameter order is fixed by source position (params.ts).
    const limit = isNoLimit(p.limit) ? "" : `LIMIT ${expr(ctx, p.limit)} `;
    return `${limit}OFFSET ${expr(ctx, p.offset)}`;
  }
  if (kind !== "LimitOffset") return gap("the limit clause", clause);
  if (p.limit_by?.length) throw new TranslationGap("LIMIT BY");
  const parts: string[] = [];
  if (p.limit && !isNoLimit(p.limit)) parts.push(`LIMIT ${expr(ctx, p.limit)}`);
  if (p.offset) parts.push(`OFFSET ${expr(ctx, p.offset.value)}`);
  return parts.join(" ");
}

/**
 * @param labels collects the outermost projection's case-keeping aliases (null when nested)
 * @param top the statement's own SELECT (not a UNION branch), where SQL_CALC_FOUND_ROWS may be
 */
/** MySQL has no OFFSET without LIMIT; drivers write LIMIT 18446744073709551615 (beyond INT8). */
function isNoLimit(limit: Node): boolean {
  const [kind, p] = variant(limit);
  if (kind !== "Value") return false;
  const [vk, vp] = variant(p.value);
  return vk === "Number" && /^[0-9]+$/.test(vp[0]) && BigInt(vp[0]) > 9223372036854775807n;
}

function setExpr(
  ctx: Ctx,
  body: Node,
  labels: Map<string, string> | null,
  top: boolean,
): string {
  const [kind, p] = variant(body);
  switch (kind) {
    case "Select":
      return select(ctx, p, labels, top);
    case "Query":
      return `(${query(ctx, p)})`;
    case "SetOperation": {
      const op = String(p.op).toUpperCase();
      if (op !== "UNION" && op !== "INTERSECT" && op !== "EXCEPT") {
        throw new TranslationGap(`the set operation ${op}`);
      }
      const all = p.set_quantifier === "All" ? " ALL" : "";
      // The first branch names the result columns.
      return `${setExpr(ctx, p.left, labels, false)} ${op}${all} ${
        setExpr(ctx, p.right, null, false)
      }`;
    }
    case "Values":
      return `VALUES ${
        p.rows.map((r: Node) => `(${r.content.map((e: Node) => value(ctx, e)).join(", ")})`)
          .join(", ")
      }`;
    default:
      return gap("the query body", body);
  }
}

function select(ctx: Ctx, s: Node, labels: Map<string, string> | null, top: boolean): string {
  const out = ["SELECT"];
  if (s.distinct === "Distinct") out.push("DISTINCT");
  else if (s.distinct && s.distinct !== "All") throw new TranslationGap("DISTINCT ON");
  if (s.into) throw new TranslationGap("SELECT ... INTO");
  const modifiers = s.select_modifiers;
  const calcFoundRows = Boolean(modifiers?.sql_calc_found_rows);
  if (calcFoundRows && !top) throw new TranslationGap("SQL_CALC_FOUND_ROWS in a subquery");
  if (calcFoundRows && s.distinct) throw new TranslationGap("SQL_CALC_FOUND_ROWS with DISTINCT");
  const texts = labels !== null && ctx.itemTexts?.length === s.projection.length
    ? ctx.itemTexts
    : null;
  const items = s.projection.map((item: Node, i: number) =>
    projection(ctx, item, labels, texts?.[i] ?? null)
  );
  if (calcFoundRows) {
    items.push(`count(*) OVER () AS ${FOUND_ROWS_COLUMN}`);
    ctx.foundRowsColumn = FOUND_ROWS_COLUMN;
  }
  out.push(items.join(", "));
  const from = (s.from ?? []).filter((f: Node) => !isDual(f));
  if (from.length > 0) out.push("FROM", from.map((f: Node) => tableWithJoins(ctx, f)).join(", "));
  if (s.selection) out.push("WHERE", cond(ctx, s.selection));
  const [gk, gp] = variant(s.group_by);
  if (gk === "Expressions") {
    if (gp[1]?.length) throw new TranslationGap("GROUP BY ... WITH ROLLUP");
    ctx.labels = labels;
    if (gp[0].length) out.push("GROUP BY", gp[0].map((e: Node) => expr(ctx, e)).join(", "));
  } else throw new TranslationGap("GROUP BY ALL");
  if (s.having) out.push("HAVING", cond(ctx, s.having));
  ctx.labels = null;
  if (s.named_window?.length) throw new TranslationGap("WINDOW clauses");
  return out.join(" ");
}

function isDual(f: Node): boolean {
  const [kind, t] = variant(f.relation);
  return kind === "Table" && f.joins.length === 0 &&
    objectNameParts(t.name).join(".").toUpperCase() === "DUAL";
}

/**
 * One select item. In the outermost list an unaliased item gets MySQL's label (labels.ts):
 * a column its name as written, a string literal its value, anything else its source text.
 */
function projection(
  ctx: Ctx,
  item: Node,
  labels: Map<string, string> | null,
  source: string | null,
): string {
  const label = (name: string) => {
    if (labels === null) return objectName(name);
    const printed = aliasName(name);
    labels.set(name.toLowerCase(), printed);
    return printed;
  };
  const [kind, p] = variant(item);
  switch (kind) {
    case "UnnamedExpr": {
      const printed = value(ctx, p);
      // MySQL labels a column by the name as written; CockroachDB by its folded name.
      const [ek, ep] = variant(p);
      const written = ek === "Identifier"
        ? ep.value
        : ek === "CompoundIdentifier"
        ? ep.at(-1).value
        : null;
      if (labels !== null && written !== null && written !== written.toLowerCase()) {
        return `${printed} AS ${label(written)}`;
      }
      if (written !== null || source === null) return printed;
      return `${printed} AS ${label(mysqlLabel(p, source))}`;
    }
    case "ExprWithAlias":
      return `${value(ctx, p.expr)} AS ${label(identValue(p.alias))}`;
    case "Wildcard":
      return "*";
    case "QualifiedWildcard": {
      const [wk, wp] = variant(p[0]);
      if (wk !== "ObjectName") throw new TranslationGap("this qualified wildcard");
      return `${tableName(ctx, wp)}.*`;
    }
    default:
      return gap("the select item", item);
  }
}

function mysqlLabel(expression: Node, source: string): string {
  const [kind, p] = variant(expression);
  if (kind === "Value") {
    const [vk, vp] = variant(p.value);
    if (vk === "SingleQuotedString" || vk === "DoubleQuotedString") return String(vp);
    if (vk === "Null") return "NULL";
  }
  return source.trim();
}

/** A FROM item with its joins. */
export function tableWithJoins(ctx: Ctx, t: Node): string {
  const out = [tableFactor(ctx, t.relation)];
  for (const join of t.joins) out.push(joinClause(ctx, join));
  return out.join(" ");
}

function alias(a: Node): string {
  if (!a) return "";
  if (a.columns?.length) throw new TranslationGap("column aliases on a table alias");
  return ` AS ${objectName(identValue(a.name))}`;
}

function tableFactor(ctx: Ctx, f: Node): string {
  const [kind, p] = variant(f);
  switch (kind) {
    case "Table":
      // Index hints (USE/FORCE INDEX) only steer MySQL's planner and are dropped.
      if (p.args) throw new TranslationGap("table functions");
      return `${tableName(ctx, p.name)}${alias(p.alias)}`;
    case "Derived":
      if (p.lateral) throw new TranslationGap("LATERAL derived tables");
      return `(${query(ctx, p.subquery)})${alias(p.alias)}`;
    case "NestedJoin":
      return `(${tableWithJoins(ctx, p.table_with_joins)})${alias(p.alias)}`;
    default:
      return gap("the table expression", f);
  }
}

function joinClause(ctx: Ctx, join: Node): string {
  const [kind, p] = variant(join.join_operator);
  const relation = tableFactor(ctx, join.relation);
  const names: Record<string, string> = {
    Join: "JOIN",
    Inner: "JOIN",
    Left: "LEFT JOIN",
    LeftOuter: "LEFT JOIN",
    Right: "RIGHT JOIN",
    RightOuter: "RIGHT JOIN",
    StraightJoin: "JOIN",
  };
  if (kind === "CrossJoin") return `CROSS JOIN ${relation}`;
  const keyword = names[kind];
  if (!keyword) return gap("the join", join.join_operator);
  if (p === undefined || p === "None") {
    return kind === "StraightJoin" || kind === "Join" || kind === "Inner"
      ? `CROSS JOIN ${relation}`
      : gap("a join without a condition", join.join_operator);
  }
  if (kind === "StraightJoin") return `JOIN ${relation} ON ${cond(ctx, p)}`;
  const [ck, cp] = variant(p);
  if (ck === "On") return `${keyword} ${relation} ON ${cond(ctx, cp)}`;
  if (ck === "Using") {
    return `${keyword} ${relation} USING (${
      cp.map((n: Node) => objectName(objectNameParts(n).at(-1)!)).join(", ")
    })`;
  }
  if (ck === "Natural") return `NATURAL ${keyword} ${relation}`;
  return gap("the join constraint", p);
}
