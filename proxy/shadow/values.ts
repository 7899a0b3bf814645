/**
 * Canonical forms of neutral values and the type-tolerant equality between
 * them, whatever wire they came from.
 *
 * The wires' decoders use the canonicalisers here for the renderings that
 * several databases share (decimal text with or without exponent, timestamp
 * text with or without zone and fraction, JSON text), so the same meaning
 * becomes the same neutral value on every wire. The comparison then works on
 * value keys: one string per value such that values equal under the
 * tolerance rules have equal keys. The tolerance rules are:
 * - integers of any width, decimals of any scale and floats compare by
 *   number (`1` = `1.00` = `1.0e0`): CockroachDB's INT is INT8, MySQL's SUM
 *   is DECIMAL;
 * - booleans equal the integers 1 and 0, because MySQL's BOOL is TINYINT(1);
 * - timestamps, dates and times compare by their canonical text, so zone and
 *   fraction renderings do not matter;
 * - bytes compare by content, JSON by structure (object key order ignored).
 *
 * Keys also feed the row digests (`digest.ts`), so results past the row
 * limit agree across wires too.
 *
 * @module
 */

import type { NeutralValue } from "./result.ts";

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The key of SQL NULL in row keys; no value's key can be this. */
export const NULL_KEY = "\u0001N";

/**
 * The comparison key of one value (see the module documentation): equal
 * keys mean equal values under the tolerance rules.
 */
export function valueKey(v: NeutralValue): string {
  switch (typeof v) {
    case "string":
      return v;
    case "bigint":
      return v.toString();
    case "number":
      return floatKey(v);
    case "boolean":
      return v ? "1" : "0";
    default:
      return v === null ? NULL_KEY : "\\x" + hexOf(v);
  }
}

/** True when `a` and `b` are equal under the tolerance rules. */
export function valuesEqual(a: NeutralValue, b: NeutralValue): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return valueKey(a) === valueKey(b);
}

/** A value as operators read it in mismatch samples; `null` for SQL NULL. */
export function displayValue(v: NeutralValue): string | null {
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "object":
      return v === null ? null : "\\x" + hexOf(v);
    default:
      return valueKey(v);
  }
}

/**
 * Text as a case-, accent- and trailing-space-insensitive collation (MySQL's
 * `_ci` collations) sees it, for telling collation differences from others.
 */
export function foldText(s: string): string {
  return s.normalize("NFD").replace(/\p{M}+/gu, "").toLowerCase().replace(/ +$/, "");
}

function floatKey(v: number): string {
  if (v === 0) return "0";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

/** Lower-case hex of `raw[from..to)`. */
export function hexOf(raw: Uint8Array, from = 0, to: number = raw.length): string {
  let out = "";
  for (let i = from; i < to; i++) out += HEX[raw[i]];
  return out;
}

/**
 * A float rounded to the significant digits of its type (6 for single, 15
 * for double precision), which absorbs the difference between PostgreSQL's
 * `extra_float_digits` renderings, shortest round-trip output and MySQL's.
 * Negative zero becomes zero.
 */
export function roundFloat(v: number, single: boolean): number {
  if (v === 0 || !Number.isFinite(v)) return v === 0 ? 0 : v;
  return Number(v.toPrecision(single ? 6 : 15));
}

/** A float from its text rendering (`1e+20`, `Infinity`, `-inf`, `NaN`), rounded as {@linkcode roundFloat}. */
export function parseFloatText(s: string, single: boolean): number {
  const t = s.trim().toLowerCase();
  if (t === "infinity" || t === "inf" || t === "+infinity" || t === "+inf") return Infinity;
  if (t === "-infinity" || t === "-inf") return -Infinity;
  return roundFloat(Number(t), single);
}

/** Plain decimal text without insignificant zeros; accepts exponent forms (CockroachDB DECIMAL). */
export function canonicalDecimal(s: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === "" && (m[3] ?? "") === "")) {
    const lower = s.toLowerCase();
    if (lower === "nan") return "NaN";
    if (lower === "infinity" || lower === "+infinity" || lower === "inf") return "Infinity";
    if (lower === "-infinity" || lower === "-inf") return "-Infinity";
    return s;
  }
  let int = m[2];
  let frac = m[3] ?? "";
  const exp = m[4] ? parseInt(m[4], 10) : 0;
  if (exp > 0) {
    const take = frac.slice(0, exp);
    int += take + "0".repeat(exp - take.length);
    frac = frac.slice(take.length);
  } else if (exp < 0) {
    const n = -exp;
    const moved = int.length >= n ? int.slice(int.length - n) : "0".repeat(n - int.length) + int;
    int = int.length >= n ? int.slice(0, int.length - n) : "";
    frac = moved + frac;
  }
  int = int.replace(/^0+/, "");
  frac = frac.replace(/0+$/, "");
  if (int === "") int = "0";
  if (int === "0" && frac === "") return "0";
  return (m[1] === "-" ? "-" : "") + int + (frac ? "." + frac : "");
}

