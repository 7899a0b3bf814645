/**
 * Command-line flags of `deno task bench`.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import type { PgbenchProtocol, PgbenchScript } from "./pgbench.ts";

/** What the fixed rate is a share of; see {@linkcode BenchArgs.rateBase}. */
export type RateBase = "slowest" | "direct";

/** Parsed flags. */
export interface BenchArgs {
  /** `--help`: print {@linkcode BENCH_HELP} and exit. */
  help: boolean;
  /** Seconds per measured pgbench run. */
  durationSeconds: number;
  /** Measured rounds; each runs every target once. */
  rounds: number;
  /** Seconds of the warm-up run per target and script; 0 skips warm-up. */
  warmupSeconds: number;
  /** pgbench clients (`-c`). */
  clients: number;
  /** pgbench threads (`-j`). */
  jobs: number;
  /** pgbench scale factor for `pgbench -i`. */
  scale: number;
  /** pgbench query protocol (`-M`). */
  protocol: PgbenchProtocol;
  /** Scripts to run, in order. */
  scripts: PgbenchScript[];
  /** Idle clients for the memory measurement; 0 skips it. */
  idleConnections: number;
  /**
   * Whether to add the second (target) cluster and the shadow rows: the
   * target directly and the proxy in shadow modes `async`, `sync` and
   * `strict-sync`.
   */
  shadow: boolean;
  /** Where to write the JSON report, if anywhere. */
  jsonPath: string | undefined;
  /**
   * Fixed-rate rows at this share (0.2 = 20 %) of the `-S` TPS of
   * {@linkcode rateBase}; 0 skips them.
   */
  rateShare: number;
  /**
   * Whose saturated `-S` TPS the fixed rate is a share of: `slowest`, the
   * slowest fixed-rate target of the same run (default), or `direct`, the
   * source database reached directly.
   */
  rateBase: RateBase;
  /** Seconds per fixed-rate row. */
  rateSeconds: number;
}

/** The `--help` text. */
export const BENCH_HELP: string = `deno task bench [flags]
deno task bench cutover [flags]     (see deno task bench cutover --help)
deno task bench mysql [flags]       (see deno task bench mysql --help)
deno task bench relay [flags]       (see deno task bench relay --help)
deno task bench idle [flags]        (see deno task bench idle --help)

Runs pgbench against one throwaway PostgreSQL cluster directly, through the
LMS proxy and through PgBouncer (session mode), and (unless --no-shadow)
against a second identical cluster directly and through proxies shadowing the
first cluster to the second in modes async, sync and strict-sync; prints TPS
and p50/p99 latency with ratios and a shadow check per shadow row, then
measures resident memory per idle client connection of the proxy and of
PgBouncer, then says which goals were met.

Flags:
  --duration <s>           seconds per measured run (default 15)
  --rounds <n>             measured rounds per script, targets rotated each round;
                           TPS is the median, percentiles pool all rounds (default 1)
  --warmup <s>             seconds of warm-up per target and script (default 3; 0 = none)
  --clients <n>            pgbench clients, -c (default 16)
  --jobs <n>               pgbench threads, -j (default 2)
  --scale <n>              pgbench scale factor (default 10)
  --protocol <mode>        pgbench -M: simple, extended or prepared (default simple)
  --only <select|tpcb>     run one script only (default: select, then tpcb)
  --idle-connections <n>   idle clients for the memory measurement (default 2000; 0 = skip)
  --rate-share <percent>   fixed-rate latency rows (pgbench -R) at this share of the
                           --rate-base row's saturated -S TPS (default 20; 0 = skip;
                           needs the select script)
  --rate-base <row>        slowest: the slowest fixed-rate target of this run, so no row
                           is saturated (default); direct: the source reached directly
  --rate-duration <s>      seconds per fixed-rate row (default 8)
  --shadow, --no-shadow    include (default) or leave out the target cluster and the
                           shadow rows (lms async, sync, strict-sync)
  --json <path>            also write the results as JSON to <path>
  --help                   this text
`;

