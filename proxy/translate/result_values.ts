/**
 * CockroachDB's text values in MySQL's renderings: booleans as 1/0,
 * DATETIME/TIME with exactly the column's fractional digits (MySQL prints
 * `.000000` for DATETIME(6), CockroachDB drops trailing zeros), TIMESTAMPTZ
 * without its offset (it is printed in the session's time zone already),
 * BYTEA's hex form as the raw bytes; and the binary protocol's encodings of
 * each MySQL type (COM_STMT_EXECUTE results).
 *
 * Rows are written either from values already converted, or straight from
 * CockroachDB's DataRow bodies (`writeTextRowFrom`, `writeBinaryRowFrom`):
 * a value whose text MySQL renders the same (integers, decimals, floats,
 * dates, text) is copied as bytes, and integers are parsed from their
 * digits, so the common row costs no string per value. Only the values that
 * need converting (booleans, times, BYTEA) go through {@linkcode mysqlValue}.
 *
 * @module
 */

import type { PacketOut } from "./packet_out.ts";
import { MyType } from "../mysql/constants.ts";
import type { MySqlColumn, ValueKind } from "./result_columns.ts";

/** A value ready for a text row: a string, or raw bytes (BLOB). */
export type MySqlValue = string | Uint8Array | null;

const OFFSET = /[+-]\d\d(?::?\d\d){0,2}$/;

function fraction(text: string, digits: number): string {
  const dot = text.indexOf(".");
  const whole = dot < 0 ? text : text.slice(0, dot);
  if (digits === 0) return whole;
  const frac = dot < 0 ? "" : text.slice(dot + 1);
  return `${whole}.${(frac + "000000").slice(0, digits)}`;
}

function hexBytes(text: string): Uint8Array {
  if (!text.startsWith("\\x")) return new TextEncoder().encode(text);
  const out = new Uint8Array((text.length - 2) >> 1);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.substr(2 + 2 * i, 2), 16);
  }
  return out;
}

/** MySQL's rendering of one CockroachDB text value of `column`. */
export function mysqlValue(column: MySqlColumn, text: string | null): MySqlValue {
  if (text === null) return null;
  switch (column.kind) {
    case "bool":
      return text === "t" || text === "true" ? "1" : "0";
    case "datetime":
    case "time":
      return fraction(text, column.decimals);
    case "timestamptz":
      return fraction(text.replace(OFFSET, ""), column.decimals);
    case "bytes":
      return hexBytes(text);
    default:
      return text;
  }
}

/** Writes one text-protocol row. */
export function writeTextRow(out: PacketOut, values: MySqlValue[]): void {
  out.begin();
  for (const v of values) {
    if (v === null) out.u8(0xfb);
    else if (typeof v === "string") out.lenencStr(v);
    else out.lenencBytes(v);
  }
  out.end();
}

const DATE_TIME = /^(-?\d+)-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?/;
const TIME = /^(-)?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?/;

function micros(frac: string | undefined): number {
  return frac ? Number((frac + "000000").slice(0, 6)) : 0;
}

function writeDateTime(out: PacketOut, text: string): void {
  const m = DATE_TIME.exec(text);
  if (!m) return void out.u8(0);
  const us = micros(m[7]);
  const hasTime = m[4] !== undefined && (m[4] !== "00" || m[5] !== "00" || m[6] !== "00" || us);
  out.u8(us ? 11 : hasTime ? 7 : 4).u16(Number(m[1])).u8(Number(m[2])).u8(Number(m[3]));
  if (hasTime || us) out.u8(Number(m[4])).u8(Number(m[5])).u8(Number(m[6]));
  if (us) out.u32(us);
}

function writeTime(out: PacketOut, text: string): void {
  const m = TIME.exec(text);
  if (!m) return void out.u8(0);
  const hours = Number(m[2]);
  const us = micros(m[5]);
  out.u8(us ? 12 : 8).u8(m[1] ? 1 : 0).u32(Math.floor(hours / 24)).u8(hours % 24)
    .u8(Number(m[3])).u8(Number(m[4]));
  if (us) out.u32(us);
}

/** Writes one binary-protocol value of `column` (not NULL). */
function writeBinaryValue(out: PacketOut, column: MySqlColumn, v: string | Uint8Array): void {
  if (typeof v !== "string") {
    out.lenencBytes(v);
    return;
  }
  switch (column.type) {
    case MyType.TINY:
      out.u8(Number(v));
      break;
    case MyType.SHORT:
    case MyType.YEAR:
      out.u16(Number(v));
      break;
    case MyType.LONG:
    case MyType.INT24:
      out.u32(Number(v));
      break;
    case MyType.LONGLONG:
      out.u64(BigInt(v));
      break;
    case MyType.FLOAT:
      out.f32(Number(v));
      break;
    case MyType.DOUBLE:
      out.f64(Number(v));
      break;
    case MyType.DATE:
    case MyType.DATETIME:
    case MyType.TIMESTAMP:
      writeDateTime(out, v);
      break;
    case MyType.TIME:
      writeTime(out, v);
      break;
    default:
      out.lenencStr(v);
  }
}

