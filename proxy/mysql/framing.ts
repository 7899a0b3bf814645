/**
 * MySQL packet framing: a 3-byte little-endian payload length and a 1-byte
 * sequence id before every payload. A payload of 16 MiB - 1 bytes continues
 * in the next packet (sequence id + 1); the logical packet ends with the first
 * shorter one, possibly empty.
 *
 * Two readers: {@link PacketSplitter} buffers whole physical packets (the
 * client leg and the handshake, where the proxy looks at or rewrites
 * packets), {@link PacketScanner} looks at packets as they stream past without
 * keeping them (the database leg of the command phase, where result sets flow).
 * Both enforce the logical size limit and the sequence of continuation packets.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";
import { MAX_PACKET_PAYLOAD } from "./constants.ts";

/** The peer broke the framing rules; the session must end. */
export class FramingError extends LmsError {}

/** One physical packet. */
export interface Packet {
  /** Sequence id. */
  seq: number;
  /**
   * Payload: a view of the received chunk (or of the buffer the splitter
   * joined a split packet into), which the splitter never writes again, so
   * it may be kept; a caller that changes it must copy it first.
   */
  payload: Uint8Array;
  /** Header and payload as received. */
  raw: Uint8Array;
  /** True when this packet continues an earlier one of the same logical packet. */
  continuation: boolean;
  /** True when a further packet continues this one. */
  continues: boolean;
}

function tooLarge(side: string, size: number, max: number): FramingError {
  return new FramingError(
    "MESSAGE_TOO_LARGE",
    `${side} sent a packet of at least ${size} bytes, above the limit of ${max} bytes (LMS_MAX_MESSAGE_SIZE)`,
    "send smaller values, or raise LMS_MAX_MESSAGE_SIZE",
  );
}

class Continuity {
  #logical = 0;
  #expectSeq = -1;

  constructor(readonly side: string, readonly max: number) {}

  /**
   * Checks one header; returns whether the packet continues an earlier one.
   * With `commit` false it only checks (for a packet not fully received yet).
   */
  header(length: number, seq: number, commit = true): boolean {
    const continuation = this.#expectSeq >= 0;
    if (continuation && seq !== this.#expectSeq) {
      throw new FramingError(
        "PROTOCOL_VIOLATION",
        `${this.side} sent packet sequence id ${seq} in a split packet where ${this.#expectSeq} belongs`,
        "the client library is broken or the connection was corrupted; reconnect",
      );
    }
    const logical = (continuation ? this.#logical : 0) + length;
    if (logical > this.max) throw tooLarge(this.side, logical, this.max);
    if (!commit) return continuation;
    this.#logical = logical;
    this.#expectSeq = length === MAX_PACKET_PAYLOAD ? (seq + 1) & 0xff : -1;
    return continuation;
  }

  get inside(): boolean {
    return this.#expectSeq >= 0;
  }
}

/** Splits a byte stream into whole physical packets. */
export class PacketSplitter {
  readonly #continuity: Continuity;
  /** Received bytes not yet returned as packets, in arrival order. */
  #parts: Uint8Array[] = [];
  #partsLength = 0;
  /** Bytes the packet at the front needs (header included), once its header is known. */
  #need = 0;

  /**
   * @param side names the peer in errors ("client", "source database")
   * @param maxLogical largest logical packet accepted, in bytes
   */
  constructor(side: string, maxLogical: number) {
    this.#continuity = new Continuity(side, maxLogical);
  }

  /** Bytes received but not yet part of a whole packet. */
  get pending(): number {
    return this.#partsLength;
  }

  /** Whether the stream is between logical packets. */
  get atBoundary(): boolean {
    return this.#partsLength === 0 && !this.#continuity.inside;
  }

  /** Takes the bytes not yet returned as packets (when handing the stream on). */
  takeRest(): Uint8Array {
    const rest = this.#joined();
    this.#parts = [];
    this.#partsLength = 0;
    this.#need = 0;
    return rest;
  }

