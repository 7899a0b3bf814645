/**
 * The consistent cutover in progress, as the orchestrator tracks it between
 * `begin` and `commit`/`abort`: its progress record, its timers (drain
 * timeout, cancel escalation, drain expiry) and how `status` shows it. The
 * coordinator ({@linkcode ./coordinator.ts}) owns the one in force and decides
 * the state changes; this module only keeps time and counts.
 *
 * @module
 */

import type { CutoverStatus, ReplicationStatus } from "../shared/api.ts";
import { drainHolds, type ProxyRegistry } from "./proxies.ts";
import type { ReplicationCheck } from "./replication.ts";

/** A consistent cutover in progress. */
export interface ActiveCutover {
  /** The cutover id (from `begin`). */
  id: string;
  /** When `begin` was stored. */
  startedAt: Date;
  /** The drain timeout passed while draining. */
  drainTimedOut: boolean;
  /** `proxy/session` ids whose query was cancelled to finish the drain. */
  cancelled: string[];
  /** `proxy/session` ids terminated to finish the drain. */
  terminated: string[];
  /** Proxies that resumed by themselves; the cutover cannot commit any more. */
  resumed: string[];
  /** The replication check of the current drained phase, if any. */
  replication: ReplicationCheck | null;
  /** Every timer to clear when the cutover ends. */
  timers: ReturnType<typeof setTimeout>[];
  /** Fires when the earliest drained ack's pause runs out (a stalled channel hides the report). */
  expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** When {@linkcode expiryTimer} fires (epoch ms), or null. */
  expiryAt: number | null;
}

/** A replication status before any check ran. */
export const NOT_CHECKED: ReplicationStatus = {
  checked: false,
  caughtUp: false,
  lagMs: null,
  error: null,
};

/** A fresh progress record for cutover `id`. */
export function newCutover(id: string, startedAt: Date): ActiveCutover {
  return {
    id,
    startedAt,
    drainTimedOut: false,
    cancelled: [],
    terminated: [],
    resumed: [],
    replication: null,
    timers: [],
    expiryTimer: undefined,
    expiryAt: null,
  };
}

/** Clears every timer of `cutover` and stops its replication check. */
export function stopCutover(cutover: ActiveCutover): void {
  for (const timer of cutover.timers) clearTimeout(timer);
  clearTimeout(cutover.expiryTimer);
  cutover.replication?.stop();
}

/**
 * A marker id never used before. Only a marker written after this drain proves
 * replication caught up; one left by an earlier check of the same cutover (before
 * a lost drain or an orchestrator restart) was written while traffic could still run.
 */
export function freshMarkerId(cutoverId: string): string {
  return `${cutoverId}-${crypto.randomUUID().slice(0, 8)}`;
}

/** How `status` shows `cutover`, from the connected proxies' reports. */
export function cutoverStatus(cutover: ActiveCutover, registry: ProxyRegistry): CutoverStatus {
  const connected = registry.connected();
  const reports = connected.map((e) => e.drain).filter((d) => d?.cutoverId === cutover.id);
  const now = Date.now();
  return {
    id: cutover.id,
    kind: "consistent",
    startedAt: cutover.startedAt.toISOString(),
    drained: reports.filter((d) => drainHolds(d, cutover.id, now)).length,
    total: connected.length,
    openTransactions: reports.reduce((n, d) => n + (d?.counts.inTransaction ?? 0), 0),
    blocking: reports.flatMap((d) => d?.blocking ?? []),
    drainTimedOut: cutover.drainTimedOut,
    cancelled: [...cutover.cancelled],
    terminated: [...cutover.terminated],
    resumedProxies: [...cutover.resumed],
    replication: cutover.replication?.status() ?? NOT_CHECKED,
  };
}

/**
 * After `afterMs` still draining: asks every undrained proxy to cancel its
 * blocking queries, and `terminateGraceMs` later to terminate those sessions.
 */
export function scheduleCancel(
  cutover: ActiveCutover,
  registry: ProxyRegistry,
  timing: { afterMs: number; terminateGraceMs: number },
  stillDraining: () => boolean,
): void {
  const send = (terminate: boolean) => {
    for (const entry of registry.connected()) {
      if (entry.drain?.cutoverId === cutover.id && entry.drain.drained) continue;
      registry.send(entry.id, { type: "cancel_blocking", cutoverId: cutover.id, terminate });
    }
  };
  cutover.timers.push(setTimeout(() => {
    if (!stillDraining()) return;
    send(false);
    cutover.timers.push(setTimeout(() => {
      if (stillDraining()) send(true);
    }, timing.terminateGraceMs));
  }, timing.afterMs));
}

/**
 * Keeps a timer at the earliest moment a drained ack's pause runs out, and
 * then voids the acks that ran out. A proxy reports its self-resume at once,
 * but a stalled channel delivers nothing; status and commit must still stop
 * counting that drain.
 */
export function watchDrainExpiry(
  cutover: ActiveCutover,
  registry: ProxyRegistry,
  isCurrent: () => boolean,
): void {
  const next = registry.nextDrainExpiry(cutover.id);
  if (next === cutover.expiryAt) return;
  clearTimeout(cutover.expiryTimer);
  cutover.expiryAt = next;
  cutover.expiryTimer = next === null ? undefined : setTimeout(() => {
    cutover.expiryTimer = undefined;
    cutover.expiryAt = null;
    if (!isCurrent()) return;
    const expired = registry.expireDrains(cutover.id, Date.now());
    if (expired.length === 0) watchDrainExpiry(cutover, registry, isCurrent);
  }, Math.max(0, next - Date.now()) + 1);
}
