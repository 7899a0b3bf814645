/**
 * Merges the shadow reports of every proxy into the fleet's report for
 * `molt-lms-cli shadow report`, and judges whether the fleet meets the product
 * docs' bar for an immediate cutover: every LMS instance shadowing in `sync`
 * or `strict-sync` for at least seven days, with only transient
 * inconsistencies (such as 40001 retries) in that time, and no statement
 * ever found untranslatable (`translation_gap`).
 *
 * Pure: the caller gathers the reports and passes the time.
 *
 * @module
 */

import type {
  ShadowJudgement,
  ShadowProxySummary,
  ShadowReportResponse,
  ShadowSample,
  ShadowWindow,
} from "../shared/api.ts";
import type { ProxyShadowReport, ShadowBucket } from "../shared/shadow.ts";

/** Width of the proxies' time buckets. */
export const BUCKET_MS = 3_600_000;
/** How long the fleet must have been shadowing before an immediate cutover. */
export const REQUIRED_SHADOWING_MS = 7 * 24 * BUCKET_MS;
/** Shadow modes under which an immediate cutover keeps both databases in step. */
export const IMMEDIATE_CUTOVER_MODES: readonly string[] = ["sync", "strict-sync"];

/** Inputs of {@linkcode mergeShadowReports} besides the reports. */
export interface MergeOptions {
  /** Current time, epoch ms; the windows end here. */
  now: number;
  /** Most samples to return. */
  limit: number;
  /** Connected proxies that did not answer. */
  unreachableProxies: string[];
  /**
   * Proxies the state store saw shadowing lately that are not connected
   * (e.g. right after an orchestrator restart): their shadowing is unknown.
   */
  absentProxies?: string[];
}

/** Merges per-proxy reports into the fleet report; worst samples first. */
export function mergeShadowReports(
  reports: ProxyShadowReport[],
  options: MergeOptions,
): ShadowReportResponse {
  const sorted = [...reports].sort((a, b) => a.proxyId.localeCompare(b.proxyId));
  const proxies: ShadowProxySummary[] = sorted.map((r) => ({
    proxyId: r.proxyId,
    mode: r.mode,
    shadowingSince: r.shadowingSince,
    statements: r.statements,
    mismatches: r.mismatches,
    transient: r.transient,
    droppedSessions: r.droppedSessions,
  }));
  const totals = { statements: 0, mismatches: 0, transient: 0, droppedSessions: 0 };
  const byKind: Record<string, number> = {};
  for (const r of sorted) {
    totals.statements += r.statements;
    totals.mismatches += r.mismatches;
    totals.transient += r.transient;
    totals.droppedSessions += r.droppedSessions;
    for (const [kind, n] of Object.entries(r.byKind)) byKind[kind] = (byKind[kind] ?? 0) + n;
  }
  const buckets = mergeBuckets(sorted);
  const windows = {
    lastHour: windowOf(buckets, options.now, BUCKET_MS),
    lastDay: windowOf(buckets, options.now, 24 * BUCKET_MS),
    lastSevenDays: windowOf(buckets, options.now, REQUIRED_SHADOWING_MS),
  };
  const samples = mergeSamples(sorted);
  const unreachableProxies = [...options.unreachableProxies].sort();
  return {
    generatedAt: new Date(options.now).toISOString(),
    proxies,
    unreachableProxies,
    totals,
    byKind,
    windows,
    judgement: judge(
      proxies,
      unreachableProxies,
      absentOnes(options.absentProxies ?? [], proxies, unreachableProxies),
      windows.lastSevenDays,
      byKind,
      options.now,
    ),
    samples: samples.slice(0, Math.max(0, options.limit)),
    totalSamples: samples.length,
  };
}

