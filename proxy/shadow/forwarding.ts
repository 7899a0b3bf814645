/**
 * When the client's bytes reach the shadow database, whatever the wire.
 *
 * `async`: at once; the shadow's socket buffer may grow up to
 * `maxQueueBytes`, past which the session stops shadowing (counted) rather
 * than slow the client or grow without bound. `sync` and `strict-sync`: a
 * request reaches the shadow only once the source of truth has answered it,
 * so the shadow takes row locks in the order the source of truth granted
 * them and two sessions can never wait for each other across the two
 * databases (a deadlock neither database could see). The exception is a
 * request the wire marks as taking no locks on a session that holds none
 * (outside a transaction, nothing in flight): it goes to both at once, so the
 * client waits for the slower database rather than for both in turn. Until
 * the shadow connection is open, bytes are kept, bounded the same way.
 *
 * The wire's link tells it where requests begin (the session's scanner
 * knows) and when the source of truth answered one.
 *
 * @module
 */

import type { ShadowContext } from "./pairing.ts";

/** The shadow connection as the forwarder writes to it. */
export interface ShadowSink {
  /** Writes bytes to the shadow database. */
  write(chunk: Uint8Array): unknown;
  /** Bytes written but not yet sent. */
  readonly writableLength: number;
}

/** See the module documentation. */
export class ShadowForwarder {
  readonly #ctx: ShadowContext;
  readonly #overflow: (reason: string) => void;
  #sink: ShadowSink | undefined;
  #before: Uint8Array[] = [];
  #beforeBytes = 0;
  /** `sync`/`strict-sync`: whole requests waiting for the source of truth to answer them. */
  #waiting: Uint8Array[][] = [];
  /** `sync`/`strict-sync`: the bytes of the latest request, still arriving. */
  #current: Uint8Array[] = [];
  /** Requests the source of truth answered whose bytes have not gone to the shadow yet. */
  #answered = 0;
  /** Requests sent to the shadow before the source of truth answered them (at most one). */
  #early = 0;
  #dropped = false;

  /**
   * @param ctx the proxy's shadow settings
   * @param overflow called (once the drop is counted) when the shadow fell too far behind
   */
  constructor(ctx: ShadowContext, overflow: (reason: string) => void) {
    this.#ctx = ctx;
    this.#overflow = overflow;
  }

  /** The shadow connection is open: what was kept goes out first. */
  connected(sink: ShadowSink): void {
    this.#sink = sink;
    const before = this.#before;
    this.discard();
    for (const chunk of before) {
      if (this.#dropped) return;
      this.#write(chunk);
    }
  }

  /**
   * Client bytes, after they went to the source of truth.
   *
   * @param requestStarts offsets in `chunk` where a new request begins; negative
   *   when a request began that many bytes before this chunk
   * @param lockFree the last request of `chunk` begins at its last start, ends
   *   with the chunk, takes no locks, and the source of truth had nothing in
   *   flight when it arrived: it may go to the shadow at once
   */
  send(chunk: Uint8Array, requestStarts: readonly number[], lockFree = false): void {
    if (this.#ctx.mode === "async") {
      this.#sendNow(chunk);
      return;
    }
    const last = requestStarts.length - 1;
    if (lockFree && last >= 0 && requestStarts[last] >= 0) {
      const at = requestStarts[last];
      this.#enqueue(chunk.subarray(0, at), requestStarts.slice(0, last));
      if (this.#current.length > 0) this.#waiting.push(this.#current);
      this.#current = [];
      if (this.#waiting.length === 0 && this.#answered === 0) {
        this.#early++;
        this.#sendNow(chunk.subarray(at));
        return;
      }
      this.#current.push(chunk.subarray(at));
      this.#forwardAnswered();
      return;
    }
    this.#enqueue(chunk, requestStarts);
    this.#forwardAnswered();
  }

  /** Splits `chunk` into the requests waiting for the source of truth's answer. */
  #enqueue(chunk: Uint8Array, requestStarts: readonly number[]): void {
    let from = 0;
    for (const at of requestStarts) {
      const carried = at < 0 ? this.#takeTail(-at) : [];
      if (at > from) this.#current.push(chunk.subarray(from, at));
      if (this.#current.length > 0) this.#waiting.push(this.#current);
      this.#current = carried;
      from = Math.max(at, 0);
    }
    if (from < chunk.length) this.#current.push(chunk.subarray(from));
  }

  /** `sync`/`strict-sync`: the source of truth answered the oldest request not yet forwarded. */
  answered(): void {
    // The oldest request in flight was sent early (nothing was in flight before it).
    if (this.#early > 0) {
      this.#early--;
      return;
    }
    this.#answered++;
    this.#forwardAnswered();
  }

  /** Forgets the bytes kept before the connection opened (releasing their queue count). */
  discard(): void {
    this.#ctx.metrics.addQueueBytes(-this.#beforeBytes);
    this.#before = [];
    this.#beforeBytes = 0;
  }

  /** Removes and returns the last `n` bytes of the current request. */
  #takeTail(n: number): Uint8Array[] {
    const tail: Uint8Array[] = [];
    while (n > 0 && this.#current.length > 0) {
      const last = this.#current.pop()!;
      if (last.length <= n) {
        tail.unshift(last);
        n -= last.length;
      } else {
        this.#current.push(last.subarray(0, last.length - n));
        tail.unshift(last.subarray(last.length - n));
        n = 0;
      }
    }
    return tail;
  }

  /** Sends the shadow every request the source of truth has answered. */
  #forwardAnswered(): void {
    while (this.#answered > 0) {
      let request = this.#waiting.shift();
      if (!request) {
        if (this.#current.length === 0) return;
        request = this.#current;
        this.#current = [];
      }
      this.#answered--;
      for (const part of request) this.#sendNow(part);
    }
  }

  /** Writes to the shadow, or keeps the bytes (bounded) until it is connected. */
  #sendNow(chunk: Uint8Array): void {
    if (!this.#sink) {
      this.#before.push(chunk);
      this.#beforeBytes += chunk.length;
      this.#ctx.metrics.addQueueBytes(chunk.length);
      if (this.#beforeBytes > this.#ctx.maxQueueBytes) this.drop();
      return;
    }
    this.#write(chunk);
  }

  #write(chunk: Uint8Array): void {
    const sink = this.#sink!;
    sink.write(chunk);
    if (this.#ctx.mode === "async" && sink.writableLength > this.#ctx.maxQueueBytes) this.drop();
  }

  /** The shadow fell more than `maxQueueBytes` behind: counts it (once) and stops shadowing. */
  drop(): void {
    if (this.#dropped) return;
    this.#dropped = true;
    this.#ctx.metrics.droppedSession();
    this.#ctx.stats.recordDroppedSession();
    this.#overflow(
      `the shadow fell more than ${this.#ctx.maxQueueBytes} bytes behind; ` +
        "shadowing stops for this session",
    );
  }
}
