/**
 * A MySQL byte stream as logical packets: whole physical packets
 * (`framing.ts`), with the 16 MiB continuations of a large one joined, for
 * readers that decode every payload (the shadow's result collectors).
 *
 * @module
 */

import { PacketSplitter } from "./framing.ts";

/** See the module documentation. */
export class LogicalPackets {
  readonly #splitter: PacketSplitter;
  #parts: Uint8Array[] = [];

  /**
   * @param side names the peer in errors
   * @param maxLogical largest logical packet accepted
   */
  constructor(side: string, maxLogical: number) {
    this.#splitter = new PacketSplitter(side, maxLogical);
  }

  /**
   * The payloads of the logical packets `chunk` completes (views: decode them
   * before the next push).
   *
   * @throws {FramingError} on a packet above the limit or a broken continuation
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const p of this.#splitter.push(chunk)) {
      if (!p.continues && this.#parts.length === 0) {
        out.push(p.payload);
        continue;
      }
      this.#parts.push(p.payload.slice());
      if (p.continues) continue;
      const joined = new Uint8Array(this.#parts.reduce((n, x) => n + x.length, 0));
      let at = 0;
      for (const x of this.#parts) {
        joined.set(x, at);
        at += x.length;
      }
      this.#parts = [];
      out.push(joined);
    }
    return out;
  }
}
