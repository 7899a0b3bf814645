/**
 * Splits the byte stream of a translated session's CockroachDB connection
 * into messages without copying them: each message is handed on as a view
 * of the chunk it arrived in, and only a message split across chunks is
 * gathered, into one buffer of its size. (`proxy/pg/framing.ts`'s
 * `MessageBuffer` copies every message, which is a copy per result row
 * here.) And the decoders of the message bodies the connection keeps:
 * RowDescription, ErrorResponse and NoticeResponse.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";
import { readCString, readInt16, readInt32 } from "../pg/messages.ts";
import type { PgField, PgNotice } from "./target_connection.ts";

/** Receives one message: its type byte and body (valid until the chunk is let go). */
export type OnMessage = (type: number, body: Uint8Array) => void;

/** See the module documentation. */
export class MessageWalker {
  readonly #max: number;
  /** A message that arrived in part; sized to the whole message once its length is known. */
  #partial: Uint8Array | undefined;
  #have = 0;

  /** @param maxMessageSize the largest message length accepted */
  constructor(maxMessageSize: number) {
    this.#max = maxMessageSize;
  }

  /**
   * Hands every message `chunk` completes to `onMessage`, in order.
   *
   * @throws {LmsError} `PROTOCOL_VIOLATION` for a length word that is out of range
   */
  push(chunk: Uint8Array, onMessage: OnMessage): void {
    let at = this.#partial ? this.#continue(chunk, onMessage) : 0;
    while (chunk.length - at >= 5) {
      const end = at + 1 + this.#length(chunk, at);
      if (end > chunk.length) break;
      onMessage(chunk[at], chunk.subarray(at + 5, end));
      at = end;
    }
    if (at < chunk.length) this.#keep(chunk.subarray(at));
  }

  #length(buf: Uint8Array, at: number): number {
    const length =
      ((buf[at + 1] << 24) | (buf[at + 2] << 16) | (buf[at + 3] << 8) | buf[at + 4]) >>>
      0;
    if (length < 4 || length > this.#max) {
      throw new LmsError(
        "PROTOCOL_VIOLATION",
        `the target database sent a message (type byte ${buf[at]}) with the invalid length ` +
          `${length}`,
        "check that INIT_TARGET names CockroachDB or PostgreSQL",
      );
    }
    return length;
  }

  /** Starts a partial message with `bytes` (the start of it). */
  #keep(bytes: Uint8Array): void {
    const whole = bytes.length < 5 ? new Uint8Array(5) : new Uint8Array(1 + this.#length(bytes, 0));
    whole.set(bytes);
    this.#partial = whole;
    this.#have = bytes.length;
  }

  /** Feeds the partial message from `chunk`; returns where the rest of `chunk` starts. */
  #continue(chunk: Uint8Array, onMessage: OnMessage): number {
    let partial = this.#partial!;
    let at = 0;
    if (this.#have < 5) {
      // The length word itself was split: complete it, then size the buffer.
      at = Math.min(chunk.length, 5 - this.#have);
      partial.set(chunk.subarray(0, at), this.#have);
      this.#have += at;
      if (this.#have < 5) return at;
      const whole = new Uint8Array(1 + this.#length(partial, 0));
      whole.set(partial);
      partial = this.#partial = whole;
    }
    const take = Math.min(chunk.length - at, partial.length - this.#have);
    partial.set(chunk.subarray(at, at + take), this.#have);
    this.#have += take;
    at += take;
    if (this.#have < partial.length) return at;
    this.#partial = undefined;
    this.#have = 0;
    onMessage(partial[0], partial.subarray(5));
    return at;
  }
}

/** The columns of a RowDescription. */
export function decodeRowDescription(body: Uint8Array): PgField[] {
  const n = readInt16(body, 0);
  const fields: PgField[] = [];
  let at = 2;
  for (let i = 0; i < n; i++) {
    const [name, next] = readCString(body, at);
    at = next;
    const tableOid = readInt32(body, at) >>> 0;
    const typeOid = readInt32(body, at + 6) >>> 0;
    const typmod = readInt32(body, at + 12);
    at += 18;
    fields.push({ name, typeOid, typmod, tableOid });
  }
  return fields;
}

/** The fields of an ErrorResponse or NoticeResponse. */
export function decodeNotice(body: Uint8Array): PgNotice {
  const f = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at]);
    const [value, next] = readCString(body, at + 1);
    f.set(code, value);
    at = next;
  }
  return {
    sqlstate: f.get("C") ?? "XX000",
    message: f.get("M") ?? "unknown error",
    detail: f.get("D"),
    constraint: f.get("n"),
    table: f.get("t"),
    column: f.get("c"),
    severity: f.get("V") ?? f.get("S"),
  };
}