/** Starts a binary row: header and a zeroed NULL bitmap; returns where the bitmap is. */
function beginBinaryRow(out: PacketOut, columns: number): number {
  out.begin().u8(0x00);
  const at = out.length;
  // NULL bitmap with an offset of 2 bits.
  out.zeros((columns + 7 + 2) >> 3);
  return at;
}

function markNull(out: PacketOut, bitmapAt: number, i: number): void {
  out.orByte(bitmapAt + ((i + 2) >> 3), 1 << ((i + 2) & 7));
}

/** Writes one binary-protocol row (COM_STMT_EXECUTE). */
export function writeBinaryRow(out: PacketOut, columns: MySqlColumn[], values: MySqlValue[]): void {
  const bitmapAt = beginBinaryRow(out, columns.length);
  for (let i = 0; i < columns.length; i++) {
    const v = values[i];
    if (v === null) markNull(out, bitmapAt, i);
    else writeBinaryValue(out, columns[i], v);
  }
  out.end();
}

/** Kinds whose CockroachDB text form is MySQL's text form too. */
const AS_IS: ReadonlySet<ValueKind> = new Set<ValueKind>([
  "int",
  "bigint",
  "float",
  "double",
  "decimal",
  "date",
  "text",
]);

const decoder = new TextDecoder();

function valueLength(body: Uint8Array, at: number): number {
  return (body[at] << 24) | (body[at + 1] << 16) | (body[at + 2] << 8) | body[at + 3];
}

/**
 * The integer written in ASCII at `body[at, at + len)`, or undefined when it
 * is not a plain one of at most 15 digits (then the text path parses it).
 */
function smallInteger(body: Uint8Array, at: number, len: number): number | undefined {
  let i = at;
  const end = at + len;
  const negative = body[i] === 0x2d;
  if (negative) i++;
  if (i === end || end - i > 15) return undefined;
  let n = 0;
  for (; i < end; i++) {
    const d = body[i] - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/** Writes one binary value from its CockroachDB text bytes; false when they need converting. */
function writeBinaryBytes(
  out: PacketOut,
  column: MySqlColumn,
  body: Uint8Array,
  at: number,
  len: number,
): boolean {
  switch (column.type) {
    case MyType.SHORT:
    case MyType.YEAR:
    case MyType.LONG:
    case MyType.INT24:
    case MyType.LONGLONG: {
      if (column.kind !== "int" && column.kind !== "bigint") return false;
      const n = smallInteger(body, at, len);
      if (n === undefined) return false;
      if (column.type === MyType.LONGLONG) out.i64(n);
      else if (column.type === MyType.LONG || column.type === MyType.INT24) out.u32(n);
      else out.u16(n);
      return true;
    }
    case MyType.TINY:
    case MyType.FLOAT:
    case MyType.DOUBLE:
    case MyType.DATE:
    case MyType.DATETIME:
    case MyType.TIMESTAMP:
    case MyType.TIME:
      return false;
    default:
      if (!AS_IS.has(column.kind)) return false;
      out.lenenc(len).range(body, at, len);
      return true;
  }
}

/** The converted value of one DataRow value (the path for values not written as bytes). */
function convertedValue(column: MySqlColumn, body: Uint8Array, at: number, len: number) {
  return mysqlValue(column, decoder.decode(body.subarray(at, at + len)))!;
}

/**
 * Writes one binary-protocol row from a DataRow body (text-format values),
 * whose first `columns.length` values are the row's.
 */
export function writeBinaryRowFrom(out: PacketOut, columns: MySqlColumn[], body: Uint8Array): void {
  const bitmapAt = beginBinaryRow(out, columns.length);
  let at = 2;
  for (let i = 0; i < columns.length; i++) {
    const len = valueLength(body, at);
    at += 4;
    if (len < 0) {
      markNull(out, bitmapAt, i);
      continue;
    }
    const c = columns[i];
    if (!writeBinaryBytes(out, c, body, at, len)) {
      writeBinaryValue(out, c, convertedValue(c, body, at, len));
    }
    at += len;
  }
  out.end();
}

/** Writes one text-protocol row from a DataRow body (text-format values). */
export function writeTextRowFrom(out: PacketOut, columns: MySqlColumn[], body: Uint8Array): void {
  out.begin();
  let at = 2;
  for (let i = 0; i < columns.length; i++) {
    const len = valueLength(body, at);
    at += 4;
    if (len < 0) {
      out.u8(0xfb);
      continue;
    }
    const c = columns[i];
    if (AS_IS.has(c.kind)) out.lenenc(len).range(body, at, len);
    else {
      const v = convertedValue(c, body, at, len);
      if (typeof v === "string") out.lenencStr(v);
      else out.lenencBytes(v);
    }
    at += len;
  }
  out.end();
}
