/**
 * UPDATE and DELETE, single- and multi-table, with MySQL's `ORDER BY ... LIMIT`.
 *
 * CockroachDB accepts `UPDATE/DELETE ... ORDER BY ... LIMIT` as MySQL does.
 * PostgreSQL 15 (the test stand-in) does not, so for the `postgresql` target
 * the rows are chosen by `ctid IN (SELECT ctid ... ORDER BY ... LIMIT)`, an
 * equivalent that only PostgreSQL has. `UPDATE a JOIN b ... SET` becomes
 * `UPDATE a SET ... FROM b WHERE`, `DELETE a FROM a JOIN b` becomes
 * `DELETE FROM a USING b WHERE`, for inner joins.
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { variant } from "./ast.ts";
import type { Ctx } from "./context.ts";
import { TranslationGap } from "./errors.ts";
import { boolValue, cond, expr, value } from "./expr.ts";
import { assignmentColumn } from "./insert.ts";
import { objectName, objectNameParts } from "./identifiers.ts";
import { orderBy, tableName } from "./select.ts";

interface Target {
  table: string;
  alias: string | null;
  /** Other tables joined in, printed, with their join conditions. */
  from: string[];
  conditions: string[];
}

function target(ctx: Ctx, t: Node): Target {
  const [kind, rel] = variant(t.relation);
  if (kind !== "Table") throw new TranslationGap("UPDATE/DELETE of a derived table");
  const result: Target = {
    table: tableName(ctx, rel.name),
    alias: rel.alias ? objectName(rel.alias.name.value) : null,
    from: [],
    conditions: [],
  };
  for (const join of t.joins ?? []) {
    const [jk, jp] = variant(join.join_operator);
    if (jk !== "Join" && jk !== "Inner") throw new TranslationGap(`a ${jk} join in UPDATE/DELETE`);
    const [rk, rp] = variant(join.relation);
    if (rk !== "Table") throw new TranslationGap("a derived table joined in UPDATE/DELETE");
    result.from.push(
      `${tableName(ctx, rp.name)}${rp.alias ? ` AS ${objectName(rp.alias.name.value)}` : ""}`,
    );
    const [ck, cp] = variant(jp);
    if (ck !== "On") throw new TranslationGap(`a join ${ck} in UPDATE/DELETE`);
    result.conditions.push(cond(ctx, cp));
  }
  return result;
}

function limited(
  ctx: Ctx,
  t: Target,
  where: string[],
  p: Node,
): { where: string[]; tail: string } {
  if (!p.order_by?.length && !p.limit) return { where, tail: "" };
  if (t.from.length > 0) throw new TranslationGap("ORDER BY/LIMIT in a multi-table UPDATE/DELETE");
  const order = p.order_by?.length ? ` ORDER BY ${orderBy(ctx, p.order_by)}` : "";
  const limit = p.limit ? ` LIMIT ${expr(ctx, p.limit)}` : "";
  if (ctx.options.target === "cockroachdb") return { where, tail: `${order}${limit}` };
  const self = t.alias ?? t.table;
  const inner = `SELECT ${self}.ctid FROM ${t.table}${t.alias ? ` AS ${t.alias}` : ""}` +
    `${where.length ? ` WHERE ${where.join(" AND ")}` : ""}${order}${limit}`;
  return { where: [`${self}.ctid IN (${inner})`], tail: "" };
}

/** Translates an `Update` node. */
export function update(ctx: Ctx, p: Node): { sql: string } {
  if (p.from) throw new TranslationGap("UPDATE ... FROM");
  const t = target(ctx, p.table);
  const assignments: [string, string][] = p.assignments.map((a: Node) => {
    const column = assignmentColumn(a);
    return [column, ctx.booleans.has(column) ? boolValue(ctx, a.value) : value(ctx, a.value)];
  });
  let where = [...t.conditions];
  if (p.selection) where.push(cond(ctx, p.selection));
  if (!ctx.options.clientFoundRows) {
    const self = t.alias ?? t.table;
    where.push(
      `(${assignments.map(([c]) => `${self}.${objectName(c)}`).join(", ")}) IS DISTINCT FROM (${
        assignments.map(([, v]) => v).join(", ")
      })`,
    );
  }
  const lim = limited(ctx, t, where, p);
  where = lim.where;
  const set = assignments.map(([c, v]) => `${objectName(c)} = ${v}`).join(", ");
  const sql = `UPDATE ${t.table}${t.alias ? ` AS ${t.alias}` : ""} SET ${set}` +
    (t.from.length ? ` FROM ${t.from.join(", ")}` : "") +
    (where.length ? ` WHERE ${where.join(" AND ")}` : "") + lim.tail;
  return { sql };
}

/** Translates a `Delete` node. */
export function deleteStatement(ctx: Ctx, p: Node): { sql: string } {
  const [fk, from] = variant(p.from);
  if (fk !== "WithFromKeyword" && fk !== "WithoutKeyword") {
    throw new TranslationGap(`DELETE ${fk}`);
  }
  if (from.length !== 1) throw new TranslationGap("DELETE from a comma-separated table list");
  if (p.using) throw new TranslationGap("DELETE ... USING");
  const t = target(ctx, from[0]);
  if (p.tables?.length) {
    const named = p.tables.map((n: Node) => objectNameParts(n).at(-1)!.toLowerCase());
    const self = (t.alias ?? t.table).replaceAll('"', "");
    if (named.length !== 1 || named[0] !== self) {
      throw new TranslationGap("DELETE from several tables, or not from the first joined one");
    }
  }
  let where = [...t.conditions];
  if (p.selection) where.push(cond(ctx, p.selection));
  const lim = limited(ctx, t, where, p);
  where = lim.where;
  const sql = `DELETE FROM ${t.table}${t.alias ? ` AS ${t.alias}` : ""}` +
    (t.from.length ? ` USING ${t.from.join(", ")}` : "") +
    (where.length ? ` WHERE ${where.join(" AND ")}` : "") + lim.tail;
  return { sql };
}
