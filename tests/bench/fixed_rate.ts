/**
 * The fixed-rate latency rows of `deno task bench`: what shadowing costs the
 * application, not the machine. pgbench `-R` at a fraction (`--rate-share`,
 * 20 %) of the slowest fixed-rate target's saturated `-S` TPS measured earlier
 * in the same run (`--rate-base`, {@linkcode fixedRateBasis}), so no target is
 * saturated and latency is the request's own; p50/p99 per target, the
 * proxy's CPU per transaction, and two cases:
 *
 * - `select`: `pgbench -S`, an autocommit SELECT on a session that holds
 *   nothing, which `sync`/`strict-sync` send to both databases at once;
 * - `select in tx`: the same SELECT inside `BEGIN … END`, where the shadow gets
 *   each statement only after the source of truth answered it.
 *
 * @module
 */

import type { RateBase } from "./args.ts";
import { latencyPercentiles, runPgbench } from "./pgbench.ts";
import { readCpuMs } from "./proc_stats.ts";
import { type BenchMeasurement, type BenchTarget, formatTable, TARGET_LABELS } from "./report.ts";

/** The two cases. */
export type FixedRateCase = "select" | "select in tx";

/** The targets measured at the fixed rate, in order. */
export const FIXED_RATE_TARGETS: readonly BenchTarget[] = [
  "direct",
  "direct-target",
  "lms",
  "lms-async",
  "lms-sync",
  "lms-strict-sync",
];

const IN_TX_SCRIPT = `\\set aid random(1, 100000 * :scale)
BEGIN;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
END;
`;

/** What the fixed rate was derived from, as `--json` reports it. */
export interface FixedRateBasis {
  /** The `--rate-base` asked for. */
  base: RateBase;
  /** The row whose saturated `-S` TPS the rate is a share of. */
  target: BenchTarget;
  /** That row's saturated `-S` TPS. */
  tps: number;
  /** `--rate-share` (0.2 = 20 %). */
  share: number;
  /** The rate every fixed-rate row runs at (`pgbench -R`). */
  rate: number;
}

/**
 * The fixed rate: `share` of the saturated `-S` TPS of the direct source
 * (`direct`) or of the slowest target that runs at the fixed rate
 * (`slowest`: on 2 shared CPUs a shadow row's capacity is about a fifth of
 * direct's, so a share of direct puts the shadow rows into queueing and their
 * p50 measures the queue). `undefined` when that measurement is missing.
 */
export function fixedRateBasis(
  measurements: readonly BenchMeasurement[],
  base: RateBase,
  share: number,
): FixedRateBasis | undefined {
  const candidates = measurements.filter((m) =>
    m.script === "select" &&
    (base === "direct" ? m.target === "direct" : FIXED_RATE_TARGETS.includes(m.target))
  );
  if (candidates.length === 0) return undefined;
  const basis = candidates.reduce((a, b) => (b.tps < a.tps ? b : a));
  return {
    base,
    target: basis.target,
    tps: basis.tps,
    share,
    rate: Math.max(1, Math.round(basis.tps * share)),
  };
}

/** One fixed-rate row. */
export interface FixedRateRow {
  /** Which case. */
  case: FixedRateCase;
  /** What was measured. */
  target: BenchTarget;
  /** Transactions per second asked of pgbench (`-R`). */
  rate: number;
  /** TPS pgbench achieved. */
  tps: number;
  /** Median latency (ms), schedule lag included: what the application waits. */
  p50Ms: number;
  /** 99th percentile latency (ms). */
  p99Ms: number;
  /** The proxy's CPU µs per transaction; null for direct rows. */
  cpuUsPerTx: number | null;
  /** p50 / `lms none`'s p50 in the same case. */
  p50VsNone: number | null;
  /** p99 / `lms none`'s p99 in the same case. */
  p99VsNone: number | null;
  /** CPU µs/tx / `lms none`'s in the same case. */
  cpuVsNone: number | null;
}

/** Where and how to measure. */
export interface FixedRateOptions {
  /** Port per target. */
  ports: Partial<Record<BenchTarget, number>>;
  /** Process whose CPU is measured, per target (proxies). */
  pids: Partial<Record<BenchTarget, number>>;
  /** The rate (TPS) to run at. */
  rate: number;
  /** Seconds per row. */
  durationSeconds: number;
  /** pgbench clients and threads. */
  clients: number;
  /** pgbench threads. */
  jobs: number;
  /** Directory for pgbench's logs and the script file. */
  logDir: string;
}

