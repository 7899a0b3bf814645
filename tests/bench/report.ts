/**
 * Turning benchmark measurements into rows with ratios, a printed table and
 * the JSON document written by `--json`.
 *
 * @module
 */

import type { FixedRateBasis, FixedRateGoals, FixedRateRow } from "./fixed_rate.ts";
import type { IdleMemoryResult } from "./idle_memory.ts";
import type { PgbenchScript } from "./pgbench.ts";
import { type ShadowCounters, totalMismatches } from "./shadow_check.ts";

/**
 * Where pgbench connected: `direct` is the source cluster, `direct-target`
 * the second (target) cluster, `lms` the proxy in shadow mode `none`, and
 * `lms-<mode>` a proxy shadowing from the source to the target in that mode.
 */
export type BenchTarget =
  | "direct"
  | "direct-target"
  | "lms"
  | "lms-async"
  | "lms-sync"
  | "lms-strict-sync"
  | "pgbouncer";

/** The proxy rows that shadow to the target. */
export const SHADOW_TARGETS: readonly BenchTarget[] = ["lms-async", "lms-sync", "lms-strict-sync"];

/** How each target is named in the printed tables. */
export const TARGET_LABELS: Record<BenchTarget, string> = {
  direct: "direct (source)",
  "direct-target": "direct (target)",
  lms: "lms none",
  "lms-async": "lms async",
  "lms-sync": "lms sync",
  "lms-strict-sync": "lms strict-sync",
  pgbouncer: "pgbouncer",
};

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
  /**
   * Growth of the proxy's shadow counters over the measured runs of a shadow
   * row (`/metrics`, read once the shadow settled); `null` for other rows.
   */
  shadow: ShadowCounters | null;
}

/** A measured run with its ratios to the same script's other runs. */
export interface BenchRow extends BenchMeasurement {
  /** TPS divided by the direct (source) run's TPS; `null` when that run is missing. */
  ratioToDirect: number | null;
  /** TPS divided by PgBouncer's TPS; `null` when that run is missing. */
  ratioToPgBouncer: number | null;
  /**
   * Shadow rows: TPS divided by the proxy's TPS in shadow mode `none`; `null`
   * for other rows or when that run is missing.
   */
  ratioToNone: number | null;
  /**
   * Shadow rows: TPS divided by the lower TPS of the two direct runs (source
   * and target); `null` for other rows or when either run is missing.
   */
  ratioToSlowerDirect: number | null;
}

/** Idle-connection memory of one process. */
export interface MemoryRow extends IdleMemoryResult {
  /**
   * Which process was measured; `relay floor` is a bare `node:net` relay of
   * the proxy's I/O style (`relay_candidates.ts` `node-data`), with the
   * proxy's V8 flags: what the runtime costs per idle session by itself.
   */
  target: "lms" | "pgbouncer" | "relay floor";
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
  /** The shadow check of every shadow row. */
  shadowChecks: ShadowCheck[];
  /** What the fixed rate was derived from; null when the fixed-rate rows did not run. */
  fixedRateBasis: FixedRateBasis | null;
  /** The fixed-rate latency rows (`fixed_rate.ts`). */
  fixedRate: FixedRateRow[];
  /** The goals and whether they were met. */
  goals: BenchGoals;
  /** The fixed-rate goals and whether they were met. */
  fixedRateGoals: FixedRateGoals;
}

/**
 * Adds the ratio columns: each run's TPS over the same script's direct
 * (source) and PgBouncer TPS and, for shadow rows, over the proxy without
 * shadowing and over the slower of the two direct runs.
 */
export function withRatios(measurements: BenchMeasurement[]): BenchRow[] {
  const tpsOf = (target: BenchTarget, script: PgbenchScript): number | undefined =>
    measurements.find((m) => m.target === target && m.script === script)?.tps;
  return measurements.map((m) => {
    const direct = tpsOf("direct", m.script);
    const directTarget = tpsOf("direct-target", m.script);
    const bouncer = tpsOf("pgbouncer", m.script);
    const none = tpsOf("lms", m.script);
    const shadowRow = SHADOW_TARGETS.includes(m.target);
    const slower = direct && directTarget ? Math.min(direct, directTarget) : undefined;
    return {
      ...m,
      ratioToDirect: direct ? m.tps / direct : null,
      ratioToPgBouncer: bouncer ? m.tps / bouncer : null,
      ratioToNone: shadowRow && none ? m.tps / none : null,
      ratioToSlowerDirect: shadowRow && slower ? m.tps / slower : null,
    };
  });
}

