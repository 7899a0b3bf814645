/**
 * A `Deno.Conn` behind the Node `Duplex` interface the wires use.
 *
 * Why: Deno's `node:net` socket reads until the kernel says EAGAIN, so every
 * message received costs two `recvfrom` calls where `Deno.Conn` (and
 * PgBouncer) make one. On a request/response protocol that is one wasted
 * system call per message per leg, which the relay microbenchmark
 * (`deno task bench relay`) shows as CPU per transaction. Reads go into one
 * buffer reused while the chunks stay small; a chunk handed on is a copy of
 * just the bytes read, because listeners may keep it (held requests, answers
 * waiting for the shadow).
 *
 * Only plain TCP goes through here: TLS keeps the `node:tls` path, which
 * needs a real `net.Socket` underneath.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { Buffer } from "node:buffer";

/** Bytes read per `read` call; a larger message arrives in several chunks. */
const READ_SIZE = 64 * 1024;

/** A TCP `Deno.Conn` as a Node `Duplex`; see the module documentation. */
export class ConnSocket extends Duplex {
  readonly #conn: Deno.TcpConn;
  readonly #buf: Uint8Array = new Uint8Array(READ_SIZE);
  #reading = false;
  #closed = false;
  /** The peer's address, as `net.Socket` has it. */
  readonly remoteAddress: string;
  /** The peer's port, as `net.Socket` has it. */
  readonly remotePort: number;

  /** @param conn a connected TCP connection, owned from now on */
  constructor(conn: Deno.TcpConn) {
    super({ allowHalfOpen: false, decodeStrings: false });
    this.#conn = conn;
    const addr = conn.remoteAddr;
    this.remoteAddress = addr.hostname;
    this.remotePort = addr.port;
  }

  /** Turns Nagle's algorithm off (or on), like `net.Socket.setNoDelay`. */
  setNoDelay(noDelay = true): this {
    this.#conn.setNoDelay(noDelay);
    return this;
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    const buf = this.#buf;
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          this.#reading = false;
          this.push(null);
          return;
        }
        // Buffer, as net.Socket hands out: some listeners use its methods.
        if (!this.push(Buffer.from(buf.subarray(0, n)))) break;
      }
    } catch (err) {
      if (!this.#closed) this.destroy(err as Error);
    }
    this.#reading = false;
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    done: (err?: Error | null) => void,
  ): void {
    this.#writeAll(chunk).then(() => done(), done);
  }

  override _writev(
    chunks: { chunk: Uint8Array }[],
    done: (err?: Error | null) => void,
  ): void {
    this.#writeAll(Buffer.concat(chunks.map((c) => c.chunk))).then(() => done(), done);
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) at += await this.#conn.write(bytes.subarray(at));
  }

  override _final(done: (err?: Error | null) => void): void {
    this.#conn.closeWrite().then(() => done(), () => done());
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#close();
    done(err);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Closed by the peer already.
    }
  }
}
