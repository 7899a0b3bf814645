/**
 * Type-tolerant normalisation of result values, so the two databases' answers
 * compare by meaning rather than by bytes: CockroachDB's INT is INT8, its
 * floats print in shortest round-trip form, its DECIMAL keeps other scales,
 * its timestamps render zones differently, and clients may ask either side
 * for text or binary formats.
 *
 * Every value becomes one canonical text per type family, so equal meanings
 * give equal strings (and equal digests past the row limit).
 *
 * @module
 */

/** Type OIDs the normaliser understands. */
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
  timetz: 1266,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

const utf8 = new TextDecoder();
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Seconds from 1970-01-01 to the PostgreSQL epoch 2000-01-01. */
const PG_EPOCH_SECONDS = 946_684_800;

/**
 * True when the text rendering of a value of this type and format is already
 * canonical, so its raw bytes can be hashed without building a string.
 */
export function isIdentityText(typeOid: number, format: number): boolean {
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

/**
 * Normalises one value of a result column to its canonical text, or `null`
 * for SQL NULL. `format` is the wire format: 0 text, 1 binary. Values that
 * cannot be decoded as their declared type fall back to their raw text (or
 * hex for binary), so a malformed value never throws on the hot path.
 */
export function normaliseValue(
  typeOid: number,
  format: number,
  raw: Uint8Array | null,
): string | null {
  if (raw === null) return null;
  return format === 1
    ? normaliseBinary(typeOid, raw)
    : normaliseText(typeOid, utf8.decode(raw), raw);
}

function normaliseText(typeOid: number, s: string, raw: Uint8Array): string {
  switch (typeOid) {
    case OID.bool:
      return normaliseBool(s);
    case OID.bytea:
      return byteaText(raw);
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid:
      return s.trim();
    case OID.float4:
      return canonicalFloat(Number(s.trim()), 6, s);
    case OID.float8:
      return canonicalFloat(Number(s.trim()), 15, s);
    case OID.numeric:
      return canonicalDecimal(s.trim());
    case OID.bpchar:
      return s.replace(/ +$/, "");
    case OID.date:
      return s.trim();
    case OID.time:
    case OID.timetz:
      return trimFraction(s.trim());
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

function normaliseBool(s: string): string {
  switch (s.trim().toLowerCase()) {
    case "t":
    case "true":
    case "1":
    case "y":
    case "yes":
    case "on":
      return "t";
    case "f":
    case "false":
    case "0":
    case "n":
    case "no":
    case "off":
      return "f";
    default:
      return s;
  }
}

/** Hex or escape format text of bytea, as canonical `\x` lowercase hex. */
function byteaText(raw: Uint8Array): string {
  if (raw.length >= 2 && raw[0] === 0x5c && (raw[1] === 0x78 || raw[1] === 0x58)) {
    let out = "\\x";
    for (let i = 2; i < raw.length; i++) {
      const c = raw[i];
      out += c >= 0x41 && c <= 0x46 ? String.fromCharCode(c + 32) : String.fromCharCode(c);
    }
    return out;
  }
  let out = "\\x";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== 0x5c) {
      out += HEX[c];
    } else if (raw[i + 1] === 0x5c) {
      out += "5c";
      i++;
    } else if (
      i + 3 < raw.length && isOctal(raw[i + 1]) && isOctal(raw[i + 2]) && isOctal(raw[i + 3])
    ) {
      out += HEX[((raw[i + 1] - 48) * 64 + (raw[i + 2] - 48) * 8 + (raw[i + 3] - 48)) & 0xff];
      i += 3;
    } else {
      out += "5c";
    }
  }
  return out;
}

function isOctal(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 55;
}

function hexOf(raw: Uint8Array, from = 0, to = raw.length): string {
  let out = "";
  for (let i = from; i < to; i++) out += HEX[raw[i]];
  return out;
}

/**
 * Rounds to `digits` significant digits, which absorbs the difference between
 * PostgreSQL's `extra_float_digits` renderings and shortest round-trip output.
 * Negative zero equals zero.
 */
function canonicalFloat(v: number, digits: number, original: string): string {
  if (Number.isNaN(v)) return /^\s*nan\s*$/i.test(original) ? "NaN" : original;
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  if (v === 0) return "0";
  return String(Number(v.toPrecision(digits)));
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

function trimFraction(s: string): string {
  return s.replace(/(\.\d*?)0+(?=$|[+-])/, "$1").replace(/\.(?=$|[+-])/, "");
}

const TIMESTAMP =
  /^\s*(\d{4,})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(?:(Z|[+-]\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?)?(\s*BC)?\s*$/i;

/**
 * Canonical timestamp text. For timestamptz the instant is rendered in UTC, so
 * `04:00:00+01` equals `03:00:00+00`; for timestamp a stray zone is ignored.
 */
function canonicalTimestamp(s: string, withZone: boolean): string {
  const m = TIMESTAMP.exec(s);
  if (!m) {
    const lower = s.trim().toLowerCase();
    return lower === "infinity" || lower === "-infinity" ? lower : s;
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

function utcSeconds(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  return date.getTime() / 1000;
}

function formatTimestamp(seconds: number, micros: number, withZone: boolean): string {
  const date = new Date(seconds * 1000);
  const y = date.getUTCFullYear();
  const year = y > 0 ? String(y).padStart(4, "0") : String(1 - y).padStart(4, "0");
  let out = `${year}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())} ` +
    `${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}:${pad2(date.getUTCSeconds())}`;
  if (micros > 0) out += "." + String(micros).padStart(6, "0").replace(/0+$/, "");
  if (withZone) out += "+00";
  if (y <= 0) out += " BC";
  return out;
}

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

function canonicalJson(s: string): string {
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

function view(raw: Uint8Array): DataView {
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

function normaliseBinary(typeOid: number, raw: Uint8Array): string {
  const n = raw.length;
  switch (typeOid) {
    case OID.bool:
      return n === 1 ? (raw[0] ? "t" : "f") : "\\x" + hexOf(raw);
    case OID.int2:
      if (n === 2) return String(view(raw).getInt16(0));
      break;
    case OID.int4:
    case OID.oid:
      if (n === 4) {
        return String(typeOid === OID.oid ? view(raw).getUint32(0) : view(raw).getInt32(0));
      }
      break;
    case OID.int8:
      if (n === 8) return view(raw).getBigInt64(0).toString();
      break;
    case OID.float4:
      if (n === 4) return canonicalFloat(view(raw).getFloat32(0), 6, "");
      break;
    case OID.float8:
      if (n === 8) return canonicalFloat(view(raw).getFloat64(0), 15, "");
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
      return "\\x" + hexOf(raw);
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

function binaryNumeric(raw: Uint8Array): string {
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
  const date = new Date((PG_EPOCH_SECONDS + days * 86_400) * 1000);
  const y = date.getUTCFullYear();
  const year = y > 0 ? String(y).padStart(4, "0") : String(1 - y).padStart(4, "0");
  return `${year}-${pad2(date.getUTCMonth() + 1)}-${pad2(date.getUTCDate())}${y <= 0 ? " BC" : ""}`;
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
