/**
 * SIGINT/SIGTERM handling shared by the proxy and the orchestrator.
 *
 * The first signal starts the graceful stop. Ctrl-C under `deno task` (or
 * any wrapper sharing the terminal's process group) delivers SIGINT twice
 * within milliseconds: once from the terminal to the whole process group and
 * once forwarded by the wrapper. Both are the same request, so a signal that
 * arrives within {@linkcode REPEAT_WINDOW_MS} of the first is only logged.
 * A signal sent later, after the grace period has visibly begun, is the
 * operator asking again: it skips the wait.
 *
 * @module
 */

import type { Logger } from "./log.ts";

/** Signals closer together than this count as one delivery of the same request. */
export const REPEAT_WINDOW_MS = 1000;

/** The signals that stop an LMS process. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** What {@linkcode onStopSignals} does on each signal. */
export interface StopSignalHandlers {
  /** Starts the graceful stop; called once, for the first signal. */
  graceful(signal: Deno.Signal): void;
  /** Ends the process without waiting; called for a signal sent after the window. */
  immediate(signal: Deno.Signal): void;
  /** Logs the repeated and the forcing signals. */
  log: Logger;
  /** What the process waits for, for the log: e.g. "open transactions". */
  waitingFor: string;
  /** The window; {@linkcode REPEAT_WINDOW_MS} by default. */
  repeatWindowMs?: number;
}

/**
 * Listens for SIGINT and SIGTERM and applies the rule in the module
 * documentation. Returns a function that removes the listeners.
 */
export function onStopSignals(handlers: StopSignalHandlers): () => void {
  const windowMs = handlers.repeatWindowMs ?? REPEAT_WINDOW_MS;
  let firstAt: number | undefined;
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = () => {
      const now = performance.now();
      if (firstAt === undefined) {
        firstAt = now;
        handlers.graceful(signal);
        return;
      }
      const sinceFirstMs = Math.round(now - firstAt);
      if (sinceFirstMs < windowMs) {
        handlers.log.info("repeated stop signal ignored: the stop is already under way", {
          signal,
          sinceFirstMs,
          rule: `a further signal at least ${windowMs} ms after the first exits at once`,
        });
        return;
      }
      handlers.log.warn(`second stop signal: exiting without waiting for ${handlers.waitingFor}`, {
        signal,
        sinceFirstMs,
      });
      handlers.immediate(signal);
    };
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  };
}
