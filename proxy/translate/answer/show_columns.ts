/**
 * `SHOW [FULL] {COLUMNS|FIELDS} {FROM|IN} t [{FROM|IN} db] [LIKE|WHERE]`
 * and `{DESCRIBE|DESC|EXPLAIN} t [column|'pattern']`, from the target's
 * catalog with MySQL's types (column_types.ts) and key markers.
 *
 * @module
 */

import { mysqlDefault, mysqlType } from "./column_types.ts";
import { applyFilter, readFilter } from "./filter.ts";
import { rowsAnswer, textColumn } from "./result.ts";
import type { CatalogColumn, CatalogTable } from "./schema_catalog.ts";
import { loadTable } from "./table_ref.ts";
import type { Cursor } from "./tokens.ts";
import type { Answer, AnswerColumn, AnswerContext } from "./types.ts";
import type { Value } from "./eval.ts";

/** Answers SHOW [FULL] COLUMNS/FIELDS after `SHOW`; null for other SHOW statements. */
export async function answerShowColumns(c: Cursor, ctx: AnswerContext): Promise<Answer | null> {
  const start = c.i;
  const full = c.acceptWords("FULL");
  if (!c.acceptOne("COLUMNS", "FIELDS")) {
    c.i = start;
    return null;
  }
  if (!c.acceptOne("FROM", "IN")) throw c.syntaxError();
  const parts = c.name();
  if (!parts) throw c.syntaxError();
  let db: string | null = null;
  if (c.acceptOne("FROM", "IN")) {
    db = c.name()?.join(".") ?? null;
    if (db === null) throw c.syntaxError();
  }
  const filter = readFilter(c);
  const { table } = await loadTable(parts, db, ctx);
  const { columns, rows } = describeColumns(table, full);
  return rowsAnswer(columns, applyFilter(filter, columns, rows, 0, ctx));
}

/** Answers DESCRIBE/DESC/EXPLAIN of a table; null when it explains a statement. */
export async function answerDescribe(c: Cursor, ctx: AnswerContext): Promise<Answer | null> {
  if (!c.acceptOne("DESCRIBE", "DESC", "EXPLAIN")) return null;
  const next = c.peek();
  if (
    !next || next.kind === "punct" ||
    (next.kind === "word" && EXPLAINED_STATEMENT_WORDS.has(next.text))
  ) {
    return null;
  }
  const parts = c.name();
  if (!parts) return null;
  const wild = c.done() ? null : c.text();
  if (!c.done()) throw c.syntaxError();
  const { table } = await loadTable(parts, null, ctx);
  const { columns, rows } = describeColumns(table, false);
  return rowsAnswer(
    columns,
    applyFilter(wild === null ? null : { like: wild }, columns, rows, 0, ctx),
  );
}

/** Words after EXPLAIN/DESCRIBE that start a statement to explain, not a table. */
export const EXPLAINED_STATEMENT_WORDS: ReadonlySet<string> = new Set([
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "REPLACE",
  "WITH",
  "TABLE",
  "FORMAT",
  "EXTENDED",
  "PARTITIONS",
  "ANALYZE",
  "FOR",
]);

/** The rows of SHOW [FULL] COLUMNS for a table. */
export function describeColumns(
  table: CatalogTable,
  full: boolean,
): { columns: AnswerColumn[]; rows: Value[][] } {
  const names = full
    ? ["Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Privileges", "Comment"]
    : ["Field", "Type", "Null", "Key", "Default", "Extra"];
  const columns = names.map((n) => textColumn(n, n === "Comment" ? 1024 : 64));
  const rows = table.columns.map((col) => {
    const type = mysqlType(col);
    const values: Record<string, Value> = {
      Field: col.name,
      Type: type.columnType,
      Collation: type.text ? "utf8mb4_general_ci" : null,
      Null: col.notNull ? "NO" : "YES",
      Key: columnKey(table, col),
      Default: mysqlDefault(col),
      Extra: col.generated ? "auto_increment" : "",
      Privileges: "select,insert,update,references",
      Comment: col.comment ?? "",
    };
    return names.map((n) => values[n]);
  });
  return { columns, rows };
}

/** MySQL's Key marker: PRI, UNI (first column of a unique index), MUL, or empty. */
export function columnKey(table: CatalogTable, col: CatalogColumn): string {
  if (table.indexes.some((i) => i.primary && i.columns.includes(col.name))) return "PRI";
  const leading = table.indexes.filter((i) => i.columns[0] === col.name);
  if (leading.some((i) => i.unique && i.columns.length === 1)) return "UNI";
  if (leading.length > 0) return "MUL";
  return "";
}