/** Runs every case against every target the options have a port for. */
export async function measureFixedRate(opts: FixedRateOptions): Promise<FixedRateRow[]> {
  const scriptFile = `${opts.logDir}/select_in_tx.sql`;
  await Deno.writeTextFile(scriptFile, IN_TX_SCRIPT);
  const rows: FixedRateRow[] = [];
  for (const c of ["select", "select in tx"] as const) {
    const measured: FixedRateRow[] = [];
    for (const target of FIXED_RATE_TARGETS) {
      const port = opts.ports[target];
      if (port === undefined) continue;
      const pid = opts.pids[target];
      const logName = `rate-${target}-${c === "select" ? "s" : "tx"}`;
      const cpuBefore = pid === undefined ? 0 : await readCpuMs(pid);
      const result = await runPgbench({
        port,
        script: "select",
        scriptFile: c === "select" ? undefined : scriptFile,
        clients: opts.clients,
        jobs: opts.jobs,
        durationSeconds: opts.durationSeconds,
        protocol: "simple",
        rate: opts.rate,
        logDir: opts.logDir,
        logName,
      });
      const cpu = pid === undefined
        ? null
        : (await readCpuMs(pid) - cpuBefore) * 1000 / result.transactions;
      measured.push({
        case: c,
        target,
        rate: opts.rate,
        tps: result.tps,
        ...await latencyPercentiles(opts.logDir, logName),
        cpuUsPerTx: cpu,
        p50VsNone: null,
        p99VsNone: null,
        cpuVsNone: null,
      });
    }
    const none = measured.find((r) => r.target === "lms");
    for (const r of measured) {
      if (none && r.target !== "direct" && r.target !== "direct-target") {
        r.p50VsNone = r.p50Ms / none.p50Ms;
        r.p99VsNone = r.p99Ms / none.p99Ms;
        r.cpuVsNone = r.cpuUsPerTx !== null && none.cpuUsPerTx
          ? r.cpuUsPerTx / none.cpuUsPerTx
          : null;
      }
    }
    rows.push(...measured);
  }
  return rows;
}

/** The goals of issue 11 on the fixed-rate rows; `null` when not measured. */
export interface FixedRateGoals {
  /** `async` p50 and p99 within this factor of `none`'s, in both cases. */
  asyncLatencyVsNoneAtMost: number;
  /** The `async` latency goal. */
  asyncLatency: boolean | null;
  /**
   * `sync` and `strict-sync` p50 outside a transaction at most this factor of
   * `none`'s p50 plus the slower direct database's p50.
   */
  syncP50Factor: number;
  /** The `sync`/`strict-sync` latency goal (case `select`). */
  syncLatency: boolean | null;
  /** Proxy CPU per shadowed transaction at most this factor of `none`'s. */
  shadowCpuVsNoneAtMost: number;
  /** The shadow CPU goal (every shadow row, both cases). */
  shadowCpu: boolean | null;
}

/** Judges the fixed-rate rows. */
export function judgeFixedRate(rows: FixedRateRow[]): FixedRateGoals {
  const asyncLatencyVsNoneAtMost = 1.1, syncP50Factor = 1.15, shadowCpuVsNoneAtMost = 1.6;
  const of = (c: FixedRateCase, t: BenchTarget) => rows.find((r) => r.case === c && r.target === t);
  const asyncRows = rows.filter((r) => r.target === "lms-async" && r.p50VsNone !== null);
  const none = of("select", "lms");
  const directs = [of("select", "direct"), of("select", "direct-target")].filter((r) => r);
  const syncRows = [of("select", "lms-sync"), of("select", "lms-strict-sync")].filter((r) => r);
  const shadowRows = rows.filter((r) => r.target.startsWith("lms-") && r.cpuVsNone !== null);
  const slowerDirectP50 = Math.max(...directs.map((r) => r!.p50Ms));
  return {
    asyncLatencyVsNoneAtMost,
    asyncLatency: asyncRows.length === 0
      ? null
      : asyncRows.every((r) =>
        r.p50VsNone! <= asyncLatencyVsNoneAtMost && r.p99VsNone! <= asyncLatencyVsNoneAtMost
      ),
    syncP50Factor,
    syncLatency: !none || directs.length === 0 || syncRows.length === 0
      ? null
      : syncRows.every((r) => r!.p50Ms <= syncP50Factor * none.p50Ms + slowerDirectP50),
    shadowCpuVsNoneAtMost,
    shadowCpu: shadowRows.length === 0
      ? null
      : shadowRows.every((r) => r.cpuVsNone! <= shadowCpuVsNoneAtMost),
  };
}

/** The fixed-rate table. */
export function formatFixedRateTable(rows: FixedRateRow[]): string {
  const r2 = (v: number | null) => v === null ? "-" : `${v.toFixed(2)}x`;
  return formatTable(
    [
      "case",
      "target",
      "rate",
      "TPS",
      "p50 ms",
      "p99 ms",
      "p50/none",
      "p99/none",
      "CPU µs/tx",
      "CPU/none",
    ],
    rows.map((r) => [
      r.case,
      TARGET_LABELS[r.target],
      String(r.rate),
      r.tps.toFixed(0),
      r.p50Ms.toFixed(3),
      r.p99Ms.toFixed(3),
      r2(r.p50VsNone),
      r2(r.p99VsNone),
      r.cpuUsPerTx === null ? "-" : r.cpuUsPerTx.toFixed(1),
      r2(r.cpuVsNone),
    ]),
    2,
  );
}

/** The goal parts of the goals line. */
export function fixedRateGoalParts(g: FixedRateGoals): [string, boolean | null][] {
  return [
    [`fixed rate: lms async p50/p99 <= ${g.asyncLatencyVsNoneAtMost}x none`, g.asyncLatency],
    [
      `fixed rate: sync/strict-sync p50 <= ${g.syncP50Factor}x none + slower direct (select)`,
      g.syncLatency,
    ],
    [`fixed rate: shadow CPU/tx <= ${g.shadowCpuVsNoneAtMost}x none`, g.shadowCpu],
  ];
}
