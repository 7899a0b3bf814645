/**
 * MySQL column definitions and values as neutral columns and values
 * (`../shadow/result.ts`; rows of both protocols are read in `result_rows.ts`),
 * so a MariaDB answer and the translated CockroachDB answer meet as the same values:
 * - TINY, SHORT, LONG, INT24, LONGLONG, YEAR → `int` (`bigint`; UNSIGNED read
 *   as such in binary rows); a `TINY(1)` stays `int`, which equals a boolean;
 * - DECIMAL, NEWDECIMAL → `decimal` with the column's decimals as its scale;
 * - FLOAT, DOUBLE → `float`, rounded to the type's digits;
 * - DATETIME and TIMESTAMP → `timestamp` (MySQL sends wall-clock time in the
 *   session's time zone, never an offset), DATE → `date`, TIME → `time`;
 * - JSON (or MariaDB's LONGTEXT marked `json` in extended type information) → `json`;
 * - strings and blobs → `bytes` in the `binary` collation, else `text`,
 *   case-insensitive when the collation is a `_ci` one (`collations.ts`).
 *
 * @module
 */

import type { NeutralColumn, NeutralType, NeutralValue } from "../shadow/result.ts";
import {
  canonicalDecimal,
  canonicalJson,
  canonicalTime,
  canonicalTimestamp,
  parseFloatText,
} from "../shadow/values.ts";
import { BINARY_COLLATION, isCaseInsensitiveCollation } from "./collations.ts";
import { MyType } from "./constants.ts";
import { PayloadReader, utf8 } from "./packets.ts";

const TYPE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(MyType).map(([name, code]) => [code, name]),
);

const UNSIGNED_FLAG = 32;

/** One result column: the neutral column and what decoding its values needs. */
export interface MySqlColumn {
  column: NeutralColumn;
  /** The MySQL type code. */
  type: number;
  /** UNSIGNED flag set. */
  unsigned: boolean;
}

/**
 * Decodes a column definition packet (Protocol::ColumnDefinition41, with or
 * without MariaDB's extended type information, which is told apart by the
 * length of what follows the names).
 */
export function decodeColumnDefinition(payload: Uint8Array): MySqlColumn {
  const r = new PayloadReader(payload);
  for (let i = 0; i < 4; i++) r.lenencBytes("column definition name field");
  const name = utf8(r.lenencBytes("column name"));
  r.lenencBytes("original column name");
  let json = false;
  // The fixed part is 0x0c and 12 bytes; anything more before it is MariaDB's extended metadata.
  if (r.remaining > 13) {
    json = extendedFormatIsJson(r.lenencBytes("extended type information"));
  }
  r.lenenc("fixed fields length");
  const collation = r.u16("character set");
  const length = r.u32("column length");
  const type = r.u8("column type");
  const flags = r.u16("column flags");
  const decimals = r.u8("decimals");
  return neutralMySqlColumn(name, type, { collation, length, flags, decimals, json });
}

/** MariaDB extended metadata: entries of type byte, length byte, value; type 1 is the format. */
function extendedFormatIsJson(data: Uint8Array): boolean {
  for (let at = 0; at + 2 <= data.length;) {
    const kind = data[at], len = data[at + 1];
    if (kind === 1 && utf8(data.subarray(at + 2, at + 2 + len)) === "json") return true;
    at += 2 + len;
  }
  return false;
}

/** What a column definition says besides its name and type. */
export interface ColumnAttributes {
  collation: number;
  length: number;
  flags: number;
  decimals: number;
  /** MariaDB marked the column as JSON text. */
  json?: boolean;
}

