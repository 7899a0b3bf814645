/**
 * The pause gate of a consistent cutover. While it is closed, sessions start
 * no new work: a session between transactions holds its next request, a new
 * client waits before it reaches any database, and a transaction already
 * running goes on to its end. Opening the gate releases everything held.
 *
 * A gate closed longer than the maximum pause calls its `onExpired` hook, so
 * the proxy can re-read the state store and resume by itself: losing the
 * orchestrator mid-cutover never leaves the fleet paused or split.
 *
 * @module
 */

/** See the module documentation. */
export class Gate {
  #cutoverId: string | undefined;
  #pausedAt = 0;
  #waiters: { resolve: () => void; since: number }[] = [];
  #listeners = new Set<() => void>();
  #expiryListeners = new Set<() => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #maxPauseMs: number;
  readonly #onExpired: () => void;
  readonly #onReleased: (heldSeconds: number) => void;

  /**
   * @param maxPauseMs how long the gate may stay closed before `onExpired`
   * @param onExpired called once when a pause outlives `maxPauseMs`
   * @param onReleased called for each waiter the gate releases, with how long it was held
   */
  constructor(
    maxPauseMs: number,
    onExpired: () => void,
    onReleased: (heldSeconds: number) => void = () => {},
  ) {
    this.#maxPauseMs = maxPauseMs;
    this.#onExpired = onExpired;
    this.#onReleased = onReleased;
  }

  /** Whether the gate is closed. */
  get paused(): boolean {
    return this.#cutoverId !== undefined;
  }

  /** The cutover that closed the gate. */
  get cutoverId(): string | undefined {
    return this.#cutoverId;
  }

  /** When the gate closed (epoch ms), or 0. */
  get pausedAt(): number {
    return this.#pausedAt;
  }

  /** How long the gate may stay closed before it expires: 0 once expired, null when open. */
  remainingMs(): number | null {
    if (!this.paused) return null;
    return Math.max(0, Math.floor(this.#pausedAt + this.#maxPauseMs - Date.now()));
  }

  /** Subscribes to the pause outliving the maximum pause; returns the unsubscribe function. */
  onExpiry(listener: () => void): () => void {
    this.#expiryListeners.add(listener);
    return () => this.#expiryListeners.delete(listener);
  }

  /** Closes the gate for `cutoverId`; closing it again restarts nothing. */
  pause(cutoverId: string): void {
    if (this.#cutoverId !== undefined) {
      this.#cutoverId = cutoverId;
      return;
    }
    this.#cutoverId = cutoverId;
    this.#pausedAt = Date.now();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.paused) return;
      // Told first: the orchestrator must stop counting this drain before traffic runs again.
      for (const l of this.#expiryListeners) l();
      this.#onExpired();
    }, this.#maxPauseMs);
    this.notify();
  }

  /** Opens the gate and wakes everything that waited. */
  resume(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#cutoverId = undefined;
    this.#pausedAt = 0;
    const waiters = this.#waiters;
    this.#waiters = [];
    const now = performance.now();
    for (const w of waiters) {
      this.#onReleased((now - w.since) / 1000);
      w.resolve();
    }
    this.notify();
  }

  /** Resolves at once when open, else when the gate opens. */
  wait(): Promise<void> {
    if (!this.paused) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ resolve, since: performance.now() }));
  }

  /** Number of callers waiting in {@linkcode wait}. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Subscribes to drain-relevant changes; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells subscribers that a session's drain state changed. */
  notify(): void {
    for (const l of this.#listeners) l();
  }
}
