/**
 * Encoding and decoding of MySQL packet contents: the 4-byte header,
 * length-encoded integers and strings, and the OK, ERR and EOF packets.
 *
 * @module
 */

import { MAX_PACKET_PAYLOAD, type ProxyErrorCode, Status } from "./constants.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Wraps `payload` in packets starting at sequence id `seq`, splitting it at
 * 16 MiB - 1 (a payload of exactly that length is followed by an empty packet).
 */
export function packet(seq: number, payload: Uint8Array): Uint8Array {
  const parts = Math.floor(payload.length / MAX_PACKET_PAYLOAD) + 1;
  const out = new Uint8Array(payload.length + parts * 4);
  let at = 0;
  for (let i = 0; i < parts; i++) {
    const start = i * MAX_PACKET_PAYLOAD;
    const len = Math.min(MAX_PACKET_PAYLOAD, payload.length - start);
    out[at] = len & 0xff;
    out[at + 1] = (len >> 8) & 0xff;
    out[at + 2] = (len >> 16) & 0xff;
    out[at + 3] = (seq + i) & 0xff;
    out.set(payload.subarray(start, start + len), at + 4);
    at += 4 + len;
  }
  return out;
}

/** Builds payloads from parts. */
export class PayloadWriter {
  #parts: number[] = [];

  /** Appends one byte. */
  u8(v: number): this {
    this.#parts.push(v & 0xff);
    return this;
  }

  /** Appends a little-endian 16-bit integer. */
  u16(v: number): this {
    return this.u8(v).u8(v >> 8);
  }

