/**
 * Splits the byte stream of a translated session's CockroachDB connection
 * into messages without copying them: each message is handed on as a view
 * of the chunk it arrived in, and only a message split across chunks is
 * gathered, into one buffer of its size. (`proxy/pg/framing.ts`'s
 * `MessageBuffer` copies every message, which is a copy per result row
 * here.)
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";

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
