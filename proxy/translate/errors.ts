/**
 * Typed errors of MySQL → CockroachDB translation.
 *
 * A `TranslationGap` is a statement the parser understood but the translator
 * cannot express faithfully on CockroachDB: the MySQL wire answers it with
 * ERR 1235 (`ER_NOT_SUPPORTED_YET`) and shadowing counts it as a
 * `translation_gap`. A `TranslationLimit` is input refused before or while
 * parsing because it is too large or too deep; a `SqlSyntaxError` is text the
 * parser does not accept as MySQL.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";

/** MySQL's ER_NOT_SUPPORTED_YET, sent for a translation gap. */
export const ER_NOT_SUPPORTED_YET = 1235;
/** MySQL's ER_PARSE_ERROR, sent for text the parser rejects. */
export const ER_PARSE_ERROR = 1064;

/** A construct the translator does not (yet) turn into CockroachDB SQL. */
export class TranslationGap extends LmsError {
  /** The construct, e.g. `MOD operator` or `SET column type`. */
  readonly construct: string;
  /** The MySQL error number the wire sends. */
  readonly mysqlErrno = ER_NOT_SUPPORTED_YET;

  /** @param construct what could not be translated, named for the user */
  constructor(construct: string, detail = "") {
    super(
      "TRANSLATION_GAP",
      `translation to CockroachDB does not support ${construct}${detail ? `: ${detail}` : ""}`,
      "rewrite the statement without it, or run it against MySQL before cutover",
    );
    this.name = "TranslationGap";
    this.construct = construct;
  }
}

/** Input refused because it exceeds a parser guard (size, depth, tokens, time). */
export class TranslationLimit extends LmsError {
  /** Which guard refused it: `bytes`, `depth`, `tokens` or `time`. */
  readonly limit: "bytes" | "depth" | "tokens" | "time";
  /** The MySQL error number the wire sends. */
  readonly mysqlErrno = ER_NOT_SUPPORTED_YET;

  /** @param limit the guard that refused the statement */
  constructor(limit: "bytes" | "depth" | "tokens" | "time", message: string) {
    super(
      "TRANSLATION_LIMIT",
      message,
      "split the statement into smaller ones, or raise the translator's ParseLimits (parse.ts)",
    );
    this.name = "TranslationLimit";
    this.limit = limit;
  }
}

/** The parser rejected the text as MySQL. */
export class SqlSyntaxError extends LmsError {
  /** The MySQL error number the wire sends. */
  readonly mysqlErrno = ER_PARSE_ERROR;

  /** @param message the parser's description, with line and column */
  constructor(message: string) {
    super("SQL_SYNTAX", message, "check the statement's syntax");
    this.name = "SqlSyntaxError";
  }
}
