/**
 * PostgreSQL wire framing: splitting a byte stream into messages.
 *
 * Two readers live here. {@linkcode MessageBuffer} yields whole messages and
 * serves the startup and authentication exchange, where every message is
 * inspected. {@linkcode FrameScanner} serves the steady state: it walks the
 * message headers of each chunk without copying, hands the few message types a
 * session must understand to a callback, and lets the caller forward the chunk
 * in one write. Large messages (COPY data, big rows) stream through without
 * ever being buffered whole.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";

/** A complete message: its type byte (0 for a startup packet) and body. */
export interface PgMessage {
  /** Type byte as a char code; 0 for untyped startup packets. */
  type: number;
  /** The body, without type byte and length word. Valid only during the callback for scanners. */
  body: Uint8Array;
}

/** Raised for bytes that are not a well-formed message stream. */
export class FramingError extends LmsError {
  /** Bytes of the chunk that were well-formed and may still be forwarded. */
  readonly validBytes: number;
  constructor(code: "PROTOCOL_VIOLATION" | "MESSAGE_TOO_LARGE", message: string, validBytes = 0) {
    super(
      code,
      message,
      code === "MESSAGE_TOO_LARGE"
        ? "send smaller messages or raise LMS_MAX_MESSAGE_SIZE"
        : "the client must speak PostgreSQL protocol 3.0",
    );
    this.validBytes = validBytes;
  }
}

function readInt32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

function checkLength(length: number, maxMessageSize: number, type: number, valid: number): void {
  if (length < 4) {
    throw new FramingError(
      "PROTOCOL_VIOLATION",
      `invalid message length ${length} for message type ${describeType(type)}`,
      valid,
    );
  }
  if (length > maxMessageSize) {
    throw new FramingError(
      "MESSAGE_TOO_LARGE",
      `message of ${length} bytes exceeds the limit of ${maxMessageSize} bytes (LMS_MAX_MESSAGE_SIZE)`,
      valid,
    );
  }
}

/** A printable name for a type byte, e.g. `'Q'` or `0x07`. */
export function describeType(type: number): string {
  return type >= 0x20 && type < 0x7f
    ? `'${String.fromCharCode(type)}'`
    : `0x${type.toString(16).padStart(2, "0")}`;
}

/**
 * Accumulates bytes and yields whole messages. Used where every message is
 * looked at: the startup packet (untyped) and the authentication exchange.
 */
export class MessageBuffer {
  #buf: Uint8Array = new Uint8Array(0);
  #maxMessageSize: number;

  /** @param maxMessageSize largest accepted message length in bytes */
  constructor(maxMessageSize: number) {
    this.#maxMessageSize = maxMessageSize;
  }

