/**
 * `SHOW [FULL] TABLES [{FROM|IN} db] [LIKE|WHERE]` and
 * `SHOW TABLE STATUS [{FROM|IN} db] [LIKE|WHERE]` from the target's catalog.
 * MySQL labels the name column `Tables_in_<db>`, with ` (<pattern>)` after
 * a LIKE.
 *
 * @module
 */

import { applyFilter, readFilter } from "./filter.ts";
import { intColumn, rowsAnswer, textColumn } from "./result.ts";
import { readCatalog } from "./schema_catalog.ts";
import { resolveDatabase } from "./table_ref.ts";
import type { Cursor } from "./tokens.ts";
import type { Answer, AnswerContext } from "./types.ts";
import type { Value } from "./eval.ts";

/** Answers SHOW [FULL] TABLES / TABLE STATUS after `SHOW`; null for other SHOW statements. */
export async function answerShowTables(c: Cursor, ctx: AnswerContext): Promise<Answer | null> {
  const start = c.i;
  if (c.acceptWords("TABLE", "STATUS")) return await tableStatus(c, ctx);
  const full = c.acceptWords("FULL");
  if (!c.acceptWords("TABLES")) {
    c.i = start;
    return null;
  }
  let named: string | null = null;
  if (c.acceptOne("FROM", "IN")) {
    named = c.name()?.join(".") ?? null;
    if (named === null) throw c.syntaxError();
  }
  const filter = readFilter(c);
  const db = resolveDatabase(named, ctx);
  const tables = await readCatalog(ctx);
  const label = `Tables_in_${db}${filter && "like" in filter ? ` (${filter.like})` : ""}`;
  const columns = [textColumn(label, 64, true)];
  if (full) columns.push(textColumn("Table_type", 64, true));
  const rows: Value[][] = tables.map((t) =>
    full ? [t.name, t.view ? "VIEW" : "BASE TABLE"] : [t.name]
  );
  return rowsAnswer(columns, applyFilter(filter, columns, rows, 0, ctx));
}

async function tableStatus(c: Cursor, ctx: AnswerContext): Promise<Answer> {
  let named: string | null = null;
  if (c.acceptOne("FROM", "IN")) {
    named = c.name()?.join(".") ?? null;
    if (named === null) throw c.syntaxError();
  }
  const filter = readFilter(c);
  resolveDatabase(named, ctx);
  const tables = await readCatalog(ctx);
  const columns = [
    textColumn("Name", 64, true),
    textColumn("Engine", 64),
    intColumn("Version", true),
    textColumn("Row_format", 10),
    intColumn("Rows", true),
    intColumn("Avg_row_length", true),
    intColumn("Data_length", true),
    intColumn("Max_data_length", true),
    intColumn("Index_length", true),
    intColumn("Data_free", true),
    intColumn("Auto_increment", true),
    textColumn("Create_time", 19),
    textColumn("Update_time", 19),
    textColumn("Check_time", 19),
    textColumn("Collation", 64),
    intColumn("Checksum", true),
    textColumn("Create_options", 256),
    textColumn("Comment", 2048, true),
  ];
  // Sizes and row counts are not MySQL's to report here: NULL, as MySQL shows for views.
  const rows: Value[][] = tables.map((t) => [
    t.name,
    t.view ? null : "InnoDB",
    t.view ? null : 10,
    t.view ? null : "Dynamic",
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    t.view ? null : "utf8mb4_general_ci",
    null,
    t.view ? null : "",
    t.view ? "VIEW" : t.comment ?? "",
  ]);
  return rowsAnswer(columns, applyFilter(filter, columns, rows, 0, ctx));
}

/** Answers SHOW DATABASES/SCHEMAS and SHOW CREATE DATABASE after `SHOW`; null otherwise. */
export function answerShowDatabases(c: Cursor, ctx: AnswerContext): Answer | null {
  if (c.atWords("CREATE", "DATABASE") || c.atWords("CREATE", "SCHEMA")) {
    c.i += 2;
    if (c.acceptWords("IF")) {
      if (!c.acceptWords("NOT", "EXISTS")) throw c.syntaxError();
    }
    const name = c.name()?.join(".") ?? null;
    if (name === null || !c.done()) throw c.syntaxError();
    const db = resolveDatabase(name, ctx);
    return rowsAnswer(
      [textColumn("Database", 64, true), textColumn("Create Database", 1024, true)],
      [[db, `CREATE DATABASE ${"`" + db + "`"} /*!40100 DEFAULT CHARACTER SET utf8mb4 */`]],
    );
  }
  if (!c.acceptOne("DATABASES", "SCHEMAS")) return null;
  const filter = readFilter(c);
  const label = `Database${filter && "like" in filter ? ` (${filter.like})` : ""}`;
  const columns = [textColumn(label, 64, true)];
  const names = ["information_schema", ...(ctx.database ? [ctx.database] : [])].sort();
  return rowsAnswer(columns, applyFilter(filter, columns, names.map((n) => [n]), 0, ctx));
}
