/**
 * MySQL `DATE_FORMAT` format strings → CockroachDB `to_char` patterns.
 *
 * Literal text is wrapped in double quotes so `to_char` does not read its
 * letters as patterns.
 *
 * @module
 */

import { TranslationGap } from "./errors.ts";

const SPECIFIERS: Record<string, string> = {
  Y: "YYYY",
  y: "YY",
  m: "MM",
  c: "FMMM",
  d: "DD",
  e: "FMDD",
  H: "HH24",
  k: "FMHH24",
  h: "HH12",
  I: "HH12",
  l: "FMHH12",
  i: "MI",
  s: "SS",
  S: "SS",
  f: "US",
  p: "AM",
  M: "FMMonth",
  b: "Mon",
  W: "FMDay",
  a: "Dy",
  j: "DDD",
  T: "HH24:MI:SS",
  r: "HH12:MI:SS AM",
  D: "FMDDth",
};

/** Converts a MySQL format string; an unknown specifier is a gap naming it. */
export function convertDateFormat(format: string): string {
  let out = "";
  let literal = "";
  const flush = () => {
    if (literal === "") return;
    out += /^[ \-:/.,]+$/.test(literal) ? literal : `"${literal.replaceAll('"', '\\"')}"`;
    literal = "";
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== "%" || i + 1 === format.length) {
      literal += c;
      continue;
    }
    const spec = format[++i];
    if (spec === "%") {
      literal += "%";
      continue;
    }
    const pattern = SPECIFIERS[spec];
    if (!pattern) throw new TranslationGap(`the DATE_FORMAT specifier %${spec}`);
    flush();
    out += pattern;
  }
  flush();
  return out;
}
