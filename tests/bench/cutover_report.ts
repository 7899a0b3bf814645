/**
 * Results of `deno task bench cutover`: one sample per cutover, the rows the
 * table shows (grouped by kind and direction), the goals of issue 3 and the
 * text tables.
 *
 * @module
 */

import type { DatabaseSide } from "../../shared/control.ts";
import { formatTable } from "./report.ts";

/** Consistent (begin/drain/commit) or immediate. */
export type CutoverKind = "consistent" | "immediate";

/** What one cutover measured. Times in ms, from one monotonic clock (`performance.now()`). */
export interface CutoverSample {
  /** 1-based position in the run. */
  index: number;
  kind: CutoverKind;
  from: DatabaseSide;
  to: DatabaseSide;
  /** Duration of the `commit` (or `immediate`) API call. */
  apiMs: number;
  /**
   * From the moment the commit/immediate call returned until every proxy's
   * probe got its first answer from the new database (max over proxies);
   * 0 when every proxy had switched before the call returned.
   */
  propagationMs: number;
  /** Per proxy: first answer from the new database − call returned (may be negative). */
  perProxyMs: number[];
  /** Longest single workload request while the cutover ran (reset before it). */
  heldMs: number;
  /** Duration of the `begin` API call (consistent only). */
  beginApiMs: number | null;
  /** `begin` sent → status first showed phase `drained` (consistent only). */
  drainMs: number | null;
  /** The orchestrator's replication lag (marker written → seen), source→target only. */
  catchUpMs: number | null;
  /** Status showed `drained` → status showed caught up (source→target only). */
  drainedToCaughtUpMs: number | null;
  /** `heldMs` − (`drainMs` + `catchUpMs`) (consistent only). */
  heldExcessMs: number | null;
  /** Workload errors during this cutover. */
  errors: number;
  /** Acknowledged writes missing on the target after a source→target consistent cutover. */
  lostWrites: number | null;
}

/** One table row: every cutover of one kind and direction (or `all` directions). */
export interface CutoverRow {
  kind: CutoverKind;
  direction: string;
  n: number;
  propagationP50Ms: number;
  propagationP99Ms: number;
  propagationMaxMs: number;
  heldMaxMs: number;
  /** Median of drain + catch-up (consistent only). */
  drainCatchUpP50Ms: number | null;
  heldExcessP50Ms: number | null;
  heldExcessMaxMs: number | null;
  errors: number;
  /** Null when no cutover of the row checked for lost writes. */
  lostWrites: number | null;
}

/** Medians of where a source→target consistent cutover's held time goes. */
export interface HeldBreakdown {
  n: number;
  beginApiMs: number;
  drainMs: number;
  drainedToCaughtUpMs: number;
  catchUpLagMs: number;
  commitApiMs: number;
  propagationMs: number;
  heldMs: number;
}

/** The goals of issue 3 and whether this run met them. */
export interface CutoverGoals {
  /** Propagation p99 under 100 ms, for each kind. */
  propagationP99UnderMs: number;
  /** Held time at most this much above drain + catch-up, every consistent cutover. */
  heldExcessAtMostMs: number;
  met: { propagation: boolean; held: boolean; noErrors: boolean; noLostWrites: boolean };
}

/** The whole benchmark report (also the `--json` output). */
export interface CutoverReport {
  startedAt: string;
  settings: {
    cutoversPerKind: number;
    proxies: number;
    clients: number;
    cpus: number;
    deno: string;
    notes: string[];
  };
  rows: CutoverRow[];
  breakdown: HeldBreakdown | null;
  goals: CutoverGoals;
  samples: CutoverSample[];
  /** Every workload and probe error, in order. */
  errors: string[];
}

/** Nearest-rank percentile of `values` (`p` in 0..100); 0 for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const arrow = (s: CutoverSample) => `${s.from}->${s.to}`;

function row(kind: CutoverKind, direction: string, samples: CutoverSample[]): CutoverRow {
  const prop = samples.map((s) => s.propagationMs);
  const excess = samples.flatMap((s) => s.heldExcessMs === null ? [] : [s.heldExcessMs]);
  const drainCatchUp = samples.flatMap((s) =>
    s.drainMs === null ? [] : [s.drainMs + (s.catchUpMs ?? 0)]
  );
  const checked = samples.filter((s) => s.lostWrites !== null);
  return {
    kind,
    direction,
    n: samples.length,
    propagationP50Ms: percentile(prop, 50),
    propagationP99Ms: percentile(prop, 99),
    propagationMaxMs: Math.max(...prop),
    heldMaxMs: Math.max(...samples.map((s) => s.heldMs)),
    drainCatchUpP50Ms: drainCatchUp.length > 0 ? percentile(drainCatchUp, 50) : null,
    heldExcessP50Ms: excess.length > 0 ? percentile(excess, 50) : null,
    heldExcessMaxMs: excess.length > 0 ? Math.max(...excess) : null,
    errors: samples.reduce((n, s) => n + s.errors, 0),
    lostWrites: checked.length > 0 ? checked.reduce((n, s) => n + (s.lostWrites ?? 0), 0) : null,
  };
}

/** Rows per kind and direction, then per kind over both directions. */
export function summarizeCutovers(samples: CutoverSample[]): CutoverRow[] {
  const rows: CutoverRow[] = [];
  for (const kind of ["consistent", "immediate"] as const) {
    const ofKind = samples.filter((s) => s.kind === kind);
    if (ofKind.length === 0) continue;
    for (const direction of ["source->target", "target->source"]) {
      const group = ofKind.filter((s) => arrow(s) === direction);
      if (group.length > 0) rows.push(row(kind, direction, group));
    }
    rows.push(row(kind, "all", ofKind));
  }
  return rows;
}

