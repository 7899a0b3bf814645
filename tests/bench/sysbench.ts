/**
 * Running sysbench's OLTP Lua scripts against a MySQL endpoint for
 * `deno task bench mysql`, and reading its summary: TPS, the latency
 * percentile it was asked for, transaction and error counts.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";
import { runTool, type ToolOutput } from "./tool.ts";

/** The sysbench scripts `deno task bench mysql` runs. */
export type SysbenchScript = "oltp_read_only" | "oltp_point_select";

/** sysbench's `--db-ps-mode`: server-side prepared statements (`auto`) or text queries. */
export type SysbenchPsMode = "auto" | "disable";

/** Where sysbench connects and as whom. */
export interface SysbenchEndpoint {
  /** sysbench's `--db-driver`; `mysql` when not given. */
  driver?: "mysql" | "pgsql";
  /** TCP port on 127.0.0.1. */
  port: number;
  /** MySQL user. */
  user: string;
  /** Its password. */
  password: string;
  /** Database holding the `sbtest*` tables. */
  database: string;
}

/** Table layout, the same for `prepare` and every run. */
export interface SysbenchTables {
  /** `--tables`. */
  tables: number;
  /** `--table-size`, rows per table. */
  tableSize: number;
}

/** One measured (or warm-up) run. */
export interface SysbenchRunOptions extends SysbenchTables {
  /** The endpoint. */
  endpoint: SysbenchEndpoint;
  /** The Lua script. */
  script: SysbenchScript;
  /** `--threads`. */
  threads: number;
  /** `--time`, seconds. */
  durationSeconds: number;
  /** `--db-ps-mode`. */
  psMode: SysbenchPsMode;
}

/** The figures of sysbench's summary. */
export interface SysbenchSummary {
  /** Transactions per second, as sysbench computes it (transactions / total time). */
  tps: number;
  /** Queries per second. */
  qps: number;
  /** Transactions processed. */
  transactions: number;
  /** Errors sysbench ignored and retried (deadlocks and the like). */
  ignoredErrors: number;
  /** Reconnects. */
  reconnects: number;
  /** Mean transaction latency, ms. */
  latencyAvgMs: number;
  /** The `--percentile` latency (95th by default), ms, from sysbench's histogram. */
  latencyPercentileMs: number;
  /** Which percentile `latencyPercentileMs` is. */
  percentile: number;
}

const SYSBENCH_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C",
  LC_ALL: "C",
};

/**
 * Creates and fills the `sbtest*` tables through `endpoint` (`sysbench
 * oltp_read_only prepare`; every OLTP script shares the layout).
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` when sysbench is missing or fails.
 */
export async function prepareSysbench(
  endpoint: SysbenchEndpoint,
  tables: SysbenchTables,
): Promise<void> {
  const out = await sysbench([
    "oltp_read_only",
    ...sysbenchConnectArgs(endpoint),
    ...tableArgs(tables),
    "prepare",
  ]);
  if (out.code !== 0) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `sysbench prepare on port ${endpoint.port} failed (exit ${out.code}): ` +
        lastLines(out.stdout + out.stderr),
      "check that the benchmark MariaDB started and the user may create tables",
    );
  }
}

/**
 * Runs one script and returns its summary.
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` when sysbench exits non-zero (a target
 * that broke a connection fails the run rather than skewing it) or prints no summary.
 */
export async function runSysbench(opts: SysbenchRunOptions): Promise<SysbenchSummary> {
  const out = await sysbench([
    opts.script,
    ...sysbenchConnectArgs(opts.endpoint),
    ...tableArgs(opts),
    `--threads=${opts.threads}`,
    `--time=${opts.durationSeconds}`,
    `--db-ps-mode=${opts.psMode}`,
    "--percentile=95",
    "--report-interval=0",
    "run",
  ]);
  if (out.code !== 0) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `sysbench ${opts.script} on port ${opts.endpoint.port} failed (exit ${out.code}): ` +
        lastLines(out.stdout + out.stderr),
      "the target dropped connections or refused them; look at its log",
    );
  }
  return parseSysbenchSummary(out.stdout);
}

/**
 * Reads the summary sysbench 1.0 prints after `run`.
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` naming the first figure that is missing.
 */
export function parseSysbenchSummary(stdout: string): SysbenchSummary {
  const figure = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(stdout);
    if (!m) {
      throw new LmsError(
        "TOOL_UNAVAILABLE",
        `sysbench printed no ${what}; its output ended with: ${lastLines(stdout)}`,
        "use sysbench 1.0 (Debian's sysbench package)",
      );
    }
    return m;
  };
  const tx = figure(/^\s*transactions:\s+(\d+)\s+\(([\d.]+) per sec\.\)/m, "transaction count");
  const queries = figure(/^\s*queries:\s+(\d+)\s+\(([\d.]+) per sec\.\)/m, "query count");
  const ignored = figure(/^\s*ignored errors:\s+(\d+)/m, "ignored error count");
  const reconnects = figure(/^\s*reconnects:\s+(\d+)/m, "reconnect count");
  const avg = figure(/^\s*avg:\s+([\d.]+)$/m, "average latency");
  const pct = figure(/^\s*(\d+)th percentile:\s+([\d.]+)$/m, "latency percentile");
  return {
    tps: Number(tx[2]),
    qps: Number(queries[2]),
    transactions: Number(tx[1]),
    ignoredErrors: Number(ignored[1]),
    reconnects: Number(reconnects[1]),
    latencyAvgMs: Number(avg[1]),
    latencyPercentileMs: Number(pct[2]),
    percentile: Number(pct[1]),
  };
}

/** The `--db-driver` and connection flags of sysbench for `e`. */
export function sysbenchConnectArgs(e: SysbenchEndpoint): string[] {
  if (e.driver === "pgsql") {
    return [
      "--db-driver=pgsql",
      "--pgsql-host=127.0.0.1",
      `--pgsql-port=${e.port}`,
      `--pgsql-user=${e.user}`,
      `--pgsql-password=${e.password}`,
      `--pgsql-db=${e.database}`,
    ];
  }
  return [
    "--db-driver=mysql",
    "--mysql-host=127.0.0.1",
    `--mysql-port=${e.port}`,
    `--mysql-user=${e.user}`,
    `--mysql-password=${e.password}`,
    `--mysql-db=${e.database}`,
    // Same path for every target: no TLS handshake at connect.
    "--mysql-ssl=off",
  ];
}

function tableArgs(t: SysbenchTables): string[] {
  return [`--tables=${t.tables}`, `--table-size=${t.tableSize}`];
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-4).join(" | ");
}

function sysbench(args: string[]): Promise<ToolOutput> {
  return runTool(
    "sysbench",
    args,
    SYSBENCH_ENV,
    "install Debian's sysbench package (apt-get install sysbench); .ci/run does it",
  );
}