/**
 * Parses the flags.
 *
 * @throws {LmsError} `CLI_USAGE` naming every bad flag.
 */
export function parseBenchArgs(argv: string[]): BenchArgs {
  const v = parseBenchFlags(argv, {
    help: { type: "boolean", short: "h" },
    duration: { type: "string" },
    rounds: { type: "string" },
    warmup: { type: "string" },
    clients: { type: "string" },
    jobs: { type: "string" },
    scale: { type: "string" },
    protocol: { type: "string" },
    only: { type: "string" },
    "idle-connections": { type: "string" },
    shadow: { type: "boolean" },
    "no-shadow": { type: "boolean" },
    json: { type: "string" },
    "rate-share": { type: "string" },
    "rate-duration": { type: "string" },
    "rate-base": { type: "string" },
  }, "run deno task bench --help");
  const problems: string[] = [];
  const int = integerFlagReader(problems);
  const durationSeconds = int("duration", v.duration, 15, 1);
  const rounds = int("rounds", v.rounds, 1, 1);
  const warmupSeconds = int("warmup", v.warmup, 3, 0);
  const clients = int("clients", v.clients, 16, 1);
  const jobs = int("jobs", v.jobs, 2, 1);
  const scale = int("scale", v.scale, 10, 1);
  const idleConnections = int("idle-connections", v["idle-connections"], 2000, 0);
  const ratePercent = int("rate-share", v["rate-share"], 20, 0);
  if (ratePercent > 100) problems.push(`--rate-share must be at most 100, got ${ratePercent}`);
  const rateBase = v["rate-base"] ?? "slowest";
  if (rateBase !== "slowest" && rateBase !== "direct") {
    problems.push(`--rate-base must be slowest or direct, got "${rateBase}"`);
  }
  const rateSeconds = int("rate-duration", v["rate-duration"], 8, 1);
  if (jobs > clients) problems.push(`--jobs (${jobs}) must not exceed --clients (${clients})`);
  const protocol = v.protocol ?? "simple";
  if (protocol !== "simple" && protocol !== "extended" && protocol !== "prepared") {
    problems.push(`--protocol must be simple, extended or prepared, got "${protocol}"`);
  }
  let scripts: PgbenchScript[] = ["select", "tpcb"];
  if (v.only !== undefined) {
    if (v.only === "select" || v.only === "tpcb") scripts = [v.only];
    else problems.push(`--only must be select or tpcb, got "${v.only}"`);
  }
  if (v.shadow && v["no-shadow"]) problems.push("--shadow and --no-shadow contradict each other");
  if (v.json === "") problems.push("--json needs a file path");
  if (problems.length > 0) {
    throw new LmsError("CLI_USAGE", problems.join("; "), "run deno task bench --help");
  }
  return {
    help: v.help ?? false,
    rateShare: ratePercent / 100,
    rateBase: rateBase as RateBase,
    rateSeconds,
    durationSeconds,
    rounds,
    warmupSeconds,
    clients,
    jobs,
    scale,
    protocol: protocol as PgbenchProtocol,
    scripts,
    idleConnections,
    shadow: !v["no-shadow"],
    jsonPath: v.json,
  };
}

/** Parsed flags of `deno task bench cutover`. */
export interface CutoverBenchArgs {
  /** `--help`: print {@linkcode CUTOVER_HELP} and exit. */
  help: boolean;
  /** Cutovers of each kind (consistent, then immediate), directions alternating. */
  cutovers: number;
  /** Fleet sizes to measure, one after the other, in one run (proxies). */
  fleets: number[];
  /** Client sessions per proxy (16 of all of them write, one per proxy probes, the rest idle). */
  sessionsPerProxy: number;
  /** Control-channel clients of the orchestrator-only simulation; 0 skips it. */
  simProxies: number;
  /** Consistent cutovers of the simulation. */
  simCutovers: number;
  /** Where to write the JSON report, if anywhere. */
  jsonPath: string | undefined;
}

