/**
 * `deno task bench`: pgbench through the LMS proxy against the same database
 * directly and through PgBouncer, through proxies shadowing to a second
 * identical database in each shadow mode, plus memory per idle connection.
 * `deno task bench cutover`: cutover propagation and held time under load
 * (`tests/bench/cutover.ts`). `deno task bench mysql`: sysbench against MariaDB
 * directly and through the proxy with a MySQL source (`tests/bench/mysql.ts`).
 * `deno task bench relay`: the relay microbenchmark (`tests/bench/relay_micro.ts`).
 * `deno task bench idle`: memory per idle connection only (`tests/bench/idle_main.ts`).
 * See `tests/bench/README.md` for what is measured and how to read it.
 *
 * @module
 */

import { errorMessage, LmsError } from "../../shared/errors.ts";
import { createLogger } from "../../shared/log.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { spawnProxy } from "../helpers/proxy.ts";
import {
  BENCH_HELP,
  type BenchArgs,
  CUTOVER_HELP,
  type CutoverBenchArgs,
  parseBenchArgs,
  parseCutoverArgs,
} from "./args.ts";
import { backendsGone } from "./backends_gone.ts";
import { CleanupStack } from "./cleanup.ts";
import { cutoverMain } from "./cutover_main.ts";
import { measureIdleMemory } from "./idle_memory.ts";
import { idleMain } from "./idle_main.ts";
import { MYSQL_HELP, type MysqlBenchArgs, parseMysqlBenchArgs } from "./mysql_args.ts";
import { mysqlMain } from "./mysql.ts";
import { relayMain } from "./relay_micro.ts";
import {
  FIXED_RATE_TARGETS,
  fixedRateBasis,
  fixedRateGoalParts,
  formatFixedRateTable,
  judgeFixedRate,
  measureFixedRate,
} from "./fixed_rate.ts";
import { spawnInspectedProxy } from "./inspected_proxy.ts";
import { initPgbench, latencyPercentiles, runPgbench } from "./pgbench.ts";
import { readCpuMs } from "./proc_stats.ts";
import { findPgBouncer, type PgBouncerOptions, startPgBouncer } from "./pgbouncer.ts";
import {
  type BenchMeasurement,
  type BenchReport,
  type BenchTarget,
  formatGoals,
  formatMemoryTable,
  formatRunTable,
  formatShadowChecks,
  judgeGoals,
  type MemoryRow,
  SHADOW_TARGETS,
  shadowChecks,
  TARGET_LABELS,
  withRatios,
} from "./report.ts";
import {
  addCounters,
  counterDelta,
  settledShadowCounters,
  type ShadowCounters,
  zeroCounters,
} from "./shadow_check.ts";

const log = createLogger("bench");

/** The order targets run in during the first round; later rounds rotate it. */
const BASE_ORDER: BenchTarget[] = ["direct", "lms", "pgbouncer"];
/** The same with the shadow rows, each next to what it is compared with. */
const SHADOW_ORDER: BenchTarget[] = [...FIXED_RATE_TARGETS, "pgbouncer"];
const SHADOW_MODES: Record<string, string> = {
  "lms-async": "async",
  "lms-sync": "sync",
  "lms-strict-sync": "strict-sync",
};

/** Runs the whole benchmark with `args`; returns the report it printed. */
export async function runBenchmark(args: BenchArgs): Promise<BenchReport> {
  if (!findPgBouncer()) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      "PgBouncer is not installed",
      "install Debian's pgbouncer package (apt-get install pgbouncer); .ci/run does it",
    );
  }
  const cleanup = new CleanupStack(log);
  cleanup.exitOnSignals();
  try {
    return await benchmark(args, cleanup);
  } finally {
    await cleanup.runAll();
  }
}

