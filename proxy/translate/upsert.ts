/**
 * `INSERT ... ON DUPLICATE KEY UPDATE`, `REPLACE` and `INSERT IGNORE`.
 *
 * CockroachDB's ON CONFLICT needs a conflict target; it comes from the
 * catalog: the primary key when the statement gives all its columns,
 * otherwise the first unique key it gives in full. MySQL reports 1 affected
 * row per inserted row, 2 per updated row and 0 per row left as it was (1
 * with CLIENT_FOUND_ROWS); REPLACE reports 2 per replaced row. CockroachDB's
 * row count cannot tell these apart, so the upsert runs inside a statement
 * that also counts, from the same snapshot, how many proposed keys already
 * existed; `mysqlAffectedRows` turns the two numbers into MySQL's.
 *
 * @module
 */

import type { TableInfo } from "./catalog.ts";
import { TranslationGap } from "./errors.ts";
import { objectName } from "./identifiers.ts";
import type { AffectedRowsMode } from "./types.ts";

/** Column names of the result row an upsert or replace returns. */
export const UPSERT_WRITTEN = "written";
/** Column name: how many proposed keys existed before the statement. */
export const UPSERT_EXISTING = "existing";

/** The key whose columns the statement supplies in full (the ON CONFLICT target). */
export function conflictTarget(table: string, info: TableInfo, columns: string[]): string[] {
  const given = new Set(columns);
  for (const key of [info.primaryKey, ...info.uniqueKeys]) {
    if (key.length > 0 && key.every((c) => given.has(c))) return key;
  }
  throw new TranslationGap(
    "ON DUPLICATE KEY UPDATE / REPLACE without a primary or unique key among the inserted columns",
    table,
  );
}

/**
 * Wraps an `INSERT ... ON CONFLICT` in the counting statement.
 *
 * @param insert the INSERT, without RETURNING
 * @param table the printed table name
 * @param keyColumns the conflict target
 * @param keyRows the proposed key values of each row, printed
 */
export function countingUpsert(
  insert: string,
  table: string,
  keyColumns: string[],
  keyRows: string[][],
): string {
  const key = `(${keyColumns.map(objectName).join(", ")})`;
  const rows = keyRows.map((r) => `(${r.join(", ")})`).join(", ");
  return `WITH _lms_existing AS (SELECT count(*) AS n FROM ${table} WHERE ${key} IN (${rows})), ` +
    `_lms_written AS (${insert} RETURNING 1) ` +
    `SELECT (SELECT count(*) FROM _lms_written) AS ${UPSERT_WRITTEN}, ` +
    `(SELECT n FROM _lms_existing) AS ${UPSERT_EXISTING}`;
}

/**
 * MySQL's affected-rows number for an upsert or replace.
 *
 * @param rows how many rows the statement proposed
 * @param written CockroachDB's count of inserted plus updated rows
 * @param existing how many proposed keys existed before
 * @param clientFoundRows the client's CLIENT_FOUND_ROWS capability
 */
export function mysqlAffectedRows(
  mode: AffectedRowsMode,
  rows: number,
  written: number,
  existing: number,
  clientFoundRows: boolean,
): number {
  if (mode === "plain") return written;
  const inserted = rows - existing;
  if (mode === "replace") return inserted + 2 * existing;
  const changed = written - inserted;
  const unchanged = existing - changed;
  return inserted + 2 * changed + (clientFoundRows ? unchanged : 0);
}