/** Time of day (with or without zone) without insignificant fraction digits. */
export function canonicalTime(s: string): string {
  return s.trim().replace(/(\.\d*?)0+(?=$|[+-])/, "$1").replace(/\.(?=$|[+-])/, "");
}

const TIMESTAMP =
  /^\s*(\d{4,})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(?:(Z|[+-]\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?)?(\s*BC)?\s*$/i;

/**
 * Canonical timestamp text. With `withZone` the instant is rendered in UTC,
 * so `04:00:00+01` equals `03:00:00+00`; without, a stray zone is ignored.
 * Text that is no timestamp (`infinity`, MySQL's zero date) stays as it is,
 * trimmed (`infinity` lower-cased).
 */
export function canonicalTimestamp(s: string, withZone: boolean): string {
  const m = TIMESTAMP.exec(s);
  if (!m || +m[2] === 0 || +m[3] === 0) {
    const t = s.trim();
    const lower = t.toLowerCase();
    return lower === "infinity" || lower === "-infinity" ? lower : t;
  }
  let year = parseInt(m[1], 10);
  if (m[11]) year = 1 - year;
  let seconds = utcSeconds(year, +m[2], +m[3], +m[4], +m[5], +m[6]);
  const micros = m[7] ? Math.floor(+(m[7] + "000000").slice(0, 6)) : 0;
  if (withZone && m[8] && m[8].toUpperCase() !== "Z") {
    const sign = m[8][0] === "-" ? -1 : 1;
    const offset = Math.abs(parseInt(m[8], 10)) * 3600 + (m[9] ? +m[9] * 60 : 0) +
      (m[10] ? +m[10] : 0);
    seconds -= sign * offset;
  }
  return formatTimestamp(seconds, micros, withZone);
}

/** Seconds since 1970-01-01 UTC of a proleptic Gregorian date and time (year 0 is 1 BC). */
export function utcSeconds(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime() / 1000;
}

/** Canonical timestamp text of `seconds` since 1970-01-01 UTC plus `micros`. */
export function formatTimestamp(seconds: number, micros: number, withZone: boolean): string {
  const date = new Date(seconds * 1000);
  let out = ymd(date) + ` ${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}:` +
    pad2(date.getUTCSeconds());
  if (micros > 0) out += "." + String(micros).padStart(6, "0").replace(/0+$/, "");
  if (withZone) out += "+00";
  return date.getUTCFullYear() <= 0 ? out + " BC" : out;
}

/** Canonical date text (`YYYY-MM-DD`, ` BC` before year 1) of the day holding `seconds`. */
export function formatDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  return date.getUTCFullYear() <= 0 ? ymd(date) + " BC" : ymd(date);
}

function ymd(date: Date): string {
  const y = date.getUTCFullYear();
  const year = y > 0 ? String(y).padStart(4, "0") : String(1 - y).padStart(4, "0");
  return `${year}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}`;
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** Compact JSON with object keys sorted; text that is no JSON stays as it is. */
export function canonicalJson(s: string): string {
  try {
    return JSON.stringify(sortKeys(JSON.parse(s)));
  } catch {
    return s;
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}