async function benchmark(args: BenchArgs, cleanup: CleanupStack): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const maxConnections = Math.max(1200, args.idleConnections + args.clients + 100);
  const bouncerOptions = (upstreamPort: number): PgBouncerOptions => ({
    upstreamPort,
    maxClientConn: Math.max(1100, args.idleConnections + 100),
    poolSize: Math.max(args.clients, args.idleConnections) + 10,
  });

  const targetOrder = args.shadow ? SHADOW_ORDER : BASE_ORDER;
  const settings = {
    max_connections: String(maxConnections),
    shared_buffers: `${Math.min(4096, 64 + args.scale * 20)}MB`,
    max_wal_size: "4GB",
    checkpoint_timeout: "30min",
    // pgbench vacuums before every run; autovacuum would only add noise.
    autovacuum: "off",
  };
  log.info("starting the benchmark cluster", { scale: args.scale, maxConnections });
  const cluster = await startPgCluster({ name: "bench", settings });
  cleanup.push("destroy the cluster", () => cluster.destroy());
  // Asked now: after the idle-memory step the server may still be busy ending 2,000 backends.
  const postgres = (await cluster.psql("SHOW server_version")).split(" ")[0];
  await initPgbench(cluster.port, args.scale);

  const ports = {} as Record<BenchTarget, number>;
  const middlePids = {} as Record<BenchTarget, number | undefined>;
  const metricsPorts = new Map<BenchTarget, number>();
  const stops: (() => Promise<void>)[] = [];
  ports.direct = cluster.port;
  middlePids.direct = undefined;
  const proxy = await spawnProxy({ INIT_SOURCE: cluster.url(), LMS_LOG_LEVEL: "warn" });
  stops.push(cleanup.push("stop the proxy", () => proxy.stop()));
  ports.lms = proxy.port;
  middlePids.lms = proxy.child.pid;
  const bouncer = await startPgBouncer(bouncerOptions(cluster.port));
  stops.push(cleanup.push("stop PgBouncer", () => bouncer.stop()));
  ports.pgbouncer = bouncer.port;
  middlePids.pgbouncer = bouncer.pid;

  if (args.shadow) {
    log.info("starting the shadow target cluster", { scale: args.scale });
    const target = await startPgCluster({ name: "bench-target", settings });
    cleanup.push("destroy the target cluster", () => target.destroy());
    // pgbench -i is deterministic: same scale, same rows, same balances.
    await initPgbench(target.port, args.scale);
    ports["direct-target"] = target.port;
    middlePids["direct-target"] = undefined;
    for (const t of SHADOW_TARGETS) {
      const shadowProxy = await spawnProxy({
        INIT_SOURCE: cluster.url(),
        INIT_TARGET: target.url(),
        LMS_SHADOW_MODE: SHADOW_MODES[t],
        LMS_LOG_LEVEL: "warn",
      });
      stops.push(cleanup.push(`stop the ${t} proxy`, () => shadowProxy.stop()));
      ports[t] = shadowProxy.port;
      middlePids[t] = shadowProxy.child.pid;
      metricsPorts.set(t, shadowProxy.metricsPort);
    }
  }

  const logDir = await Deno.makeTempDir({ prefix: "lms-bench-logs-" });
  cleanup.push("remove pgbench logs", () => Deno.remove(logDir, { recursive: true }));
  const pgbenchBase = { clients: args.clients, jobs: args.jobs, protocol: args.protocol };

  const measurements: BenchMeasurement[] = [];
  for (const script of args.scripts) {
    // Warm-up right before its script's runs: a TPC-B warm-up ahead of the select-only runs would
    // change the balances of one database only and make every shadowed select of them mismatch.
    for (const target of args.warmupSeconds > 0 ? targetOrder : []) {
      log.info("warm-up", { target, script, seconds: args.warmupSeconds });
      await runPgbench({
        ...pgbenchBase,
        port: ports[target],
        script,
        durationSeconds: args.warmupSeconds,
      });
    }
    const totals = new Map(targetOrder.map((t) => [t, emptyTotals()] as const));
    for (let round = 0; round < args.rounds; round++) {
      for (const target of roundOrder(targetOrder, round)) {
        log.info("measuring", { target, script, round: round + 1, seconds: args.durationSeconds });
        const pid = middlePids[target];
        const metricsPort = metricsPorts.get(target);
        // Settled first, so what a warm-up or earlier run left queued is not counted.
        const shadowBefore = metricsPort === undefined
          ? undefined
          : await settledShadowCounters(metricsPort);
        const cpuBefore = pid === undefined ? 0 : await readCpuMs(pid);
        const result = await runPgbench({
          ...pgbenchBase,
          port: ports[target],
          script,
          durationSeconds: args.durationSeconds,
          logDir,
          logName: `${target}-${script}`,
        });
        const sum = totals.get(target)!;
        sum.tps.push(result.tps);
        sum.latencyAvgMs.push(result.latencyAvgMs);
        sum.transactions += result.transactions;
        sum.failed += result.failed;
        if (pid !== undefined) sum.cpuMs += await readCpuMs(pid) - cpuBefore;
        if (metricsPort !== undefined && shadowBefore) {
          const after = await settledShadowCounters(metricsPort);
          sum.shadow = addCounters(sum.shadow ?? zeroCounters(), counterDelta(shadowBefore, after));
        }
      }
    }
    for (const target of targetOrder) {
      const sum = totals.get(target)!;
      const logName = `${target}-${script}`;
      measurements.push({
        target,
        script,
        tps: median(sum.tps),
        tpsPerRound: sum.tps,
        latencyAvgMs: sum.latencyAvgMs.reduce((a, b) => a + b, 0) / sum.latencyAvgMs.length,
        ...await latencyPercentiles(logDir, logName),
        transactions: sum.transactions,
        failed: sum.failed,
        middleCpuUsPerTx: middlePids[target] === undefined
          ? null
          : sum.cpuMs * 1000 / sum.transactions,
        shadow: sum.shadow ?? null,
      });
      await removeLogs(logDir, logName);
    }
  }
  const basis = args.rateShare > 0
    ? fixedRateBasis(measurements, args.rateBase, args.rateShare) ?? null
    : null;
  const fixedRate = basis
    ? await measureFixedRate({
      ports,
      pids: middlePids,
      rate: basis.rate,
      durationSeconds: args.rateSeconds,
      clients: args.clients,
      jobs: args.jobs,
      logDir,
    })
    : [];
  for (const stop of stops) await stop();

  const idleMemory: MemoryRow[] = [];
  if (args.idleConnections > 0) {
    await backendsGone(cluster);
    const fresh = await spawnInspectedProxy({ INIT_SOURCE: cluster.url() });
    const stopFresh = cleanup.push("stop the idle-memory proxy", () => fresh.stop());
    log.info("idle memory", { target: "lms", connections: args.idleConnections });
    idleMemory.push({
      target: "lms",
      ...await measureIdleMemory(
        fresh.pid,
        fresh.port,
        args.idleConnections,
        fresh.collectGarbage,
      ),
    });
    await stopFresh();
    await backendsGone(cluster);
    const freshBouncer = await startPgBouncer(bouncerOptions(cluster.port));
    const stopFreshBouncer = cleanup.push(
      "stop the idle-memory PgBouncer",
      () => freshBouncer.stop(),
    );
    log.info("idle memory", { target: "pgbouncer", connections: args.idleConnections });
    idleMemory.push({
      target: "pgbouncer",
      ...await measureIdleMemory(freshBouncer.pid, freshBouncer.port, args.idleConnections),
    });
    await stopFreshBouncer();
  }

  const runs = withRatios(measurements);
  return {
    startedAt,
    settings: {
      durationSeconds: args.durationSeconds,
      warmupSeconds: args.warmupSeconds,
      clients: args.clients,
      jobs: args.jobs,
      scale: args.scale,
      protocol: args.protocol,
      rounds: args.rounds,
      rateShare: args.rateShare,
      rateBase: args.rateBase,
      rateSeconds: args.rateSeconds,
      order: `per script (${args.scripts.join(", ")}), per round: ${
        targetOrder.join(", ")
      }, rotated by one place each round`,
      cpus: navigator.hardwareConcurrency,
      deno: Deno.version.deno,
      postgres,
      pgbouncerPoolMode: "session",
    },
    runs,
    idleMemory,
    shadowChecks: shadowChecks(runs),
    fixedRateBasis: basis,
    fixedRate,
    goals: judgeGoals(runs, idleMemory),
    fixedRateGoals: judgeFixedRate(fixedRate),
  };
}

