/**
 * Command-line flags of `deno task bench mysql`.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";
import type { SysbenchPsMode, SysbenchScript } from "./sysbench.ts";
import { integerFlagReader, parseBenchFlags } from "./args.ts";

/** Parsed flags of `deno task bench mysql`. */
export interface MysqlBenchArgs {
  /** `--help`: print {@linkcode MYSQL_HELP} and exit. */
  help: boolean;
  /** Seconds per measured run. */
  durationSeconds: number;
  /** Seconds of the warm-up run per target and script; 0 skips warm-up. */
  warmupSeconds: number;
  /** sysbench `--threads`. */
  threads: number;
  /** sysbench `--tables`. */
  tables: number;
  /** sysbench `--table-size`. */
  tableSize: number;
  /** sysbench `--db-ps-mode`. */
  psMode: SysbenchPsMode;
  /** Scripts to run, in order. */
  scripts: SysbenchScript[];
  /** Where to write the JSON report, if anywhere. */
  jsonPath: string | undefined;
  /** Loopback port of the V8 inspector of the translating proxy, if any (for profiling). */
  inspectTranslated: number | undefined;
  /** `--bare-relay`: also measure a bare `node:net` relay (the runtime's floor for a relay). */
  bareRelay: boolean;
  /** `--source-only`: skip the target rows (direct PostgreSQL and the translating proxy). */
  sourceOnly: boolean;
  /** `--inspect-port`: start the `lms none` proxy with the V8 inspector on this loopback port. */
  inspectPort: number | undefined;
}

const SCRIPTS: readonly SysbenchScript[] = ["oltp_read_only", "oltp_point_select"];

/** The `--help` text of `deno task bench mysql`. */
export const MYSQL_HELP: string = `deno task bench mysql [flags]

Starts one throwaway MariaDB server from the machine's binaries, fills it with
sysbench's tables, and runs sysbench oltp_read_only, then oltp_point_select,
once against MariaDB directly and once through the LMS proxy
(LMS_SOURCE_DIALECT=mysql, shadow mode none); prints TPS, p95 and average
latency, the ratio to the direct run, and the CPU the proxy and mariadbd spent
per transaction, then whether the goal (proxy TPS >= 0.8x direct on
oltp_read_only) was met.

Flags:
  --duration <s>        seconds per measured run (default 15)
  --warmup <s>          seconds of warm-up per target and script (default 3; 0 = none)
  --threads <n>         sysbench --threads (default 16)
  --tables <n>          sysbench --tables (default 4)
  --table-size <n>      sysbench --table-size, rows per table (default 10000)
  --ps-mode <mode>      sysbench --db-ps-mode: auto (prepared statements) or disable
                        (text queries) (default auto)
  --only <script>       oltp_read_only or oltp_point_select (default: both)
  --json <path>         also write the results as JSON to <path>
  --inspect-translated <port>
                        start the translating proxy (lms from target) with
                        --inspect=127.0.0.1:<port>, to record a CPU profile with
                        tests/bench/cpu_profile.ts while it runs (default: off)
  --bare-relay          also measure a bare node:net relay in front of MariaDB and one in
                        front of the target (sysbench's pgsql driver)
                        (tests/bench/relay_candidates.ts node-data), the floor of
                        any relay in this runtime
  --source-only         skip the target rows (direct PostgreSQL, translating proxy)
  --inspect-port <n>    start the lms none proxy with --inspect=127.0.0.1:<n>, for
                        tests/bench/cpu_profile.ts (default: no inspector)
  --help                this text
`;

/**
 * Parses the flags after `mysql`.
 *
 * @throws {LmsError} `CLI_USAGE` naming every bad flag.
 */
export function parseMysqlBenchArgs(argv: string[]): MysqlBenchArgs {
  const v = parseBenchFlags(argv, {
    help: { type: "boolean", short: "h" },
    duration: { type: "string" },
    warmup: { type: "string" },
    threads: { type: "string" },
    tables: { type: "string" },
    "table-size": { type: "string" },
    "ps-mode": { type: "string" },
    only: { type: "string" },
    json: { type: "string" },
    "inspect-translated": { type: "string" },
    "source-only": { type: "boolean" },
    "bare-relay": { type: "boolean" },
    "inspect-port": { type: "string" },
  }, "run deno task bench mysql --help");
  const problems: string[] = [];
  const int = integerFlagReader(problems);
  const durationSeconds = int("duration", v.duration, 15, 1);
  const warmupSeconds = int("warmup", v.warmup, 3, 0);
  const threads = int("threads", v.threads, 16, 1);
  const tables = int("tables", v.tables, 4, 1);
  const tableSize = int("table-size", v["table-size"], 10000, 1);
  const psMode = v["ps-mode"] ?? "auto";
  if (psMode !== "auto" && psMode !== "disable") {
    problems.push(`--ps-mode must be auto or disable, got "${psMode}"`);
  }
  let scripts = [...SCRIPTS];
  if (v.only !== undefined) {
    if ((SCRIPTS as readonly string[]).includes(v.only)) scripts = [v.only as SysbenchScript];
    else problems.push(`--only must be ${SCRIPTS.join(" or ")}, got "${v.only}"`);
  }
  if (v.json === "") problems.push("--json needs a file path");
  const inspectTranslated = v["inspect-translated"] === undefined
    ? undefined
    : int("inspect-translated", v["inspect-translated"], 0, 1);
  const inspectPort = v["inspect-port"] === undefined
    ? undefined
    : int("inspect-port", v["inspect-port"], 0, 1);
  if (problems.length > 0) {
    throw new LmsError("CLI_USAGE", problems.join("; "), "run deno task bench mysql --help");
  }
  return {
    help: v.help ?? false,
    durationSeconds,
    warmupSeconds,
    threads,
    tables,
    tableSize,
    psMode: psMode as SysbenchPsMode,
    scripts,
    jsonPath: v.json,
    inspectTranslated,
    sourceOnly: v["source-only"] ?? false,
    bareRelay: v["bare-relay"] ?? false,
    inspectPort,
  };
}