/** Medians over the source→target consistent cutovers; null when there were none. */
export function heldBreakdown(samples: CutoverSample[]): HeldBreakdown | null {
  const group = samples.filter((s) => s.kind === "consistent" && s.to === "target");
  if (group.length === 0) return null;
  const med = (f: (s: CutoverSample) => number | null) =>
    percentile(group.map((s) => f(s) ?? 0), 50);
  return {
    n: group.length,
    beginApiMs: med((s) => s.beginApiMs),
    drainMs: med((s) => s.drainMs),
    drainedToCaughtUpMs: med((s) => s.drainedToCaughtUpMs),
    catchUpLagMs: med((s) => s.catchUpMs),
    commitApiMs: med((s) => s.apiMs),
    propagationMs: med((s) => s.propagationMs),
    heldMs: med((s) => s.heldMs),
  };
}

/** Judges the rows against issue 3's goals. */
export function judgeGoals(rows: CutoverRow[]): CutoverGoals {
  const propagationP99UnderMs = 100;
  const heldExcessAtMostMs = 50;
  const all = rows.filter((r) => r.direction === "all");
  return {
    propagationP99UnderMs,
    heldExcessAtMostMs,
    met: {
      propagation: all.every((r) => r.propagationP99Ms < propagationP99UnderMs),
      held: all.every((r) => r.heldExcessMaxMs === null || r.heldExcessMaxMs <= heldExcessAtMostMs),
      noErrors: all.every((r) => r.errors === 0),
      noLostWrites: all.every((r) => !r.lostWrites),
    },
  };
}

const ms = (v: number | null) => v === null ? "-" : v.toFixed(1);

/** The main table: propagation, held time and its excess over drain + catch-up. */
export function formatCutoverTable(rows: CutoverRow[]): string {
  return formatTable(
    [
      "kind",
      "direction",
      "n",
      "prop p50 ms",
      "prop p99 ms",
      "prop max ms",
      "held max ms",
      "drain+catch-up p50 ms",
      "held excess p50 ms",
      "held excess max ms",
      "errors",
      "lost writes",
    ],
    rows.map((r) => [
      r.kind,
      r.direction,
      String(r.n),
      ms(r.propagationP50Ms),
      ms(r.propagationP99Ms),
      ms(r.propagationMaxMs),
      ms(r.heldMaxMs),
      ms(r.drainCatchUpP50Ms),
      ms(r.heldExcessP50Ms),
      ms(r.heldExcessMaxMs),
      String(r.errors),
      r.lostWrites === null ? "-" : String(r.lostWrites),
    ]),
    2,
  );
}

/** The breakdown table: medians of each step of a source→target consistent cutover. */
export function formatBreakdownTable(b: HeldBreakdown): string {
  return formatTable(
    [
      "source->target consistent, medians",
      "begin API",
      "drain",
      "drained->caught up seen",
      "catch-up lag",
      "commit API",
      "propagation",
      "held",
    ],
    [[
      `n=${b.n}`,
      ms(b.beginApiMs),
      ms(b.drainMs),
      ms(b.drainedToCaughtUpMs),
      ms(b.catchUpLagMs),
      ms(b.commitApiMs),
      ms(b.propagationMs),
      ms(b.heldMs),
    ]],
    1,
  );
}

/** The goals line. */
export function formatGoals(g: CutoverGoals): string {
  const mark = (ok: boolean) => ok ? "met" : "MISSED";
  return [
    `propagation p99 < ${g.propagationP99UnderMs} ms: ${mark(g.met.propagation)}`,
    `held within ${g.heldExcessAtMostMs} ms of drain + catch-up: ${mark(g.met.held)}`,
    `zero client errors: ${mark(g.met.noErrors)}`,
    `no lost acknowledged writes: ${mark(g.met.noLostWrites)}`,
  ].join("; ");
}