interface RoundTotals {
  tps: number[];
  latencyAvgMs: number[];
  transactions: number;
  failed: number;
  cpuMs: number;
  shadow: ShadowCounters | undefined;
}

function emptyTotals(): RoundTotals {
  return { tps: [], latencyAvgMs: [], transactions: 0, failed: 0, cpuMs: 0, shadow: undefined };
}

/** Round r starts r places further into the order, so no target always runs first. */
function roundOrder(order: BenchTarget[], round: number): BenchTarget[] {
  const shift = round % order.length;
  return [...order.slice(shift), ...order.slice(0, shift)];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function removeLogs(dir: string, name: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(`${name}.`)) await Deno.remove(`${dir}/${entry.name}`);
  }
}

function printReport(report: BenchReport): void {
  const s = report.settings;
  const rounds = s.rounds === 1 ? "1 round" : `median of ${s.rounds} rounds`;
  console.log(
    `pgbench -M ${s.protocol} -c ${s.clients} -j ${s.jobs}, scale ${s.scale}, ` +
      `${s.durationSeconds} s per run, ${rounds}; PostgreSQL ${s.postgres}; ` +
      `${s.cpus} CPUs shared by pgbench, PostgreSQL and the proxy or PgBouncer`,
  );
  console.log(formatRunTable(report.runs));
  if (report.shadowChecks.length > 0) console.log(formatShadowChecks(report.shadowChecks));
  if (report.idleMemory.length > 0) {
    console.log("");
    console.log(formatMemoryTable(report.idleMemory));
  }
  const basis = report.fixedRateBasis;
  if (report.fixedRate.length > 0 && basis) {
    const of = basis.base === "slowest" ? `, the slowest row` : "";
    console.log("");
    console.log(
      `fixed rate: pgbench -R ${basis.rate} (${Math.round(basis.share * 100)} % of ` +
        `${TARGET_LABELS[basis.target]}'s ${basis.tps.toFixed(0)} -S TPS${of}), ` +
        `${s.rateSeconds} s per row`,
    );
    console.log(formatFixedRateTable(report.fixedRate));
  }
  console.log("");
  console.log(formatGoals(report.goals, fixedRateGoalParts(report.fixedRateGoals)));
}