/**
 * The pgbench table: target, script, TPS, p50, p99, ratios, and the CPU the
 * process in the middle (proxy or PgBouncer) spent per transaction.
 */
export function formatRunTable(rows: BenchRow[]): string {
  return formatTable(
    [
      "target",
      "script",
      "TPS",
      "p50 ms",
      "p99 ms",
      "vs direct",
      "vs PgBouncer",
      "vs none",
      "vs slower direct",
      "CPU µs/tx",
    ],
    rows.map((r) => [
      TARGET_LABELS[r.target],
      r.script,
      r.tps.toFixed(0),
      fixed(r.p50Ms, 3),
      fixed(r.p99Ms, 3),
      ratio(r.ratioToDirect),
      ratio(r.ratioToPgBouncer),
      ratio(r.ratioToNone),
      ratio(r.ratioToSlowerDirect),
      fixed(r.middleCpuUsPerTx, 1),
    ]),
    2,
  );
}

/**
 * Mismatch kinds a shadow row of `script` may show without failing its check.
 * TPC-B's direct runs each change the balances of one database only, so once
 * they ran, `SELECT abalance` legitimately returns different values.
 */
export function expectedMismatchKinds(script: PgbenchScript): string[] {
  return script === "tpcb" ? ["values"] : [];
}

/** Whether a shadow row proves shadowing happened, and the line that says so. */
export interface ShadowCheck {
  /** Which row. */
  target: BenchTarget;
  /** Which script. */
  script: PgbenchScript;
  /** Statements compared, all rounds. */
  statements: number;
  /** Statements compared per pgbench transaction. */
  statementsPerTx: number;
  /** Mismatches, all kinds. */
  mismatches: number;
  /** Mismatches of kinds not in {@linkcode expectedMismatchKinds}. */
  unexpectedMismatches: number;
  /** Shadow errors (either database). */
  errors: number;
  /** Sessions that stopped shadowing. */
  droppedSessions: number;
  /**
   * Every transaction was shadowed (at least one compared statement each), no
   * session dropped shadowing, no shadow error, no unexpected mismatch.
   */
  ok: boolean;
}

/** The shadow check of every shadow row of `rows`. */
export function shadowChecks(rows: BenchMeasurement[]): ShadowCheck[] {
  return rows.flatMap((r) => {
    if (r.shadow === null) return [];
    const expected = expectedMismatchKinds(r.script);
    const unexpected = Object.entries(r.shadow.mismatches)
      .filter(([kind]) => !expected.includes(kind))
      .reduce((a, [, n]) => a + n, 0);
    const statementsPerTx = r.transactions > 0 ? r.shadow.statements / r.transactions : 0;
    return [{
      target: r.target,
      script: r.script,
      statements: r.shadow.statements,
      statementsPerTx,
      mismatches: totalMismatches(r.shadow),
      unexpectedMismatches: unexpected,
      errors: r.shadow.errors,
      droppedSessions: r.shadow.droppedSessions,
      ok: r.shadow.statements > 0 && statementsPerTx >= 1 && unexpected === 0 &&
        r.shadow.errors === 0 && r.shadow.droppedSessions === 0,
    }];
  });
}

/** One sanity line per shadow row. */
export function formatShadowChecks(checks: ShadowCheck[]): string {
  return checks.map((c) => {
    const expected = expectedMismatchKinds(c.script);
    const note = c.mismatches > c.unexpectedMismatches
      ? ` (${c.mismatches - c.unexpectedMismatches} of kind ${expected.join("/")}: expected)`
      : "";
    return `shadow check ${TARGET_LABELS[c.target]} ${c.script}: ` +
      `${c.statements} statements compared (${c.statementsPerTx.toFixed(2)}/tx), ` +
      `${c.mismatches} mismatches${note}, ${c.errors} shadow errors, ` +
      `${c.droppedSessions} dropped sessions: ${c.ok ? "ok" : "FAILED"}`;
  }).join("\n");
}

