/**
 * One row of a MySQL result set, text or binary protocol, as neutral values
 * (`result_values.ts` maps the columns), hashed into the result's digest as
 * it is decoded. Integer and text renderings of the text protocol are hashed
 * from their bytes; rows past the row limit are only hashed.
 *
 * @module
 */

import type { RowDigest } from "../shadow/digest.ts";
import type { NeutralValue } from "../shadow/result.ts";
import { canonicalTime, formatTimestamp, roundFloat, utcSeconds } from "../shadow/values.ts";
import { PayloadReader } from "./packets.ts";
import { MyType } from "./constants.ts";
import { decodeTextValue, isKeyTextColumn, type MySqlColumn } from "./result_values.ts";

/**
 * Decodes one row packet into `digest`; returns its values when `keep`
 * (the row is within the row limit), else undefined.
 */
export function collectRow(
  columns: MySqlColumn[],
  binary: boolean,
  payload: Uint8Array,
  digest: RowDigest,
  keep: boolean,
): NeutralValue[] | undefined {
  const row: NeutralValue[] | undefined = keep ? new Array(columns.length) : undefined;
  digest.beginRow();
  if (binary) {
    decodeBinaryRow(columns, payload, (i, v) => {
      digest.value(v);
      if (row) row[i] = v;
    });
  } else {
    const reader = new PayloadReader(payload);
    for (let i = 0; i < columns.length; i++) {
      if (payload[reader.pos] === 0xfb) {
        reader.pos++;
        digest.value(null);
        if (row) row[i] = null;
        continue;
      }
      const len = reader.lenenc("value length");
      const at = reader.pos;
      const raw = reader.bytes(len, "value");
      const c = columns[i];
      if (isKeyTextColumn(c) && digest.asciiKey(payload, at, at + len)) {
        if (row) row[i] = decodeTextValue(c, raw);
      } else {
        const v = decodeTextValue(c, raw);
        digest.value(v);
        if (row) row[i] = v;
      }
    }
  }
  digest.endRow();
  return row;
}

/**
 * Decodes one binary-protocol row (the packet after its 0x00 header):
 * NULL bitmap with offset 2, then each non-NULL value in its type's encoding.
 * Calls `emit` with each value in column order.
 */
export function decodeBinaryRow(
  columns: MySqlColumn[],
  payload: Uint8Array,
  emit: (i: number, v: NeutralValue) => void,
): void {
  const n = columns.length;
  const bitmapBytes = (n + 7 + 2) >> 3;
  const r = new PayloadReader(payload, 1 + bitmapBytes);
  for (let i = 0; i < n; i++) {
    const bit = i + 2;
    if (payload[1 + (bit >> 3)] & (1 << (bit & 7))) {
      emit(i, null);
      continue;
    }
    emit(i, binaryValue(columns[i], r));
  }
}

function binaryValue(c: MySqlColumn, r: PayloadReader): NeutralValue {
  switch (c.type) {
    case MyType.TINY: {
      const v = r.u8("TINY value");
      return BigInt(c.unsigned || v < 0x80 ? v : v - 0x100);
    }
    case MyType.SHORT:
    case MyType.YEAR: {
      const v = r.u16("SHORT value");
      return BigInt(c.unsigned || v < 0x8000 ? v : v - 0x10000);
    }
    case MyType.LONG:
    case MyType.INT24: {
      const v = r.u32("LONG value");
      return BigInt(c.unsigned ? v : v | 0);
    }
    case MyType.LONGLONG: {
      const b = r.bytes(8, "LONGLONG value");
      const view = new DataView(b.buffer, b.byteOffset, 8);
      return c.unsigned ? view.getBigUint64(0, true) : view.getBigInt64(0, true);
    }
    case MyType.FLOAT: {
      const b = r.bytes(4, "FLOAT value");
      return roundFloat(new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true), true);
    }
    case MyType.DOUBLE: {
      const b = r.bytes(8, "DOUBLE value");
      return roundFloat(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true), false);
    }
    case MyType.DATE:
    case MyType.NEWDATE:
    case MyType.DATETIME:
    case MyType.TIMESTAMP:
      return binaryDateTime(c, r);
    case MyType.TIME:
      return binaryTime(r);
    default: {
      const raw = r.lenencBytes("value");
      return decodeTextValue(c, raw);
    }
  }
}

/** MYSQL_TIME of a DATE/DATETIME/TIMESTAMP: length 0, 4, 7 or 11. */
function binaryDateTime(c: MySqlColumn, r: PayloadReader): NeutralValue {
  const len = r.u8("date length");
  const b = r.bytes(len, "date value");
  const year = len >= 4 ? b[0] | (b[1] << 8) : 0;
  const month = len >= 4 ? b[2] : 0, day = len >= 4 ? b[3] : 0;
  const hour = len >= 7 ? b[4] : 0, minute = len >= 7 ? b[5] : 0, second = len >= 7 ? b[6] : 0;
  const micros = len >= 11 ? (b[7] | (b[8] << 8) | (b[9] << 16) | (b[10] << 24)) >>> 0 : 0;
  const isDate = c.type === MyType.DATE || c.type === MyType.NEWDATE;
  if (month === 0 || day === 0) {
    // MySQL's zero date, as its text protocol renders it.
    return isDate ? "0000-00-00" : "0000-00-00 00:00:00";
  }
  const seconds = utcSeconds(year, month, day, hour, minute, second);
  const text = formatTimestamp(seconds, micros, false);
  return isDate ? text.slice(0, text.indexOf(" ")) : text;
}

/** MYSQL_TIME of a TIME: length 0, 8 or 12; days fold into hours as the text protocol shows them. */
function binaryTime(r: PayloadReader): NeutralValue {
  const len = r.u8("time length");
  const b = r.bytes(len, "time value");
  if (len === 0) return "00:00:00";
  const negative = b[0] === 1;
  const days = (b[1] | (b[2] << 8) | (b[3] << 16) | (b[4] << 24)) >>> 0;
  const hours = days * 24 + b[5];
  let text = `${negative ? "-" : ""}${String(hours).padStart(2, "0")}:${pad2(b[6])}:${pad2(b[7])}`;
  if (len >= 12) {
    const micros = (b[8] | (b[9] << 8) | (b[10] << 16) | (b[11] << 24)) >>> 0;
    if (micros > 0) text += "." + String(micros).padStart(6, "0");
  }
  return canonicalTime(text);
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}
