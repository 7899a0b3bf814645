/**
 * PostgreSQL command tags (`INSERT 0 1`, `UPDATE 3`, `CREATE TABLE`) as the
 * neutral result's command verb and affected rows.
 *
 * @module
 */

import type { NeutralResult } from "../shadow/result.ts";

/** Verbs whose command tag counts the rows returned (or moved over), not rows affected. */
const ROW_COUNT_VERBS: ReadonlySet<string> = new Set(["SELECT", "FETCH", "MOVE"]);

interface ParsedTag {
  verb: string;
  affectedRows: number | undefined;
}

/** Tags repeat (`SELECT 1`, `UPDATE 1`): parsed ones are kept, a bounded number of them. */
const parsedTags = new Map<string, ParsedTag>();
const MAX_PARSED_TAGS = 512;

/** Completes `r` with a CommandComplete tag ("" for EmptyQueryResponse and FunctionCall). */
export function completed(r: NeutralResult, tag: string): void {
  let parsed = parsedTags.get(tag);
  if (!parsed) {
    const { verb, count } = parseCommandTag(tag);
    parsed = { verb, affectedRows: ROW_COUNT_VERBS.has(verb) ? undefined : count };
    if (parsedTags.size >= MAX_PARSED_TAGS) parsedTags.clear();
    parsedTags.set(tag, parsed);
  }
  r.tag = tag;
  r.command = parsed.verb;
  if (parsed.affectedRows !== undefined) r.affectedRows = parsed.affectedRows;
}

/** Splits a command tag into its verb and count; INSERT's oid field is ignored. */
export function parseCommandTag(tag: string): { verb: string; count: number | undefined } {
  // Runs for every statement: PostgreSQL's tags are single-spaced, so no regular expressions.
  const space = tag.lastIndexOf(" ");
  if (space > 0 && space < tag.length - 1) {
    let digits = true;
    for (let i = space + 1; i < tag.length && digits; i++) {
      const c = tag.charCodeAt(i);
      digits = c >= 0x30 && c <= 0x39;
    }
    if (digits) {
      const verb = tag.startsWith("INSERT ") ? "INSERT" : tag.slice(0, space);
      return { verb, count: Number(tag.slice(space + 1)) };
    }
  }
  return { verb: tag, count: undefined };
}
