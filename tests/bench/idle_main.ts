/**
 * `deno task bench idle`: the idle-memory step of `deno task bench` on its
 * own (`idle_memory.ts`), with one more row: the runtime's floor, a bare
 * `node:net` relay in the proxy's I/O style (`relay_candidates.ts`
 * `node-data`) started with the proxy's V8 flags, holding one client and one
 * database socket per session like the proxy. Order: lms, relay floor,
 * PgBouncer, each against a database with no other client left.
 *
 * @module
 */

import { errorMessage, LmsError } from "../../shared/errors.ts";
import { createLogger } from "../../shared/log.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort, waitForPort } from "../../shared/local/ports.ts";
import { PROXY_V8_FLAGS } from "../../shared/local/compile.ts";
import { integerFlagReader, parseBenchFlags } from "./args.ts";
import { backendsGone } from "./backends_gone.ts";
import { CleanupStack, terminate } from "./cleanup.ts";
import { measureIdleMemory } from "./idle_memory.ts";
import { collectGarbageAt, spawnInspectedProxy } from "./inspected_proxy.ts";
import { startPgBouncer } from "./pgbouncer.ts";
import { formatMemoryTable, type MemoryRow } from "./report.ts";

const log = createLogger("bench");
const ROOT = new URL("../../", import.meta.url).pathname;
/** The goal of issue 11, as `deno task bench` judges it. */
const GOAL_KIB_PER_CONNECTION = 12;

/** Parsed flags of `deno task bench idle`. */
export interface IdleBenchArgs {
  /** `--help`. */
  help: boolean;
  /** Idle clients per measured process. */
  connections: number;
  /** Where to write the rows as JSON, if anywhere. */
  jsonPath: string | undefined;
}

/** The `--help` text of `deno task bench idle`. */
export const IDLE_HELP: string = `deno task bench idle [flags]

Measures resident memory per idle client connection (clients that log in, run
SELECT 1 and stay) of a fresh LMS proxy, of a bare node:net relay with the
proxy's V8 flags (the runtime's floor for one client and one database socket
per session) and of PgBouncer (session mode), one after the other against one
throwaway PostgreSQL cluster; the proxy and the relay also after a forced GC.

Flags:
  --connections <n>   idle clients per process (default 2000)
  --json <path>       also write the rows as JSON to <path>
  --help              this text
`;

/**
 * Parses the flags of `deno task bench idle`.
 *
 * @throws {LmsError} `CLI_USAGE` naming every bad flag.
 */
export function parseIdleArgs(argv: string[]): IdleBenchArgs {
  const v = parseBenchFlags(argv, {
    help: { type: "boolean", short: "h" },
    connections: { type: "string" },
    json: { type: "string" },
  }, "run deno task bench idle --help");
  const problems: string[] = [];
  const connections = integerFlagReader(problems)("connections", v.connections, 2000, 1);
  if (v.json === "") problems.push("--json needs a file path");
  if (problems.length > 0) {
    throw new LmsError("CLI_USAGE", problems.join("; "), "run deno task bench idle --help");
  }
  return { help: v.help ?? false, connections, jsonPath: v.json };
}

/** A process under measurement. */
interface Measured {
  port: number;
  pid: number;
  collectGarbage?: () => Promise<void>;
  stop(): Promise<void>;
}

/**
 * Measures every row; returns them in the order they ran. A row whose
 * process fails is logged and left out, so the others still print.
 */
export async function idleBenchmark(connections: number): Promise<MemoryRow[]> {
  const cleanup = new CleanupStack(log);
  cleanup.exitOnSignals();
  try {
    const cluster = await startPgCluster({
      name: "bench-idle",
      settings: { max_connections: String(connections + 100), autovacuum: "off" },
    });
    cleanup.push("destroy the cluster", () => cluster.destroy());
    const starts: [MemoryRow["target"], () => Promise<Measured>][] = [
      ["lms", () => spawnInspectedProxy({ INIT_SOURCE: cluster.url() })],
      ["relay floor", () => spawnFloorRelay(cluster.port)],
      ["pgbouncer", () =>
        startPgBouncer({
          upstreamPort: cluster.port,
          maxClientConn: connections + 100,
          poolSize: connections + 10,
        })],
    ];
    const rows: MemoryRow[] = [];
    for (const [target, start] of starts) {
      await backendsGone(cluster);
      log.info("idle memory", { target, connections });
      const m = await start();
      const stop = cleanup.push(`stop ${target}`, () => m.stop());
      try {
        const row: MemoryRow = {
          target,
          ...await measureIdleMemory(m.pid, m.port, connections, m.collectGarbage),
        };
        log.info("idle memory measured", { ...row });
        rows.push(row);
      } catch (err) {
        log.error("idle memory not measured", { target, error: errorMessage(err) });
      } finally {
        await stop();
      }
    }
    return rows;
  } finally {
    await cleanup.runAll();
  }
}

async function spawnFloorRelay(upstreamPort: number): Promise<Measured> {
  const [port, inspectPort] = [await freePort(), await freePort()];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      `--inspect=127.0.0.1:${inspectPort}`,
      PROXY_V8_FLAGS,
      `${ROOT}tests/bench/relay_candidates.ts`,
      "node-data",
      String(port),
      String(upstreamPort),
    ],
    stdin: "null",
    stdout: "null",
    // The inspector announces itself on stderr.
    stderr: "null",
  }).spawn();
  const stop = () => terminate(child);
  try {
    await waitForPort("127.0.0.1", port, 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, pid: child.pid, collectGarbage: () => collectGarbageAt(inspectPort), stop };
}

/** `deno task bench idle`: exit code 0, 1 when a step failed, 2 on bad flags. */
export async function idleMain(argv: string[]): Promise<number> {
  let args: IdleBenchArgs;
  try {
    args = parseIdleArgs(argv);
  } catch (err) {
    console.error(errorMessage(err));
    return 2;
  }
  if (args.help) {
    console.log(IDLE_HELP);
    return 0;
  }
  try {
    const rows = await idleBenchmark(args.connections);
    console.log(formatMemoryTable(rows));
    const lms = rows.find((r) => r.target === "lms");
    if (!lms) return 1;
    const met = lms.perConnectionKiB <= GOAL_KIB_PER_CONNECTION ? "met" : "MISSED";
    console.log(
      `\ngoal: <= ${GOAL_KIB_PER_CONNECTION} KiB per idle connection after logins: ${met}`,
    );
    if (args.jsonPath) {
      await Deno.writeTextFile(args.jsonPath, JSON.stringify({ rows }, null, 2) + "\n");
    }
    return 0;
  } catch (err) {
    log.error("the idle-memory benchmark failed", { error: errorMessage(err) });
    return 1;
  }
}
