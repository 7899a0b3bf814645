/**
 * BOOL columns: MySQL's TINYINT(1) as CockroachDB keeps it.
 *
 * A schema converted for CockroachDB (MOLT's schema conversion, or a
 * hand-written one) makes MySQL's TINYINT(1) a BOOL. MySQL applications
 * still write 1/0: `WHERE active = 1`, `INSERT ... VALUES (1)`,
 * `SET active = TRUE` (TRUE is 1 in MySQL, and the translator prints it so
 * for integer columns). CockroachDB has no implicit INT → BOOL conversion, so
 * each fails there. The translator learns a statement's BOOL columns from
 * the catalog (the tables it names) and, where such a column meets a value:
 * a 0/1/TRUE/FALSE literal becomes FALSE/TRUE (a comparison keeps its index),
 * another number is compared with the column as an integer, a value assigned
 * to it is cast to BOOL, and the column alone is a condition. A column name
 * that is BOOL in one of the statement's tables and not in another is left
 * as it was (which one the name means is not known without resolving scopes).
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { variant } from "./ast.ts";
import type { Catalog } from "./catalog.ts";
import type { Ctx } from "./context.ts";
import { objectNameParts } from "./identifiers.ts";

/** The tables a statement names (lower case, without database), in no particular order. */
export function referencedTables(statement: Node): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const o = node as Record<string, Node>;
    if (o.Table && Array.isArray(o.Table.name)) found.add(lastPart(o.Table.name));
    if (o.TableName && Array.isArray(o.TableName)) found.add(lastPart(o.TableName));
    for (const key in o) if (key !== "span") walk(o[key]);
  };
  walk(statement);
  return [...found];
}

function lastPart(name: Node): string {
  return objectNameParts(name).at(-1)!.toLowerCase();
}

/** The names of the BOOL columns of `tables` that are not also another type in one of them. */
export async function booleanColumns(catalog: Catalog, tables: string[]): Promise<Set<string>> {
  const yes = new Set<string>();
  const no = new Set<string>();
  for (const name of tables) {
    const info = await catalog.table(name);
    if (!info) continue;
    const bools = new Set(info.booleans ?? []);
    for (const c of info.columns) (bools.has(c) ? yes : no).add(c);
  }
  for (const c of no) yes.delete(c);
  return yes;
}

/** True when `node` is a reference to one of the statement's BOOL columns. */
export function isBoolColumn(ctx: Ctx, node: Node): boolean {
  if (ctx.booleans.size === 0) return false;
  const [kind, p] = variant(node);
  if (kind === "Identifier") {
    return !p.value.startsWith("@") && ctx.booleans.has(String(p.value).toLowerCase());
  }
  if (kind === "CompoundIdentifier") {
    return ctx.booleans.has(String(p.at(-1).value).toLowerCase());
  }
  if (kind === "Nested") return isBoolColumn(ctx, p);
  return false;
}

/** TRUE/FALSE for a literal 1, 0, TRUE or FALSE (MySQL's booleans); null for anything else. */
export function boolLiteral(node: Node): string | null {
  const [kind, p] = variant(node);
  if (kind === "Nested") return boolLiteral(p);
  if (kind !== "Value") return null;
  const [vk, v] = variant(p.value);
  if (vk === "Boolean") return v ? "TRUE" : "FALSE";
  if (vk === "Number") {
    const n = Number(v[0]);
    return n === 1 ? "TRUE" : n === 0 ? "FALSE" : null;
  }
  return null;
}

/** True for a `?` parameter (its type is inferred from the BOOL column it meets). */
export function isPlaceholder(node: Node): boolean {
  const [kind, p] = variant(node);
  return kind === "Value" && p.value !== null && typeof p.value === "object" &&
    "Placeholder" in p.value;
}

/** True for MySQL's `DEFAULT` keyword in a value position. */
export function isDefault(node: Node): boolean {
  const [kind, p] = variant(node);
  return kind === "Identifier" && !p.quote_style && String(p.value).toUpperCase() === "DEFAULT";
}
