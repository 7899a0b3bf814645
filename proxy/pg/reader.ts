/**
 * Promise-based message reading over a Node socket, for the request/response
 * exchanges at connection start (startup, TLS negotiation, authentication).
 * The steady state does not use it: it relays chunks as they arrive.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import { LmsError } from "../../shared/errors.ts";
import { MessageBuffer, type PgMessage } from "./framing.ts";

/** Reads whole messages (or single bytes) from a socket until detached. */
export class SocketReader {
  readonly #socket: Duplex;
  readonly #buffer: MessageBuffer;
  readonly #what: string;
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  #onData = (chunk: Uint8Array) => {
    this.#buffer.push(chunk);
    this.#wake?.();
  };
  #onEnd = () => {
    this.#failure ??= new LmsError("BACKEND_LOST", `${this.#what} closed the connection`);
    this.#wake?.();
  };
  #onError = (err: Error) => {
    this.#failure = new LmsError("BACKEND_LOST", `${this.#what}: ${err.message}`);
    this.#wake?.();
  };

  /**
   * @param socket the socket to read
   * @param maxMessageSize largest accepted message in bytes
   * @param what names the peer in errors, e.g. "client" or "source database"
   */
  constructor(socket: Duplex, maxMessageSize: number, what: string) {
    this.#socket = socket;
    this.#buffer = new MessageBuffer(maxMessageSize);
    this.#what = what;
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onError);
    socket.resume();
  }

  async #until<T>(take: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = take();
      if (value !== undefined) return value;
      if (this.#failure) throw this.#failure;
      const wait = deadline - Date.now();
      if (wait <= 0) {
        throw new LmsError("PROTOCOL_VIOLATION", `timed out waiting for ${this.#what}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }

  /** The next typed message. */
  next(timeoutMs = 30_000): Promise<PgMessage> {
    return this.#until(() => this.#buffer.next(), timeoutMs);
  }

  /** The next untyped startup packet. */
  nextStartup(timeoutMs = 30_000): Promise<PgMessage> {
    return this.#until(() => this.#buffer.nextStartup(), timeoutMs);
  }

  /** The next single byte (the answer to SSLRequest). */
  nextByte(timeoutMs = 30_000): Promise<number> {
    return this.#until(() => {
      if (this.#buffer.pending === 0) return undefined;
      const bytes = this.#buffer.drain();
      if (bytes.length !== 1) {
        throw new LmsError(
          "PROTOCOL_VIOLATION",
          `${this.#what} sent unexpected data after the TLS negotiation byte`,
          "this can be an attempt to inject data before the TLS handshake (CVE-2021-23214)",
        );
      }
      return bytes[0];
    }, timeoutMs);
  }

  /** Bytes received and not consumed. */
  get pending(): number {
    return this.#buffer.pending;
  }

  /** Stops reading; pauses the socket and returns the bytes not yet consumed. */
  detach(): Uint8Array {
    this.#socket.pause();
    this.#socket.removeListener("data", this.#onData);
    this.#socket.removeListener("end", this.#onEnd);
    this.#socket.removeListener("close", this.#onEnd);
    this.#socket.removeListener("error", this.#onError);
    return this.#buffer.drain();
  }
}
