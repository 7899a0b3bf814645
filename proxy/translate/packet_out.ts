/**
 * Builds the MySQL packets of one response in a single growing buffer:
 * headers with consecutive sequence ids, payloads written field by field,
 * payloads of 16 MiB and more split as the protocol requires. Result sets
 * are written here row by row, so its writers are the hot path of every
 * translated statement.
 *
 * @module
 */

import { MAX_PACKET_PAYLOAD } from "../mysql/constants.ts";

const encoder = new TextEncoder();

/** See the module documentation. */
export class PacketOut {
  #buf = new Uint8Array(1024);
  #len = 0;
  #start = -1;
  /** Sequence id of the next packet. */
  seq: number;

  /** @param seq the sequence id of the first packet (1 answers a command) */
  constructor(seq = 1) {
    this.seq = seq;
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Starts a packet. */
  begin(): this {
    this.#room(4);
    this.#start = this.#len;
    this.#len += 4;
    return this;
  }

  /** Ends the packet started last: fills its header (splits it when it is too long). */
  end(): this {
    const start = this.#start;
    const length = this.#len - start - 4;
    if (length < MAX_PACKET_PAYLOAD) {
      const b = this.#buf;
      b[start] = length & 0xff;
      b[start + 1] = (length >> 8) & 0xff;
      b[start + 2] = (length >> 16) & 0xff;
      b[start + 3] = this.seq++ & 0xff;
    } else {
      const payload = this.#buf.slice(start + 4, this.#len);
      this.#len = start;
      for (let at = 0;; at += MAX_PACKET_PAYLOAD) {
        const part = payload.subarray(at, at + MAX_PACKET_PAYLOAD);
        this.#room(4 + part.length);
        const b = this.#buf;
        b[this.#len] = part.length & 0xff;
        b[this.#len + 1] = (part.length >> 8) & 0xff;
        b[this.#len + 2] = (part.length >> 16) & 0xff;
        b[this.#len + 3] = this.seq++ & 0xff;
        b.set(part, this.#len + 4);
        this.#len += 4 + part.length;
        if (part.length < MAX_PACKET_PAYLOAD) break;
      }
    }
    this.#start = -1;
    return this;
  }

  /** One byte. */
  u8(v: number): this {
    this.#room(1);
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }

  /** Little-endian 16 bits. */
  u16(v: number): this {
    this.#room(2);
    this.#buf[this.#len++] = v & 0xff;
    this.#buf[this.#len++] = (v >> 8) & 0xff;
    return this;
  }

  /** Little-endian 32 bits. */
  u32(v: number): this {
    this.#room(4);
    const b = this.#buf;
    b[this.#len++] = v & 0xff;
    b[this.#len++] = (v >>> 8) & 0xff;
    b[this.#len++] = (v >>> 16) & 0xff;
    b[this.#len++] = (v >>> 24) & 0xff;
    return this;
  }

  /** Little-endian 64 bits, two's complement. */
  u64(v: bigint): this {
    const u = BigInt.asUintN(64, v);
    return this.u32(Number(u & 0xffffffffn)).u32(Number(u >> 32n));
  }

  /** Little-endian 64 bits, two's complement, of a safe integer (no BigInt on the way). */
  i64(v: number): this {
    const high = Math.floor(v / 2 ** 32);
    return this.u32(v - high * 2 ** 32).u32(high >>> 0);
  }

  /** IEEE 754 single. */
  f32(v: number): this {
    this.#room(4);
    new DataView(this.#buf.buffer).setFloat32(this.#len, v, true);
    this.#len += 4;
    return this;
  }

  /** IEEE 754 double. */
  f64(v: number): this {
    this.#room(8);
    new DataView(this.#buf.buffer).setFloat64(this.#len, v, true);
    this.#len += 8;
    return this;
  }

  /** Zero bytes. */
  zeros(n: number): this {
    this.#room(n);
    this.#buf.fill(0, this.#len, this.#len + n);
    this.#len += n;
    return this;
  }

  /** Raw bytes. */
  bytes(b: Uint8Array): this {
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** The bytes `src[at, at + len)`. */
  range(src: Uint8Array, at: number, len: number): this {
    this.#room(len);
    const b = this.#buf;
    let to = this.#len;
    if (len > 16) b.set(src.subarray(at, at + len), to);
    else for (let i = at; i < at + len; i++) b[to++] = src[i];
    this.#len += len;
    return this;
  }

  /** ORs `bits` into the byte already written at `at` (a NULL bitmap filled in as values go). */
  orByte(at: number, bits: number): this {
    this.#buf[at] |= bits;
    return this;
  }

  /** Makes room for `n` more bytes at once (a result set whose size is known roughly). */
  reserve(n: number): this {
    this.#room(n);
    return this;
  }

  /** UTF-8 text without a length. */
  str(s: string): this {
    this.#room(s.length * 3);
    const { written } = encoder.encodeInto(s, this.#buf.subarray(this.#len));
    this.#len += written;
    return this;
  }

  /** A length-encoded integer. */
  lenenc(v: number): this {
    if (v < 251) return this.u8(v);
    if (v < 0x10000) return this.u8(0xfc).u16(v);
    if (v < 0x1000000) return this.u8(0xfd).u16(v & 0xffff).u8(v >> 16);
    return this.u8(0xfe).u32(v >>> 0).u32(Math.floor(v / 2 ** 32));
  }

  /** A length-encoded UTF-8 string. */
  lenencStr(s: string): this {
    // ASCII, the common case, needs no second pass.
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (!ascii) return this.lenencBytes(encoder.encode(s));
    this.lenenc(s.length);
    this.#room(s.length);
    const b = this.#buf;
    for (let i = 0; i < s.length; i++) b[this.#len++] = s.charCodeAt(i);
    return this;
  }

  /** Length-encoded bytes. */
  lenencBytes(b: Uint8Array): this {
    return this.lenenc(b.length).bytes(b);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** Takes everything written (packets ended); the writer must not be used afterwards. */
  take(): Uint8Array {
    const out = this.#buf.subarray(0, this.#len);
    this.#buf = new Uint8Array(0);
    this.#len = 0;
    return out;
  }
}
