/**
 * The configuration every LMS process reads, and its validation.
 *
 * Sources, strongest first: command-line flag, environment variable, `config.json`
 * (path from `--config` or `LMS_CONFIG`), default. The product docs' keys
 * (`INIT_SOURCE`, `INIT_TARGET`, `SSL_*`, `*TLS*`) hold secrets or secret paths and come
 * only from the environment or `config.json`; the `LMS_*` settings also have flags.
 * Every problem is collected and reported at once in one {@linkcode ConfigError}.
 * The settings reference is `shared/CONFIGURATION.md`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { z } from "zod";
import { LmsError } from "./errors.ts";
import { redactSecrets } from "./log.ts";
import {
  type ConnectionSpec,
  ConnectionStringError,
  parseConnectionString,
  redactConnectionString,
} from "./connstring.ts";
import { loadPem, type PemKind, type ServerTlsMaterial } from "./tls.ts";

/** Dialect of the source database. */
export type Dialect = "postgres" | "mysql" | "crdb";
/** How the proxy authenticates clients: relayed to the database, or asks for the password itself. */
export type ClientAuth = "relay" | "cleartext";
/** How the proxy treats the database that is not the source of truth. */
export type ShadowMode = "none" | "async" | "sync" | "strict-sync";
/** The process whose configuration is loaded. */
export type ProcessKind = "proxy" | "orchestrator" | "start";
/** A TCP address to listen on. */
export interface ListenAddress {
  /** Interface to bind, e.g. `0.0.0.0` or `::1`. */
  hostname: string;
  /** Port; 0 lets the operating system pick a free one. */
  port: number;
}

/** Validated configuration of one LMS process. */
export interface LmsConfig {
  /** Dialect of the source database. */
  sourceDialect: Dialect;
  /** Shadowing mode; default "none". */
  shadowMode: ShadowMode;
  /** SQL (proxy) or API + WebSocket (orchestrator) listener. */
  listen: ListenAddress;
  /** Metrics, `/healthz` and `/readyz` listener. */
  metricsListen: ListenAddress;
  /** Where proxies reach the orchestrator, e.g. https://orch:4200. */
  orchestratorUrl?: string;
  /** A proxy runs without an orchestrator on purpose (`--standalone`); never follows a cutover. */
  standalone: boolean;
  /** INIT_SOURCE. */
  source?: ConnectionSpec;
  /** INIT_TARGET. */
  target?: ConnectionSpec;
  /** SSL_CERT + SSL_KEY (+ SSL_CA: client certificates required and verified). */
  proxyTls?: ServerTlsMaterial;
  /** TLS_CERT + TLS_KEY (+ CA_TLS_CERT). */
  orchestratorTls?: ServerTlsMaterial;
  /** LMS_API_TOKEN: the bearer token for API changes and proxy registration. Never logged. */
  apiToken?: string;
  /** Largest protocol message accepted, in bytes. */
  maxMessageSize: number;
  /** How long a proxy stays paused before it re-reads the store, in milliseconds. */
  maxPauseMs: number;
  /**
   * Orchestrator: how long a proxy that vanished without leaving still counts
   * as a fleet member that cutover steps wait for, in milliseconds; 0 turns it off.
   */
  missingProxyGraceMs: number;
  /** How long a process drains on SIGTERM before it cuts what is left, in milliseconds. */
  shutdownGraceMs: number;
  /** Bytes an async shadow may fall behind before a session stops shadowing; default 8 MiB. */
  shadowQueueBytes: number;
  /** Extra regular expressions of statements whose values may differ (volatile functions). */
  shadowVolatile: string[];
  /** Rows per statement compared one by one; past it results compare by digest. Default 1000. */
  shadowRowLimit: number;
  /** Identity of this process in metrics, logs and the control channel. */
  proxyId: string;
  /** Least severe log level written. */
  logLevel: "debug" | "info" | "warn" | "error";
  /** Replace literals in logged and reported queries. */
  redactQueries: boolean;
  /** Reads a user's stored password (`$1` = user name) for SCRAM/MD5 pass-through. */
  authQuery: string;
  /** `relay` (default) or `cleartext`: the proxy asks clients for their password itself. */
  clientAuth: ClientAuth;
  /** With `cleartext`, accept passwords from clients that did not use TLS (forced, logged). */
  allowCleartextWithoutTls: boolean;
  /** Orchestrator: the dashboard shows cutover buttons (`--dashboard-allow-actions`). */
  dashboardAllowActions: boolean;
  /** Orchestrator: `ORCH_ALLOW_ORIGIN`, the origin browsers may call the API and dashboard from. */
  allowOrigin?: string;
  /** MySQL source: how often a proxy records the source's accounts in the state store, in ms. */
  mysqlAccountsRefreshMs: number;
  /** MySQL source: PEM RSA private key for caching_sha2_password without TLS; generated when unset. */
  mysqlRsaKey?: string;
  /** MySQL source: the CockroachDB user each MySQL user runs as, where it is not the same name. */
  mysqlTargetUsers: Record<string, string>;
  /** Client connections one proxy serves at once; past it clients get 53300 / 1040. */
  maxConnections: number;
  /** Failed logins from one client address within `authFailureWindowMs` before it is blocked; 0 = off. */
  authFailureLimit: number;
  /** Window over which failed logins count, and how long a blocked address stays blocked (ms). */
  authFailureWindowMs: number;
  /** Bytes one session may have held back while the proxy is paused. */
  maxHeldBytes: number;
  /** Sessions one proxy holds at once while paused. */
  maxHeldClients: number;
  /** Path of the config.json that was read, if any. */
  configFile?: string;
}

/** One thing wrong with the configuration. */
export interface ConfigProblem {
  /** Config key, environment variable or flag the problem is about. */
  key: string;
  /** What is wrong and what to do; never contains a secret. */
  message: string;
}

/** Every problem found in a configuration; code CONFIG_INVALID. */
export class ConfigError extends LmsError {
  /** The problems, in the order found. */
  readonly problems: ConfigProblem[];

