/**
 * Turning benchmark measurements into rows with ratios, a printed table and
 * the JSON document written by `--json`.
 *
 * @module
 */

import type { IdleMemoryResult } from "./idle_memory.ts";
import type { PgbenchScript } from "./pgbench.ts";

/** Where pgbench connected. */
export type BenchTarget = "direct" | "lms" | "pgbouncer";

/** One target and script, over all rounds. */
export interface BenchMeasurement {
  /** The endpoint. */
  target: BenchTarget;
  /** The pgbench script. */
  script: PgbenchScript;
  /** Median TPS of the rounds (without initial connection time). */
  tps: number;
  /** TPS of each round, in the order they ran. */
  tpsPerRound: number[];
  /** Mean of pgbench's `latency average` over the rounds, ms. */
  latencyAvgMs: number;
  /** Median transaction latency over every transaction of every round, ms. */
  p50Ms: number;
  /** 99th percentile transaction latency over every transaction of every round, ms. */
  p99Ms: number;
  /** Transactions processed, all rounds. */
  transactions: number;
  /** Failed transactions, all rounds. */
  failed: number;
  /**
   * CPU time (user + system) the proxy or PgBouncer spent per transaction,
   * all rounds, in µs; `null` for the direct runs.
   */
  middleCpuUsPerTx: number | null;
}

/** A measured run with its ratios to the same script's direct and PgBouncer runs. */
export interface BenchRow extends BenchMeasurement {
  /** TPS divided by the direct run's TPS; `null` when that run is missing. */
  ratioToDirect: number | null;
  /** TPS divided by PgBouncer's TPS; `null` when that run is missing. */
  ratioToPgBouncer: number | null;
}

/** Idle-connection memory of one process. */
export interface MemoryRow extends IdleMemoryResult {
  /** Which process was measured. */
  target: Exclude<BenchTarget, "direct">;
}

/** Everything one `deno task bench` run produced, as written by `--json`. */
export interface BenchReport {
  /** ISO time the run started. */
  startedAt: string;
  /** Settings the numbers depend on. */
  settings: Record<string, string | number>;
  /** pgbench results, in the order they ran. */
  runs: BenchRow[];
  /** Resident memory per idle connection. */
  idleMemory: MemoryRow[];
}

/** Adds the ratio columns: each run's TPS over the same script's direct and PgBouncer TPS. */
export function withRatios(measurements: BenchMeasurement[]): BenchRow[] {
  const tpsOf = (target: BenchTarget, script: PgbenchScript): number | undefined =>
    measurements.find((m) => m.target === target && m.script === script)?.tps;
  return measurements.map((m) => {
    const direct = tpsOf("direct", m.script);
    const bouncer = tpsOf("pgbouncer", m.script);
    return {
      ...m,
      ratioToDirect: direct ? m.tps / direct : null,
      ratioToPgBouncer: bouncer ? m.tps / bouncer : null,
    };
  });
}

/**
 * The pgbench table: target, script, TPS, p50, p99, ratios, and the CPU the
 * process in the middle (proxy or PgBouncer) spent per transaction.
 */
export function formatRunTable(rows: BenchRow[]): string {
  return formatTable(
    ["target", "script", "TPS", "p50 ms", "p99 ms", "vs direct", "vs PgBouncer", "CPU µs/tx"],
    rows.map((r) => [
      r.target,
      r.script,
      r.tps.toFixed(0),
      fixed(r.p50Ms, 3),
      fixed(r.p99Ms, 3),
      ratio(r.ratioToDirect),
      ratio(r.ratioToPgBouncer),
      fixed(r.middleCpuUsPerTx, 1),
    ]),
    2,
  );
}

/**
 * The idle-memory table: process, connections, RSS before and after, KiB per
 * connection as measured and after a forced full garbage collection.
 */
export function formatMemoryTable(rows: MemoryRow[]): string {
  return formatTable(
    [
      "process",
      "idle conns",
      "RSS before KiB",
      "RSS after KiB",
      "KiB/conn",
      "RSS after GC KiB",
      "KiB/conn after GC",
    ],
    rows.map((r) => [
      r.target,
      String(r.connections),
      String(r.rssBeforeKiB),
      String(r.rssAfterKiB),
      r.perConnectionKiB.toFixed(1),
      r.rssAfterGcKiB === null ? "-" : String(r.rssAfterGcKiB),
      fixed(r.perConnectionAfterGcKiB, 1),
    ]),
    1,
  );
}

/**
 * A plain-text table: columns before `textColumns` are left-aligned text, the
 * rest right-aligned numbers.
 */
export function formatTable(header: string[], body: string[][], textColumns: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i < textColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))
      .join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...body.map(line)].join("\n");
}

function fixed(value: number | null, digits: number): string {
  return value === null ? "-" : value.toFixed(digits);
}

function ratio(value: number | null): string {
  return value === null ? "-" : `${value.toFixed(2)}x`;
}
