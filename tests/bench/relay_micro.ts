/**
 * `deno task bench relay`: the relay microbenchmark. pgbench `-S` against one
 * throwaway PostgreSQL directly, through PgBouncer, through each candidate
 * relay of {@linkcode ./relay_candidates.ts} and through the LMS proxy, each
 * relay and the proxy with and without `--v8-flags=--max-semi-space-size=1`,
 * all in one run. The figure that carries over is the middle process's CPU
 * time per transaction (utime + stime from `/proc`), next to PgBouncer's.
 *
 * @module
 */

import { errorMessage, LmsError } from "../../shared/errors.ts";
import { createLogger } from "../../shared/log.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort, waitForPort } from "../../shared/local/ports.ts";
import { PROXY_V8_FLAGS } from "../../shared/local/compile.ts";
import { integerFlagReader, parseBenchFlags } from "./args.ts";
import { CleanupStack, terminate } from "./cleanup.ts";
import { initPgbench, runPgbench } from "./pgbench.ts";
import { startPgBouncer } from "./pgbouncer.ts";
import { readCpuMs } from "./proc_stats.ts";
import { RELAY_STYLES } from "./relay_candidates.ts";
import { countSyscalls } from "./syscall_count.ts";

const log = createLogger("bench");
const ROOT = new URL("../../", import.meta.url).pathname;

/** Flags of `deno task bench relay`. */
export interface RelayBenchArgs {
  /** `--help`. */
  help: boolean;
  /** Seconds per measured run. */
  durationSeconds: number;
  /** Seconds of warm-up per row. */
  warmupSeconds: number;
  /** pgbench clients. */
  clients: number;
  /** Where to write the JSON report. */
  jsonPath: string | undefined;
}

/** The `--help` text. */
export const RELAY_HELP: string = `deno task bench relay [flags]

Relay microbenchmark: pgbench -S -M simple -j 2 against one PostgreSQL directly, through
PgBouncer (session mode), through bare relays in each I/O style (node-pipe, node-data,
deno-conn, deno-large) and through the LMS proxy (shadow mode none), each relay and the
proxy with and without ${PROXY_V8_FLAGS}. Prints TPS and CPU µs per transaction
of the middle process, each next to PgBouncer's from the same run.

Flags:
  --duration <s>    seconds per measured run (default 8)
  --warmup <s>      seconds of warm-up per row (default 2)
  --clients <n>     pgbench clients (default 16)
  --json <path>     also write the rows as JSON
  --help            this text
`;

/** Parses the flags; throws `CLI_USAGE` naming a bad one. */
export function parseRelayArgs(argv: string[]): RelayBenchArgs {
  const v = parseBenchFlags(argv, {
    help: { type: "boolean", default: false },
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    clients: { type: "string", default: "16" },
    json: { type: "string" },
  }, "see deno task bench relay --help");
  const problems: string[] = [];
  const whole = integerFlagReader(problems);
  const durationSeconds = whole("duration", v.duration, 8, 1);
  const warmupSeconds = whole("warmup", v.warmup, 2, 0);
  const clients = whole("clients", v.clients, 16, 1);
  if (problems.length > 0) {
    throw new LmsError("CLI_USAGE", problems.join("; "), "see deno task bench relay --help");
  }
  return {
    help: v.help,
    durationSeconds,
    warmupSeconds,
    clients,
    jsonPath: v.json,
  };
}

/** One measured row. */
export interface RelayRow {
  /** What sat between pgbench and PostgreSQL. */
  name: string;
  /** Whether the row ran with the small semi-space flag. */
  smallSemiSpace: boolean | null;
  /** pgbench TPS. */
  tps: number;
  /** Middle process CPU µs per transaction; null for direct. */
  cpuUsPerTx: number | null;
  /** System calls of the middle process per transaction (`perf stat`); null without perf. */
  syscallsPerTx: number | null;
  /** TPS / PgBouncer TPS. */
  tpsVsPgbouncer: number;
  /** CPU µs/tx / PgBouncer's. */
  cpuVsPgbouncer: number | null;
}

interface Middle {
  name: string;
  smallSemiSpace: boolean | null;
  port: number;
  pid: number | undefined;
  stop: () => Promise<void>;
}

async function spawnMiddle(
  name: string,
  smallSemiSpace: boolean,
  args: (port: number) => string[],
  env: (port: number) => Record<string, string> = () => ({}),
): Promise<Middle> {
  const port = await freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...(smallSemiSpace ? [PROXY_V8_FLAGS] : []), ...args(port)],
    env: env(port),
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await waitForPort("127.0.0.1", port, 20_000);
  return { name, smallSemiSpace, port, pid: child.pid, stop: () => terminate(child) };
}

