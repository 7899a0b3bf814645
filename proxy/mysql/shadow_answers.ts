/**
 * `sync` and `strict-sync` for the MySQL wire: the source of truth's answer
 * to each command held back until the shadow has answered the same command,
 * then released in order — or, in `strict-sync`, replaced by the shadow's
 * ERR when the shadow failed a command the source of truth completed.
 *
 * The session says, in command order, which answers get a verdict
 * ({@linkcode MySqlHeldAnswers.expect}; the proxy's own answers and
 * uncompared commands do not), feeds the source of truth's bytes split where
 * each answer ends, and asks to release whenever the shadow makes progress.
 *
 * @module
 */

import { packet } from "./packets.ts";
import type { MySqlShadowLink } from "./shadow_link.ts";

/** What the held answers need from their session. */
export interface MySqlAnswerSink {
  /** Writes bytes to the client. */
  toClient(chunk: Uint8Array): void;
  /** Everything held was released: the session may be quiescent now. */
  drained(): void;
}

interface HeldAnswer {
  parts: Uint8Array[];
  /** The answer's last packet arrived. */
  done: boolean;
  /** It waits for the shadow's verdict. */
  paired: boolean;
  /**
   * The client must see it before it can end (the database asked for a
   * LOAD DATA LOCAL file): it streams through, and no verdict replaces it.
   */
  streaming: boolean;
}

/** See the module documentation. */
export class MySqlHeldAnswers {
  readonly #sink: MySqlAnswerSink;
  readonly #expected: boolean[] = [];
  #answers: HeldAnswer[] = [];
  /** Offsets in the chunk being scanned where an answer ends. */
  #ends: number[] = [];

  /** @param sink the session's side */
  constructor(sink: MySqlAnswerSink) {
    this.#sink = sink;
  }

  /** Nothing is held. */
  get empty(): boolean {
    return this.#answers.length === 0;
  }

  /** A command whose answer comes next in order; `paired` when it gets a verdict. */
  expect(paired: boolean): void {
    this.#expected.push(paired);
  }

  /** During the scan of a chunk: an answer ends at `offset`. */
  answerEndsAt(offset: number): void {
    this.#ends.push(offset);
  }

  /** The scanned chunk is not held: forget where its answers ended. */
  forgetEnds(): void {
    this.#ends.length = 0;
  }

  /**
   * Holds a scanned chunk, split where answers ended, then releases what it may.
   *
   * @param streaming the database waits for the client inside the current answer
   */
  hold(chunk: Uint8Array, link: MySqlShadowLink | undefined, streaming: boolean): void {
    const ends = this.#ends;
    this.#ends = [];
    let from = 0;
    for (const end of ends) {
      this.#append(chunk.subarray(from, end), true);
      from = end;
    }
    if (from < chunk.length) this.#append(chunk.subarray(from), false);
    if (streaming) {
      const last = this.#answers.at(-1);
      if (last && !last.done) last.streaming = true;
    }
    this.release(link);
  }

  /** An answer the proxy made itself, complete, in its turn. */
  synthetic(bytes: Uint8Array, link: MySqlShadowLink | undefined): void {
    this.#append(bytes, true);
    this.release(link);
  }

  #append(bytes: Uint8Array, done: boolean): void {
    let last = this.#answers.at(-1);
    if (!last || last.done) {
      last = { parts: [], done: false, paired: this.#expected.shift() ?? false, streaming: false };
      this.#answers.push(last);
    }
    if (bytes.length > 0) last.parts.push(bytes);
    last.done = done;
  }

  /** Sends the client every held answer whose verdict is in (or needs none), in order. */
  release(link: MySqlShadowLink | undefined): void {
    const linked = link?.active === true;
    while (this.#answers.length > 0) {
      const answer = this.#answers[0];
      if (!answer.done) {
        if (answer.streaming || !linked) {
          for (const part of answer.parts) this.#sink.toClient(part);
          answer.parts = [];
        }
        return;
      }
      const verdict = answer.paired && linked ? link!.takeVerdict() : undefined;
      if (answer.paired && linked && !verdict) return;
      this.#answers.shift();
      if (verdict?.shadowError && !answer.streaming) {
        this.#sink.toClient(packet(1, verdict.shadowError));
      } else for (const part of answer.parts) this.#sink.toClient(part);
      if (this.#answers.length === 0) this.#sink.drained();
    }
  }
}