  /** @param problems at least one problem */
  constructor(problems: ConfigProblem[]) {
    super(
      "CONFIG_INVALID",
      problems.map((p) => `${p.key}: ${p.message}`).join("\n"),
      "fix the settings named above; see shared/CONFIGURATION.md or run with --help",
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** What {@linkcode loadConfig} reads. */
export interface LoadConfigInput {
  /** Command-line arguments, without the program name. */
  args: string[];
  /** Environment variables, e.g. `Deno.env.toObject()`. */
  env: Record<string, string>;
  /** Reads config.json; defaults to `Deno.readTextFileSync`. */
  readTextFile?: (path: string) => string;
}

type FileType = "string" | "number" | "boolean";

/** One setting: its key (environment variable / config.json key) and optional flag. */
export interface SettingInfo {
  /** Environment variable and config.json key. */
  key: string;
  /** Long flag name without dashes, if the setting has one. */
  flag?: string;
  /** Shown after the flag in help, e.g. `HOST:PORT`; absent for on/off flags. */
  valueName?: string;
  /** Default, as shown in help, for the given process. */
  defaultText: (kind: ProcessKind) => string;
  /** One-line description. */
  description: string;
}

interface Setting extends SettingInfo {
  fileTypes: readonly FileType[];
}

const LISTEN_DEFAULTS: Record<ProcessKind, { listen: string; metrics: string }> = {
  proxy: { listen: "0.0.0.0:9043", metrics: "0.0.0.0:9044" },
  orchestrator: { listen: "0.0.0.0:4200", metrics: "0.0.0.0:4201" },
  // The local run fronts embedded trust-auth databases: loopback only unless told otherwise.
  start: { listen: "127.0.0.1:9043", metrics: "127.0.0.1:9044" },
};
const DEFAULT_MAX_MESSAGE_SIZE = 268435456;
const MIN_MAX_MESSAGE_SIZE = 1024;
/** PostgreSQL's own limit for one allocation (MaxAllocSize). */
const MAX_MAX_MESSAGE_SIZE = 1073741824;
const DEFAULT_MAX_PAUSE_MS = 60000;
const DEFAULT_SHADOW_QUEUE_BYTES = 8 * 1024 * 1024;
const DEFAULT_SHADOW_ROW_LIMIT = 1000;
const DEFAULT_MAX_CONNECTIONS = 2000;
const DEFAULT_AUTH_FAILURE_LIMIT = 20;
const DEFAULT_AUTH_FAILURE_WINDOW_MS = 60000;
const DEFAULT_MAX_HELD_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_HELD_CLIENTS = 1000;
/** PgBouncer's default `auth_query`. */
export const DEFAULT_AUTH_QUERY = "SELECT usename, passwd FROM pg_shadow WHERE usename=$1";

/** SQL with exactly the one parameter `$1`. */
function parseAuthQuery(text: string): Parsed<string> {
  const sql = text.trim();
  const params = new Set(sql.match(/\$\d+/g) ?? []);
  if (!params.has("$1") || params.size !== 1) {
    return invalid("must be one SQL query whose only parameter is $1 (the user name)");
  }
  return { value: sql };
}

/** A whole number from `min` to `max`; `what` names it in the problem. */
function wholeNumber(min: number, max: number, what: string): (text: string) => Parsed<number> {
  return (text) => {
    const n = Number(text.trim());
    if (text.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
      return invalid(`"${text.slice(0, 20)}" is not ${what} from ${min} to ${max}`);
    }
    return { value: n };
  };
}

/** A whole number of rows from 1 to one million. */
function parseRowLimit(text: string): Parsed<number> {
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) {
    return invalid(`"${text.slice(0, 20)}" is not a row count from 1 to 1000000`);
  }
  return { value: n };
}

/** Comma-separated regular expressions, each compiled to check it (case-insensitive). */
function parsePatterns(text: string): Parsed<string[]> {
  const patterns = text.split(",").map((p) => p.trim()).filter((p) => p.length > 0);
  for (const p of patterns) {
    try {
      new RegExp(p, "i");
    } catch (err) {
      return invalid(`"${p}" is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  return { value: patterns };
}
/** `mysql_user=crdb_user` pairs, comma-separated. */
function parseUserMap(text: string): Parsed<Record<string, string>> {
  const map: Record<string, string> = Object.create(null);
  for (const pair of text.split(",").map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^([^=\s]+)\s*=\s*([^=\s]+)$/.exec(pair);
    if (!m) return invalid(`"${pair.slice(0, 40)}" is not mysql_user=cockroachdb_user`);
    if (Object.hasOwn(map, m[1])) return invalid(`${m[1]} is mapped twice`);
    map[m[1]] = m[2];
  }
  return { value: map };
}
const DEFAULT_SHUTDOWN_GRACE_MS = 30000;
const DEFAULT_MYSQL_ACCOUNTS_REFRESH_MS = 5 * 60_000;
/** setTimeout overflows beyond a signed 32-bit delay. */
const MAX_MAX_PAUSE_MS = 2147483647;

const always = (text: string) => (): string => text;
const STR: readonly FileType[] = ["string"];

const SETTINGS: readonly Setting[] = [
  {
    key: "LMS_CONFIG",
    flag: "config",
    valueName: "PATH",
    defaultText: always("none"),
    description: "path of config.json (a JSON object of the keys below)",
    fileTypes: [],
  },
  {
    key: "LMS_SOURCE_DIALECT",
    flag: "source-dialect",
    valueName: "postgres|mysql|crdb",
    defaultText: (k) =>
      k === "start" ? "mysql for a mysql:// INIT_SOURCE, else postgres" : "required",
    description: "dialect of the source database",
    fileTypes: STR,
  },
  {
    key: "LMS_SHADOW_MODE",
    flag: "shadow-mode",
    valueName: "none|async|sync|strict-sync",
    defaultText: always("none"),
    description: "shadowing of traffic to the database that is not the source of truth",
    fileTypes: STR,
  },
  {
    key: "LMS_LISTEN",
    flag: "listen",
    valueName: "HOST:PORT",
    defaultText: (k) => LISTEN_DEFAULTS[k].listen,
    description: "SQL listener (proxy) or API + WebSocket listener (orchestrator)",
    fileTypes: STR,
  },
  {
    key: "LMS_METRICS_LISTEN",
    flag: "metrics-listen",
    valueName: "HOST:PORT",
    defaultText: (k) => LISTEN_DEFAULTS[k].metrics,
    description: "metrics, /healthz and /readyz listener",
    fileTypes: STR,
  },
  {
    key: "LMS_ORCHESTRATOR_URL",
    flag: "orchestrator-url",
    valueName: "URL",
    defaultText: always("none"),
    description: "where proxies reach the orchestrator, e.g. https://orch:4200",
    fileTypes: STR,
  },
  {
    key: "LMS_STANDALONE",
    flag: "standalone",
    defaultText: always("false"),
    description: "proxy: run without an orchestrator on purpose; it never follows a cutover",
    fileTypes: ["string", "boolean"],
  },
  {
    key: "LMS_MAX_MESSAGE_SIZE",
    flag: "max-message-size",
    valueName: "BYTES",
    defaultText: always("256MiB"),
    description: "largest protocol message accepted (bytes, or with KiB/MiB/GiB)",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_MAX_PAUSE",
    flag: "max-pause",
    valueName: "DURATION",
    defaultText: always("60s"),
    description: "how long a proxy stays paused before re-reading the store (ms, or 30s, 2m)",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_MISSING_PROXY_GRACE",
    flag: "missing-proxy-grace",
    valueName: "DURATION",
    defaultText: always("30s"),
    description: "orchestrator: cutover steps wait this long for a proxy that vanished without " +
      "leaving (0: off)",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_SHUTDOWN_GRACE",
    flag: "shutdown-grace",
    valueName: "DURATION",
    defaultText: always("30s"),
    description: "on SIGTERM, how long open transactions and commands may finish (ms, or 30s)",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_SHADOW_QUEUE",
    flag: "shadow-queue",
    valueName: "BYTES",
    defaultText: always("8MiB"),
    description: "async shadowing: how far a session's shadow may fall behind before it is dropped",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_SHADOW_ROW_LIMIT",
    flag: "shadow-row-limit",
    valueName: "ROWS",
    defaultText: always("1000"),
    description: "rows per statement compared one by one; larger results compare by digest",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_SHADOW_VOLATILE",
    flag: "shadow-volatile",
    valueName: "REGEXPS",
    defaultText: always("none (built-in list only)"),
    description:
      "comma-separated extra patterns of statements whose values may legitimately differ",
    fileTypes: STR,
  },
  {
    key: "LMS_PROXY_ID",
    flag: "proxy-id",
    valueName: "ID",
    defaultText: always("the pod name in Kubernetes, else the host name plus a random suffix"),
    description: "identity of this process in metrics, logs and the control channel",
    fileTypes: STR,
  },
  {
    key: "LMS_LOG_LEVEL",
    flag: "log-level",
    valueName: "debug|info|warn|error",
    defaultText: always("info"),
    description: "least severe log level written",
    fileTypes: STR,
  },
  {
    key: "LMS_REDACT_QUERIES",
    flag: "redact-queries",
    defaultText: always("false"),
    description: "replace literals in logged and reported queries",
    fileTypes: ["string", "boolean"],
  },
  {
    key: "LMS_AUTH_QUERY",
    flag: "auth-query",
    valueName: "SQL",
    defaultText: always(DEFAULT_AUTH_QUERY),
    description: "reads a user's stored password ($1 = user) so sessions keep their identity",
    fileTypes: STR,
  },
  {
    key: "LMS_CLIENT_AUTH",
    flag: "client-auth",
    valueName: "relay|cleartext",
    defaultText: always("relay"),
    description: "relay authentication to the database, or ask clients for their password (TLS)",
    fileTypes: STR,
  },
  {
    key: "LMS_ALLOW_CLEARTEXT_WITHOUT_TLS",
    flag: "allow-cleartext-without-tls",
    defaultText: always("false"),
    description: "with --client-auth cleartext, also accept passwords over plain TCP (unsafe)",
    fileTypes: ["string", "boolean"],
  },
  {
    key: "LMS_DASHBOARD_ALLOW_ACTIONS",
    flag: "dashboard-allow-actions",
    defaultText: always("false"),
    description:
      "orchestrator: the dashboard (GET /) offers cutover buttons, with typed confirmation",
    fileTypes: ["string", "boolean"],
  },
  {
    key: "ORCH_ALLOW_ORIGIN",
    flag: "allow-origin",
    valueName: "ORIGIN",
    defaultText: always("none: same origin only"),
    description: "orchestrator: CORS origin allowed to call the API and dashboard (* or a URL)",
    fileTypes: STR,
  },
  {
    key: "LMS_MYSQL_ACCOUNTS_REFRESH",
    flag: "mysql-accounts-refresh",
    valueName: "DURATION",
    defaultText: always("5m"),
    description: "MySQL source: how often a proxy records the source's accounts in the state store",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_MYSQL_RSA_KEY",
    flag: "mysql-rsa-key",
    valueName: "PATH",
    defaultText: always("a key pair generated at start, in memory only"),
    description: "MySQL source: RSA private key (PEM) for caching_sha2_password logins without TLS",
    fileTypes: STR,
  },
  {
    key: "LMS_MYSQL_TARGET_USERS",
    flag: "mysql-target-users",
    valueName: "MYSQL=CRDB,...",
    defaultText: always("none (each MySQL user runs as the CockroachDB user of the same name)"),
    description:
      "MySQL source: the CockroachDB user a MySQL user's sessions run as after a cutover",
    fileTypes: STR,
  },
  {
    key: "LMS_MAX_CONNECTIONS",
    flag: "max-connections",
    valueName: "N",
    defaultText: always(String(DEFAULT_MAX_CONNECTIONS)),
    description: "proxy: client connections served at once; more get 53300 (MySQL 1040)",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_AUTH_FAILURE_LIMIT",
    flag: "auth-failure-limit",
    valueName: "N",
    defaultText: always(String(DEFAULT_AUTH_FAILURE_LIMIT)),
    description: "proxy: failed logins per client address per window before it is blocked (0: off)",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_AUTH_FAILURE_WINDOW",
    flag: "auth-failure-window",
    valueName: "DURATION",
    defaultText: always("60s"),
    description: "proxy: window of LMS_AUTH_FAILURE_LIMIT, and how long a blocked address waits",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_MAX_HELD_BYTES",
    flag: "max-held-bytes",
    valueName: "BYTES",
    defaultText: always("16MiB"),
    description: "proxy: bytes one session may send while paused before it gets an error",
    fileTypes: ["string", "number"],
  },
  {
    key: "LMS_MAX_HELD_CLIENTS",
    flag: "max-held-clients",
    valueName: "N",
    defaultText: always(String(DEFAULT_MAX_HELD_CLIENTS)),
    description: "proxy: sessions held at once while paused; more get an error",
    fileTypes: ["string", "number"],
  },
  {
    key: "INIT_SOURCE",
    defaultText: (k) => k === "proxy" ? "required" : k === "start" ? "embedded database" : "none",
    description: "connection string of the source database",
    fileTypes: STR,
  },
  {
    key: "INIT_TARGET",
    defaultText: (k) =>
      k === "orchestrator" ? "required" : k === "start" ? "embedded database" : "none",
    description: "connection string of the target (CockroachDB, PostgreSQL protocol)",
    fileTypes: STR,
  },
  {
    key: "SSL_CERT",
    defaultText: always("none: plain TCP"),
    description: "proxy listener certificate: PEM file, or directory with tls.crt",
    fileTypes: STR,
  },
  {
    key: "SSL_KEY",
    defaultText: always("none"),
    description: "proxy listener key: PEM file, or directory with tls.key",
    fileTypes: STR,
  },
  {
    key: "SSL_CA",
    defaultText: always("none: no client certificates"),
    description: "CA that client certificates must chain to: PEM file, or directory with ca.crt",
    fileTypes: STR,
  },
  {
    key: "TLS_CERT",
    defaultText: always("none: plain HTTP"),
    description: "orchestrator certificate: PEM file, or directory with tls.crt",
    fileTypes: STR,
  },
  {
    key: "TLS_KEY",
    defaultText: always("none"),
    description: "orchestrator key: PEM file, or directory with tls.key",
    fileTypes: STR,
  },
  {
    key: "CA_TLS_CERT",
    defaultText: always("none: no client certificates"),
    description: "CA for orchestrator mTLS: PEM file, or directory with ca.crt",
    fileTypes: STR,
  },
  {
    key: "LMS_API_TOKEN",
    defaultText: (k) =>
      k === "orchestrator"
        ? "required unless CA_TLS_CERT (mTLS)"
        : k === "start"
        ? "generated"
        : "required with an orchestrator URL unless TLS_CERT/TLS_KEY (mTLS)",
    description: "bearer token for API changes and for proxies registering with the orchestrator",
    fileTypes: STR,
  },
];

/** Every setting, in help order. */
export const CONFIG_SETTINGS: readonly SettingInfo[] = SETTINGS;

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));
const BY_FLAG = new Map(SETTINGS.filter((s) => s.flag).map((s) => [s.flag as string, s]));

const dialectSchema = z.enum(["postgres", "mysql", "crdb"]);
const shadowModeSchema = z.enum(["none", "async", "sync", "strict-sync"]);
const clientAuthSchema = z.enum(["relay", "cleartext"]);
const logLevelSchema = z.enum(["debug", "info", "warn", "error"]);
const fileSchema = z.record(z.string(), z.unknown());

/** True when `args` ask for help (`-h` or `--help`); check it before {@linkcode loadConfig}. */
export function wantsHelp(args: string[]): boolean {
  return args.some((a) => a === "-h" || a === "--help");
}

/** Loads and validates config for a process; reports ALL problems at once in one ConfigError. */
export function loadConfig(kind: ProcessKind, input: LoadConfigInput): LmsConfig {
  const problems: ConfigProblem[] = [];
  // Messages are built never to hold a password; redactSecrets is the second line of defence.
  const problem = (key: string, message: string) =>
    problems.push({ key: redactSecrets(key), message: redactSecrets(message) });
  const flags = readFlags(input.args, problem);

  const configPath = flags.get("LMS_CONFIG") ?? nonEmpty(input.env.LMS_CONFIG);
  const configKey = flags.has("LMS_CONFIG") ? "--config" : "LMS_CONFIG";
  const file = configPath === undefined
    ? new Map<string, string>()
    : readConfigFile(configPath, configKey, input.readTextFile, problem);

  const lookup = (key: string): { value: string; origin: string } | undefined => {
    const s = BY_KEY.get(key);
    const flagValue = flags.get(key);
    if (flagValue !== undefined) return { value: flagValue, origin: `--${s?.flag}` };
    const envValue = nonEmpty(input.env[key]);
    if (envValue !== undefined) return { value: envValue, origin: "the environment" };
    const fileValue = file.get(key);
    if (fileValue !== undefined) return { value: fileValue, origin: "config.json" };
    return undefined;
  };
  /** Runs `parse` on the value of `key`, recording its failure as a problem. */
  const setting = <T>(key: string, fallback: T, parse: (text: string) => Parsed<T>): T => {
    const raw = lookup(key);
    if (raw === undefined) return fallback;
    const parsed = parse(raw.value);
    if ("problem" in parsed) {
      problem(key, `${parsed.problem} (from ${raw.origin})`);
      return fallback;
    }
    return parsed.value;
  };

  const dialectGiven = lookup("LMS_SOURCE_DIALECT");
  // `start` without a dialect takes it from INIT_SOURCE (below), so one command runs either.
  let sourceDialect = setting<Dialect | undefined>(
    "LMS_SOURCE_DIALECT",
    undefined,
    (t) => enumValue(dialectSchema, t, "source dialect"),
  );
  if (dialectGiven === undefined && kind !== "start") {
    problem(
      "LMS_SOURCE_DIALECT",
      "is required; set --source-dialect or LMS_SOURCE_DIALECT to postgres, mysql or crdb",
    );
  }
  const shadowMode = setting<ShadowMode>(
    "LMS_SHADOW_MODE",
    "none",
    (t) => enumValue(shadowModeSchema, t, "shadow mode"),
  );
  const listen = setting("LMS_LISTEN", parseListenText(LISTEN_DEFAULTS[kind].listen), parseListen);
  const metricsListen = setting(
    "LMS_METRICS_LISTEN",
    parseListenText(LISTEN_DEFAULTS[kind].metrics),
    parseListen,
  );
  const orchestratorUrl = setting<string | undefined>(
    "LMS_ORCHESTRATOR_URL",
    undefined,
    parseOrchestratorUrl,
  );
  const standalone = setting("LMS_STANDALONE", false, parseBool);
  if (kind === "proxy" && orchestratorUrl === undefined && !standalone) {
    problem(
      "LMS_ORCHESTRATOR_URL",
      "is required by the proxy: without an orchestrator it never follows a cutover; set " +
        "--orchestrator-url, or pass --standalone (LMS_STANDALONE=true) to run without one on purpose",
    );
  }
  if (kind === "proxy" && orchestratorUrl !== undefined && standalone) {
    problem(
      "LMS_STANDALONE",
      "cannot be combined with an orchestrator URL; drop one of --standalone and --orchestrator-url",
    );
  }
  const maxMessageSize = setting("LMS_MAX_MESSAGE_SIZE", DEFAULT_MAX_MESSAGE_SIZE, parseSize);
  const maxPauseMs = setting("LMS_MAX_PAUSE", DEFAULT_MAX_PAUSE_MS, parseDuration);
  const missingProxyGraceMs = setting(
    "LMS_MISSING_PROXY_GRACE",
    30_000,
    (t) => t.trim() === "0" ? { value: 0 } : parseDuration(t),
  );
  const shutdownGraceMs = setting(
    "LMS_SHUTDOWN_GRACE",
    DEFAULT_SHUTDOWN_GRACE_MS,
    parseDuration,
  );
  const shadowQueueBytes = setting("LMS_SHADOW_QUEUE", DEFAULT_SHADOW_QUEUE_BYTES, parseSize);
  const shadowVolatile = setting<string[]>("LMS_SHADOW_VOLATILE", [], parsePatterns);
  const shadowRowLimit = setting("LMS_SHADOW_ROW_LIMIT", DEFAULT_SHADOW_ROW_LIMIT, parseRowLimit);
  const proxyId = setting("LMS_PROXY_ID", defaultProxyId(input.env), parseProxyId);
  const logLevel = setting<LmsConfig["logLevel"]>(
    "LMS_LOG_LEVEL",
    "info",
    (t) => enumValue(logLevelSchema, t, "log level"),
  );
  const redactQueries = setting("LMS_REDACT_QUERIES", false, parseBool);
  const authQuery = setting("LMS_AUTH_QUERY", DEFAULT_AUTH_QUERY, parseAuthQuery);
  const clientAuth = setting<ClientAuth>(
    "LMS_CLIENT_AUTH",
    "relay",
    (t) => enumValue(clientAuthSchema, t, "client authentication mode"),
  );
  const allowCleartextWithoutTls = setting("LMS_ALLOW_CLEARTEXT_WITHOUT_TLS", false, parseBool);
  const dashboardAllowActions = setting("LMS_DASHBOARD_ALLOW_ACTIONS", false, parseBool);
  const allowOrigin = setting<string | undefined>("ORCH_ALLOW_ORIGIN", undefined, parseOrigin);
  const mysqlTargetUsers = setting<Record<string, string>>(
    "LMS_MYSQL_TARGET_USERS",
    {},
    parseUserMap,
  );
  const mysqlAccountsRefreshMs = setting(
    "LMS_MYSQL_ACCOUNTS_REFRESH",
    DEFAULT_MYSQL_ACCOUNTS_REFRESH_MS,
    parseDuration,
  );
  const maxConnections = setting(
    "LMS_MAX_CONNECTIONS",
    DEFAULT_MAX_CONNECTIONS,
    wholeNumber(1, 1_000_000, "a connection count"),
  );
  const authFailureLimit = setting(
    "LMS_AUTH_FAILURE_LIMIT",
    DEFAULT_AUTH_FAILURE_LIMIT,
    wholeNumber(0, 1_000_000, "a count of failed logins"),
  );
  const authFailureWindowMs = setting(
    "LMS_AUTH_FAILURE_WINDOW",
    DEFAULT_AUTH_FAILURE_WINDOW_MS,
    parseDuration,
  );
  const maxHeldBytes = setting("LMS_MAX_HELD_BYTES", DEFAULT_MAX_HELD_BYTES, parseSize);
  const maxHeldClients = setting(
    "LMS_MAX_HELD_CLIENTS",
    DEFAULT_MAX_HELD_CLIENTS,
    wholeNumber(1, 1_000_000, "a session count"),
  );

  const connection = (key: "INIT_SOURCE" | "INIT_TARGET"): ConnectionSpec | undefined => {
    const raw = lookup(key);
    if (raw === undefined) return undefined;
    try {
      return parseConnectionString(raw.value, key);
    } catch (err) {
      if (!(err instanceof ConnectionStringError)) throw err;
      problem(key, `${err.problem} (from ${raw.origin})`);
      return undefined;
    }
  };
  const source = connection("INIT_SOURCE");
  const target = connection("INIT_TARGET");
  const sourceGiven = lookup("INIT_SOURCE") !== undefined;
  const targetGiven = lookup("INIT_TARGET") !== undefined;

  if (kind === "proxy" && !sourceGiven) {
    problem("INIT_SOURCE", "is required by the proxy; set it to the source database's URL");
  }
  if (kind === "orchestrator" && !targetGiven) {
    problem("INIT_TARGET", "is required by the orchestrator; set it to the target database's URL");
  }
  // The proxy's missing INIT_SOURCE and the orchestrator's missing INIT_TARGET are
  // already reported above.
  if (kind !== "start" && shadowMode !== "none") {
    if (!sourceGiven && kind !== "proxy") {
      problem("INIT_SOURCE", `is required when the shadow mode is ${shadowMode}`);
    }
    if (!targetGiven && kind !== "orchestrator") {
      problem("INIT_TARGET", `is required when the shadow mode is ${shadowMode}`);
    }
  }
  if (kind === "start" && dialectGiven === undefined) {
    sourceDialect = source?.dialect === "mysql" ? "mysql" : "postgres";
  }
  if (source && sourceDialect && dialectGiven) {
    const wanted = sourceDialect === "mysql" ? "mysql" : "postgres";
    if (source.dialect !== wanted) {
      problem(
        "INIT_SOURCE",
        `is a ${source.dialect}:// URL but LMS_SOURCE_DIALECT is ${sourceDialect} ` +
          `(from ${dialectGiven.origin}); ` +
          (wanted === "mysql"
            ? "a mysql source needs a mysql:// INIT_SOURCE"
            : `a ${sourceDialect} source needs a postgres:// or postgresql:// INIT_SOURCE`) +
          `, or set LMS_SOURCE_DIALECT to ${
            source.dialect === "mysql" ? "mysql" : "postgres or crdb"
          }`,
      );
    }
  }
  if (target && target.dialect !== "postgres") {
    problem(
      "INIT_TARGET",
      "must be a postgres:// or postgresql:// URL (CockroachDB speaks the PostgreSQL protocol)",
    );
  }

  const tlsPair = (
    certKey: string,
    keyKey: string,
    caKey: string,
  ): ServerTlsMaterial | undefined => {
    const cert = lookup(certKey);
    const key = lookup(keyKey);
    const ca = lookup(caKey);
    if (!cert && !key && !ca) return undefined;
    const load = (raw: { value: string } | undefined, kindOf: PemKind, name: string) => {
      if (raw === undefined) return undefined;
      try {
        return loadPem(raw.value, kindOf, name);
      } catch (err) {
        if (!(err instanceof LmsError)) throw err;
        problem(name, err.describe().replace(`${name}: `, ""));
        return undefined;
      }
    };
    const certPem = load(cert, "cert", certKey);
    const keyPem = load(key, "key", keyKey);
    const caPem = load(ca, "ca", caKey);
    if (!cert) problem(certKey, `is required when ${key ? keyKey : caKey} is set`);
    if (!key) problem(keyKey, `is required when ${cert ? certKey : caKey} is set`);
    if (certPem === undefined || keyPem === undefined) return undefined;
    if (ca && caPem === undefined) return undefined;
    const files = {
      cert: { path: cert!.value, key: certKey },
      key: { path: key!.value, key: keyKey },
      ...(ca ? { ca: { path: ca.value, key: caKey } } : {}),
    };
    return caPem === undefined ? { cert: certPem, key: keyPem, files } : {
      cert: certPem,
      key: keyPem,
      ca: caPem,
      files,
    };
  };
  const proxyTls = tlsPair("SSL_CERT", "SSL_KEY", "SSL_CA");
  const rsaKeyPath = lookup("LMS_MYSQL_RSA_KEY");
  let mysqlRsaKey: string | undefined;
  if (rsaKeyPath !== undefined) {
    try {
      mysqlRsaKey = loadPem(rsaKeyPath.value, "key", "LMS_MYSQL_RSA_KEY");
    } catch (err) {
      if (!(err instanceof LmsError)) throw err;
      problem("LMS_MYSQL_RSA_KEY", err.describe().replace("LMS_MYSQL_RSA_KEY: ", ""));
    }
  }
  if (
    clientAuth === "cleartext" && !allowCleartextWithoutTls && lookup("SSL_CERT") === undefined &&
    kind !== "orchestrator"
  ) {
    problem(
      "LMS_CLIENT_AUTH",
      "cleartext asks clients for their password, which needs TLS: set SSL_CERT and SSL_KEY, " +
        "or force it with LMS_ALLOW_CLEARTEXT_WITHOUT_TLS=true",
    );
  }
  const orchestratorTls = tlsPair("TLS_CERT", "TLS_KEY", "CA_TLS_CERT");
  const apiToken = readApiToken(kind, lookup, orchestratorUrl !== undefined, problem);

  // A missing dialect is always among the problems.
  if (problems.length > 0 || sourceDialect === undefined) throw new ConfigError(problems);
  const config: LmsConfig = {
    sourceDialect,
    shadowMode,
    listen,
    metricsListen,
    standalone,
    maxMessageSize,
    maxPauseMs,
    missingProxyGraceMs,
    shutdownGraceMs,
    shadowQueueBytes,
    shadowVolatile,
    shadowRowLimit,
    proxyId,
    logLevel,
    redactQueries,
    authQuery,
    clientAuth,
    allowCleartextWithoutTls,
    dashboardAllowActions,
    mysqlAccountsRefreshMs,
    mysqlTargetUsers,
    maxConnections,
    authFailureLimit,
    authFailureWindowMs,
    maxHeldBytes,
    maxHeldClients,
  };
  if (allowOrigin !== undefined) config.allowOrigin = allowOrigin;
  if (mysqlRsaKey !== undefined) config.mysqlRsaKey = mysqlRsaKey;
  if (orchestratorUrl !== undefined) config.orchestratorUrl = orchestratorUrl;
  if (source) config.source = source;
  if (target) config.target = target;
  if (proxyTls) config.proxyTls = proxyTls;
  if (orchestratorTls) config.orchestratorTls = orchestratorTls;
  if (apiToken !== undefined) config.apiToken = apiToken;
  if (configPath !== undefined) config.configFile = configPath;
  return config;
}

/** Help text listing every flag, its env variable and default. */
export function configHelp(kind: ProcessKind): string {
  const entry = (s: Setting) => {
    const name = s.flag ? `--${s.flag}${s.valueName ? ` ${s.valueName}` : ""}` : s.key;
    const source = s.flag ? `${s.key}, ` : "";
    return `  ${name}  (${source}default: ${s.defaultText(kind)})\n      ${s.description}`;
  };
  return [
    `Usage: ${kind} [flags]`,
    "",
    "Flags (each may also be set by the environment variable shown, or in config.json):",
    ...SETTINGS.filter((s) => s.flag).map(entry),
    "  -h, --help\n      show this help",
    "",
    "Keys set by environment variable or in config.json only (they may hold secrets):",
    ...SETTINGS.filter((s) => !s.flag).map(entry),
    "",
    "Precedence: flag > environment variable > config.json > default.",
    "Reference: shared/CONFIGURATION.md",
  ].join("\n");
}

/** A safe summary of `config` for startup logs: no passwords, no key material. */
export function summarizeConfig(config: LmsConfig): Record<string, unknown> {
  const addr = (a: ListenAddress) =>
    `${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}`;
  const conn = (c?: ConnectionSpec) =>
    c === undefined ? undefined : `${c.dialect}://${c.user}@${c.host}:${c.port}/${c.database}` +
      `?sslmode=${c.sslmode}`;
  return {
    sourceDialect: config.sourceDialect,
    shadowMode: config.shadowMode,
    listen: addr(config.listen),
    metricsListen: addr(config.metricsListen),
    orchestratorUrl: config.orchestratorUrl,
    standalone: config.standalone,
    source: conn(config.source),
    target: conn(config.target),
    proxyTls: config.proxyTls ? (config.proxyTls.ca ? "mtls" : "tls") : "off",
    orchestratorTls: config.orchestratorTls ? (config.orchestratorTls.ca ? "mtls" : "tls") : "off",
    maxMessageSize: config.maxMessageSize,
    maxPauseMs: config.maxPauseMs,
    missingProxyGraceMs: config.missingProxyGraceMs,
    shutdownGraceMs: config.shutdownGraceMs,
    shadowQueueBytes: config.shadowQueueBytes,
    shadowVolatile: config.shadowVolatile,
    shadowRowLimit: config.shadowRowLimit,
    proxyId: config.proxyId,
    logLevel: config.logLevel,
    redactQueries: config.redactQueries,
    authQuery: config.authQuery,
    clientAuth: config.clientAuth,
    allowCleartextWithoutTls: config.allowCleartextWithoutTls,
    dashboardAllowActions: config.dashboardAllowActions,
    allowOrigin: config.allowOrigin,
    mysqlAccountsRefreshMs: config.mysqlAccountsRefreshMs,
    mysqlTargetUsers: config.mysqlTargetUsers,
    mysqlRsaKey: config.mysqlRsaKey === undefined ? "generated" : "configured",
    maxConnections: config.maxConnections,
    authFailureLimit: config.authFailureLimit,
    authFailureWindowMs: config.authFailureWindowMs,
    maxHeldBytes: config.maxHeldBytes,
    maxHeldClients: config.maxHeldClients,
    configFile: config.configFile,
  };
}

/** Shortest `LMS_API_TOKEN` accepted: guessing it must be out of reach. */
export const MIN_API_TOKEN_LENGTH = 16;

/**
 * `LMS_API_TOKEN`, checked for shape; required where changes would otherwise be open: an
 * orchestrator without mTLS (`CA_TLS_CERT`), a proxy that registers with an orchestrator
 * without a client certificate (`TLS_CERT`/`TLS_KEY`). The problems never quote the value.
 */
function readApiToken(
  kind: ProcessKind,
  lookup: (key: string) => { value: string; origin: string } | undefined,
  hasOrchestratorUrl: boolean,
  problem: (key: string, message: string) => void,
): string | undefined {
  const raw = lookup("LMS_API_TOKEN");
  if (raw === undefined) {
    if (kind === "orchestrator" && lookup("CA_TLS_CERT") === undefined) {
      problem(
        "LMS_API_TOKEN",
        "is required when the orchestrator runs without mTLS (CA_TLS_CERT): without it anyone " +
          "who reaches the API could switch the source of truth; set it to a random secret " +
          "(e.g. `openssl rand -hex 32`) and give the same token to the proxies and the CLI",
      );
    }
    if (kind === "proxy" && hasOrchestratorUrl && lookup("TLS_CERT") === undefined) {
      problem(
        "LMS_API_TOKEN",
        "is required to register with the orchestrator without a client certificate " +
          "(TLS_CERT/TLS_KEY); set it to the orchestrator's LMS_API_TOKEN",
      );
    }
    return undefined;
  }
  const token = raw.value.trim();
  if (token.length < MIN_API_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
    problem(
      "LMS_API_TOKEN",
      `must be at least ${MIN_API_TOKEN_LENGTH} printable characters without spaces ` +
        `(from ${raw.origin}); e.g. \`openssl rand -hex 32\``,
    );
    return undefined;
  }
  return token;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/** Flag values by setting key; problems for unknown flags, missing values and positionals. */
function readFlags(
  args: string[],
  problem: (key: string, message: string) => void,
): Map<string, string> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const s of SETTINGS) {
    if (s.flag) options[s.flag] = { type: s.valueName ? "string" : "boolean" };
  }
  // A value-taking flag followed by another flag has no value; dropping it here keeps
  // parseArgs from swallowing the next flag as its value.
  const kept: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg === "--") {
      kept.push(...args.slice(i));
      break;
    }
    const s = arg.startsWith("--") ? BY_FLAG.get(arg.slice(2)) : undefined;
    if (s?.valueName && (i + 1 === args.length || args[i + 1].startsWith("-"))) {
      problem(`--${s.flag}`, `needs a value: --${s.flag} ${s.valueName}`);
      continue;
    }
    kept.push(arg);
  }
  // strict: false so that every bad flag is reported, not only the first one.
  const { tokens } = parseArgs({
    args: kept,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const out = new Map<string, string>();
  // "--lisen :1" leaves ":1" as a positional; it belongs to the unknown flag before it.
  let valueOfUnknown = -1;
  for (const token of tokens) {
    if (token.kind === "positional" && token.index === valueOfUnknown) continue;
    if (token.kind === "positional") {
      problem(
        "arguments",
        `unexpected argument "${redactConnectionString(token.value).slice(0, 80)}"; ` +
          "settings are given as --flag value",
      );
      continue;
    }
    if (token.kind !== "option" || token.name === "help") continue;
    const s = BY_FLAG.get(token.name);
    if (s === undefined) {
      if (token.value === undefined) valueOfUnknown = token.index + 1;
      const guess = closest(token.name, [...BY_FLAG.keys(), "help"]);
      problem(
        token.rawName.slice(0, 60),
        `unknown flag${guess ? `; did you mean --${guess}?` : ""} (see --help)`,
      );
      continue;
    }
    if (!s.valueName) {
      out.set(s.key, token.value ?? "true");
    } else if (token.value === undefined) {
      problem(`--${s.flag}`, `needs a value: --${s.flag} ${s.valueName}`);
    } else {
      out.set(s.key, token.value);
    }
  }
  return out;
}

function readConfigFile(
  path: string,
  key: string,
  readTextFile: ((path: string) => string) | undefined,
  problem: (key: string, message: string) => void,
): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readTextFile ? readTextFile(path) : Deno.readTextFileSync(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "it does not exist"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : err instanceof Error
      ? err.message
      : String(err);
    problem(key, `cannot read config file ${path}: ${reason}`);
    return out;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // V8 may quote the offending text, which can be a password: keep the position only.
    const where = /at position \d+(?: \(line \d+ column \d+\))?/.exec(String(err));
    // The product docs' own examples end objects with "...," or a trailing comma.
    const hint = /,\s*[}\]]/.test(text)
      ? "; JSON allows no comma before a closing } or ]"
      : /^\s*\.\.\.\s*$/m.test(text)
      ? '; remove the "..." lines copied from the docs'
      : "";
    problem(
      key,
      `config file ${path} is not valid JSON${where ? ` (${where[0]})` : ""}${hint}`,
    );
    return out;
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success || Array.isArray(json)) {
    problem(key, `config file ${path} must hold a JSON object of config keys`);
    return out;
  }
  for (const [name, value] of Object.entries(parsed.data)) {
    const s = BY_KEY.get(name);
    if (s === undefined || s.fileTypes.length === 0) {
      const guess = s ? undefined : closest(
        name,
        SETTINGS.filter((x) => x.fileTypes.length > 0).map((x) => x.key),
      );
      problem(
        name.slice(0, 60),
        s
          ? "cannot be set inside config.json; use --config or the LMS_CONFIG variable"
          : `unknown key in config.json${guess ? `; did you mean ${guess}?` : ""}`,
      );
      continue;
    }
    const type = typeof value;
    if (!(s.fileTypes as readonly string[]).includes(type)) {
      problem(name, `must be a JSON ${s.fileTypes.join(" or ")} in config.json`);
      continue;
    }
    out.set(name, String(value));
  }
  return out;
}

