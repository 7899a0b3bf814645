/**
 * PostgreSQL (and CockroachDB) result values as neutral values: which type
 * family each type OID belongs to, and how its text and binary encodings
 * decode, so the same meaning gives the same neutral value whichever format
 * the client asked for and however the server rendered it (CockroachDB's INT
 * is INT8, its floats print in shortest round-trip form, its DECIMAL keeps
 * other scales and exponents, its timestamps render zones differently).
 *
 * Values that cannot be decoded as their declared type fall back to their raw
 * text (or `\x` hex for binary), so a malformed value never throws on the hot
 * path.
 *
 * @module
 */

import type { NeutralColumn, NeutralType, NeutralValue } from "../shadow/result.ts";
import {
  canonicalDecimal,
  canonicalJson,
  canonicalTime,
  canonicalTimestamp,
  formatDate,
  formatTimestamp,
  hexOf,
  parseFloatText,
  roundFloat,
} from "../shadow/values.ts";

/** Type OIDs decoded by type. */
export const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Family and name of each known OID; array types of the known element types too. */
const TYPES = new Map<number, [NeutralType, string]>([
  [OID.bool, ["bool", "bool"]],
  [OID.bytea, ["bytes", "bytea"]],
  [OID.char, ["text", "char"]],
  [OID.name, ["text", "name"]],
  [OID.int8, ["int", "int8"]],
  [OID.int2, ["int", "int2"]],
  [OID.int4, ["int", "int4"]],
  [OID.text, ["text", "text"]],
  [OID.oid, ["int", "oid"]],
  [OID.json, ["json", "json"]],
  [OID.float4, ["float", "float4"]],
  [OID.float8, ["float", "float8"]],
  [OID.bpchar, ["text", "bpchar"]],
  [OID.varchar, ["text", "varchar"]],
  [OID.date, ["date", "date"]],
  [OID.time, ["time", "time"]],
  [OID.timestamp, ["timestamp", "timestamp"]],
  [OID.timestamptz, ["timestamptz", "timestamptz"]],
  [OID.interval, ["interval", "interval"]],
  [OID.timetz, ["time", "timetz"]],
  [OID.numeric, ["decimal", "numeric"]],
  [OID.uuid, ["uuid", "uuid"]],
  [OID.jsonb, ["json", "jsonb"]],
  [1000, ["array", "bool[]"]],
  [1001, ["array", "bytea[]"]],
  [1005, ["array", "int2[]"]],
  [1007, ["array", "int4[]"]],
  [1009, ["array", "text[]"]],
  [1015, ["array", "varchar[]"]],
  [1016, ["array", "int8[]"]],
  [1021, ["array", "float4[]"]],
  [1022, ["array", "float8[]"]],
  [1115, ["array", "timestamp[]"]],
  [1182, ["array", "date[]"]],
  [1185, ["array", "timestamptz[]"]],
  [1231, ["array", "numeric[]"]],
  [2951, ["array", "uuid[]"]],
  [3807, ["array", "jsonb[]"]],
]);

/** The neutral column of a RowDescription field; `typmod` gives a numeric's scale. */
export function neutralColumn(name: string, typeOid: number, typmod: number): NeutralColumn {
  const known = TYPES.get(typeOid);
  if (!known) return { name, type: "unknown", nativeType: `oid ${typeOid}` };
  const [type, nativeType] = known;
  if (typeOid === OID.numeric && typmod >= 4) {
    const precision = ((typmod - 4) >> 16) & 0xffff;
    const scale = (typmod - 4) & 0xffff;
    return { name, type, nativeType: `numeric(${precision},${scale})`, scale };
  }
  return { name, type, nativeType };
}

/**
 * True when the text rendering of a value of this type is already its value
 * key (`valueKey`), so the digest can hash its bytes without decoding them.
 */
export function isKeyText(typeOid: number, format: number): boolean {
  if (format !== 0) return false;
  switch (typeOid) {
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid:
    case OID.text:
    case OID.varchar:
    case OID.name:
    case OID.char:
    case 0:
      return true;
    default:
      return false;
  }
}

