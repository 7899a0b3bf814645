/**
 * MySQL's value semantics for the evaluator: truth, number conversion,
 * comparison under the default case-insensitive (PAD SPACE) collation, and
 * LIKE.
 *
 * @module
 */

import type { Value } from "./eval.ts";

/** MySQL's truth of a non-null value: a number other than 0. */
export function truthy(v: Value): boolean {
  return toNumber(v as string | number | bigint) !== 0;
}

/** A value as a number, the way MySQL converts a string (its leading number, else 0). */
export function toNumber(v: string | number | bigint | null): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v === null) return 0;
  const f = parseFloat(v);
  return Number.isNaN(f) ? 0 : f;
}

/**
 * Compares two non-null values: numerically when either is a number,
 * otherwise as strings under a case-insensitive collation.
 */
export function compare(a: Value, b: Value): number {
  if (typeof a !== "string" || typeof b !== "string") {
    const x = toNumber(a);
    const y = toNumber(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = a.toLowerCase().trimEnd();
  const y = b.toLowerCase().trimEnd();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** MySQL's LIKE under a case-insensitive collation. */
export function likeMatch(value: string, pattern: string, escape = "\\"): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === escape && i + 1 < pattern.length) {
      re += escapeRegExp(pattern[++i]);
    } else if (c === "%") re += "[\\s\\S]*";
    else if (c === "_") re += "[\\s\\S]";
    else re += escapeRegExp(c);
  }
  return new RegExp(`^${re}$`, "iu").test(value);
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}
