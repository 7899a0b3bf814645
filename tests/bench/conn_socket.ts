/**
 * A candidate relay transport of `deno task bench relay`: a `Deno.Conn`
 * behind the Node `Duplex` interface the proxy's wires use, so it could
 * replace `node:net` without touching them.
 *
 * Why it was tried: Deno's `node:net` socket reads until the kernel says
 * EAGAIN, so every message received costs two `recvfrom` calls where
 * `Deno.Conn` (and PgBouncer) make one. Measured in the proxy (backend leg),
 * it saved that call but cost more JS per chunk (stream machinery, a copy)
 * and ~4 KiB more per idle connection, for no CPU gain per transaction; see
 * tests/bench/README.md.
 *
 * A pending read holds its buffer, and an idle session always has one
 * pending: so each connection owns only a small buffer (zero-filled, hence
 * resident), and a read that fills it is followed by one into a large buffer
 * borrowed from a pool shared by all connections for the length of that read.
 * A chunk handed on is a copy of just the bytes read, because listeners may
 * keep it (held requests, answers waiting for the shadow).
 *
 * Only plain TCP could go through it: TLS needs a real `net.Socket` underneath.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { Buffer } from "node:buffer";

/** Each connection's own read buffer: enough for a typical OLTP answer. */
const SMALL_READ = 1024;
/** The pooled buffers for reads after one that filled the small buffer. */
const LARGE_READ = 64 * 1024;
/** Large buffers not lent to a read right now. */
const largePool: Uint8Array[] = [];
/** Most large buffers kept for reuse; more are left to the garbage collector. */
const LARGE_POOL_MAX = 16;

function returnLarge(buf: Uint8Array): void {
  if (largePool.length < LARGE_POOL_MAX) largePool.push(buf);
}

/** A TCP `Deno.Conn` as a Node `Duplex`; see the module documentation. */
export class ConnSocket extends Duplex {
  readonly #conn: Deno.TcpConn;
  readonly #small: Uint8Array = new Uint8Array(SMALL_READ);
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
    let buf = this.#small;
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          if (buf !== this.#small) returnLarge(buf);
          this.#reading = false;
          this.push(null);
          return;
        }
        // Buffer, as net.Socket hands out: some listeners use its methods.
        const chunk = Buffer.from(buf.subarray(0, n));
        if (buf !== this.#small) returnLarge(buf);
        buf = n === buf.length ? largePool.pop() ?? new Uint8Array(LARGE_READ) : this.#small;
        if (!this.push(chunk)) break;
      }
    } catch (err) {
      if (!this.#closed) this.destroy(err as Error);
    }
    if (buf !== this.#small) returnLarge(buf);
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