/** Runs the microbenchmark; returns its rows. */
export async function relayBenchmark(args: RelayBenchArgs): Promise<RelayRow[]> {
  const cleanup = new CleanupStack(log);
  cleanup.exitOnSignals();
  try {
    const cluster = await startPgCluster({
      name: "bench-relay",
      settings: { shared_buffers: "128MB", autovacuum: "off" },
    });
    cleanup.push("destroy the cluster", () => cluster.destroy());
    await initPgbench(cluster.port, 1);
    const middles: Middle[] = [];
    const bouncer = await startPgBouncer({
      upstreamPort: cluster.port,
      maxClientConn: 200,
      poolSize: args.clients + 10,
    });
    cleanup.push("stop PgBouncer", () => bouncer.stop());
    const pgbouncer: Middle = {
      name: "pgbouncer",
      smallSemiSpace: null,
      port: bouncer.port,
      pid: bouncer.pid,
      stop: () => bouncer.stop(),
    };
    for (const smallSemiSpace of [false, true]) {
      for (const style of RELAY_STYLES) {
        const m = await spawnMiddle(
          style,
          smallSemiSpace,
          (
            port,
          ) => [
            `${ROOT}tests/bench/relay_candidates.ts`,
            style,
            String(port),
            String(cluster.port),
          ],
        );
        cleanup.push(`stop ${style}`, m.stop);
        middles.push(m);
      }
      const metricsPort = await freePort();
      const m = await spawnMiddle(
        "lms none",
        smallSemiSpace,
        () => [`${ROOT}proxy/main.ts`],
        (port) => ({
          LMS_LISTEN: `127.0.0.1:${port}`,
          LMS_SOURCE_DIALECT: "postgres",
          INIT_SOURCE: cluster.url(),
          LMS_STANDALONE: "true",
          LMS_LOG_LEVEL: "warn",
          LMS_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
        }),
      );
      cleanup.push("stop the proxy", m.stop);
      middles.push(m);
    }
    const direct: Middle = {
      name: "direct",
      smallSemiSpace: null,
      port: cluster.port,
      pid: undefined,
      stop: () => Promise.resolve(),
    };
    // PgBouncer first and last: its mean is the reference, and drift shows as their spread.
    const order = [direct, pgbouncer, ...middles, pgbouncer];
    const measured: { m: Middle; tps: number; cpu: number | null; sys: number | null }[] = [];
    for (const m of order) {
      if (args.warmupSeconds > 0) {
        await runPgbench({
          port: m.port,
          script: "select",
          clients: args.clients,
          jobs: 2,
          protocol: "simple",
          durationSeconds: args.warmupSeconds,
        });
      }
      log.info("measuring", { target: m.name, smallSemiSpace: m.smallSemiSpace });
      const syscalls = m.pid === undefined ? undefined : await countSyscalls(m.pid);
      const before = m.pid === undefined ? 0 : await readCpuMs(m.pid);
      const r = await runPgbench({
        port: m.port,
        script: "select",
        clients: args.clients,
        jobs: 2,
        protocol: "simple",
        durationSeconds: args.durationSeconds,
      });
      const cpu = m.pid === undefined
        ? null
        : (await readCpuMs(m.pid) - before) * 1000 / r.transactions;
      const calls = await syscalls?.stop() ?? null;
      measured.push({ m, tps: r.tps, cpu, sys: calls === null ? null : calls / r.transactions });
    }
    const bouncerRuns = measured.filter((r) => r.m === pgbouncer);
    const refTps = bouncerRuns.reduce((a, r) => a + r.tps, 0) / bouncerRuns.length;
    const refCpu = bouncerRuns.reduce((a, r) => a + r.cpu!, 0) / bouncerRuns.length;
    return measured.map(({ m, tps, cpu, sys }) => ({
      name: m.name,
      smallSemiSpace: m.smallSemiSpace,
      tps,
      cpuUsPerTx: cpu,
      syscallsPerTx: sys,
      tpsVsPgbouncer: tps / refTps,
      cpuVsPgbouncer: cpu === null ? null : cpu / refCpu,
    }));
  } finally {
    await cleanup.runAll();
  }
}

/** The rows as a table. */
export function formatRelayTable(rows: RelayRow[]): string {
  const lines = [
    "relay                 semi-space=1    TPS   vs pgbouncer   CPU µs/tx   vs pgbouncer   syscalls/tx",
  ];
  for (const r of rows) {
    lines.push(
      r.name.padEnd(22) + String(r.smallSemiSpace ?? "-").padEnd(12) +
        r.tps.toFixed(0).padStart(7) + `${r.tpsVsPgbouncer.toFixed(2)}×`.padStart(15) +
        (r.cpuUsPerTx === null ? "-" : r.cpuUsPerTx.toFixed(1)).padStart(12) +
        (r.cpuVsPgbouncer === null ? "-" : `${r.cpuVsPgbouncer.toFixed(2)}×`).padStart(15) +
        (r.syscallsPerTx === null ? "-" : r.syscallsPerTx.toFixed(2)).padStart(14),
    );
  }
  return lines.join("\n");
}

/** Entry point of `deno task bench relay`; returns the exit code. */
export async function relayMain(argv: string[]): Promise<number> {
  let args: RelayBenchArgs;
  try {
    args = parseRelayArgs(argv);
  } catch (err) {
    console.error(errorMessage(err));
    return 2;
  }
  if (args.help) {
    console.log(RELAY_HELP);
    return 0;
  }
  try {
    const rows = await relayBenchmark(args);
    console.log(formatRelayTable(rows));
    if (args.jsonPath) {
      await Deno.writeTextFile(args.jsonPath, JSON.stringify({ rows }, null, 2) + "\n");
    }
    return 0;
  } catch (err) {
    log.error("relay benchmark failed", { error: errorMessage(err) });
    return 1;
  }
}
