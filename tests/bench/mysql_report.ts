/**
 * Rows, ratios, the printed table, the goal and the JSON document of
 * `deno task bench mysql`.
 *
 * @module
 */

import { formatTable } from "./report.ts";
import type { SysbenchScript } from "./sysbench.ts";

/**
 * Where sysbench connected: MariaDB itself, the LMS proxy (shadow mode `none`) in front of it,
 * the PostgreSQL cluster standing in for the target (sysbench's pgsql driver), or the proxy
 * serving MySQL clients from that target through translation; `relay` and `relay-target` are a
 * bare relay that parses nothing in front of MariaDB and of the target (the runtime's floor).
 */
export type MysqlBenchTarget =
  | "direct"
  | "relay"
  | "lms"
  | "target-direct"
  | "relay-target"
  | "lms-target";

/** How each target is named in the printed table. */
export const MYSQL_TARGET_LABELS: Record<MysqlBenchTarget, string> = {
  direct: "direct (MariaDB)",
  relay: "bare node:net relay",
  lms: "lms none",
  "target-direct": "direct (target, pgsql)",
  "relay-target": "bare relay to target, pgsql",
  "lms-target": "lms from target (translated)",
};

/** The run each target is compared with. */
const BASELINE: Record<MysqlBenchTarget, MysqlBenchTarget> = {
  direct: "direct",
  relay: "direct",
  lms: "direct",
  "target-direct": "target-direct",
  "relay-target": "target-direct",
  "lms-target": "target-direct",
};

/** One measured sysbench run. */
export interface MysqlMeasurement {
  /** The endpoint. */
  target: MysqlBenchTarget;
  /** The sysbench script. */
  script: SysbenchScript;
  /** Transactions per second. */
  tps: number;
  /** Queries per second. */
  qps: number;
  /** Mean transaction latency, ms. */
  latencyAvgMs: number;
  /** 95th percentile transaction latency, ms (sysbench's histogram). */
  p95Ms: number;
  /** Transactions processed. */
  transactions: number;
  /** Errors sysbench ignored, plus reconnects. */
  errors: number;
  /** CPU (user + system) of the proxy per transaction, µs; `null` for direct runs. */
  proxyCpuUsPerTx: number | null;
  /** CPU of mariadbd per transaction, µs; `null` for the target's runs. */
  mariadbCpuUsPerTx: number | null;
  /** Translation time per translated statement, µs (`lms-target` only). */
  translationUsPerStatement: number | null;
  /** Share of statements the translation cache answered (`lms-target` only). */
  translationCacheHitRate: number | null;
}

/**
 * A measured run with its ratio to the same script's direct run (for the target's rows: the
 * target measured directly).
 */
export interface MysqlBenchRow extends MysqlMeasurement {
  /** TPS over the direct run's TPS; `null` when that run is missing. */
  ratioToDirect: number | null;
  /** p95 over the direct run's p95; `null` when that run is missing. */
  p95RatioToDirect: number | null;
}

/** A target that could not be measured, and why. */
export interface MysqlNotRun {
  /** Which target. */
  target: MysqlBenchTarget;
  /** Why, e.g. the proxy's start-up error. */
  reason: string;
}

/** The goal of issue 9 and whether this run met it. */
export interface MysqlBenchGoals {
  /** Proxy (`none`) TPS at least this times direct on `oltp_read_only`. */
  proxyVsDirectAtLeast: number;
  /** Whether it was met; `null` when either run is missing. */
  proxyVsDirect: boolean | null;
  /** Proxy serving from the target TPS at least this times the target directly (oltp_read_only). */
  translatedVsTargetAtLeast: number;
  /** Whether it was met; `null` when either run is missing. */
  translatedVsTarget: boolean | null;
}

/** Everything one `deno task bench mysql` run produced, as written by `--json`. */
export interface MysqlBenchReport {
  /** ISO time the run started. */
  startedAt: string;
  /** Settings the numbers depend on. */
  settings: Record<string, string | number>;
  /** sysbench results, in the order they ran. */
  runs: MysqlBenchRow[];
  /** Targets that were not measured. */
  notRun: MysqlNotRun[];
  /** The goal. */
  goals: MysqlBenchGoals;
}

