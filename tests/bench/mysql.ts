/**
 * `deno task bench mysql`: sysbench against one throwaway MariaDB directly and
 * through the LMS proxy with a MySQL source (shadow mode `none`); and, in the
 * same run, against a throwaway PostgreSQL standing in for the CockroachDB
 * target directly (sysbench's pgsql driver) and through a proxy serving the
 * MySQL clients from that target through translation. See
 * `tests/bench/README.md` for what is measured and how to read it.
 *
 * @module
 */

import { errorMessage } from "../../shared/errors.ts";
import { createLogger } from "../../shared/log.ts";
import { type MariaDbServer, startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { parseConnectionString } from "../../shared/connstring.ts";
import { StateStore } from "../../shared/state_store.ts";
import { spawnProxy } from "../helpers/proxy.ts";
import { CleanupStack, terminate } from "./cleanup.ts";
import { freePort, waitForPort } from "../../shared/local/ports.ts";
import type { MysqlBenchArgs } from "./mysql_args.ts";
import {
  formatMysqlGoals,
  formatMysqlRunTable,
  formatNotRun,
  judgeMysqlGoals,
  type MysqlBenchReport,
  type MysqlBenchTarget,
  type MysqlMeasurement,
  type MysqlNotRun,
  withMysqlRatios,
} from "./mysql_report.ts";
import { readCpuMs } from "./proc_stats.ts";
import { prepareSysbench, runSysbench, type SysbenchEndpoint } from "./sysbench.ts";

const log = createLogger("bench-mysql");

/** The benchmark's own user: mysql_native_password, the plugin every MySQL client speaks. */
const BENCH_USER = { user: "sbtest", password: "sbtest-pw", database: "sbtest" };
/** The proxy's service user (INIT_SOURCE). */
const SERVICE_USER = { user: "lms", password: "lms-pw" };

/** Runs the MySQL benchmark with `args`, prints its report and returns the exit code. */
export async function mysqlMain(args: MysqlBenchArgs): Promise<number> {
  const cleanup = new CleanupStack(log);
  cleanup.exitOnSignals();
  try {
    const report = await benchmark(args, cleanup);
    printReport(report);
    if (args.jsonPath) {
      await Deno.writeTextFile(args.jsonPath, JSON.stringify(report, null, 2) + "\n");
      log.info("wrote the JSON report", { path: args.jsonPath });
    }
    return report.notRun.length === 0 ? 0 : 1;
  } catch (err) {
    log.error("benchmark failed", { error: errorMessage(err) });
    return 1;
  } finally {
    await cleanup.runAll();
  }
}

async function benchmark(args: MysqlBenchArgs, cleanup: CleanupStack): Promise<MysqlBenchReport> {
  const startedAt = new Date().toISOString();
  const { user, password, database } = BENCH_USER;
  log.info("starting the benchmark MariaDB", { tables: args.tables, tableSize: args.tableSize });
  const server = await startMariaDbServer({
    name: "bench",
    settings: {
      "innodb-buffer-pool-size": "256M",
      "max-prepared-stmt-count": "100000",
    },
    initSql: [
      `CREATE DATABASE ${database};` +
      `CREATE USER '${user}'@'%' IDENTIFIED VIA mysql_native_password ` +
      `USING PASSWORD('${password}');` +
      `GRANT ALL ON ${database}.* TO '${user}'@'%';` +
      `CREATE USER '${SERVICE_USER.user}'@'%' IDENTIFIED BY '${SERVICE_USER.password}';` +
      `GRANT ALL ON *.* TO '${SERVICE_USER.user}'@'%';`,
    ],
  });
  cleanup.push("stop MariaDB", () => server.stop());
  const mariadbPid = await serverPid(server);
  const tables = { tables: args.tables, tableSize: args.tableSize };
  await prepareSysbench({ port: server.port, user, password, database }, tables);

  const endpoints = new Map<MysqlBenchTarget, SysbenchEndpoint>();
  const proxyPids = new Map<MysqlBenchTarget, number>();
  const notRun: MysqlNotRun[] = [];
  endpoints.set("direct", { port: server.port, user, password, database });
  if (args.bareRelay) {
    const relay = await startBareRelay(server.port);
    cleanup.push("stop the bare relay", relay.stop);
    endpoints.set("relay", { port: relay.port, user, password, database });
    proxyPids.set("relay", relay.pid);
  }
  try {
    // sysbench logs in through the proxy as its own user, not as the service user.
    const proxy = await spawnProxy(
      {
        LMS_SOURCE_DIALECT: "mysql",
        INIT_SOURCE: server.url({ ...SERVICE_USER }),
        LMS_LOG_LEVEL: "warn",
      },
      [],
      {
        inspectPort: args.inspectPort,
      },
    );
    cleanup.push("stop the proxy", () => proxy.stop());
    endpoints.set("lms", { port: proxy.port, user, password, database });
    proxyPids.set("lms", proxy.child.pid);
  } catch (err) {
    notRun.push({ target: "lms", reason: `the proxy did not start: ${errorMessage(err)}` });
    log.warn("the proxy did not start; measuring MariaDB directly only", {
      error: errorMessage(err),
    });
  }

  let translatedMetrics: string | undefined;
  if (!args.sourceOnly) {
    try {
      translatedMetrics = await startTranslatedTarget(
        server,
        tables,
        endpoints,
        proxyPids,
        cleanup,
        args.inspectTranslated,
        args.bareRelay,
      );
    } catch (err) {
      notRun.push({
        target: "lms-target",
        reason: `the target or its proxy did not start: ${errorMessage(err)}`,
      });
      log.warn("not measuring the target", { error: errorMessage(err) });
    }
  }

  const common = { ...tables, threads: args.threads, psMode: args.psMode };
  const measurements: MysqlMeasurement[] = [];
  for (const script of args.scripts) {
    for (const [target, endpoint] of args.warmupSeconds > 0 ? endpoints : []) {
      log.info("warm-up", { target, script, seconds: args.warmupSeconds });
      await runSysbench({ ...common, endpoint, script, durationSeconds: args.warmupSeconds });
    }
    for (const [target, endpoint] of endpoints) {
      log.info("measuring", { target, script, seconds: args.durationSeconds });
      const proxyPid = proxyPids.get(target);
      const proxyBefore = proxyPid === undefined ? 0 : await readCpuMs(proxyPid);
      const mariadbBefore = await readCpuMs(mariadbPid);
      const onTarget = target === "target-direct" || target === "relay-target" ||
        target === "lms-target";
      const translating = target === "lms-target" && translatedMetrics
        ? translatedMetrics
        : undefined;
      const translationBefore = translating ? await translationTallies(translating) : undefined;
      const result = await runSysbench({
        ...common,
        endpoint,
        script,
        durationSeconds: args.durationSeconds,
      });
      const mariadbMs = await readCpuMs(mariadbPid) - mariadbBefore;
      const translation = translating && translationBefore
        ? diffTallies(await translationTallies(translating), translationBefore)
        : undefined;
      const proxyMs = proxyPid === undefined ? null : await readCpuMs(proxyPid) - proxyBefore;
      const perTx = (ms: number) => result.transactions > 0 ? ms * 1000 / result.transactions : 0;
      measurements.push({
        target,
        script,
        tps: result.tps,
        qps: result.qps,
        latencyAvgMs: result.latencyAvgMs,
        p95Ms: result.latencyPercentileMs,
        transactions: result.transactions,
        errors: result.ignoredErrors + result.reconnects,
        proxyCpuUsPerTx: proxyMs === null ? null : perTx(proxyMs),
        mariadbCpuUsPerTx: onTarget ? null : perTx(mariadbMs),
        translationUsPerStatement: translation && translation.statements > 0
          ? translation.seconds * 1e6 / translation.statements
          : null,
        translationCacheHitRate: translation && translation.statements > 0
          ? translation.hits / translation.statements
          : null,
      });
    }
  }

  const runs = withMysqlRatios(measurements);
  return {
    startedAt,
    settings: {
      durationSeconds: args.durationSeconds,
      warmupSeconds: args.warmupSeconds,
      threads: args.threads,
      tables: args.tables,
      tableSize: args.tableSize,
      psMode: args.psMode,
      order: `per script (${args.scripts.join(", ")}): ${[...endpoints.keys()].join(", ")}`,
      cpus: navigator.hardwareConcurrency,
      deno: Deno.version.deno,
      mariadb: await server.sql("SELECT VERSION()"),
    },
    runs,
    notRun,
    goals: judgeMysqlGoals(runs),
  };
}

/**
 * Starts the PostgreSQL cluster standing in for the target with the same
 * sysbench tables (prepared through sysbench's pgsql driver, as the `sbtest`
 * role the proxy maps the MySQL user to), a state store naming the target
 * as the source of truth, and a proxy serving MySQL clients from it; with
 * `bareRelay`, also a bare relay in front of it. Returns the proxy's metrics URL.
 */
async function startTranslatedTarget(
  server: MariaDbServer,
  tables: { tables: number; tableSize: number },
  endpoints: Map<MysqlBenchTarget, SysbenchEndpoint>,
  proxyPids: Map<MysqlBenchTarget, number>,
  cleanup: CleanupStack,
  inspectPort: number | undefined,
  bareRelay: boolean,
): Promise<string> {
  const { user, password, database } = BENCH_USER;
  const pg = await startPgCluster({
    name: "bench-target",
    settings: { shared_buffers: "256MB" },
    initSql: [
      `CREATE ROLE ${user} LOGIN PASSWORD '${password}'`,
      `CREATE DATABASE ${database} OWNER ${user}`,
    ],
  });
  cleanup.push("destroy the target", () => pg.destroy());
  const direct: SysbenchEndpoint = { driver: "pgsql", port: pg.port, user, password, database };
  await prepareSysbench(direct, tables);
  const targetUrl = pg.url({ database });
  const store = new StateStore({ target: parseConnectionString(targetUrl, "INIT_TARGET") });
  try {
    await store.initialize("bench");
    const moved = await store.compareAndSet(
      { epoch: 0, phase: "idle" },
      { sourceOfTruth: "target", epoch: 1, phase: "idle" },
      "bench",
      "bench serves from the target",
    );
    if (!moved) throw new Error("could not make the target the source of truth");
  } finally {
    await store.close();
  }
  const proxy = await spawnProxy(
    {
      LMS_SOURCE_DIALECT: "mysql",
      INIT_SOURCE: server.url({ ...SERVICE_USER }),
      INIT_TARGET: targetUrl,
      LMS_LOG_LEVEL: "warn",
    },
    [],
    { inspectPort },
  );
  cleanup.push("stop the translating proxy", () => proxy.stop());
  endpoints.set("target-direct", direct);
  if (bareRelay) {
    const relay = await startBareRelay(pg.port);
    cleanup.push("stop the bare relay to the target", relay.stop);
    endpoints.set("relay-target", { ...direct, port: relay.port });
    proxyPids.set("relay-target", relay.pid);
  }
  endpoints.set("lms-target", { port: proxy.port, user, password, database });
  proxyPids.set("lms-target", proxy.child.pid);
  return `http://127.0.0.1:${proxy.metricsPort}/metrics`;
}

/** A bare `node:net` relay (`relay_candidates.ts node-data`) in front of `upstreamPort`. */
async function startBareRelay(
  upstreamPort: number,
): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./relay_candidates.ts", import.meta.url).pathname,
      "node-data",
      String(port),
      String(upstreamPort),
    ],
    stdin: "null",
    stdout: "null",
  }).spawn();
  await waitForPort("127.0.0.1", port, 20_000);
  return { port, pid: child.pid, stop: () => terminate(child) };
}

