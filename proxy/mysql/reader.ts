/**
 * Promise-based packet reading over a socket, for the handshake and
 * authentication exchanges at connection start. The command phase does not
 * use it: it relays packets as they arrive.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import { LmsError } from "../../shared/errors.ts";
import { concatBytes } from "../../shared/bytes.ts";
import { type Packet, PacketSplitter } from "./framing.ts";

/** Reads whole physical packets from a socket until detached. */
export class PacketReader {
  readonly #socket: Duplex;
  readonly #splitter: PacketSplitter;
  readonly #what: string;
  readonly #queue: Packet[] = [];
  readonly #wakers = new Set<() => void>();
  #failure: Error | undefined;
  #onData = (chunk: Uint8Array) => {
    try {
      for (const p of this.#splitter.push(chunk)) {
        this.#queue.push({ ...p, raw: p.raw.slice(), payload: p.raw.slice(4) });
      }
    } catch (err) {
      this.#failure = err as Error;
    }
    this.#wakeAll();
  };
  #onEnd = () => {
    this.#failure ??= new LmsError(
      "BACKEND_LOST",
      `the ${this.#what} closed the connection`,
      "check the logs of that side",
    );
    this.#wakeAll();
  };
  #onError = (err: Error) => {
    this.#failure = new LmsError("BACKEND_LOST", `the ${this.#what}: ${err.message}`);
    this.#wakeAll();
  };

  /**
   * @param socket the socket to read
   * @param maxPacket largest logical packet accepted
   * @param what names the peer in errors, e.g. "client" or "source database"
   */
  constructor(socket: Duplex, maxPacket: number, what: string) {
    this.#socket = socket;
    this.#splitter = new PacketSplitter(what, maxPacket);
    this.#what = what;
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onError);
    socket.resume();
  }

  #wakeAll(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  /** Whether a packet is waiting. */
  get ready(): boolean {
    return this.#queue.length > 0;
  }

  /** Bytes or packets received and not consumed. */
  get pending(): number {
    return this.#splitter.pending + this.#queue.length;
  }

  /**
   * The next packet.
   *
   * @throws {LmsError} when the peer closed, broke the framing or said nothing for `timeoutMs`
   */
  async next(timeoutMs = 30_000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const packet = this.take();
      if (packet) return packet;
      const wait = deadline - Date.now();
      if (wait <= 0) {
        throw new LmsError(
          "PROTOCOL_VIOLATION",
          `timed out after ${timeoutMs} ms waiting for the ${this.#what}`,
          "check that the peer speaks the MySQL protocol",
        );
      }
      await this.waitReady(wait);
    }
  }

  /**
   * The next packet if one is waiting.
   *
   * @throws {LmsError} when none is and the peer closed or broke the framing
   */
  take(): Packet | undefined {
    const packet = this.#queue.shift();
    if (packet) return packet;
    if (this.#failure) throw this.#failure;
    return undefined;
  }

  /** Resolves (never rejects) once a packet or a failure is there, or after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<void> {
    if (this.#queue.length > 0 || this.#failure) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.#wakers.add(wake);
    });
  }

  /** Stops reading; pauses the socket and returns the bytes not consumed (whole packets first). */
  detach(): Uint8Array {
    this.#wakeAll();
    this.#socket.pause();
    this.#socket.removeListener("data", this.#onData);
    this.#socket.removeListener("end", this.#onEnd);
    this.#socket.removeListener("close", this.#onEnd);
    this.#socket.removeListener("error", this.#onError);
    const parts = [...this.#queue.map((p) => p.raw), this.#splitter.takeRest()];
    this.#queue.length = 0;
    return concatBytes(parts);
  }
}
