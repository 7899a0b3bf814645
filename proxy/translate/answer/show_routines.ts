/**
 * `SHOW TRIGGERS`, `SHOW {PROCEDURE|FUNCTION} STATUS` and `SHOW EVENTS`
 * [LIKE|WHERE], as dump tools and admin GUIs send them: translation creates
 * no triggers, routines or events on CockroachDB, so the answer is MySQL's
 * empty result with MySQL's columns.
 *
 * @module
 */

import { readFilter } from "./filter.ts";
import { rowsAnswer, textColumn } from "./result.ts";
import type { Cursor } from "./tokens.ts";
import type { Answer } from "./types.ts";

const COLUMNS: Record<string, string[]> = {
  TRIGGERS: [
    "Trigger",
    "Event",
    "Table",
    "Statement",
    "Timing",
    "Created",
    "sql_mode",
    "Definer",
    "character_set_client",
    "collation_connection",
    "Database Collation",
  ],
  STATUS: [
    "Db",
    "Name",
    "Type",
    "Definer",
    "Modified",
    "Created",
    "Security_type",
    "Comment",
    "character_set_client",
    "collation_connection",
    "Database Collation",
  ],
  EVENTS: [
    "Db",
    "Name",
    "Definer",
    "Time zone",
    "Type",
    "Execute at",
    "Interval value",
    "Interval field",
    "Starts",
    "Ends",
    "Status",
    "Originator",
    "character_set_client",
    "collation_connection",
    "Database Collation",
  ],
};

/** Answers the statement after `SHOW`, or null when it is not one of these. */
export function answerShowRoutines(c: Cursor): Answer | null {
  let kind: string | null = null;
  if (c.acceptWords("TRIGGERS")) kind = "TRIGGERS";
  else if (c.acceptWords("EVENTS")) kind = "EVENTS";
  else if (c.acceptWords("PROCEDURE", "STATUS") || c.acceptWords("FUNCTION", "STATUS")) {
    kind = "STATUS";
  }
  if (!kind) return null;
  if (kind !== "STATUS" && c.acceptOne("FROM", "IN") && !c.name()) throw c.syntaxError();
  readFilter(c);
  return rowsAnswer(COLUMNS[kind].map((n) => textColumn(n, 64)), []);
}
