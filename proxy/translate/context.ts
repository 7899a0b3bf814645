/**
 * Per-statement translation state shared by the printers.
 *
 * @module
 */

import type { ParamAllocator } from "./params.ts";

/** Which CockroachDB-compatible server the SQL is printed for. */
export type Target = "cockroachdb" | "postgresql";

/** Settings of a translator; every field has a default. */
export interface TranslateOptions {
  /**
   * `cockroachdb` (default) prints CockroachDB SQL. `postgresql` prints the PostgreSQL 15
   * equivalent where the two differ (inline INDEX in CREATE TABLE, DROP INDEX t@i,
   * ON UPDATE column expressions); the tests use it for the PostgreSQL stand-in.
   */
  target: Target;
  /**
   * MySQL's default collations compare case-insensitively, so LIKE and REGEXP become ILIKE and
   * `~*`. Default true. `=` is not rewritten (README.md, "collation").
   */
  caseInsensitiveMatch: boolean;
  /** The MySQL database the session uses; `db.table` for this database drops the qualifier. */
  database: string | null;
  /**
   * The client's CLIENT_FOUND_ROWS capability (mysql2 and most drivers set it). Without it
   * MySQL's UPDATE counts only rows it changed, so the WHERE clause skips unchanged rows.
   * Default true.
   */
  clientFoundRows: boolean;
}

/** The defaults. */
export const DEFAULT_TRANSLATE_OPTIONS: TranslateOptions = {
  target: "cockroachdb",
  caseInsensitiveMatch: true,
  database: null,
  clientFoundRows: true,
};

/** What every printer reads and writes while one statement is translated. */
export interface Ctx {
  readonly options: TranslateOptions;
  readonly params: ParamAllocator;
  /** Set by the top-level SELECT when it has SQL_CALC_FOUND_ROWS. */
  foundRowsColumn: string | null;
  /**
   * While the outermost ORDER BY, GROUP BY and HAVING are printed: the projection's aliases
   * (lower-case name → printed label), so `ORDER BY Total` finds `AS Total`.
   */
  labels: Map<string, string> | null;
  /** Source text of the outermost select list's items (labels.ts), for MySQL's labels. */
  itemTexts: string[] | null;
  /**
   * Inside ON DUPLICATE KEY UPDATE: `VALUES(col)` and `alias.col` (MySQL 8's row alias) mean
   * the row that was proposed for insertion, CockroachDB's `excluded`.
   */
  upsert: { rowAlias: string | null; table: string } | null;
  /** The statement's BOOL columns (booleans.ts), by lower-case name. */
  booleans: ReadonlySet<string>;
}
