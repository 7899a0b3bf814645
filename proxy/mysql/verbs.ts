/**
 * The command verb of a MySQL statement (`SELECT`, `INSERT`, `CREATE TABLE`),
 * for the neutral result: MySQL's OK packet does not say what ran, so the
 * verb comes from the statement's first words, the way PostgreSQL names its
 * command tags. Both databases of a MySQL session see the same text, so the
 * verbs agree whenever the statements do.
 *
 * @module
 */

import { stripComments } from "./statements.ts";

/** Words between CREATE/DROP/ALTER and the object kind. */
const MODIFIERS: ReadonlySet<string> = new Set([
  "OR",
  "REPLACE",
  "TEMPORARY",
  "UNIQUE",
  "FULLTEXT",
  "SPATIAL",
  "ONLINE",
  "OFFLINE",
  "IGNORE",
  "DEFINER",
  "ALGORITHM",
  "SQL",
  "SECURITY",
]);

/** DDL verbs whose object kind is part of the verb. */
const WITH_OBJECT: ReadonlySet<string> = new Set(["CREATE", "DROP", "ALTER", "RENAME"]);

const cache = new Map<string, string>();
const MAX_CACHED = 512;

/** The verb of `sql` ("" for an empty statement). */
export function commandVerb(sql: string): string {
  const head = sql.length > 256 ? sql.slice(0, 256) : sql;
  const known = cache.get(head);
  if (known !== undefined) return known;
  const words = stripComments(head).trim().split(/[\s(;]+/, 8).map((w) => w.toUpperCase());
  let verb = words[0] ?? "";
  if (WITH_OBJECT.has(verb)) {
    const kind = words.slice(1).find((w) => !MODIFIERS.has(w) && !w.includes("="));
    if (kind) verb += " " + kind;
  } else if (verb === "START" && words[1] === "TRANSACTION") verb = "START TRANSACTION";
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(head, verb);
  return verb;
}