const utf8 = new TextDecoder();

/** Seconds from 1970-01-01 to the PostgreSQL epoch 2000-01-01. */
const PG_EPOCH_SECONDS = 946_684_800;

/** Decodes one non-NULL value; `format` is the wire format: 0 text, 1 binary. */
export function decodeValue(typeOid: number, format: number, raw: Uint8Array): NeutralValue {
  return format === 1 ? decodeBinary(typeOid, raw) : decodeText(typeOid, raw);
}

function decodeText(typeOid: number, raw: Uint8Array): NeutralValue {
  switch (typeOid) {
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid:
      return integerText(raw);
    case OID.bytea:
      return byteaText(raw);
  }
  const s = utf8.decode(raw);
  switch (typeOid) {
    case OID.bool:
      return boolText(s);
    case OID.float4:
      return floatText(s, true);
    case OID.float8:
      return floatText(s, false);
    case OID.numeric:
      return canonicalDecimal(s.trim());
    case OID.bpchar:
      return s.replace(/ +$/, "");
    case OID.date:
      return s.trim();
    case OID.time:
    case OID.timetz:
      return canonicalTime(s);
    case OID.timestamp:
      return canonicalTimestamp(s, false);
    case OID.timestamptz:
      return canonicalTimestamp(s, true);
    case OID.json:
    case OID.jsonb:
      return canonicalJson(s);
    case OID.uuid:
      return s.trim().toLowerCase();
    default:
      return s;
  }
}

/** ASCII decimal digits as a bigint without building a string for short ones. */
function integerText(raw: Uint8Array): NeutralValue {
  const n = raw.length;
  const neg = n > 0 && raw[0] === 0x2d;
  let v = 0;
  let i = neg ? 1 : 0;
  if (n > 15 || i === n) return integerString(utf8.decode(raw));
  for (; i < n; i++) {
    const d = raw[i] - 0x30;
    if (d < 0 || d > 9) return integerString(utf8.decode(raw));
    v = v * 10 + d;
  }
  return BigInt(neg ? -v : v);
}

function integerString(s: string): NeutralValue {
  const t = s.trim();
  return /^-?\d+$/.test(t) ? BigInt(t) : s;
}

function floatText(s: string, single: boolean): NeutralValue {
  const v = parseFloatText(s, single);
  return Number.isNaN(v) && !/^\s*nan\s*$/i.test(s) ? s : v;
}

function boolText(s: string): NeutralValue {
  switch (s.trim().toLowerCase()) {
    case "t":
    case "true":
    case "1":
    case "y":
    case "yes":
    case "on":
      return true;
    case "f":
    case "false":
    case "0":
    case "n":
    case "no":
    case "off":
      return false;
    default:
      return s;
  }
}

/** Hex (`\x...`) or escape format text of bytea, as the bytes it stands for. */
function byteaText(raw: Uint8Array): NeutralValue {
  if (raw.length >= 2 && raw[0] === 0x5c && (raw[1] === 0x78 || raw[1] === 0x58)) {
    const n = (raw.length - 2) >> 1;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const hi = hexDigit(raw[2 + i * 2]);
      const lo = hexDigit(raw[3 + i * 2]);
      if (hi < 0 || lo < 0) return utf8.decode(raw);
      out[i] = hi * 16 + lo;
    }
    return (raw.length & 1) === 0 ? out : utf8.decode(raw);
  }
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== 0x5c) {
      out.push(c);
    } else if (raw[i + 1] === 0x5c) {
      out.push(0x5c);
      i++;
    } else if (
      i + 3 < raw.length && isOctal(raw[i + 1]) && isOctal(raw[i + 2]) && isOctal(raw[i + 3])
    ) {
      out.push(((raw[i + 1] - 48) * 64 + (raw[i + 2] - 48) * 8 + (raw[i + 3] - 48)) & 0xff);
      i += 3;
    } else {
      out.push(0x5c);
    }
  }
  return new Uint8Array(out);
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function isOctal(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 55;
}