/** The goal: proxy TPS at least 0.8× direct on `oltp_read_only`. */
export const PROXY_VS_DIRECT_AT_LEAST = 0.8;

/** The goal of issue 10: translated TPS at least 0.7× the target's on `oltp_read_only`. */
export const TRANSLATED_VS_TARGET_AT_LEAST = 0.7;

/** Adds each run's TPS and p95 ratios to the same script's direct run. */
export function withMysqlRatios(measurements: MysqlMeasurement[]): MysqlBenchRow[] {
  return measurements.map((m) => {
    const direct = measurements.find((d) =>
      d.target === BASELINE[m.target] && d.script === m.script
    );
    return {
      ...m,
      ratioToDirect: direct && direct.tps > 0 ? m.tps / direct.tps : null,
      p95RatioToDirect: direct && direct.p95Ms > 0 ? m.p95Ms / direct.p95Ms : null,
    };
  });
}

/** Judges `rows` against the goal. */
export function judgeMysqlGoals(rows: MysqlBenchRow[]): MysqlBenchGoals {
  const lms = rows.find((r) => r.target === "lms" && r.script === "oltp_read_only");
  const translated = rows.find((r) => r.target === "lms-target" && r.script === "oltp_read_only");
  return {
    proxyVsDirectAtLeast: PROXY_VS_DIRECT_AT_LEAST,
    proxyVsDirect: lms?.ratioToDirect == null
      ? null
      : lms.ratioToDirect >= PROXY_VS_DIRECT_AT_LEAST,
    translatedVsTargetAtLeast: TRANSLATED_VS_TARGET_AT_LEAST,
    translatedVsTarget: translated?.ratioToDirect == null
      ? null
      : translated.ratioToDirect >= TRANSLATED_VS_TARGET_AT_LEAST,
  };
}

/** The sysbench table: target, script, TPS, p95, ratios, CPU per transaction. */
export function formatMysqlRunTable(rows: MysqlBenchRow[]): string {
  return formatTable(
    [
      "target",
      "script",
      "TPS",
      "p95 ms",
      "avg ms",
      "errors",
      "vs direct",
      "p95 vs direct",
      "proxy CPU µs/tx",
      "MariaDB CPU µs/tx",
      "translate µs/stmt",
      "cache hits",
    ],
    rows.map((r) => [
      MYSQL_TARGET_LABELS[r.target],
      r.script,
      r.tps.toFixed(0),
      r.p95Ms.toFixed(2),
      r.latencyAvgMs.toFixed(2),
      String(r.errors),
      ratio(r.ratioToDirect),
      ratio(r.p95RatioToDirect),
      r.proxyCpuUsPerTx === null ? "-" : r.proxyCpuUsPerTx.toFixed(1),
      r.mariadbCpuUsPerTx === null ? "-" : r.mariadbCpuUsPerTx.toFixed(1),
      r.translationUsPerStatement === null ? "-" : r.translationUsPerStatement.toFixed(1),
      r.translationCacheHitRate === null ? "-" : `${(100 * r.translationCacheHitRate).toFixed(1)}%`,
    ]),
    2,
  );
}

/** One line per target that was not measured. */
export function formatNotRun(notRun: MysqlNotRun[]): string {
  return notRun.map((n) => `not run: ${MYSQL_TARGET_LABELS[n.target]}: ${n.reason}`).join("\n");
}

/** The goals line. */
export function formatMysqlGoals(g: MysqlBenchGoals): string {
  const judge = (v: boolean | null) => v === null ? "not measured" : v ? "met" : "MISSED";
  return `goals: lms none >= ${g.proxyVsDirectAtLeast}x direct on oltp_read_only: ` +
    `${judge(g.proxyVsDirect)}; lms from target >= ${g.translatedVsTargetAtLeast}x the target ` +
    `directly on oltp_read_only: ${judge(g.translatedVsTarget)}`;
}

function ratio(value: number | null): string {
  return value === null ? "-" : `${value.toFixed(2)}x`;
}