async function cutoverCommand(argv: string[]): Promise<never> {
  let args: CutoverBenchArgs;
  try {
    args = parseCutoverArgs(argv);
  } catch (err) {
    console.error(errorMessage(err));
    Deno.exit(2);
  }
  if (args.help) {
    console.log(CUTOVER_HELP);
    Deno.exit(0);
  }
  Deno.exit(await cutoverMain(args));
}

async function mysqlCommand(argv: string[]): Promise<never> {
  let args: MysqlBenchArgs;
  try {
    args = parseMysqlBenchArgs(argv);
  } catch (err) {
    console.error(errorMessage(err));
    Deno.exit(2);
  }
  if (args.help) {
    console.log(MYSQL_HELP);
    Deno.exit(0);
  }
  Deno.exit(await mysqlMain(args));
}

if (import.meta.main && Deno.args[0] === "cutover") await cutoverCommand(Deno.args.slice(1));
if (import.meta.main && Deno.args[0] === "mysql") await mysqlCommand(Deno.args.slice(1));
if (import.meta.main && Deno.args[0] === "relay") Deno.exit(await relayMain(Deno.args.slice(1)));
if (import.meta.main && Deno.args[0] === "idle") Deno.exit(await idleMain(Deno.args.slice(1)));

if (import.meta.main) {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(Deno.args);
  } catch (err) {
    console.error(errorMessage(err));
    Deno.exit(2);
  }
  if (args.help) {
    console.log(BENCH_HELP);
    Deno.exit(0);
  }
  try {
    const report = await runBenchmark(args);
    printReport(report);
    if (args.jsonPath) {
      await Deno.writeTextFile(args.jsonPath, JSON.stringify(report, null, 2) + "\n");
      log.info("wrote the JSON report", { path: args.jsonPath });
    }
  } catch (err) {
    log.error("benchmark failed", { error: errorMessage(err) });
    Deno.exit(1);
  }
}
