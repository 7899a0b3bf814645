/**
 * Encodes one extended-protocol batch of a translated session into a single
 * buffer: per step Parse (for text), Bind, Describe (when the columns are
 * not known), Execute; then Sync. One buffer means one socket write per
 * statement, where a message per `serialize` call meant a corked write of
 * three to five. Parameters go in text format, byte values in binary format
 * (BYTEA), results come back in text format: as `pg-protocol`'s serializer
 * encodes them (`tests/unit/translate_pg_batch_test.ts` compares the two).
 *
 * @module
 */

import type { PgStep } from "./target_connection.ts";

const encoder = new TextEncoder();
/** Longest text tried as ASCII before the encoder is used. */
const SHORT_TEXT = 64;

/** A growing buffer of PostgreSQL messages. */
class Writer {
  buf: Uint8Array;
  len = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Starts a message; returns where its length word goes. */
  begin(type: number): number {
    this.room(5);
    this.buf[this.len] = type;
    this.len += 5;
    return this.len - 4;
  }

  /** Fills the length word of the message started at `at`. */
  end(at: number): void {
    this.int32At(at, this.len - at);
  }

  int32At(at: number, v: number): void {
    const b = this.buf;
    b[at] = v >>> 24;
    b[at + 1] = (v >>> 16) & 0xff;
    b[at + 2] = (v >>> 8) & 0xff;
    b[at + 3] = v & 0xff;
  }

  byte(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }

  int16(v: number): void {
    this.room(2);
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }

  int32(v: number): void {
    this.room(4);
    this.int32At(this.len, v);
    this.len += 4;
  }

  /** UTF-8 text; returns its length in bytes. */
  text(s: string): number {
    this.room(s.length * 3);
    // Names and most parameters are short ASCII: copied here, without a call into the encoder.
    if (s.length <= SHORT_TEXT) {
      const b = this.buf;
      const start = this.len;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        b[start + i] = c;
      }
      if (i === s.length) {
        this.len += i;
        return i;
      }
    }
    const { written } = encoder.encodeInto(s, this.buf.subarray(this.len));
    this.len += written;
    return written;
  }

  cstring(s: string): void {
    this.text(s);
    this.byte(0);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

const PARSE = 0x50;
const BIND = 0x42;
const DESCRIBE = 0x44;
const EXECUTE = 0x45;
const SYNC = 0x53;

function bind(w: Writer, statement: string, params: PgStep["params"]): void {
  const at = w.begin(BIND);
  w.cstring("");
  w.cstring(statement);
  w.int16(params.length);
  for (const v of params) w.int16(v instanceof Uint8Array ? 1 : 0);
  w.int16(params.length);
  for (const v of params) {
    if (v === null) w.int32(-1);
    else if (typeof v === "string") {
      const lengthAt = w.len;
      w.int32(0);
      w.int32At(lengthAt, w.text(v));
    } else {
      w.int32(v.length);
      w.bytes(v);
    }
  }
  // One result format code for every column: text.
  w.int16(1);
  w.int16(0);
  w.end(at);
}

/** The messages of `steps` and the closing Sync, in one buffer. */
export function encodeBatch(steps: readonly PgStep[]): Uint8Array {
  const w = new Writer(256);
  for (const step of steps) {
    if (step.sql !== undefined) {
      const at = w.begin(PARSE);
      w.cstring("");
      w.cstring(step.sql);
      const types = step.paramTypes ?? [];
      w.int16(types.length);
      for (const t of types) w.int32(t);
      w.end(at);
    }
    bind(w, step.statement ?? "", step.params);
    if (step.fields === undefined) {
      const at = w.begin(DESCRIBE);
      w.byte(0x50); // 'P': the portal
      w.cstring("");
      w.end(at);
    }
    const at = w.begin(EXECUTE);
    w.cstring("");
    w.int32(0);
    w.end(at);
  }
  w.end(w.begin(SYNC));
  return w.buf.subarray(0, w.len);
}
