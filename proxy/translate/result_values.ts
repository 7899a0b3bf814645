/**
 * CockroachDB's text values in MySQL's renderings: booleans as 1/0,
 * DATETIME/TIME with exactly the column's fractional digits (MySQL prints
 * `.000000` for DATETIME(6), CockroachDB drops trailing zeros), TIMESTAMPTZ
 * without its offset (it is printed in the session's time zone already),
 * BYTEA's hex form as the raw bytes; and the binary protocol's encodings of
 * each MySQL type (COM_STMT_EXECUTE results).
 *
 * @module
 */

import type { PacketOut } from "./packet_out.ts";
import { MyType } from "../mysql/constants.ts";
import type { MySqlColumn } from "./result_columns.ts";

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

/** Writes one binary-protocol row (COM_STMT_EXECUTE). */
export function writeBinaryRow(out: PacketOut, columns: MySqlColumn[], values: MySqlValue[]): void {
  out.begin().u8(0x00);
  // NULL bitmap with an offset of 2 bits.
  const bitmap = new Uint8Array((columns.length + 7 + 2) >> 3);
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null) bitmap[(i + 2) >> 3] |= 1 << ((i + 2) & 7);
  }
  out.bytes(bitmap);
  for (let i = 0; i < columns.length; i++) {
    const v = values[i];
    if (v === null) continue;
    if (typeof v !== "string") {
      out.lenencBytes(v);
      continue;
    }
    switch (columns[i].type) {
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
  out.end();
}