function view(raw: Uint8Array): DataView {
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

function decodeBinary(typeOid: number, raw: Uint8Array): NeutralValue {
  const n = raw.length;
  switch (typeOid) {
    case OID.bool:
      if (n === 1) return raw[0] !== 0;
      break;
    case OID.int2:
      if (n === 2) return BigInt(view(raw).getInt16(0));
      break;
    case OID.int4:
      if (n === 4) return BigInt(view(raw).getInt32(0));
      break;
    case OID.oid:
      if (n === 4) return BigInt(view(raw).getUint32(0));
      break;
    case OID.int8:
      if (n === 8) return view(raw).getBigInt64(0);
      break;
    case OID.float4:
      if (n === 4) return roundFloat(view(raw).getFloat32(0), true);
      break;
    case OID.float8:
      if (n === 8) return roundFloat(view(raw).getFloat64(0), false);
      break;
    case OID.numeric:
      if (n >= 8) return binaryNumeric(raw);
      break;
    case OID.date:
      if (n === 4) return binaryDate(view(raw).getInt32(0));
      break;
    case OID.timestamp:
    case OID.timestamptz:
      if (n === 8) return binaryTimestamp(view(raw).getBigInt64(0), typeOid === OID.timestamptz);
      break;
    case OID.uuid:
      if (n === 16) {
        return `${hexOf(raw, 0, 4)}-${hexOf(raw, 4, 6)}-${hexOf(raw, 6, 8)}-${hexOf(raw, 8, 10)}-${
          hexOf(raw, 10, 16)
        }`;
      }
      break;
    case OID.bytea:
      return raw.slice();
    case OID.jsonb:
      if (n >= 1 && raw[0] === 1) return canonicalJson(utf8.decode(raw.subarray(1)));
      break;
    case OID.json:
      return canonicalJson(utf8.decode(raw));
    case OID.text:
    case OID.varchar:
    case OID.name:
    case OID.char:
      return utf8.decode(raw);
    case OID.bpchar:
      return utf8.decode(raw).replace(/ +$/, "");
  }
  return "\\x" + hexOf(raw);
}

function binaryNumeric(raw: Uint8Array): NeutralValue {
  const v = view(raw);
  const ndigits = v.getInt16(0);
  const weight = v.getInt16(2);
  const sign = v.getUint16(4);
  if (sign === 0xc000) return "NaN";
  if (sign === 0xd000) return "Infinity";
  if (sign === 0xf000) return "-Infinity";
  if (raw.length < 8 + ndigits * 2) return "\\x" + hexOf(raw);
  let int = "";
  let frac = "";
  for (let i = 0; i < ndigits; i++) {
    const group = String(v.getUint16(8 + i * 2)).padStart(4, "0");
    if (i <= weight) int += group;
    else frac += group;
  }
  if (weight >= ndigits) int += "0000".repeat(weight - ndigits + 1);
  if (weight < -1) frac = "0000".repeat(-weight - 1) + frac;
  return canonicalDecimal((sign === 0x4000 ? "-" : "") + (int || "0") + (frac ? "." + frac : ""));
}

function binaryDate(days: number): string {
  if (days === 0x7fffffff) return "infinity";
  if (days === -0x80000000) return "-infinity";
  return formatDate(PG_EPOCH_SECONDS + days * 86_400);
}

function binaryTimestamp(us: bigint, withZone: boolean): string {
  if (us === 0x7fffffffffffffffn) return "infinity";
  if (us === -0x8000000000000000n) return "-infinity";
  let secs = us / 1_000_000n;
  let micros = us % 1_000_000n;
  if (micros < 0n) {
    micros += 1_000_000n;
    secs -= 1n;
  }
  return formatTimestamp(Number(secs) + PG_EPOCH_SECONDS, Number(micros), withZone);
}