interface TranslationTallies {
  statements: number;
  hits: number;
  seconds: number;
}

/** The proxy's translation counters (`lms_translations_total`, `lms_translation_seconds_total`). */
async function translationTallies(url: string): Promise<TranslationTallies> {
  const text = await (await fetch(url)).text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  const hits = value(/^lms_translations_total\{cache="hit"\} (\S+)$/m);
  const misses = value(/^lms_translations_total\{cache="miss"\} (\S+)$/m);
  return {
    statements: hits + misses,
    hits,
    seconds: value(/^lms_translation_seconds_total (\S+)$/m),
  };
}

function diffTallies(after: TranslationTallies, before: TranslationTallies): TranslationTallies {
  return {
    statements: after.statements - before.statements,
    hits: after.hits - before.hits,
    seconds: after.seconds - before.seconds,
  };
}

/** mariadbd's pid, from the pid file it names itself. */
async function serverPid(server: MariaDbServer): Promise<number> {
  const pidFile = await server.sql("SELECT @@pid_file");
  return Number((await Deno.readTextFile(pidFile)).trim());
}

function printReport(report: MysqlBenchReport): void {
  const s = report.settings;
  console.log(
    `sysbench --threads=${s.threads} --tables=${s.tables} --table-size=${s.tableSize} ` +
      `--db-ps-mode=${s.psMode}, ${s.durationSeconds} s per run, one run; MariaDB ${s.mariadb}; ` +
      `${s.cpus} CPUs shared by sysbench, MariaDB and the proxy`,
  );
  console.log(formatMysqlRunTable(report.runs));
  if (report.notRun.length > 0) console.log(formatNotRun(report.notRun));
  console.log("");
  console.log(formatMysqlGoals(report.goals));
}
