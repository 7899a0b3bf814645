/**
 * Shadow work that yields to client traffic, for `async` shadowing.
 *
 * The proxy is one thread. Decoding both databases' answers and comparing
 * them costs more than forwarding a request, so when that work runs in the
 * same callback as the forwarding, every client waits for every session's
 * shadow work that happens to be due before its own answer: near the
 * proxy's capacity (a transaction is three requests, each read, decoded and
 * compared twice) that queue, not the databases, was most of what the
 * client waited. A {@linkcode ShadowBacklog} keeps the bytes instead (a
 * reference, no copy) and processes them in a `setImmediate` callback, which
 * the event loop runs only after the socket callbacks already due: source of
 * truth answers go to their clients first. Each turn processes at most
 * {@linkcode TURN_BUDGET_MS} of work and leaves the rest for the next turn, so
 * a client answer that becomes due meanwhile waits that long at most.
 *
 * Order is kept per session (client bytes, then either database's answers as
 * they arrived), which is all the pairing needs. A backlog holds at most
 * `maxBytes`; past that the session stops shadowing, as an `async` shadow
 * that falls behind always did.
 *
 * @module
 */

import { setImmediate } from "node:timers";

/** Where a kept chunk came from (the PostgreSQL wire's tags; a wire may use its own). */
export type BacklogSource = "client" | "source of truth" | "shadow";

/** Processes one kept chunk; `at` is `performance.now()` when it arrived. */
export type BacklogHandler<From extends string = BacklogSource> = (
  from: From,
  chunk: Uint8Array,
  at: number,
) => void;

/** Longest run of shadow work between two looks at the sockets, in ms. */
export const TURN_BUDGET_MS = 0.5;

/** What the turn needs of a backlog, whatever its tags. */
interface Drainable {
  drain(): void;
}

const due: Drainable[] = [];
let scheduled = false;

function runTurn(): void {
  scheduled = false;
  const start = performance.now();
  const turn = due.splice(0);
  for (let i = 0; i < turn.length; i++) {
    if (performance.now() - start > TURN_BUDGET_MS) {
      for (let j = i; j < turn.length; j++) schedule(turn[j]);
      return;
    }
    turn[i].drain();
  }
}

function schedule(backlog: Drainable): void {
  due.push(backlog);
  if (!scheduled) {
    scheduled = true;
    setImmediate(runTurn);
  }
}

/**
 * One session's shadow work, kept until the event loop has nothing more
 * urgent; `From` tags each chunk with what it is (where it came from).
 */
export class ShadowBacklog<From extends string = BacklogSource> {
  readonly #handler: BacklogHandler<From>;
  readonly #maxBytes: number;
  readonly #overflow: () => void;
  readonly #counted: (delta: number) => void;
  readonly #from: From[] = [];
  readonly #chunks: Uint8Array[] = [];
  readonly #at: number[] = [];
  #head = 0;
  #bytes = 0;
  #due = false;
  #discarded = false;

  /**
   * @param handler processes each chunk, in arrival order
   * @param maxBytes bytes it may hold before `overflow` is called
   * @param overflow called once when more than `maxBytes` are kept
   * @param counted told of every change of the bytes kept (the queue gauge)
   */
  constructor(
    handler: BacklogHandler<From>,
    maxBytes: number,
    overflow: () => void,
    counted: (delta: number) => void,
  ) {
    this.#handler = handler;
    this.#maxBytes = maxBytes;
    this.#overflow = overflow;
    this.#counted = counted;
  }

  /** Keeps `chunk` for later; the caller must not change it afterwards. */
  add(from: From, chunk: Uint8Array): void {
    if (this.#discarded) return;
    this.#from.push(from);
    this.#chunks.push(chunk);
    this.#at.push(performance.now());
    this.#bytes += chunk.length;
    this.#counted(chunk.length);
    if (this.#bytes > this.#maxBytes) {
      this.discard();
      this.#overflow();
      return;
    }
    if (!this.#due) {
      this.#due = true;
      schedule(this);
    }
  }

  /** Processes everything kept (called by the turn; also usable to flush at once). */
  drain(): void {
    this.#due = false;
    // The handler may discard (a malformed answer stops the link).
    while (!this.#discarded && this.#head < this.#chunks.length) {
      const i = this.#head++;
      const chunk = this.#chunks[i];
      this.#bytes -= chunk.length;
      this.#counted(-chunk.length);
      this.#handler(this.#from[i], chunk, this.#at[i]);
    }
    this.#clear();
  }

  /** Forgets what is kept and keeps nothing more. */
  discard(): void {
    this.#discarded = true;
    this.#counted(-this.#bytes);
    this.#bytes = 0;
    this.#clear();
  }

  /** Empties the arrays in place: a busy session refills them every turn. */
  #clear(): void {
    this.#from.length = 0;
    this.#chunks.length = 0;
    this.#at.length = 0;
    this.#head = 0;
  }
}