  #joined(): Uint8Array {
    if (this.#parts.length === 1) return this.#parts[0];
    const out = new Uint8Array(this.#partsLength);
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    this.#parts = [out];
    return out;
  }

  /**
   * Adds `chunk` and returns every packet it completed.
   *
   * @throws {FramingError} on a packet above the limit or a broken continuation
   */
  push(chunk: Uint8Array): Packet[] {
    this.#parts.push(chunk);
    this.#partsLength += chunk.length;
    // A large packet arrives in many chunks: join them once, when it is whole.
    if (this.#need > 0 && this.#partsLength < this.#need) return [];
    const buf = this.#joined();
    const out: Packet[] = [];
    let at = 0;
    this.#need = 0;
    while (buf.length - at >= 4) {
      const length = buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16);
      if (buf.length - at < 4 + length) {
        // Refuse an oversized packet before buffering it.
        this.#continuity.header(length, buf[at + 3], false);
        this.#need = 4 + length;
        break;
      }
      const seq = buf[at + 3];
      const continuation = this.#continuity.header(length, seq);
      // Plain views: a socket's chunks are node Buffers, whose subarray() costs far more.
      const raw = new Uint8Array(buf.buffer, buf.byteOffset + at, 4 + length);
      out.push({
        seq,
        payload: new Uint8Array(buf.buffer, buf.byteOffset + at + 4, length),
        raw,
        continuation,
        continues: length === MAX_PACKET_PAYLOAD,
      });
      at += 4 + length;
    }
    const rest = at === buf.length ? undefined : buf.slice(at);
    this.#parts = rest ? [rest] : [];
    this.#partsLength = rest?.length ?? 0;
    return out;
  }
}

/**
 * What {@link PacketScanner} reports for each physical packet, at its end:
 * the first `min(length, prefixLimit)` payload bytes are `bytes[start, end)`.
 * `bytes` is the scanned chunk itself when the packet arrived whole (no copy,
 * no view allocated per packet: result sets are mostly rows nobody reads), or
 * the scanner's own buffer; either way it is valid only during the call.
 */
export type PacketListener = (
  seq: number,
  length: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  continuation: boolean,
) => void;

/**
 * What the listener lets {@link PacketScanner} skip: while `inRows`, an
 * ordinary row (a whole packet not starting with 0xFE or 0xFF, the only
 * first bytes that can end or fail a result set) is not reported; the
 * scanner only stores its sequence id in `lastSeq`.
 */
export interface RowSkipping {
  /** The listener waits for the end of a result set's rows. */
  readonly inRows: boolean;
  /** Sequence id of the last packet seen. */
  lastSeq: number;
}

/** Looks at packets streaming past, keeping at most `prefixLimit` bytes of each. */
export class PacketScanner {
  readonly #continuity: Continuity;
  readonly #prefixLimit: number;
  readonly #onPacket: PacketListener;
  readonly #rows: RowSkipping | undefined;
  #header = new Uint8Array(4);
  #headerFill = 0;
  #length = 0;
  #seq = 0;
  #left = -1;
  #continuation = false;
  #prefix = new Uint8Array(64);
  #prefixFill = 0;
  /** Offset in the chunk being scanned just after the packet last reported. */
  packetEnd = 0;

  /**
   * @param side names the peer in errors
   * @param maxLogical largest logical packet accepted
   * @param prefixLimit how many payload bytes of each packet to hand over
   * @param onPacket called once per physical packet, when its last byte arrived
   * @param rows when given, ordinary rows are skipped while `rows.inRows`
   */
  constructor(
    side: string,
    maxLogical: number,
    prefixLimit: number,
    onPacket: PacketListener,
    rows?: RowSkipping,
  ) {
    this.#continuity = new Continuity(side, maxLogical);
    this.#prefixLimit = prefixLimit;
    this.#onPacket = onPacket;
    this.#rows = rows;
  }

  /** Whether the stream is between logical packets. */
  get atBoundary(): boolean {
    return this.#headerFill === 0 && this.#left < 0 && !this.#continuity.inside;
  }

  /**
   * Scans `chunk`, calling the listener for every packet it completes.
   *
   * @throws {FramingError} on a packet above the limit or a broken continuation
   */
  scan(chunk: Uint8Array): void {
    const n = chunk.length;
    let at = 0;
    while (at < n) {
      if (this.#left < 0) {
        if (this.#headerFill === 0 && n - at >= 4) {
          this.#length = chunk[at] | (chunk[at + 1] << 8) | (chunk[at + 2] << 16);
          this.#seq = chunk[at + 3];
          at += 4;
        } else {
          const h = this.#header;
          while (this.#headerFill < 4 && at < n) h[this.#headerFill++] = chunk[at++];
          if (this.#headerFill < 4) return;
          this.#headerFill = 0;
          this.#length = h[0] | (h[1] << 8) | (h[2] << 16);
          this.#seq = h[3];
        }
        const length = this.#length;
        const continuation = this.#continuity.header(length, this.#seq);
        if (n - at >= length) {
          // The common case: the whole packet is in this chunk; hand over a window of it.
          const start = at;
          at += length;
          const rows = this.#rows;
          if (rows?.inRows && !continuation && length > 0) {
            const first = chunk[start];
            if (first !== 0xfe && first !== 0xff) {
              rows.lastSeq = this.#seq;
              continue;
            }
          }
          this.packetEnd = at;
          this.#onPacket(
            this.#seq,
            length,
            chunk,
            start,
            start + Math.min(length, this.#prefixLimit),
            continuation,
          );
          continue;
        }
        this.#continuation = continuation;
        this.#left = length;
        const keep = Math.min(length, this.#prefixLimit);
        if (this.#prefix.length < keep) this.#prefix = new Uint8Array(keep);
        this.#prefixFill = 0;
      }
      const take = Math.min(this.#left, n - at);
      const keep = Math.min(take, Math.min(this.#length, this.#prefixLimit) - this.#prefixFill);
      if (keep > 0) {
        this.#prefix.set(chunk.subarray(at, at + keep), this.#prefixFill);
        this.#prefixFill += keep;
      }
      at += take;
      this.#left -= take;
      if (this.#left === 0) {
        this.#left = -1;
        this.packetEnd = at;
        this.#onPacket(
          this.#seq,
          this.#length,
          this.#prefix,
          0,
          this.#prefixFill,
          this.#continuation,
        );
      }
    }
  }
}
