/**
 * Translators for unit tests, over a fixed in-memory catalog describing the
 * tables the unit tests use (the PostgreSQL-backed catalog has its own
 * integration test against a real cluster).
 */

import type { Catalog, TableInfo } from "../../proxy/translate/catalog.ts";
import type { TranslateOptions } from "../../proxy/translate/context.ts";
import { createTranslator, type Translator } from "../../proxy/translate/translate.ts";
import type { ParseLimits } from "../../proxy/translate/parse.ts";

/** Tables known to the unit-test catalog. */
export const UNIT_TABLES: Record<string, TableInfo> = {
  users: {
    columns: ["id", "email", "name", "visits"],
    primaryKey: ["id"],
    uniqueKeys: [["email"]],
    generatedKey: "id",
  },
  counters: {
    columns: ["name", "hits", "note"],
    primaryKey: ["name"],
    uniqueKeys: [],
    generatedKey: null,
  },
  logs: { columns: ["at", "line"], primaryKey: [], uniqueKeys: [], generatedKey: null },
  // MySQL's TINYINT(1) as a converted CockroachDB schema has it (BOOL).
  flags: {
    columns: ["id", "active", "n"],
    primaryKey: ["id"],
    uniqueKeys: [],
    generatedKey: null,
    booleans: ["active"],
  },
  // The same name as an integer, to make `active` ambiguous in a join with flags.
  members: {
    columns: ["id", "active"],
    primaryKey: ["id"],
    uniqueKeys: [],
    generatedKey: null,
  },
};

/** A catalog over `UNIT_TABLES` that counts its lookups. */
export class UnitCatalog implements Catalog {
  lookups = 0;

  /** The table from `UNIT_TABLES`, or null. */
  table(name: string): Promise<TableInfo | null> {
    this.lookups++;
    return Promise.resolve(UNIT_TABLES[name] ?? null);
  }
}

/** A translator for the given target over a fresh `UnitCatalog`. */
export function unitTranslator(
  options: Partial<TranslateOptions> = {},
  limits: Partial<ParseLimits> = {},
): Promise<Translator> {
  return createTranslator({ catalog: new UnitCatalog(), options, limits });
}

/** Translates one statement with a CockroachDB-target translator and returns its SQL. */
export async function crdb(sql: string, options: Partial<TranslateOptions> = {}): Promise<string> {
  return (await (await unitTranslator(options)).translate(sql)).sql;
}