/** The known name nearest to `name`, if it is plausibly a typo of it. */
function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** A parsed setting value, or what is wrong with it. */
type Parsed<T> = { value: T } | { problem: string };

function invalid(problem: string): { problem: string } {
  return { problem };
}

function enumValue<T extends string>(
  schema: z.ZodType<T> & { options: readonly T[] },
  text: string,
  what: string,
): Parsed<T> {
  const parsed = schema.safeParse(text.trim().toLowerCase());
  if (parsed.success) return { value: parsed.data };
  return invalid(`"${text.slice(0, 40)}" is not a ${what}; use ${schema.options.join(", ")}`);
}

function parseListenText(text: string): ListenAddress {
  const parsed = parseListen(text);
  if ("problem" in parsed) throw new LmsError("INTERNAL", `bad default address ${text}`);
  return parsed.value;
}

function parseListen(text: string): Parsed<ListenAddress> {
  const bad = invalid(
    `"${text.slice(0, 60)}" is not a listen address; use host:port, :port or [::1]:port`,
  );
  const t = text.trim();
  let hostname: string;
  let port: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(t);
  if (v6) [, hostname, port] = v6;
  else {
    const colon = t.lastIndexOf(":");
    if (colon === -1) return bad;
    hostname = t.slice(0, colon);
    port = t.slice(colon + 1);
    if (hostname.includes(":")) {
      return invalid(`"${t.slice(0, 60)}": an IPv6 address must be in brackets, e.g. [::1]:9043`);
    }
    if (hostname === "") hostname = "0.0.0.0";
  }
  if (hostname === "" || /[\s/@]/.test(hostname)) return bad;
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    return invalid(`"${t.slice(0, 60)}" has no valid port; give a port between 0 and 65535`);
  }
  return { value: { hostname, port: Number(port) } };
}

