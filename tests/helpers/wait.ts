/**
 * Polling for tests that wait on something asynchronous (a control channel,
 * an orchestrator's status) without an event to await.
 *
 * @module
 */

/** How long {@linkcode waitFor} keeps trying, and how often. */
export interface WaitOptions {
  /** Give up after this long (default 15 s, for a loaded machine). */
  timeoutMs?: number;
  /** Pause between tries (default 25 ms). */
  intervalMs?: number;
}

/**
 * Calls `fn` until it returns a truthy value and returns that value; throws
 * `timed out waiting for <what>` once `timeoutMs` passed. A number is taken
 * as `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions | number = {},
): Promise<T> {
  const { timeoutMs = 15_000, intervalMs = 25 } = typeof options === "number"
    ? { timeoutMs: options }
    : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
