/**
 * The drain bookkeeping of a consistent cutover: how many connected proxies
 * hold a drained ack, and what the coordinator notes in the cutover's progress
 * record and history when a drain times out, blocking sessions are cancelled or
 * terminated, or a proxy resumes by itself. The coordinator
 * ({@linkcode ./coordinator.ts}) decides the state changes that follow.
 *
 * @module
 */

import type { Logger } from "../shared/log.ts";
import { type ActiveCutover, cutoverStatus } from "./active_cutover.ts";
import { drainHolds, type ProxyRegistry } from "./proxies.ts";

/** Where bookkeeping reports what happened: the log and the cutover history. */
export interface CutoverJournal {
  /** Logger. */
  log: Logger;
  /** Appends a history event of the state in force; a failure is only logged. */
  record(step: string, detail: Record<string, unknown>): void;
}

/** Connected proxies, and how many of them hold a drained ack for the cutover. */
export interface DrainCounts {
  /** Proxies with a live control connection. */
  connected: number;
  /** Those whose drained ack for the cutover still holds. */
  drained: number;
}

/** Counts the connected proxies and their drained acks for `cutoverId` now. */
export function drainedCount(registry: ProxyRegistry, cutoverId: string | undefined): DrainCounts {
  const connected = registry.connected();
  const now = Date.now();
  const drained = connected.filter((e) => drainHolds(e.drain, cutoverId, now)).length;
  return { connected: connected.length, drained };
}

/** Whether every connected proxy drained and none resumed by itself. */
export function fleetDrained(counts: DrainCounts, cutover: ActiveCutover): boolean {
  return counts.drained >= counts.connected && cutover.resumed.length === 0;
}

/**
 * After `ms` still draining: marks the drain timed out and reports the
 * sessions blocking it; the fleet stays paused.
 */
export function scheduleDrainTimeout(
  cutover: ActiveCutover,
  registry: ProxyRegistry,
  ms: number,
  stillDraining: () => boolean,
  journal: CutoverJournal,
): void {
  cutover.timers.push(setTimeout(() => {
    if (!stillDraining()) return;
    cutover.drainTimedOut = true;
    const blocking = cutoverStatus(cutover, registry).blocking;
    journal.log.warn("drain timeout: the fleet stays paused; commit is refused until drained", {
      cutoverId: cutover.id,
      blocking: blocking.map((b) => ({
        proxyId: b.proxyId,
        sessionId: b.sessionId,
        user: b.user,
      })),
    });
    journal.record("drain_timeout", { cutoverId: cutover.id, blocking });
  }, ms));
}

/** Notes the sessions a proxy cancelled (or, with `terminate`, terminated) to finish the drain. */
export function noteCancelResult(
  cutover: ActiveCutover,
  proxyId: string,
  terminate: boolean,
  sessionIds: string[],
  journal: CutoverJournal,
): void {
  if (sessionIds.length === 0) return;
  const ids = sessionIds.map((s) => `${proxyId}/${s}`);
  (terminate ? cutover.terminated : cutover.cancelled).push(...ids);
  journal.log.warn(terminate ? "terminated blocking sessions" : "cancelled blocking queries", {
    cutoverId: cutover.id,
    sessions: ids,
  });
  journal.record(terminate ? "terminate_blocking" : "cancel_blocking", {
    cutoverId: cutover.id,
    sessions: ids,
  });
}

/**
 * Notes a proxy that resumed traffic by itself during cutover `cutoverId`:
 * the cutover can no longer commit and its replication check is void.
 */
export function noteSelfResumed(
  cutover: ActiveCutover,
  proxyId: string,
  cutoverId: string,
  journal: CutoverJournal,
): void {
  if (cutover.id !== cutoverId || cutover.resumed.includes(proxyId)) return;
  cutover.resumed.push(proxyId);
  cutover.resumed.sort();
  // Traffic runs on the old source of truth again: a marker seen before proves nothing now.
  cutover.replication?.stop();
  cutover.replication = null;
  journal.log.warn(
    "a proxy resumed traffic by itself (its pause outlived LMS_MAX_PAUSE); this cutover can " +
      "no longer commit: abort it, then begin again",
    { cutoverId, proxyId },
  );
  journal.record("pause_expired", { cutoverId, proxyId });
}
