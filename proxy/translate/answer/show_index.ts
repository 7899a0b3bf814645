/**
 * `SHOW {INDEX|INDEXES|KEYS} {FROM|IN} t [{FROM|IN} db] [WHERE ...]`, one
 * row per index column in MySQL 8's shape. The primary key is `PRIMARY`, as
 * MySQL names it whatever CockroachDB calls it.
 *
 * @module
 */

import { applyFilter, readFilter } from "./filter.ts";
import { intColumn, mariaDbFlavour, rowsAnswer, textColumn } from "./result.ts";
import type { CatalogTable } from "./schema_catalog.ts";
import { loadTable } from "./table_ref.ts";
import type { Cursor } from "./tokens.ts";
import type { Answer, AnswerColumn, AnswerContext } from "./types.ts";
import type { Value } from "./eval.ts";

/** Answers SHOW INDEX/INDEXES/KEYS after `SHOW` (and `SHOW EXTENDED ...`); null otherwise. */
export async function answerShowIndex(c: Cursor, ctx: AnswerContext): Promise<Answer | null> {
  const start = c.i;
  c.acceptWords("EXTENDED");
  if (!c.acceptOne("INDEX", "INDEXES", "KEYS")) {
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
  if (filter && "like" in filter) throw c.syntaxError();
  const { table } = await loadTable(parts, db, ctx);
  const { columns, rows } = indexRows(table, mariaDbFlavour(ctx));
  return rowsAnswer(columns, applyFilter(filter, columns, rows, 2, ctx));
}

/**
 * The rows of SHOW INDEX for a table: the primary key first, then indexes by
 * name; MySQL 8 ends with `Visible`, `Expression`, MariaDB with `Ignored`.
 */
export function indexRows(
  table: CatalogTable,
  mariaDb: boolean,
): { columns: AnswerColumn[]; rows: Value[][] } {
  const columns = [
    textColumn("Table", 64, true),
    intColumn("Non_unique", false, true),
    textColumn("Key_name", 64),
    intColumn("Seq_in_index", true, true),
    textColumn("Column_name", 64),
    textColumn("Collation", 1),
    intColumn("Cardinality"),
    intColumn("Sub_part"),
    textColumn("Packed", 10),
    textColumn("Null", 3, true),
    textColumn("Index_type", 16, true),
    textColumn("Comment", 8, true),
    textColumn("Index_comment", 2048, true),
    ...(mariaDb
      ? [textColumn("Ignored", 3, true)]
      : [textColumn("Visible", 3, true), textColumn("Expression", 1024)]),
  ];
  const nullable = new Map(table.columns.map((c) => [c.name, !c.notNull]));
  const rows: Value[][] = [];
  const ordered = [...table.indexes].sort((a, b) =>
    Number(b.primary) - Number(a.primary) || a.name.localeCompare(b.name)
  );
  for (const index of ordered) {
    index.columns.forEach((col, k) => {
      rows.push([
        table.name,
        index.unique ? 0 : 1,
        index.primary ? "PRIMARY" : index.name,
        k + 1,
        col,
        index.descending[k] ? "D" : "A",
        null,
        null,
        null,
        nullable.get(col) ? "YES" : "",
        "BTREE",
        "",
        "",
        ...(mariaDb ? ["NO"] : ["YES", null]),
      ]);
    });
  }
  return { columns, rows };
}