/** The `--help` text of `deno task bench cutover`. */
export const CUTOVER_HELP: string = `deno task bench cutover [flags]

For each fleet size, starts source and target PostgreSQL clusters (logical
replication source to target), an orchestrator and that many proxies, opens
--sessions client sessions per proxy (16 of them in all run the writer
workload, one per proxy is a probe, the rest stay idle), then runs consistent
cutovers followed by immediate ones,
directions alternating (source->target, target->source, ...). Prints per kind
and direction: propagation (commit/immediate call returned -> every proxy
answers from the new database, seen by a probe session per proxy), the longest
held client request and its excess over drain + replication catch-up, client
errors and acknowledged writes missing on the target. Then a simulation:
--sim-proxies control-channel clients speaking the real protocol over mTLS
against one orchestrator, without SQL: begin -> all drained acknowledged,
commit -> all on the new epoch, and the orchestrator's CPU and memory per
connected proxy.

Flags:
  --cutovers <n>       cutovers of each kind per fleet (default 20)
  --fleets <a,b,...>   fleet sizes in proxies, or none (default 3,10)
  --sessions <n>       client sessions per proxy (default 100)
  --sim-proxies <n>    simulated proxies, 0 to skip (default 200)
  --sim-cutovers <n>   consistent cutovers of the simulation (default 20)
  --json <path>    also write the results as JSON to <path>
  --help           this text
`;

/**
 * Parses the flags after `cutover`.
 *
 * @throws {LmsError} `CLI_USAGE` naming every bad flag.
 */
export function parseCutoverArgs(argv: string[]): CutoverBenchArgs {
  const v = parseBenchFlags(argv, {
    help: { type: "boolean", short: "h" },
    cutovers: { type: "string" },
    fleets: { type: "string" },
    sessions: { type: "string" },
    "sim-proxies": { type: "string" },
    "sim-cutovers": { type: "string" },
    json: { type: "string" },
  }, "run deno task bench cutover --help");
  const problems: string[] = [];
  const count = integerFlagReader(problems);
  const cutovers = count("cutovers", v.cutovers, 20, 1);
  const fleets = v.fleets === "none"
    ? []
    : (v.fleets ?? "3,10").split(",").map((f) => count("fleets", f.trim(), 3, 1));
  const sessionsPerProxy = count("sessions", v.sessions, 100, 1);
  const simProxies = count("sim-proxies", v["sim-proxies"], 200, 0);
  const simCutovers = count("sim-cutovers", v["sim-cutovers"], 20, 1);
  if (v.json === "") problems.push("--json needs a file path");
  if (problems.length > 0) {
    throw new LmsError("CLI_USAGE", problems.join("; "), "run deno task bench cutover --help");
  }
  return {
    help: v.help ?? false,
    cutovers,
    fleets,
    sessionsPerProxy,
    simProxies,
    simCutovers,
    jsonPath: v.json,
  };
}

/** The values of the flags `options` defines, as `parseArgs` types them. */
export type BenchFlags<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; strict: true; allowPositionals: false; options: O }>
>["values"];

/**
 * Parses `argv` against `options`: flags only, an unknown flag or a missing
 * value is an error.
 *
 * @throws {LmsError} `CLI_USAGE` with parseArgs' message and `hint`.
 */
export function parseBenchFlags<O extends ParseArgsOptionsConfig>(
  argv: string[],
  options: O,
  hint: string,
): BenchFlags<O> {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw new LmsError("CLI_USAGE", errorMessage(err), hint);
  }
}

/** Reads one whole-number flag: its value, or `fallback` when absent or invalid. */
export type IntegerFlagReader = (
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
) => number;

/**
 * A reader for whole-number flags that records each invalid value in
 * `problems` (and answers the fallback), so every bad flag is reported at once.
 */
export function integerFlagReader(problems: string[]): IntegerFlagReader {
  return (name, raw, fallback, min) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      problems.push(`--${name} must be an integer >= ${min}, got "${raw}"`);
      return fallback;
    }
    return n;
  };
}