  /** Appends a little-endian 32-bit integer. */
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }

  /** Appends raw bytes. */
  bytes(b: Uint8Array): this {
    for (const x of b) this.#parts.push(x);
    return this;
  }

  /** Appends `n` zero bytes. */
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.#parts.push(0);
    return this;
  }

  /** Appends a UTF-8 string without terminator. */
  str(s: string): this {
    return this.bytes(encoder.encode(s));
  }

  /** Appends a NUL-terminated string. */
  cstr(s: string | Uint8Array): this {
    return (typeof s === "string" ? this.str(s) : this.bytes(s)).u8(0);
  }

  /** Appends a length-encoded integer. */
  lenenc(v: number): this {
    if (v < 251) return this.u8(v);
    if (v < 0x10000) return this.u8(0xfc).u16(v);
    if (v < 0x1000000) return this.u8(0xfd).u16(v & 0xffff).u8(v >> 16);
    return this.u8(0xfe).u32(v >>> 0).u32(Math.floor(v / 2 ** 32));
  }

  /** Appends a length-encoded string. */
  lenencBytes(b: Uint8Array): this {
    return this.lenenc(b.length).bytes(b);
  }

  /** The payload built so far. */
  build(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

/** A payload that ended before a field it must hold. */
export class TruncatedPayload extends Error {
  /** @param what the field that was cut off */
  constructor(what: string) {
    super(`packet too short: ${what} is cut off`);
  }
}

/** Reads fields from a payload, front to back. */
export class PayloadReader {
  readonly #b: Uint8Array;
  /** Offset of the next unread byte. */
  pos: number;

  /**
   * @param payload the packet payload
   * @param pos where to start
   */
  constructor(payload: Uint8Array, pos = 0) {
    this.#b = payload;
    this.pos = pos;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#b.length - this.pos;
  }

  #need(n: number, what: string): void {
    if (this.pos + n > this.#b.length) throw new TruncatedPayload(what);
  }

  /** Reads one byte. */
  u8(what = "a byte"): number {
    this.#need(1, what);
    return this.#b[this.pos++];
  }

  /** Reads a little-endian 16-bit integer. */
  u16(what = "a 2-byte integer"): number {
    this.#need(2, what);
    const v = this.#b[this.pos] | (this.#b[this.pos + 1] << 8);
    this.pos += 2;
    return v;
  }

  /** Reads a little-endian 32-bit integer. */
  u32(what = "a 4-byte integer"): number {
    this.#need(4, what);
    const b = this.#b, p = this.pos;
    this.pos += 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  /** Reads `n` bytes. */
  bytes(n: number, what = "a field"): Uint8Array {
    this.#need(n, what);
    const v = this.#b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** Reads everything left. */
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  /** Reads a NUL-terminated string (or to the end when no NUL follows and `lenient`). */
  cstrBytes(what = "a string", lenient = false): Uint8Array {
    const end = this.#b.indexOf(0, this.pos);
    if (end < 0) {
      if (!lenient) throw new TruncatedPayload(`${what} (no terminating NUL)`);
      return this.rest();
    }
    const v = this.#b.subarray(this.pos, end);
    this.pos = end + 1;
    return v;
  }

  /** Reads a NUL-terminated UTF-8 string. */
  cstr(what = "a string", lenient = false): string {
    return decoder.decode(this.cstrBytes(what, lenient));
  }

  /** Reads a length-encoded integer (values above 2^53 lose precision; none used here are). */
  lenenc(what = "a length-encoded integer"): number {
    const first = this.u8(what);
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16(what);
    if (first === 0xfd) return this.u16(what) | (this.u8(what) << 16);
    if (first === 0xfe) return this.u32(what) + this.u32(what) * 2 ** 32;
    throw new TruncatedPayload(`${what} (invalid first byte 0x${first.toString(16)})`);
  }

  /** Reads a length-encoded string. */
  lenencBytes(what = "a length-encoded string"): Uint8Array {
    return this.bytes(this.lenenc(what), what);
  }
}

/** Decodes UTF-8 bytes. */
export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Encodes a string as UTF-8. */
export function bytesOf(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The fields of an OK packet (or an OK-as-EOF packet) the proxy uses. */
export interface OkPacket {
  affectedRows: number;
  lastInsertId: number;
  status: number;
  warnings: number;
  /** Schema changes reported through session tracking (`SESSION_TRACK_SCHEMA`). */
  schema?: string;
}

/** Decodes an OK packet (header 0x00, or 0xFE when it ends a result set). */
export function decodeOk(payload: Uint8Array, sessionTrack: boolean): OkPacket {
  const r = new PayloadReader(payload, 1);
  const ok: OkPacket = {
    affectedRows: r.lenenc("affected rows"),
    lastInsertId: r.lenenc("last insert id"),
    status: r.remaining >= 2 ? r.u16() : 0,
    warnings: r.remaining >= 2 ? r.u16() : 0,
  };
  if (sessionTrack && (ok.status & Status.SESSION_STATE_CHANGED) && r.remaining > 0) {
    r.lenencBytes("info");
    const end = r.pos + (r.remaining > 0 ? r.lenenc("session state") : 0);
    while (r.pos < end) {
      const type = r.u8("session state type");
      const data = new PayloadReader(r.lenencBytes("session state data"));
      // SESSION_TRACK_SCHEMA
      if (type === 1) ok.schema = utf8(data.lenencBytes("schema"));
    }
  }
  return ok;
}

/** The status flags of a classic EOF packet. */
export function eofStatus(payload: Uint8Array): number {
  return payload.length >= 5 ? payload[3] | (payload[4] << 8) : 0;
}

/** An ERR packet's fields. */
export interface ErrPacket {
  code: number;
  sqlState: string;
  message: string;
}

/** Decodes an ERR packet (header 0xFF, CLIENT_PROTOCOL_41 layout). */
export function decodeErr(payload: Uint8Array): ErrPacket {
  const r = new PayloadReader(payload, 1);
  const code = r.u16("error code");
  let sqlState = "HY000";
  if (r.remaining > 0 && payload[r.pos] === 0x23) {
    r.u8();
    sqlState = utf8(r.bytes(Math.min(5, r.remaining)));
  }
  return { code, sqlState, message: utf8(r.rest()) };
}

/** An ERR packet payload. */
export function errPayload(err: ProxyErrorCode, message: string): Uint8Array {
  return new PayloadWriter().u8(0xff).u16(err.code).str("#").str(err.state).str(message).build();
}

/** An OK packet payload. */
export function okPayload(status: number, affectedRows = 0): Uint8Array {
  return new PayloadWriter().u8(0x00).lenenc(affectedRows).lenenc(0).u16(status).u16(0)
    .build();
}
