/**
 * The parameters of COM_STMT_EXECUTE, read in the MySQL binary protocol and
 * turned into the text values CockroachDB binds: integers of every width
 * (signed or `UNSIGNED` by the type's flag), FLOAT/DOUBLE (an integral
 * DOUBLE, which is how mysql2 sends every JavaScript number, prints without
 * a fraction so it binds to integer columns), DECIMAL and strings as sent,
 * DATE/DATETIME/TIMESTAMP/TIME from their packed fields, BLOBs as BYTEA's hex
 * input, and data sent before with COM_STMT_SEND_LONG_DATA. The parameter's
 * CockroachDB type is inferred from the statement, as MySQL converts a value
 * to the type its context needs.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";
import { PayloadReader } from "../mysql/packets.ts";
import { MyType } from "../mysql/constants.ts";

/** A parameter value for CockroachDB: text, or null. */
export type BoundValue = string | null;

const decoder = new TextDecoder("utf-8");

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

function hex(bytes: Uint8Array): string {
  let s = "\\x";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function isBlob(type: number): boolean {
  return type >= MyType.TINY_BLOB && type <= MyType.BLOB;
}

/** The statement's parameter types, kept from the last execute that sent them. */
export interface ParamTypes {
  types: number[];
}

/** A parameter value that cannot be read. */
export class BadParameter extends LmsError {
  /** @param message what is wrong, naming the parameter */
  constructor(message: string) {
    super("PROTOCOL_VIOLATION", message, "the client library sent a malformed COM_STMT_EXECUTE");
  }
}

function readValue(r: PayloadReader, type: number, unsigned: boolean): BoundValue {
  switch (type) {
    case MyType.NULL:
      return null;
    case MyType.TINY: {
      const v = r.u8("TINY parameter");
      return String(unsigned ? v : (v << 24) >> 24);
    }
    case MyType.SHORT:
    case MyType.YEAR: {
      const v = r.u16("SHORT parameter");
      return String(unsigned ? v : (v << 16) >> 16);
    }
    case MyType.LONG:
    case MyType.INT24: {
      const v = r.u32("LONG parameter");
      return String(unsigned ? v : v | 0);
    }
    case MyType.LONGLONG: {
      const b = r.bytes(8, "LONGLONG parameter");
      const v = new DataView(b.buffer, b.byteOffset, 8);
      return String(unsigned ? v.getBigUint64(0, true) : v.getBigInt64(0, true));
    }
    case MyType.FLOAT: {
      const b = r.bytes(4, "FLOAT parameter");
      return String(new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true));
    }
    case MyType.DOUBLE: {
      const b = r.bytes(8, "DOUBLE parameter");
      const v = new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
      return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? BigInt(v).toString() : String(v);
    }
    case MyType.DATE:
    case MyType.DATETIME:
    case MyType.TIMESTAMP: {
      const len = r.u8("date parameter length");
      if (len === 0) return "0000-00-00 00:00:00";
      const f = new PayloadReader(r.bytes(len, "date parameter"));
      const date = `${pad(f.u16(), 4)}-${pad(f.u8())}-${pad(f.u8())}`;
      if (len < 7) return date;
      const time = `${pad(f.u8())}:${pad(f.u8())}:${pad(f.u8())}`;
      const us = len >= 11 ? f.u32() : 0;
      return `${date} ${time}${us ? `.${pad(us, 6)}` : ""}`;
    }
    case MyType.TIME: {
      const len = r.u8("time parameter length");
      if (len === 0) return "00:00:00";
      const f = new PayloadReader(r.bytes(len, "time parameter"));
      const negative = f.u8() === 1;
      const hours = f.u32() * 24 + f.u8();
      const rest = `${pad(f.u8())}:${pad(f.u8())}`;
      const us = len >= 12 ? f.u32() : 0;
      return `${negative ? "-" : ""}${pad(hours)}:${rest}${us ? `.${pad(us, 6)}` : ""}`;
    }
    default: {
      const bytes = r.lenencBytes("string parameter");
      return isBlob(type) ? hex(bytes) : decoder.decode(bytes);
    }
  }
}

/**
 * Reads the parameters of a COM_STMT_EXECUTE payload, from after the
 * iteration count.
 *
 * @param r positioned after the iteration count
 * @param count the statement's parameter count
 * @param kept the types sent by an earlier execute (updated when new ones come)
 * @param longData values sent with COM_STMT_SEND_LONG_DATA, by parameter index
 * @throws {BadParameter} when the packet is too short or names no types
 */
export function readParams(
  r: PayloadReader,
  count: number,
  kept: ParamTypes,
  longData: Map<number, Uint8Array[]>,
): BoundValue[] {
  if (count === 0) return [];
  try {
    const bitmap = r.bytes((count + 7) >> 3, "NULL bitmap");
    const bound = r.u8("new-params-bound flag");
    if (bound === 1) {
      kept.types = [];
      for (let i = 0; i < count; i++) kept.types.push(r.u16("parameter type"));
    } else if (kept.types.length !== count) {
      throw new BadParameter("COM_STMT_EXECUTE sent no parameter types, and none were sent before");
    }
    const values: BoundValue[] = [];
    for (let i = 0; i < count; i++) {
      const t = kept.types[i];
      const type = t & 0xff;
      if (bitmap[i >> 3] & (1 << (i & 7))) {
        values.push(null);
        continue;
      }
      const long = longData.get(i);
      if (long) {
        const total = new Uint8Array(long.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of long) {
          total.set(p, at);
          at += p.length;
        }
        values.push(isBlob(type) ? hex(total) : decoder.decode(total));
        continue;
      }
      values.push(readValue(r, type, (t & 0x8000) !== 0));
    }
    return values;
  } catch (err) {
    if (err instanceof BadParameter) throw err;
    throw new BadParameter(`COM_STMT_EXECUTE parameters: ${(err as Error).message}`);
  }
}
