/**
 * Order-independent digest of a result's rows, built while the rows stream
 * past, so results beyond the row limit still compare (by digest) at the cost
 * of a few multiplications per character and no memory.
 *
 * Each row hashes its values' keys (`valueKey`) into two 32-bit lanes; the
 * rows' hashes are summed, so row order does not matter and equal multisets
 * give equal digests. Every wire's decoder feeds the same keys, so a MySQL
 * and a PostgreSQL result of the same rows have the same digest.
 *
 * @module
 */

import type { NeutralValue } from "./result.ts";
import { valueKey } from "./values.ts";

// Module state rather than fields: the row hash is hot, and one row is hashed at a time.
let h1 = 0;
let h2 = 0;

function unit(c: number): void {
  h1 = Math.imul(h1 ^ c, 0x01000193);
  h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  h2 ^= h2 >>> 15;
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}

/** The running digest of one result's rows. */
export class RowDigest {
  #lo = 0;
  #hi = 0;

  /** Starts the next row; its values follow, then {@linkcode endRow}. */
  beginRow(): void {
    h1 = 0x811c9dc5;
    h2 = 0x9747b28c;
  }

  /** Adds the next value of the current row. */
  value(v: NeutralValue): void {
    if (v === null) unit(0x1_0001);
    else this.key(valueKey(v));
  }

  /** Adds the next value of the current row by its key. */
  key(k: string): void {
    for (let i = 0; i < k.length; i++) unit(k.charCodeAt(i));
    unit(0x1_0000);
  }

  /**
   * Adds the next value of the current row from the bytes of its key, without
   * decoding them: for wire renderings that already are the key (integer and
   * text renderings). Returns false, adding nothing, when the bytes are not
   * all ASCII; the caller then decodes the value and adds it.
   */
  asciiKey(bytes: Uint8Array, from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (bytes[i] >= 0x80) return false;
    for (let i = from; i < to; i++) unit(bytes[i]);
    unit(0x1_0000);
    return true;
  }

  /** Ends the current row. */
  endRow(): void {
    this.#lo = (this.#lo + h1) | 0;
    this.#hi = (this.#hi + h2) | 0;
  }

  /** The digest of the rows so far, as 16 hex digits. */
  hex(): string {
    return hex32(this.#hi) + hex32(this.#lo);
  }
}