/** The neutral column for a MySQL column of `type` (see the module documentation). */
export function neutralMySqlColumn(
  name: string,
  type: number,
  attrs: ColumnAttributes,
): MySqlColumn {
  const unsigned = (attrs.flags & UNSIGNED_FLAG) !== 0;
  const typeName = TYPE_NAMES.get(type) ?? `type ${type}`;
  let neutral: NeutralType;
  let nativeType = typeName + (unsigned ? " UNSIGNED" : "");
  switch (type) {
    case MyType.TINY:
      neutral = "int";
      if (attrs.length === 1) nativeType = "TINY(1)";
      break;
    case MyType.SHORT:
    case MyType.LONG:
    case MyType.INT24:
    case MyType.LONGLONG:
    case MyType.YEAR:
      neutral = "int";
      break;
    case MyType.DECIMAL:
    case MyType.NEWDECIMAL:
      neutral = "decimal";
      nativeType = `${typeName}(${attrs.length},${attrs.decimals})`;
      break;
    case MyType.FLOAT:
    case MyType.DOUBLE:
      neutral = "float";
      break;
    case MyType.TIMESTAMP:
    case MyType.DATETIME:
      neutral = "timestamp";
      break;
    case MyType.DATE:
    case MyType.NEWDATE:
      neutral = "date";
      break;
    case MyType.TIME:
      neutral = "time";
      break;
    case MyType.JSON:
      neutral = "json";
      break;
    case MyType.NULL:
      neutral = "unknown";
      break;
    case MyType.BIT:
    case MyType.GEOMETRY:
      neutral = "bytes";
      break;
    default:
      neutral = attrs.json ? "json" : attrs.collation === BINARY_COLLATION ? "bytes" : "text";
      nativeType = `${typeName} collation ${attrs.collation}`;
  }
  const column: NeutralColumn = { name, type: neutral, nativeType };
  if (neutral === "decimal") column.scale = attrs.decimals;
  if (neutral === "text" && isCaseInsensitiveCollation(attrs.collation)) {
    column.caseInsensitive = true;
  }
  return { column, type, unsigned };
}

/** Whether the text rendering of a value of `c` already is its value key (hash it as bytes). */
export function isKeyTextColumn(c: MySqlColumn): boolean {
  return c.column.type === "int" || c.column.type === "text";
}

/** A value of a text-protocol row (`raw` is the rendering) as a neutral value. */
export function decodeTextValue(c: MySqlColumn, raw: Uint8Array): NeutralValue {
  const t = c.column.type;
  if (t === "bytes") return raw.slice();
  const s = utf8(raw);
  switch (t) {
    case "int":
      return BigInt(s);
    case "decimal":
      return mysqlDecimal(s);
    case "float":
      return parseFloatText(s, c.type === MyType.FLOAT);
    case "timestamp":
      return MYSQL_DATETIME.test(s) ? trimFraction(s) : canonicalTimestamp(s, false);
    case "time":
      return canonicalTime(s);
    case "json":
      return canonicalJson(s);
    default:
      return s;
  }
}

/** MySQL's DATETIME/TIMESTAMP text: canonical already but for the fraction's trailing zeros. */
const MYSQL_DATETIME =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]) \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?$/;

function trimFraction(s: string): string {
  if (s.length === 19) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 0x30) end--;
  if (s.charCodeAt(end - 1) === 0x2e) end--;
  return end === s.length ? s : s.slice(0, end);
}

/**
 * MySQL's DECIMAL text (`-12.50`, never an exponent) without insignificant
 * zeros, as `canonicalDecimal` would make it, without its regular expression
 * on the hot path; ZEROFILL's leading zeros take the general way.
 */
function mysqlDecimal(s: string): string {
  const negative = s.charCodeAt(0) === 0x2d;
  const from = negative ? 1 : 0;
  if (s.charCodeAt(from) === 0x30 && s.length > from + 1 && s.charCodeAt(from + 1) !== 0x2e) {
    return canonicalDecimal(s);
  }
  const dot = s.indexOf(".");
  if (dot < 0) return s === "-0" ? "0" : s;
  let end = s.length;
  while (end > dot && s.charCodeAt(end - 1) === 0x30) end--;
  if (end === dot + 1) end = dot;
  const out = end === s.length ? s : s.slice(0, end);
  return out === "-0" ? "0" : out;
}
