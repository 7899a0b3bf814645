/**
 * Identifiers: MySQL's backticks and case rules → CockroachDB's.
 *
 * MySQL compares column names case-insensitively and (on Linux) table names
 * case-sensitively; CockroachDB folds unquoted names to lower case and keeps
 * quoted ones exact. Translated DDL creates every object under its lower-case
 * name, and every reference is lower-cased the same way, so `Users`, `users`
 * and `` `USERS` `` all reach one table. Two MySQL tables whose names differ
 * only in case cannot both exist after translation (README.md). Names are
 * quoted only when CockroachDB needs it (a reserved word, or characters
 * outside `[a-z0-9_$]`). Column aliases keep their case, because the
 * application reads result columns by the label it wrote.
 *
 * @module
 */

import type { Node } from "./ast.ts";

/** Words CockroachDB or PostgreSQL reserve (they must be quoted as names). */
const RESERVED = new Set(
  (
    "all analyse analyze and any array as asc asymmetric both case cast check collate column " +
    "concurrently constraint create current_catalog current_date current_role current_schema " +
    "current_time current_timestamp current_user default deferrable desc distinct do else end " +
    "except false fetch for foreign from grant group having in index initially intersect into " +
    "lateral leading limit localtime localtimestamp not nothing null offset on only or order " +
    "placing primary references returning select session_user some symmetric table then to " +
    "trailing true union unique user using variadic when where window with family authorization " +
    "binary collation cross freeze full ilike inner is isnull join left like natural notnull outer " +
    "overlaps right similar tablesample verbose virtual " +
    // Column-name keywords: usable as names in some positions only, so always quoted.
    "between bigint bit boolean char character coalesce dec decimal exists extract float greatest " +
    "grouping inout int integer interval least national nchar none normalize nullif numeric out " +
    "overlay position precision real row setof smallint substring time timestamp treat trim " +
    "values varchar"
  ).split(" "),
);

/** Quotes a name for CockroachDB when it needs quoting; returns it bare otherwise. */
export function quoteName(name: string): string {
  if (/^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name)) return name;
  return `"${name.replaceAll('"', '""')}"`;
}

/** A MySQL table or column name as CockroachDB sees it: lower-cased, quoted when needed. */
export function objectName(name: string): string {
  return quoteName(name.toLowerCase());
}

/** An alias: case kept, quoted whenever it is not already lower-case and plain. */
export function aliasName(name: string): string {
  return quoteName(name);
}

/** The text of an `Ident` node (`{ value, quote_style }`). */
export function identValue(ident: Node): string {
  return String(ident.value);
}

/** The parts of an `ObjectName` (`[{ Identifier: ident }, ...]`). */
export function objectNameParts(name: Node): string[] {
  return (name as Node[]).map((part) => identValue(part.Identifier ?? part));
}