  /** Appends received bytes. */
  push(chunk: Uint8Array): void {
    if (this.#buf.length === 0) {
      this.#buf = chunk;
      return;
    }
    const next = new Uint8Array(this.#buf.length + chunk.length);
    next.set(this.#buf);
    next.set(chunk, this.#buf.length);
    this.#buf = next;
  }

  /** Bytes received but not yet returned as messages. */
  get pending(): number {
    return this.#buf.length;
  }

  /** Removes and returns every byte not yet consumed. */
  drain(): Uint8Array {
    const rest = this.#buf;
    this.#buf = new Uint8Array(0);
    return rest;
  }

  /** The next typed message, or `undefined` until it has fully arrived. */
  next(): PgMessage | undefined {
    if (this.#buf.length < 5) return undefined;
    const type = this.#buf[0];
    const length = readInt32(this.#buf, 1);
    checkLength(length, this.#maxMessageSize, type, 0);
    if (this.#buf.length < length + 1) return undefined;
    const body = this.#buf.slice(5, length + 1);
    this.#buf = this.#buf.subarray(length + 1);
    return { type, body };
  }

  /** The next untyped startup packet, or `undefined` until it has fully arrived. */
  nextStartup(): PgMessage | undefined {
    if (this.#buf.length < 4) return undefined;
    const length = readInt32(this.#buf, 0);
    if (length < 8 || length > 10_000) throw new UnreadableStartupPacket(length);
    if (this.#buf.length < length) return undefined;
    const body = this.#buf.slice(4, length);
    this.#buf = this.#buf.subarray(length);
    return { type: 0, body };
  }
}

/**
 * A first packet whose length PostgreSQL would not even read, e.g. a
 * Terminate sent before the StartupMessage. PostgreSQL closes such a
 * connection without answering and only logs it; so does the proxy.
 */
export class UnreadableStartupPacket extends FramingError {
  /** @param length the length word the client sent */
  constructor(length: number) {
    super("PROTOCOL_VIOLATION", `invalid startup packet length ${length}`);
    this.name = "UnreadableStartupPacket";
  }
}

/** Decides which message types a scanner hands to its callback whole. */
export type TypeSet = Uint8Array;

/** Builds a 256-entry lookup table from type characters. */
export function typeSet(chars: string): TypeSet {
  const set = new Uint8Array(256);
  for (const c of chars) set[c.charCodeAt(0)] = 1;
  return set;
}

/**
 * Walks the message headers of a byte stream chunk by chunk, without copying
 * message bodies except for the watched types that straddle a chunk border.
 */
export class FrameScanner {
  readonly #watched: TypeSet;
  readonly #allowed: TypeSet | undefined;
  readonly #maxMessageSize: number;
  readonly #onMessage: (type: number, body: Uint8Array) => void;
  /** A header split across chunks; made on the first split, as most scanners never see one. */
  #header: Uint8Array | undefined;
  #headerFill = 0;
  #type = 0;
  #remaining = 0;
  #capture: Uint8Array | undefined;
  #captureFill = 0;
  #messageEnd = 0;

  /**
   * @param watched types delivered to `onMessage` with their whole body
   * @param allowed when set, any other type is a protocol violation
   * @param maxMessageSize largest accepted message length in bytes
   * @param onMessage called synchronously; the body is only valid during the call
   */
  constructor(
    watched: TypeSet,
    allowed: TypeSet | undefined,
    maxMessageSize: number,
    onMessage: (type: number, body: Uint8Array) => void,
  ) {
    this.#watched = watched;
    this.#allowed = allowed;
    this.#maxMessageSize = maxMessageSize;
    this.#onMessage = onMessage;
  }

  /**
   * During an `onMessage` callback: the offset in the chunk being scanned just
   * past the delivered message, so callers can split chunks at message ends.
   */
  get messageEnd(): number {
    return this.#messageEnd;
  }

  /** True when the stream is between two messages. */
  get atBoundary(): boolean {
    return this.#remaining === 0 && this.#headerFill === 0;
  }

  /**
   * Scans one chunk. Throws {@linkcode FramingError} at the first malformed
   * header; its `validBytes` says how much of the chunk preceded it.
   */
  scan(chunk: Uint8Array): void {
    const len = chunk.length;
    let i = 0;
    while (i < len) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, len - i);
        if (this.#capture) {
          this.#capture.set(chunk.subarray(i, i + n), this.#captureFill);
          this.#captureFill += n;
        }
        i += n;
        this.#remaining -= n;
        if (this.#remaining === 0 && this.#capture) {
          const body = this.#capture;
          this.#capture = undefined;
          this.#messageEnd = i;
          this.#onMessage(this.#type, body);
        }
        continue;
      }
      let length: number;
      const start = i;
      if (this.#headerFill === 0 && len - i >= 5) {
        this.#type = chunk[i];
        length = readInt32(chunk, i + 1);
        i += 5;
      } else {
        const n = Math.min(5 - this.#headerFill, len - i);
        const header = this.#header ??= new Uint8Array(5);
        header.set(chunk.subarray(i, i + n), this.#headerFill);
        this.#headerFill += n;
        i += n;
        if (this.#headerFill < 5) return;
        this.#headerFill = 0;
        this.#type = header[0];
        length = readInt32(header, 1);
      }
      const type = this.#type;
      if (this.#allowed && this.#allowed[type] === 0) {
        throw new FramingError(
          "PROTOCOL_VIOLATION",
          `invalid frontend message type ${describeType(type)}`,
          start,
        );
      }
      checkLength(length, this.#maxMessageSize, type, start);
      const bodyLen = length - 4;
      if (this.#watched[type] === 0) {
        this.#remaining = bodyLen;
        continue;
      }
      if (len - i >= bodyLen) {
        this.#messageEnd = i + bodyLen;
        this.#onMessage(type, chunk.subarray(i, i + bodyLen));
        i += bodyLen;
        continue;
      }
      this.#capture = new Uint8Array(bodyLen);
      this.#captureFill = 0;
      this.#remaining = bodyLen;
    }
  }
}
