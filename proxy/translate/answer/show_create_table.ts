/**
 * `SHOW CREATE TABLE t`: MySQL DDL rebuilt from the target's catalog
 * (columns with MySQL types, defaults and AUTO_INCREMENT, the primary key,
 * unique and plain indexes, foreign keys), with the table options MySQL
 * prints. It describes the table as CockroachDB holds it; the types folded
 * by translation come back as README.md lists.
 *
 * @module
 */

import { mysqlDefault, mysqlType } from "./column_types.ts";
import { rowsAnswer, textColumn } from "./result.ts";
import type { CatalogTable } from "./schema_catalog.ts";
import { loadTable } from "./table_ref.ts";
import type { Cursor } from "./tokens.ts";
import type { Answer, AnswerContext } from "./types.ts";

/** Answers SHOW CREATE TABLE after `SHOW`; null for other SHOW statements. */
export async function answerShowCreateTable(c: Cursor, ctx: AnswerContext): Promise<Answer | null> {
  if (!c.atWords("CREATE", "TABLE")) return null;
  c.i += 2;
  const parts = c.name();
  if (!parts || !c.done()) throw c.syntaxError();
  const { table } = await loadTable(parts, null, ctx);
  return rowsAnswer(
    [textColumn("Table", 64, true), textColumn("Create Table", 1024, true)],
    [[table.name, createTableText(table)]],
  );
}

/** Backtick quoting as MySQL prints names. */
export function quoteIdent(name: string): string {
  return "`" + name.replace(/`/g, "``") + "`";
}

function quoteString(value: string): string {
  return "'" + value.replace(/\\/g, "\\\\").replace(/'/g, "''") + "'";
}

/** The CREATE TABLE statement MySQL would print for the table. */
export function createTableText(table: CatalogTable): string {
  const lines: string[] = [];
  for (const col of table.columns) {
    const type = mysqlType(col);
    let line = `  ${quoteIdent(col.name)} ${type.columnType}`;
    if (col.notNull) line += " NOT NULL";
    const def = mysqlDefault(col);
    if (col.generated) line += " AUTO_INCREMENT";
    else if (def !== null) {
      line += ` DEFAULT ${
        def.startsWith("current_timestamp(") || /^-?\d+(\.\d+)?$/.test(def) ? def : quoteString(def)
      }`;
    } else if (!col.notNull) line += " DEFAULT NULL";
    if (col.comment) line += ` COMMENT ${quoteString(col.comment)}`;
    lines.push(line);
  }
  const cols = (names: string[]) => names.map(quoteIdent).join(",");
  const pk = table.indexes.find((i) => i.primary);
  if (pk) lines.push(`  PRIMARY KEY (${cols(pk.columns)})`);
  const others = table.indexes.filter((i) => !i.primary).sort((a, b) =>
    Number(b.unique) - Number(a.unique) || a.name.localeCompare(b.name)
  );
  for (const i of others) {
    lines.push(`  ${i.unique ? "UNIQUE KEY" : "KEY"} ${quoteIdent(i.name)} (${cols(i.columns)})`);
  }
  for (const fk of table.foreignKeys) {
    let line = `  CONSTRAINT ${quoteIdent(fk.name)} FOREIGN KEY (${cols(fk.columns)}) ` +
      `REFERENCES ${quoteIdent(fk.refTable)} (${cols(fk.refColumns)})`;
    if (fk.onDelete !== "NO ACTION" && fk.onDelete !== "RESTRICT") {
      line += ` ON DELETE ${fk.onDelete}`;
    }
    if (fk.onUpdate !== "NO ACTION" && fk.onUpdate !== "RESTRICT") {
      line += ` ON UPDATE ${fk.onUpdate}`;
    }
    lines.push(line);
  }
  const comment = table.comment ? ` COMMENT=${quoteString(table.comment)}` : "";
  return `CREATE TABLE ${quoteIdent(table.name)} (\n${lines.join(",\n")}\n) ` +
    `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci${comment}`;
}