function parseOrchestratorUrl(text: string): Parsed<string | undefined> {
  const shown = redactConnectionString(text).slice(0, 100);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return invalid(`"${shown}" is not a URL; write it as https://host:4200`);
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(url.protocol) || url.hostname === "") {
    return invalid(`"${shown}" must be an http:// or https:// URL with a host`);
  }
  return { value: text.trim().replace(/\/+$/, "") };
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

function parseSize(text: string): Parsed<number> {
  const m = /^(\d+)\s*([A-Za-z]*)$/.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    return invalid(`"${text.slice(0, 40)}" is not a size; give bytes or use KiB, MiB or GiB`);
  }
  const bytes = Number(m[1]) * unit;
  if (bytes < MIN_MAX_MESSAGE_SIZE || bytes > MAX_MAX_MESSAGE_SIZE) {
    return invalid(
      `${text.trim()} is out of range; give between ${MIN_MAX_MESSAGE_SIZE} bytes and 1GiB`,
    );
  }
  return { value: bytes };
}

const DURATION_UNITS: Record<string, number> = { "": 1, ms: 1, s: 1000, m: 60000, h: 3600000 };

function parseDuration(text: string): Parsed<number> {
  const m = /^(\d+)\s*([A-Za-z]*)$/.exec(text.trim());
  const unit = m ? DURATION_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    return invalid(
      `"${text.slice(0, 40)}" is not a duration; give milliseconds or use ms, s, m or h (e.g. 30s)`,
    );
  }
  const ms = Number(m[1]) * unit;
  if (ms < 1 || ms > MAX_MAX_PAUSE_MS) {
    return invalid(`${text.trim()} is out of range; give between 1ms and 596h`);
  }
  return { value: ms };
}

