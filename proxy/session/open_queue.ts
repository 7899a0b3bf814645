/**
 * How many sessions of this process may be opening a connection to the
 * other database at the same time, and in which order: the standby a held
 * session prepares during a consistent cutover (see `core.ts`) and the
 * connection a session opens when it moves.
 *
 * Without a bound, a pause (or a new epoch) makes every idle session connect
 * at once: with a few hundred sessions per proxy that floods the database,
 * which is also the state store, and the store's own queries and the
 * replication check time out. With one first-come queue, the few sessions
 * that have a client request waiting open their connection behind every
 * idle session of the proxy, so the cutover takes as long as all of them.
 *
 * So there are two lanes. An open is *urgent* when its session has a client
 * request waiting (or gets one while it waits: {@linkcode QueuedOpen.hurry});
 * urgent opens go first and may run up to {@linkcode URGENT_CONCURRENCY} at
 * once. Other opens (idle sessions) start only while no urgent open waits
 * and fewer than {@linkcode BACKGROUND_CONCURRENCY} opens of either lane run.
 *
 * Right after a new epoch the idle lane also waits
 * {@linkcode IDLE_MOVE_DELAY_MS} ({@linkcode OpenQueue.holdIdle}): the
 * requests that waited for the cutover then have the new database to
 * themselves. A database logs in only so many sessions a second (about 70
 * on two shared cores); a few hundred idle logins started at the commit
 * would delay every held request behind them.
 *
 * @module
 */

/** Opens of either lane at once before an idle session's open may not start. */
export const BACKGROUND_CONCURRENCY = 4;
/** How long after a new epoch idle sessions' opens wait before they may start. */
export const IDLE_MOVE_DELAY_MS = 1_000;
/** Opens at once, counting both lanes, that urgent ones may take. */
export const URGENT_CONCURRENCY = 64;

/** An open waiting for its turn in an {@linkcode OpenQueue}, or running. */
export interface QueuedOpen<T> {
  /**
   * What the open gave, or undefined when it was cancelled before it
   * started; rejects as the open rejected.
   */
  readonly result: Promise<T | undefined>;
  /** Whether the open has started (it may have finished). */
  readonly started: boolean;
  /** Moves a waiting open to the urgent lane; no effect once started. */
  hurry(): void;
  /** Drops a waiting open (its result is undefined); no effect once started. */
  cancel(): void;
}

interface Entry {
  urgent: boolean;
  run(): void;
  drop(): void;
}

/** See the module documentation. */
export class OpenQueue {
  readonly #background: number;
  readonly #urgentLimit: number;
  #running = 0;
  readonly #urgent: Entry[] = [];
  readonly #idle: Entry[] = [];
  /** Set while the idle lane is held (see holdIdle); it pumps the lane when it fires. */
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param background opens at once (both lanes counted) below which idle sessions' may start
   * @param urgent opens at once (both lanes counted) below which urgent ones may start
   */
  constructor(background: number, urgent: number) {
    this.#background = background;
    this.#urgentLimit = Math.max(urgent, background);
  }

  /** Opens running now (for tests and metrics). */
  get running(): number {
    return this.#running;
  }

  /** Opens waiting for their turn now, both lanes. */
  get waiting(): number {
    return this.#urgent.length + this.#idle.length;
  }

  /**
   * Keeps idle opens from starting for `ms` from now (0 lets them start at
   * once); urgent ones are not held.
   */
  holdIdle(ms: number): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (ms > 0) {
      this.#idleTimer = setTimeout(() => {
        this.#idleTimer = undefined;
        this.#pump();
      }, ms);
      Deno.unrefTimer(this.#idleTimer);
    } else this.#pump();
  }

  /**
   * Queues `open` in the urgent lane or the idle one; it starts at once if
   * its lane has room.
   */
  open<T>(open: () => Promise<T>, urgent: boolean): QueuedOpen<T> {
    let started = false;
    let settle!: (v: T | undefined) => void;
    let fail!: (err: unknown) => void;
    const result = new Promise<T | undefined>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    const entry: Entry = {
      urgent,
      run: () => {
        started = true;
        this.#running++;
        let running: Promise<T>;
        try {
          running = open();
        } catch (err) {
          running = Promise.reject(err);
        }
        running.then(settle, fail).finally(() => {
          this.#running--;
          this.#pump();
        });
      },
      drop: () => settle(undefined),
    };
    (urgent ? this.#urgent : this.#idle).push(entry);
    this.#pump();
    return {
      result,
      get started() {
        return started;
      },
      hurry: () => {
        if (started || entry.urgent || !this.#remove(this.#idle, entry)) return;
        entry.urgent = true;
        this.#urgent.push(entry);
        this.#pump();
      },
      cancel: () => {
        if (started) return;
        if (this.#remove(entry.urgent ? this.#urgent : this.#idle, entry)) entry.drop();
      },
    };
  }

  #remove(lane: Entry[], entry: Entry): boolean {
    const at = lane.indexOf(entry);
    if (at < 0) return false;
    lane.splice(at, 1);
    return true;
  }

  #pump(): void {
    while (this.#urgent.length > 0 && this.#running < this.#urgentLimit) {
      this.#urgent.shift()!.run();
    }
    if (this.#idleTimer !== undefined) return;
    while (
      this.#urgent.length === 0 && this.#idle.length > 0 && this.#running < this.#background
    ) {
      this.#idle.shift()!.run();
    }
  }
}

/** The process's queue of connection opens to the other database. */
export const openQueue: OpenQueue = new OpenQueue(BACKGROUND_CONCURRENCY, URGENT_CONCURRENCY);
