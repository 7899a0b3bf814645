/**
 * INSERT and REPLACE: multi-row VALUES, `INSERT ... SET`, `INSERT ... SELECT`,
 * IGNORE, ON DUPLICATE KEY UPDATE, and the generated key for last insert id.
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { variant } from "./ast.ts";
import type { Catalog, TableInfo } from "./catalog.ts";
import type { Ctx } from "./context.ts";
import { TranslationGap } from "./errors.ts";
import { boolValue, value } from "./expr.ts";
import { identValue, objectName, objectNameParts } from "./identifiers.ts";
import { query, tableName } from "./select.ts";
import { conflictTarget, countingUpsert } from "./upsert.ts";
import type { AffectedRowsMode } from "./types.ts";

/** What an INSERT translates to, before the common fields are filled in. */
export interface InsertTranslation {
  sql: string;
  generatedKey: string | null;
  affectedRows: AffectedRowsMode;
  proposedRows: number;
}

/** Translates an `Insert` node (REPLACE is an Insert with `replace_into`). */
export async function insert(ctx: Ctx, p: Node, catalog: Catalog): Promise<InsertTranslation> {
  const [tk, tp] = variant(p.table);
  if (tk !== "TableName") throw new TranslationGap("INSERT INTO a table function");
  const table = tableName(ctx, tp);
  const rawTable = objectNameParts(tp).at(-1)!.toLowerCase();
  if (p.partitioned || p.after_columns?.length) throw new TranslationGap("INSERT ... PARTITION");
  if (p.priority) throw new TranslationGap(`INSERT ${String(p.priority)}`);
  const replace = p.replace_into === true;
  const onDuplicate = p.on ? variant(p.on) : null;
  if (onDuplicate && onDuplicate[0] !== "DuplicateKeyUpdate") {
    throw new TranslationGap(`INSERT ... ${onDuplicate[0]}`);
  }
  const needsKeys = replace || onDuplicate !== null;
  const info: TableInfo | null = await catalog.table(rawTable);
  if (needsKeys && info === null) throw new TranslationGap("upsert into an unknown table", table);

  let columns: string[] = (p.columns ?? []).map((c: Node) =>
    (Array.isArray(c) ? objectNameParts(c).at(-1)! : identValue(c)).toLowerCase()
  );
  let rows: Node[][] | null = null;
  let source = "";
  if (p.assignments?.length) {
    columns = p.assignments.map((a: Node) => assignmentColumn(a));
    rows = [p.assignments.map((a: Node) => a.value)];
  } else if (p.source) {
    const [bk, bp] = variant(p.source.body);
    if (bk === "Values" && !p.source.order_by && !p.source.limit_clause && !p.source.with) {
      rows = bp.rows.map((r: Node) => r.content);
    } else {
      source = query(ctx, p.source);
    }
  } else throw new TranslationGap("INSERT without values");
  if (columns.length === 0 && info !== null) columns = info.columns;

  let printedRows: string[][] = [];
  if (rows !== null && rows.every((r) => r.length === 0)) {
    // Knex and TypeORM insert a row of defaults as `() VALUES ()`.
    if (rows.length !== 1) throw new TranslationGap("several rows of defaults in one INSERT");
    source = "DEFAULT VALUES";
  } else if (rows !== null) {
    const bools = new Set(info?.booleans ?? []);
    printedRows = rows.map((r) =>
      r.map((e, i) => bools.has(columns[i]) ? boolValue(ctx, e) : value(ctx, e))
    );
    source = `VALUES ${printedRows.map((r) => `(${r.join(", ")})`).join(", ")}`;
  }
  const columnList = columns.length > 0 && (p.columns?.length || p.assignments?.length)
    ? ` (${columns.map(objectName).join(", ")})`
    : "";
  let sql = `INSERT INTO ${table}${columnList} ${source}`;
  let affectedRows: AffectedRowsMode = "plain";
  const generatedKey = info?.generatedKey ?? null;

  if (needsKeys) {
    if (rows === null) throw new TranslationGap("REPLACE / ON DUPLICATE KEY UPDATE with SELECT");
    const target = conflictTarget(table, info!, columns);
    let update: string;
    if (replace) {
      // REPLACE deletes the old row: columns the statement does not give get their defaults.
      const given = new Set(columns);
      update = info!.columns.filter((c) => !target.includes(c)).map((c) =>
        `${objectName(c)} = ${given.has(c) ? `excluded.${objectName(c)}` : "DEFAULT"}`
      ).join(", ");
      affectedRows = "replace";
    } else {
      const rowAlias = p.insert_alias ? objectNameParts(p.insert_alias.row_alias).join(".") : null;
      if (p.insert_alias?.col_aliases?.length) throw new TranslationGap("row alias column names");
      ctx.upsert = { rowAlias, table };
      const bools = new Set(info!.booleans ?? []);
      const assignments: [string, string][] = onDuplicate![1].map((a: Node) => {
        const column = assignmentColumn(a);
        return [column, bools.has(column) ? boolValue(ctx, a.value) : value(ctx, a.value)];
      });
      ctx.upsert = null;
      update = assignments.map(([c, v]) => `${objectName(c)} = ${v}`).join(", ");
      // Rows left as they were are not written, so the row count tells them apart (MySQL's 0).
      const current = assignments.map(([c]) => `${table}.${objectName(c)}`).join(", ");
      const proposed = assignments.map(([, v]) => v).join(", ");
      update += ` WHERE (${current}) IS DISTINCT FROM (${proposed})`;
      affectedRows = "upsert";
    }
    sql += update === ""
      ? ` ON CONFLICT (${target.map(objectName).join(", ")}) DO NOTHING`
      : ` ON CONFLICT (${target.map(objectName).join(", ")}) DO UPDATE SET ${update}`;
    const keyRows = rows.map((r) =>
      target.map((k) => {
        const at = columns.indexOf(k);
        return value(ctx, r[at]);
      })
    );
    return {
      sql: countingUpsert(sql, table, target, keyRows),
      generatedKey: null,
      affectedRows,
      proposedRows: rows.length,
    };
  }
  if (p.ignore) sql += " ON CONFLICT DO NOTHING";
  if (generatedKey) sql += ` RETURNING ${objectName(generatedKey)}`;
  return { sql, generatedKey, affectedRows, proposedRows: rows?.length ?? 0 };
}

/** The column an assignment (`SET a = ...`, `t.a = ...`) writes, lower case. */
export function assignmentColumn(a: Node): string {
  const [kind, target] = variant(a.target);
  if (kind !== "ColumnName") throw new TranslationGap("assignment to a tuple");
  return objectNameParts(target).at(-1)!.toLowerCase();
}