/** Sums the buckets of every proxy per bucket start. */
function mergeBuckets(reports: ProxyShadowReport[]): ShadowBucket[] {
  const byStart = new Map<number, ShadowBucket>();
  for (const r of reports) {
    for (const b of r.hourly) {
      const sum = byStart.get(b.start);
      if (sum) {
        sum.statements += b.statements;
        sum.mismatches += b.mismatches;
        sum.transient += b.transient;
      } else {
        byStart.set(b.start, { ...b });
      }
    }
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

/**
 * Counts over the buckets that overlap the last `widthMs`: rounded outward to
 * whole buckets, so a window never misses a mismatch at its edge.
 */
function windowOf(buckets: ShadowBucket[], now: number, widthMs: number): ShadowWindow {
  const from = now - widthMs;
  let statements = 0;
  let mismatches = 0;
  let transient = 0;
  for (const b of buckets) {
    if (b.start + BUCKET_MS <= from || b.start > now) continue;
    statements += b.statements;
    mismatches += b.mismatches;
    transient += b.transient;
  }
  const rate = (n: number) => (statements === 0 ? null : n / statements);
  return {
    statements,
    mismatches,
    transient,
    mismatchRate: rate(mismatches),
    transientRate: rate(transient),
  };
}

/** Groups samples by fingerprint and kind across proxies, worst first. */
function mergeSamples(reports: ProxyShadowReport[]): ShadowSample[] {
  const groups = new Map<string, { sample: ShadowSample; proxies: Set<string> }>();
  for (const r of reports) {
    for (const s of r.samples) {
      const key = `${s.kind}\u0000${s.fingerprint}`;
      const group = groups.get(key);
      if (!group) {
        groups.set(key, { sample: { ...s, proxies: [] }, proxies: new Set([r.proxyId]) });
        continue;
      }
      const g = group.sample;
      group.proxies.add(r.proxyId);
      g.count += s.count;
      if (Date.parse(s.firstSeen) < Date.parse(g.firstSeen)) g.firstSeen = s.firstSeen;
      if (Date.parse(s.lastSeen) > Date.parse(g.lastSeen)) {
        g.lastSeen = s.lastSeen;
        g.source = s.source;
        g.target = s.target;
      }
    }
  }
  return [...groups.values()]
    .map(({ sample, proxies }) => ({ ...sample, proxies: [...proxies].sort() }))
    .sort((a, b) =>
      b.count - a.count ||
      Date.parse(b.lastSeen) - Date.parse(a.lastSeen) ||
      a.fingerprint.localeCompare(b.fingerprint) ||
      a.kind.localeCompare(b.kind)
    );
}

/** `90 min` → `1 h`; floors, so "6.9 days" is never shown as 7. */
export function describeDuration(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 2.4) / 10} days`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "es"}`;
}

/** Of `absent`, the proxies that neither reported nor are known to be unreachable. */
function absentOnes(
  absent: string[],
  proxies: ShadowProxySummary[],
  unreachable: string[],
): string[] {
  const known = new Set([...proxies.map((p) => p.proxyId), ...unreachable]);
  return [...new Set(absent)].filter((id) => !known.has(id)).sort();
}

function judge(
  proxies: ShadowProxySummary[],
  unreachable: string[],
  absent: string[],
  lastSevenDays: ShadowWindow,
  byKind: Record<string, number>,
  now: number,
): ShadowJudgement {
  const reasons: string[] = [];
  if (proxies.length === 0 && unreachable.length === 0) {
    reasons.push("no proxy is connected, so nothing is known about shadowing");
  }
  for (const id of unreachable) {
    reasons.push(`proxy ${id} did not answer; its shadowing is unknown`);
  }
  for (const id of absent) {
    reasons.push(
      `proxy ${id} was shadowing minutes ago but is not connected; its shadowing is unknown`,
    );
  }
  const required = describeDuration(REQUIRED_SHADOWING_MS);
  for (const p of proxies) {
    if (!IMMEDIATE_CUTOVER_MODES.includes(p.mode)) {
      reasons.push(
        `proxy ${p.proxyId}: mode ${p.mode}: immediate cutover needs sync or strict-sync`,
      );
      continue;
    }
    const since = p.shadowingSince === null ? NaN : Date.parse(p.shadowingSince);
    if (Number.isNaN(since)) {
      reasons.push(`proxy ${p.proxyId}: not shadowing`);
    } else if (now - since < REQUIRED_SHADOWING_MS) {
      reasons.push(
        `proxy ${p.proxyId}: shadowing for ${describeDuration(now - since)} of the required ` +
          required,
      );
    }
  }
  if (lastSevenDays.mismatches > 0) {
    reasons.push(`${plural(lastSevenDays.mismatches, "mismatch")} in the last ${required}`);
  } else if (proxies.length > 0 && lastSevenDays.statements === 0) {
    reasons.push(`no statements were shadowed in the last ${required}`);
  }
  // Unlike other mismatches, a statement that cannot be translated fails after a cutover however
  // long ago it was seen, so it counts since the proxies started, not only over the window.
  const gaps = byKind["translation_gap"] ?? 0;
  if (gaps > 0) {
    reasons.push(
      `${gaps} statement${gaps === 1 ? "" : "s"} could not be translated for the other ` +
        "database (translation_gap) since the proxies started: after a cutover they would fail",
    );
  }
  return { readyForImmediateCutover: reasons.length === 0, reasons };
}
