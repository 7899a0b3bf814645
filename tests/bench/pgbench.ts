/**
 * Running pgbench for the benchmark and reading its results: TPS and average
 * latency from its summary, exact p50/p99 from its per-transaction logs.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";
import { runTool, type ToolOutput } from "./tool.ts";

/** The two built-in pgbench scripts the benchmark runs. */
export type PgbenchScript = "select" | "tpcb";

/** pgbench's `-M` query protocol. */
export type PgbenchProtocol = "simple" | "extended" | "prepared";

/** One pgbench run against one endpoint. */
export interface PgbenchRunOptions {
  /** TCP port on 127.0.0.1 to connect to. */
  port: number;
  /** `select` runs `-S`, `tpcb` the default TPC-B-like script. */
  script: PgbenchScript;
  /** `-c`. */
  clients: number;
  /** `-j`. */
  jobs: number;
  /** `-T`, in seconds. */
  durationSeconds: number;
  /** `-M`. */
  protocol: PgbenchProtocol;
  /** `-R`: transactions per second to schedule; unthrottled without it. */
  rate?: number;
  /** `-f`: a script file run instead of `script`'s built-in one. */
  scriptFile?: string;
  /**
   * Directory for the per-transaction logs (`-l`), none without it (warm-up
   * runs). The caller owns and removes the directory.
   */
  logDir?: string;
  /**
   * File name prefix of the logs inside `logDir`; pgbench appends `.<pid>`
   * and `.<thread>`, so runs may share a prefix.
   */
  logName?: string;
}

/** The summary figures pgbench prints on stdout. */
export interface PgbenchSummary {
  /** TPS without initial connection time. */
  tps: number;
  /** Average latency in ms. */
  latencyAvgMs: number;
  /** Transactions processed. */
  transactions: number;
  /** Failed transactions. */
  failed: number;
}

const PGBENCH_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C",
  LC_ALL: "C",
  // Same path for every target: no TLS negotiation round trip at connect.
  PGSSLMODE: "disable",
  PGGSSENCMODE: "disable",
  PGCONNECT_TIMEOUT: "10",
};

/**
 * Creates the pgbench tables (`pgbench -i -q -s scale`) on `port`.
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` when pgbench fails.
 */
export async function initPgbench(port: number, scale: number): Promise<void> {
  const out = await pgbench(["-i", "-q", "-s", String(scale), ...connectArgs(port)]);
  if (out.code !== 0) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `pgbench -i on port ${port} failed (exit ${out.code}): ${out.stderr.trim()}`,
      "check that the benchmark cluster started and accepts connections",
    );
  }
}

/**
 * Runs pgbench once and returns its summary; with `logDir`, every
 * transaction's latency is also logged there (see {@linkcode latencyPercentiles}).
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` when pgbench exits non-zero (a target
 * that broke a connection fails the run rather than skewing it) or prints no
 * summary.
 */
export async function runPgbench(opts: PgbenchRunOptions): Promise<PgbenchSummary> {
  const args = [
    "-c",
    String(opts.clients),
    "-j",
    String(opts.jobs),
    "-T",
    String(opts.durationSeconds),
    "-M",
    opts.protocol,
    ...(opts.scriptFile ? ["-f", opts.scriptFile] : opts.script === "select" ? ["-S"] : []),
    ...(opts.rate ? ["-R", String(opts.rate)] : []),
  ];
  const prefix = opts.logDir ? `${opts.logDir}/${opts.logName ?? "pgbench"}` : undefined;
  if (prefix) args.push("-l", `--log-prefix=${prefix}`);
  const out = await pgbench([...args, ...connectArgs(opts.port)]);
  if (out.code !== 0) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `pgbench (${opts.script}) on port ${opts.port} failed (exit ${out.code}): ` +
        out.stderr.trim().split("\n").slice(-5).join(" | "),
      "the target dropped connections or refused them; look at its log",
    );
  }
  return parsePgbenchSummary(out.stdout);
}

/**
 * Exact median and 99th percentile, in ms, over every transaction logged
 * under `name` in `dir` — by all runs that used that log name.
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` when there is no log.
 */
export async function latencyPercentiles(
  dir: string,
  name: string,
): Promise<{ p50Ms: number; p99Ms: number }> {
  const latencies = await readTransactionLatencies(dir, name);
  latencies.sort();
  return { p50Ms: percentile(latencies, 0.5) / 1000, p99Ms: percentile(latencies, 0.99) / 1000 };
}

/**
 * Reads TPS, average latency and transaction counts from pgbench's stdout.
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` when a figure is missing.
 */
export function parsePgbenchSummary(stdout: string): PgbenchSummary {
  const number = (re: RegExp, what: string): number => {
    const m = re.exec(stdout);
    if (!m) {
      throw new LmsError(
        "TOOL_UNAVAILABLE",
        `pgbench printed no ${what}; its output was:\n${stdout}`,
        "use pgbench from PostgreSQL 14 or newer",
      );
    }
    return Number(m[1]);
  };
  const failed = /number of failed transactions: (\d+)/.exec(stdout);
  return {
    tps: number(/tps = ([\d.]+) \(without initial connection time\)/, "tps"),
    latencyAvgMs: number(/latency average = ([\d.]+) ms/, "latency average"),
    transactions: number(/number of transactions actually processed: (\d+)/, "transaction count"),
    failed: failed ? Number(failed[1]) : 0,
  };
}

/**
 * Collects the latency (µs, third column) of every successful transaction from
 * the per-thread log files `<name>.<pid>` and `<name>.<pid>.<thread>` in `dir`.
 * Failed transactions carry a word instead of a number there and are skipped.
 */
export async function readTransactionLatencies(
  dir: string,
  name: string,
): Promise<Float64Array> {
  const chunks: Float64Array[] = [];
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.startsWith(`${name}.`)) continue;
    const values = parseLogLatencies(await Deno.readTextFile(`${dir}/${entry.name}`));
    chunks.push(values);
    total += values.length;
  }
  if (total === 0) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `pgbench wrote no transaction log named ${name}.* in ${dir}`,
      "check that pgbench supports -l and --log-prefix",
    );
  }
  const all = new Float64Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

/** Latencies in µs from the text of one pgbench transaction log. */
export function parseLogLatencies(text: string): Float64Array {
  const out = new Float64Array(text.length / 16 + 1);
  let n = 0;
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    // Fields: client_id transaction_no time script_no time_epoch time_us …
    const s1 = text.indexOf(" ", lineStart);
    const s2 = s1 < 0 ? -1 : text.indexOf(" ", s1 + 1);
    const s3 = s2 < 0 ? -1 : text.indexOf(" ", s2 + 1);
    if (s3 > 0 && s3 < lineEnd) {
      const value = Number(text.slice(s2 + 1, s3));
      if (Number.isFinite(value)) out[n++] = value;
    }
    lineStart = lineEnd + 1;
  }
  return out.slice(0, n);
}

/** Nearest-rank percentile of ascending `sorted` (`q` in 0..1). */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

function connectArgs(port: number): string[] {
  return ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "postgres"];
}

function pgbench(args: string[]): Promise<ToolOutput> {
  return runTool(
    "pgbench",
    args,
    PGBENCH_ENV,
    "install the postgresql-client (or postgresql-contrib) package; .ci/run does it",
  );
}
