/**
 * `sync` and `strict-sync`: the source of truth's answers held back until the
 * shadow has answered the same request, then released in order — or, in
 * `strict-sync`, replaced by the shadow's error.
 *
 * The session feeds it the source of truth's bytes (split at each
 * ReadyForQuery end) and asks it to release whenever the shadow makes
 * progress.
 *
 * @module
 */

import { message, readyForQuery } from "./messages.ts";
import type { ShadowLink } from "./shadow_link.ts";

/** What the held answers need from their session. */
export interface AnswerSink {
  /** Writes bytes to the client. */
  toClient(chunk: Uint8Array): void;
  /**
   * `strict-sync` inside a transaction: fails the source of truth's
   * transaction too, so a later COMMIT cannot commit there what the client
   * was told had failed. Returns false when that is not possible now
   * (requests of the client are already in flight behind this one).
   */
  failSourceOfTruthTransaction(): boolean;
  /** Everything held was released: the session may be quiescent now. */
  drained(): void;
}

/** A stretch of one answer. */
interface HeldAnswer {
  parts: Uint8Array[];
  /** It ends with ReadyForQuery. */
  done: boolean;
  /** The answer to a request the proxy made itself; the client never sees it. */
  swallow: boolean;
  /**
   * The client must see this answer before the request can end — it asked
   * for COPY data or sent Flush without Sync — so it streams through and
   * the shadow's verdict cannot replace it any more.
   */
  streaming: boolean;
}

const CHAR_T = 0x54, CHAR_E = 0x45;

/** See the module documentation. */
export class HeldAnswers {
  readonly #sink: AnswerSink;
  #answers: HeldAnswer[] = [];
  /** Offsets in the chunk being scanned where a ReadyForQuery ends. */
  #ends: number[] = [];
  #swallowNext = 0;
  #copyStarted = false;

  /** @param sink the session's side */
  constructor(sink: AnswerSink) {
    this.#sink = sink;
  }

  /** Nothing is held. */
  get empty(): boolean {
    return this.#answers.length === 0;
  }

  /** During the scan of a chunk: a ReadyForQuery ends at `offset`. */
  readyForQueryAt(offset: number): void {
    this.#ends.push(offset);
  }

  /** During the scan of a chunk: the database asked for COPY data, which the client must see. */
  copyStarted(): void {
    this.#copyStarted = true;
  }

  /**
   * Holds a scanned chunk, split at the ReadyForQuery ends reported while it
   * was scanned, then releases what it may.
   *
   * @param flushed the client sent Flush and waits for answers before its Sync
   */
  hold(chunk: Uint8Array, link: ShadowLink | undefined, flushed: boolean): void {
    const ends = this.#ends;
    this.#ends = [];
    const append = (bytes: Uint8Array, done: boolean) => {
      let last = this.#answers.at(-1);
      if (!last || last.done) {
        last = { parts: [], done: false, swallow: this.#swallowNext > 0, streaming: false };
        if (last.swallow) this.#swallowNext--;
        this.#answers.push(last);
      }
      if (bytes.length > 0) last.parts.push(bytes);
      last.done = done;
    };
    let from = 0;
    for (const end of ends) {
      append(chunk.subarray(from, end), true);
      from = end;
    }
    if (from < chunk.length) append(chunk.subarray(from), false);
    if (this.#copyStarted || flushed) {
      const last = this.#answers.at(-1);
      if (last && !last.done) last.streaming = true;
    }
    this.#copyStarted = false;
    this.release(link);
  }

  /** Sends the client every held answer whose shadow verdict is in, in order. */
  release(link: ShadowLink | undefined): void {
    const linked = link?.active === true;
    while (this.#answers.length > 0) {
      const answer = this.#answers[0];
      if (!answer.done && linked) {
        if (answer.streaming && !answer.swallow) {
          for (const part of answer.parts) this.#sink.toClient(part);
          answer.parts = [];
        }
        return;
      }
      if (answer.swallow) {
        if (!answer.done) return;
        this.#answers.shift();
        continue;
      }
      const verdict = linked ? link!.takeVerdict() : undefined;
      if (linked && !verdict) return;
      this.#answers.shift();
      if (verdict?.shadowError && !answer.streaming) {
        this.#answerWithShadowError(answer, verdict.shadowError, link);
      } else for (const part of answer.parts) this.#sink.toClient(part);
      if (this.#answers.length === 0) this.#sink.drained();
    }
  }

  /** `strict-sync`: the shadow failed a request the source of truth completed. */
  #answerWithShadowError(
    answer: HeldAnswer,
    errorBody: Uint8Array,
    link: ShadowLink | undefined,
  ): void {
    const last = answer.parts.at(-1)!;
    let status = last[last.length - 1];
    if (status === CHAR_T && this.#sink.failSourceOfTruthTransaction()) {
      this.#swallowNext++;
      link?.skipNextSourceOfTruthRequest();
      status = CHAR_E;
    }
    this.#sink.toClient(message("E", errorBody));
    this.#sink.toClient(readyForQuery(String.fromCharCode(status) as "I" | "T" | "E"));
  }
}
