/**
 * Which table a `SHOW COLUMNS`, `SHOW INDEX`, `SHOW CREATE TABLE` or
 * `DESCRIBE` means, with MySQL's errors for a missing database or table.
 *
 * @module
 */

import { AnswerError, ER } from "./result.ts";
import { type CatalogTable, readCatalog } from "./schema_catalog.ts";
import type { AnswerContext } from "./types.ts";

/**
 * The database a statement names (or the session's), checked: the proxy
 * serves the session's MySQL database only (one CockroachDB schema).
 */
export function resolveDatabase(named: string | null, ctx: AnswerContext): string {
  const db = named ?? ctx.database;
  if (db === null) throw new AnswerError(ER.NO_DB_ERROR, "No database selected");
  if (ctx.database === null || db.toLowerCase() !== ctx.database.toLowerCase()) {
    throw new AnswerError(ER.BAD_DB_ERROR, `Unknown database '${db}'`);
  }
  return ctx.database;
}

/** Reads one table of the session's database from the catalog, or ER 1146. */
export async function loadTable(
  parts: string[],
  fromDb: string | null,
  ctx: AnswerContext,
): Promise<{ db: string; table: CatalogTable }> {
  const name = parts[parts.length - 1];
  const named = parts.length === 2 ? parts[0] : fromDb;
  const db = named ?? ctx.database;
  if (db === null) throw new AnswerError(ER.NO_DB_ERROR, "No database selected");
  const missing = () => new AnswerError(ER.NO_SUCH_TABLE, `Table '${db}.${name}' doesn't exist`);
  if (ctx.database === null || db.toLowerCase() !== ctx.database.toLowerCase()) throw missing();
  const [table] = await readCatalog(ctx, name);
  if (!table) throw missing();
  return { db: ctx.database, table };
}
