/**
 * Literals: MySQL's quoted strings and numbers → CockroachDB's.
 *
 * The parser has already undone MySQL's backslash escapes (`\'`, `\\`, `\n`,
 * ...) and doubled quotes, so a value is printed as a standard-conforming
 * string with only `'` doubled. Double-quoted strings are strings in MySQL
 * (without ANSI_QUOTES) and become single-quoted here. A NUL character cannot
 * be stored in a CockroachDB STRING, so it is a gap.
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { variant } from "./ast.ts";
import { TranslationGap } from "./errors.ts";

/** A string value as a CockroachDB literal. */
export function stringLiteral(value: string): string {
  if (value.includes("\u0000")) throw new TranslationGap("a NUL character in a string literal");
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * A `Value` node that is not a placeholder, as a CockroachDB literal.
 * MySQL's TRUE and FALSE are the integers 1 and 0.
 */
export function valueLiteral(value: Node): string {
  const [kind, payload] = variant(value);
  switch (kind) {
    case "Number":
      return String(payload[0]);
    case "SingleQuotedString":
    case "DoubleQuotedString":
    case "NationalStringLiteral":
      return stringLiteral(String(payload));
    case "Boolean":
      return payload ? "1" : "0";
    case "Null":
      return "NULL";
    case "HexStringLiteral":
      return `'\\x${String(payload)}'::BYTEA`;
    default:
      throw new TranslationGap(`the literal kind ${kind}`);
  }
}
