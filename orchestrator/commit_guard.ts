/**
 * The last check before a consistent commit is stored: every connected proxy
 * confirms, now, that it is still drained for the cutover and that its pause
 * has time to spare.
 *
 * Without it a commit could rest on a drain ack that no longer holds: a proxy
 * whose pause outlives `LMS_MAX_PAUSE` re-reads the store and resumes on the
 * old source of truth, and if the commit is stored after that read, writes
 * reach the old source of truth after the new one was stored. A proxy that
 * confirms with time to spare cannot read the store before the commit is in
 * it, and once it is, a proxy that resumes by itself resumes on the new side.
 *
 * @module
 */

import { CommandError } from "./command_error.ts";
import type { ProxyRegistry } from "./proxies.ts";

/** Options of {@linkcode confirmFleetDrained}. */
export interface CommitGuardOptions {
  /** How long to wait for every proxy's answer. */
  timeoutMs: number;
  /** Pause time each proxy must still have once its answer is in, for the store write. */
  marginMs: number;
}

/** The proxies whose answers showed their drain no longer holds. */
export interface CommitGuardRefusal {
  /** The error to answer the commit with. */
  error: CommandError;
  /** Proxies that answered not paused or with no pause time left: they resume by themselves. */
  resumed: string[];
}

/**
 * Asks the fleet to confirm its drain for `cutoverId`. Null when the commit
 * may be stored; otherwise why not.
 */
export async function confirmFleetDrained(
  registry: ProxyRegistry,
  cutoverId: string,
  options: CommitGuardOptions,
): Promise<CommitGuardRefusal | null> {
  const { answers, missing } = await registry.confirmDrains(cutoverId, options.timeoutMs);
  const now = performance.now();
  if (missing.length > 0) {
    return {
      resumed: [],
      error: new CommandError(
        "NOT_DRAINED",
        `${missing.join(", ")} did not confirm ${
          missing.length === 1 ? "its" : "their"
        } drain within ${options.timeoutMs} ms, so the commit was not stored`,
        "check those proxies' control channel (`status`: connected, lastHeartbeatAt) and retry " +
          "the commit; abort if they stay unreachable",
      ),
    };
  }
  const resumed: string[] = [];
  const undrained: string[] = [];
  const tight: string[] = [];
  for (const [proxyId, a] of [...answers].sort(([x], [y]) => x.localeCompare(y))) {
    const left = a.pauseRemainingMs === null ? Infinity : a.pauseRemainingMs - (now - a.receivedAt);
    if (!a.paused) resumed.push(proxyId);
    else if (!a.drained) undrained.push(proxyId);
    else if (left < options.marginMs) tight.push(proxyId);
  }
  if (resumed.length > 0) {
    return {
      resumed,
      error: new CommandError(
        "NOT_DRAINED",
        `${resumed.join(", ")} no longer ${
          resumed.length === 1 ? "holds its" : "hold their"
        } pause (it outlived LMS_MAX_PAUSE), so this cutover's drain no longer holds`,
        "run `cutover consistent abort`, then `cutover consistent begin` again " +
          "(raise LMS_MAX_PAUSE on the proxies if the pause must last longer)",
      ),
    };
  }
  if (undrained.length > 0) {
    return {
      resumed,
      error: new CommandError(
        "NOT_DRAINED",
        `${undrained.join(", ")} ${undrained.length === 1 ? "is" : "are"} not drained any more`,
        "wait until `status` shows the fleet drained again, then retry the commit",
      ),
    };
  }
  if (tight.length > 0) {
    return {
      resumed,
      error: new CommandError(
        "NOT_DRAINED",
        `the pause of ${tight.join(", ")} ends within ${options.marginMs} ms (LMS_MAX_PAUSE); ` +
          "a commit stored now could race the proxies resuming by themselves",
        "run `cutover consistent abort`, then `cutover consistent begin` again and commit " +
          "sooner (or raise LMS_MAX_PAUSE on the proxies)",
      ),
    };
  }
  return null;
}