function parseBool(text: string): Parsed<boolean> {
  const t = text.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(t)) return { value: true };
  if (["false", "0", "no", "off"].includes(t)) return { value: false };
  return invalid(`"${text.slice(0, 20)}" is not a boolean; use true or false`);
}

function parseOrigin(text: string): Parsed<string> {
  const t = text.trim();
  if (t === "*" || /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(t)) return { value: t };
  return invalid(
    `"${t.slice(0, 60)}" is not an origin; use * or scheme://host[:port] (https://ops.example.com)`,
  );
}

function parseProxyId(text: string): Parsed<string> {
  const t = text.trim();
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(t)) {
    return invalid(
      `"${
        text.slice(0, 60)
      }" is not a usable id; use up to 128 letters, digits, '.', '_', ':' or '-'`,
    );
  }
  return { value: t };
}

/**
 * A default id no other process shares: two proxies with the same id would
 * take turns on the control channel. In Kubernetes `HOSTNAME` is the pod name,
 * unique and stable across container restarts; elsewhere the host name gets a
 * random suffix, so processes sharing a host differ.
 */
function defaultProxyId(env: Record<string, string>): string {
  const fromEnv = nonEmpty(env.HOSTNAME)?.trim();
  if (fromEnv !== undefined && nonEmpty(env.KUBERNETES_SERVICE_HOST) !== undefined) return fromEnv;
  let host = fromEnv;
  if (host === undefined) {
    try {
      host = Deno.hostname();
    } catch {
      host = "lms";
    }
  }
  const suffix = [...crypto.getRandomValues(new Uint8Array(3))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${host.replace(/[^A-Za-z0-9._:-]/g, "-").slice(0, 120)}-${suffix}`;
}
