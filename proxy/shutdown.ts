/**
 * Draining a proxy's sessions on SIGTERM.
 *
 * The pause gate of a consistent cutover already does the hard part: once it
 * is closed, a session between transactions holds its next request instead of
 * sending it, and a transaction already running goes on to its end. Shutdown
 * closes the gate for good and disconnects each session as soon as it is
 * quiescent, so work the client sent after that point is dropped unexecuted
 * and retrying it on another proxy is safe. Sessions still busy when the
 * grace period ends are cut; their database rolls back the open transaction.
 *
 * @module
 */

import type { Logger } from "../shared/log.ts";
import type { Gate } from "./gate.ts";
import type { SessionRegistry } from "./session/registry.ts";

/**
 * Why sessions are disconnected; the client sees `LMS: <reason>` with SQLSTATE
 * 57P01 (PostgreSQL) or error 1053 ER_SERVER_SHUTDOWN (MySQL).
 */
export const SHUTDOWN_REASON = "proxy is shutting down; reconnect";

/** Gate id while shutting down, shown where a cutover id would be. */
const SHUTDOWN_PAUSE_ID = "shutdown";

/**
 * Sessions end on their own too (the client leaves) without telling the gate,
 * so the drain also looks every so often.
 */
const SWEEP_INTERVAL_MS = 100;

/** What {@linkcode drainSessions} works on. */
export interface DrainOptions {
  /** The proxy's pause gate; it stays closed afterwards. */
  gate: Gate;
  /** Live sessions; terminated sessions remove themselves. */
  sessions: SessionRegistry;
  /** How long open transactions may run on, in milliseconds. */
  graceMs: number;
  /** Logger for the outcome. */
  log: Logger;
}

/** How the drain went. */
export interface DrainOutcome {
  /** Sessions disconnected between transactions. */
  disconnected: number;
  /** Sessions cut at the end of the grace period, mid-transaction or mid-request. */
  cut: number;
}

/**
 * Closes the gate, disconnects every session once it is between transactions,
 * and cuts whatever is left after `graceMs`. Resolves when no session is left.
 */
export async function drainSessions(options: DrainOptions): Promise<DrainOutcome> {
  const { gate, sessions } = options;
  gate.pause(SHUTDOWN_PAUSE_ID);
  let disconnected = 0;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const sweep = () => {
    for (const session of [...sessions]) {
      if (!session.drained) continue;
      session.terminate(SHUTDOWN_REASON);
      disconnected++;
    }
    if (sessions.size === 0) finish();
  };
  const unsubscribe = gate.subscribe(sweep);
  const interval = setInterval(sweep, SWEEP_INTERVAL_MS);
  const deadline = setTimeout(finish, options.graceMs);
  sweep();
  await finished;
  unsubscribe();
  clearInterval(interval);
  clearTimeout(deadline);
  const left = [...sessions];
  for (const session of left) session.terminate(SHUTDOWN_REASON);
  if (left.length > 0) {
    options.log.warn("grace period over; cut sessions still in a transaction or request", {
      sessions: left.map((s) => s.id),
      graceMs: options.graceMs,
    });
  }
  return { disconnected, cut: left.length };
}