/** The goals of issues 4 and 11 and whether this run met them; `null` when not measured. */
export interface BenchGoals {
  /** Issue 11: proxy (`none`) TPS at least this times PgBouncer's on `-S`. */
  proxyVsPgBouncerAtLeast: number;
  /** The `-S` TPS goal. */
  proxyVsPgBouncer: boolean | null;
  /** Issue 11: proxy CPU µs/tx at most this times PgBouncer's on `-S`. */
  cpuVsPgBouncerAtMost: number;
  /** The CPU goal. */
  cpuVsPgBouncer: boolean | null;
  /** Issue 11: proxy TPS at least 1.0× PgBouncer's on TPC-B. */
  tpcbVsPgBouncer: boolean | null;
  /** Issue 11: at most this many KiB per idle connection right after the logins, no forced GC. */
  idleKiBPerConnectionAtMost: number;
  /** The idle-memory goal. */
  idleMemory: boolean | null;
  /** Issue 4: `async` TPS at least this times `none`'s on `-S`. */
  asyncVsNoneAtLeast: number;
  /** Issue 4: the `async` goal. */
  asyncVsNone: boolean | null;
  /** Issue 4: `sync` TPS at least this times the slower direct run's on `-S`. */
  syncVsSlowerDirectAtLeast: number;
  /** Issue 4: the `sync` goal. */
  syncVsSlowerDirect: boolean | null;
  /** Every shadow row passed its shadow check; `null` without shadow rows. */
  shadowChecks: boolean | null;
}

/** Judges `rows` and `memory` against the goals of issues 4 and 11. */
export function judgeGoals(rows: BenchRow[], memory: MemoryRow[]): BenchGoals {
  const select = (target: BenchTarget) =>
    rows.find((r) => r.target === target && r.script === "select");
  const proxyVsPgBouncerAtLeast = 0.95, cpuVsPgBouncerAtMost = 1.25;
  const idleKiBPerConnectionAtMost = 12;
  const asyncVsNoneAtLeast = 0.9;
  const syncVsSlowerDirectAtLeast = 0.9;
  const lms = memory.find((m) => m.target === "lms");
  const lmsKiB = lms?.perConnectionKiB;
  const lmsCpu = select("lms")?.middleCpuUsPerTx;
  const bouncerCpu = select("pgbouncer")?.middleCpuUsPerTx;
  const tpcb = rows.find((r) => r.target === "lms" && r.script === "tpcb")?.ratioToPgBouncer;
  const asyncRow = select("lms-async");
  const syncRow = select("lms-sync");
  const checks = shadowChecks(rows);
  const bouncer = select("lms")?.ratioToPgBouncer;
  return {
    proxyVsPgBouncerAtLeast,
    proxyVsPgBouncer: bouncer == null ? null : bouncer >= proxyVsPgBouncerAtLeast,
    cpuVsPgBouncerAtMost,
    cpuVsPgBouncer: lmsCpu == null || !bouncerCpu
      ? null
      : lmsCpu / bouncerCpu <= cpuVsPgBouncerAtMost,
    tpcbVsPgBouncer: tpcb == null ? null : tpcb >= 1,
    idleKiBPerConnectionAtMost,
    idleMemory: lmsKiB === undefined ? null : lmsKiB <= idleKiBPerConnectionAtMost,
    asyncVsNoneAtLeast,
    asyncVsNone: asyncRow?.ratioToNone == null ? null : asyncRow.ratioToNone >= asyncVsNoneAtLeast,
    syncVsSlowerDirectAtLeast,
    syncVsSlowerDirect: syncRow?.ratioToSlowerDirect == null
      ? null
      : syncRow.ratioToSlowerDirect >= syncVsSlowerDirectAtLeast,
    shadowChecks: checks.length === 0 ? null : checks.every((c) => c.ok),
  };
}

/** The goals line; goals not measured in this run are left out. */
export function formatGoals(g: BenchGoals, more: [string, boolean | null][] = []): string {
  const parts: string[] = [];
  const add = (what: string, met: boolean | null) => {
    if (met !== null) parts.push(`${what}: ${met ? "met" : "MISSED"}`);
  };
  add(`lms none >= ${g.proxyVsPgBouncerAtLeast}x PgBouncer on -S`, g.proxyVsPgBouncer);
  add(`lms none CPU/tx <= ${g.cpuVsPgBouncerAtMost}x PgBouncer's on -S`, g.cpuVsPgBouncer);
  add("lms none >= 1.0x PgBouncer on TPC-B", g.tpcbVsPgBouncer);
  add(
    `<= ${g.idleKiBPerConnectionAtMost} KiB per idle connection after logins`,
    g.idleMemory,
  );
  add(`lms async >= ${g.asyncVsNoneAtLeast}x lms none on -S`, g.asyncVsNone);
  add(
    `lms sync >= ${g.syncVsSlowerDirectAtLeast}x the slower direct on -S`,
    g.syncVsSlowerDirect,
  );
  add("shadow rows really shadowed", g.shadowChecks);
  for (const [what, met] of more) add(what, met);
  return `goals: ${parts.join("; ")}`;
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
