/**
 * Results of `deno task bench cutover`: one sample per cutover, the rows the
 * table shows (grouped by kind and direction), the goals of issue 3 and the
 * text tables.
 *
 * @module
 */

import type { DatabaseSide } from "../../shared/control.ts";
import type { SimulationReport } from "./cutover_sim.ts";
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

/** The goals (issue 3; issue 11 at fleet scale) and whether this run met them. */
export interface CutoverGoals {
  /** Propagation p99 under this, for each kind: 100 ms (issue 3), 50 ms from 10 proxies up. */
  propagationP99UnderMs: number;
  /** Held time at most this much above drain + catch-up, every consistent cutover. */
  heldExcessAtMostMs: number;
  met: { propagation: boolean; held: boolean; noErrors: boolean; noLostWrites: boolean };
}

/** What one fleet size measured. */
export interface FleetReport {
  proxies: number;
  /** Every client session: writers, probes and idle ones. */
  clients: number;
  idleSessions: number;
  rows: CutoverRow[];
  breakdown: HeldBreakdown | null;
  goals: CutoverGoals;
  samples: CutoverSample[];
  /** Every workload, probe and idle-session error, in order. */
  errors: string[];
}

/** The whole benchmark report (also the `--json` output). */
export interface CutoverReport {
  startedAt: string;
  settings: {
    cutoversPerKind: number;
    sessionsPerProxy: number;
    writers: number;
    cpus: number;
    deno: string;
    /** `/proc/loadavg` (1, 5, 15 min) before and after: the machine is shared. */
    loadAverage: { before: number[]; after: number[] };
    notes: string[];
  };
  /** One per fleet size, smallest first. */
  fleets: FleetReport[];
  /** The orchestrator-only simulation; null when skipped. */
  simulation: SimulationReport | null;
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

/** Judges the rows against the goals, with the propagation bound for the fleet's size. */
export function judgeGoals(rows: CutoverRow[], propagationP99UnderMs = 100): CutoverGoals {
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

/** One goal, as a row of the goals table. */
export interface GoalRow {
  scope: string;
  goal: string;
  measured: string;
  met: boolean;
}

/** Every goal of a fleet as a row. */
export function fleetGoalRows(f: FleetReport): GoalRow[] {
  const scope = `${f.proxies} proxies`;
  const all = f.rows.filter((r) => r.direction === "all");
  const worst = (pick: (r: CutoverRow) => number | null) =>
    Math.max(0, ...all.map(pick).filter((v): v is number => v !== null));
  const g = f.goals;
  return [
    ...all.map((r) => ({
      scope,
      goal:
        `${r.kind}: commit -> every proxy on the new epoch, p99 < ${g.propagationP99UnderMs} ms`,
      measured: `${ms(r.propagationP99Ms)} ms`,
      met: r.propagationP99Ms < g.propagationP99UnderMs,
    })),
    {
      scope,
      goal: `longest held request - (drain + catch-up) <= ${g.heldExcessAtMostMs} ms`,
      measured: `${ms(worst((r) => r.heldExcessMaxMs))} ms`,
      met: g.met.held,
    },
    {
      scope,
      goal: "zero client errors",
      measured: String(f.errors.length),
      met: g.met.noErrors && f.errors.length === 0,
    },
    {
      scope,
      goal: "zero lost writes",
      measured: String(all.reduce((n, r) => n + (r.lostWrites ?? 0), 0)),
      met: g.met.noLostWrites,
    },
  ];
}

/** The simulation's goals as rows. */
export function simulationGoalRows(s: SimulationReport): GoalRow[] {
  const scope = `simulation, ${s.proxies} proxies`;
  return [
    {
      scope,
      goal: `begin -> all drained acknowledged, p99 < ${s.goals.drainP99UnderMs} ms`,
      measured: `${ms(s.drainP99Ms)} ms`,
      met: s.goals.met.drain,
    },
    {
      scope,
      goal: `commit -> all on the new epoch, p99 < ${s.goals.epochP99UnderMs} ms`,
      measured: `${ms(s.epochP99Ms)} ms`,
      met: s.goals.met.epoch,
    },
    {
      scope,
      goal: "every simulated proxy followed every cutover",
      measured: `${s.errors.length} errors`,
      met: s.errors.length === 0,
    },
  ];
}

/** The goals table. */
export function formatGoalTable(rows: GoalRow[]): string {
  return formatTable(
    ["scope", "goal", "measured", "met"],
    rows.map((r) => [r.scope, r.goal, r.measured, r.met ? "met" : "MISSED"]),
    2,
  );
}

/** How each figure grows with the fleet: one column per fleet size. */
export function formatGrowthTable(fleets: FleetReport[]): string {
  const all = (f: FleetReport, kind: CutoverKind) =>
    f.rows.find((r) => r.kind === kind && r.direction === "all");
  const figures: [string, (f: FleetReport) => string][] = [
    ["client sessions", (f) => String(f.clients)],
    ["consistent: prop p50 ms", (f) => ms(all(f, "consistent")?.propagationP50Ms ?? null)],
    ["consistent: prop p99 ms", (f) => ms(all(f, "consistent")?.propagationP99Ms ?? null)],
    ["immediate: prop p50 ms", (f) => ms(all(f, "immediate")?.propagationP50Ms ?? null)],
    ["immediate: prop p99 ms", (f) => ms(all(f, "immediate")?.propagationP99Ms ?? null)],
    ["drain p50 ms (s->t)", (f) => ms(f.breakdown?.drainMs ?? null)],
    ["commit API p50 ms (s->t)", (f) => ms(f.breakdown?.commitApiMs ?? null)],
    ["held excess p50 ms", (f) => ms(all(f, "consistent")?.heldExcessP50Ms ?? null)],
    ["held excess max ms", (f) => ms(all(f, "consistent")?.heldExcessMaxMs ?? null)],
    ["client errors", (f) => String(f.errors.length)],
    ["lost writes", (f) => String(all(f, "consistent")?.lostWrites ?? "-")],
  ];
  return formatTable(
    ["figure", ...fleets.map((f) => `${f.proxies} proxies`)],
    figures.map(([name, pick]) => [name, ...fleets.map(pick)]),
    1,
  );
}

/** The simulation's figures. */
export function formatSimulationTable(s: SimulationReport): string {
  const o = s.orchestrator;
  return formatTable(
    ["simulation", "value"],
    [
      ["control-channel clients (real protocol, mTLS)", String(s.proxies)],
      ["consistent cutovers", String(s.cutovers)],
      ["event loops (workers) the clients ran on", String(s.workers)],
      ["begin -> last client paused p50 ms", ms(s.pauseFanOutP50Ms)],
      [
        "begin -> all drained p50 / p99 / max ms",
        `${ms(s.drainP50Ms)} / ${ms(s.drainP99Ms)} / ${ms(s.drainMaxMs)}`,
      ],
      [
        "commit -> all on new epoch p50 / p99 / max ms",
        `${ms(s.epochP50Ms)} / ${ms(s.epochP99Ms)} / ${ms(s.epochMaxMs)}`,
      ],
      ["commit API p50 ms", ms(s.commitApiP50Ms)],
      ["orchestrator RSS before / connected MiB", `${o.rssBeforeMiB} / ${o.rssConnectedMiB}`],
      ["orchestrator RSS per connected proxy KiB", String(o.rssPerProxyKiB)],
      ["orchestrator idle CPU per proxy, ms/s", String(o.idleCpuMsPerSecondPerProxy)],
      ["orchestrator CPU per cutover per proxy, us", String(o.cpuUsPerCutoverPerProxy)],
    ],
    1,
  );
}
