/**
 * How many sessions of this process may be opening their standby
 * connection (the connection to the other database a held session prepares
 * during a consistent cutover, see `core.ts`) at the same time.
 *
 * Without a bound, a pause makes every idle session connect at once: with a
 * few hundred sessions per proxy that floods the target, which is also the
 * state store, and the store's own queries and the replication check time
 * out. Sessions past the bound wait their turn; one whose standby is not
 * ready by the time the drain is reported simply connects when it moves.
 *
 * @module
 */

/** Standby connections opened at once per process. */
export const STANDBY_CONCURRENCY = 16;

/** A FIFO of waiters for a bounded number of slots. */
export class Slots {
  readonly #limit: number;
  #inUse = 0;
  readonly #waiting: (() => void)[] = [];

  /** @param limit how many holders at once */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Slots taken now (for tests and metrics). */
  get inUse(): number {
    return this.#inUse;
  }

  /** Takes a slot if one is free now; call {@linkcode release} once after a true. */
  tryAcquire(): boolean {
    if (this.#inUse >= this.#limit) return false;
    this.#inUse++;
    return true;
  }

  /** Resolves when a slot is free; call {@linkcode release} once after. */
  acquire(): Promise<void> {
    if (this.#inUse < this.#limit) {
      this.#inUse++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Gives the slot to the longest waiter, or frees it. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#inUse--;
  }
}

/** The process's standby slots. */
export const standbySlots: Slots = new Slots(STANDBY_CONCURRENCY);
