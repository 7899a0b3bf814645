/**
 * Command-line parsing for `molt-lms-cli`: the command tree, its flags with
 * their environment fallbacks, and the `--help` text of every level.
 *
 * Flags may appear anywhere on the line (`molt-lms-cli --output json status`
 * and `molt-lms-cli status --output json` are the same); a flag that belongs
 * to another command is a usage error rather than silently ignored, so a typo
 * in a cutover script fails loudly.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SHADOW_REPORT_MAX_LIMIT } from "../shared/api.ts";
import type { DatabaseSide } from "../shared/control.ts";
import { LmsError } from "../shared/errors.ts";
import { EXIT_CODES_HELP } from "./exit_codes.ts";

/** The name the CLI is installed under, used in help and messages. */
export const PROGRAM = "molt-lms-cli";

/** How results are printed. */
export type OutputFormat = "table" | "json";

/** A TLS file path and where it came from, so errors can name the right flag or variable. */
export interface TlsFileOption {
  /** Path to the PEM file. */
  path: string;
  /** The flag (`--tls-ca-cert`) or environment variable (`CLI_TLS_CA_CERT`) that named it. */
  source: string;
}

/** Flags every command accepts. */
export interface GlobalOptions {
  /** Base URL of the orchestrator API (`http:` or `https:`). */
  orchestratorUrl: URL;
  /** CA certificate that signed the orchestrator's certificate. */
  tlsCaCert?: TlsFileOption;
  /** Client certificate presented to an orchestrator that requires mTLS. */
  tlsClientCert?: TlsFileOption;
  /** Private key of the client certificate. */
  tlsClientKey?: TlsFileOption;
  /** The orchestrator's `LMS_API_TOKEN`, sent as a bearer token. */
  apiToken?: string;
  /** Output format. */
  output: OutputFormat;
}

/** A fully parsed leaf command and its own flags. */
export type Command =
  | { name: "initialize" }
  | { name: "connections list"; redact: boolean }
  | {
    name: "cutover consistent begin";
    drainTimeoutMs: number;
    cancelAfterMs?: number;
    wait: boolean;
    /** The database to switch to; absent: the one that is not the source of truth now. */
    to?: DatabaseSide;
    force: boolean;
    allowMissingProxies: boolean;
  }
  | {
    name: "cutover consistent commit";
    to?: DatabaseSide;
    skipReplicationCheck: boolean;
    allowMissingProxies: boolean;
  }
  | { name: "cutover consistent abort" }
  | { name: "cutover immediate"; to?: DatabaseSide; force: boolean; allowMissingProxies: boolean }
  | { name: "shadow report"; limit: number; failOnMismatch: boolean }
  | { name: "status" };

/** Name of a leaf command, e.g. `cutover consistent begin`. */
export type CommandName = Command["name"];

/** What the command line asks for: a help text or a command to run. */
export type Invocation =
  | { kind: "help"; text: string }
  | { kind: "run"; command: Command; options: GlobalOptions };

/** Reads an environment variable; empty values count as unset. */
export type EnvReader = (name: string) => string | undefined;

/** Default for `cutover consistent begin --drain-timeout`. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** Default for `shadow report --limit`. */
export const DEFAULT_SAMPLE_LIMIT = 20;

interface FlagHelp {
  flag: string;
  text: string;
  env?: string;
}

interface Node {
  summary: string;
  description?: string;
  children?: Record<string, Node>;
  flags?: FlagHelp[];
}

const GLOBAL_FLAGS: FlagHelp[] = [
  {
    flag: "--orchestrator-url <url>",
    text: "Orchestrator API URL, e.g. https://lms-orchestrator:4200 (required)",
    env: "CLI_ORCHESTRATOR_URL",
  },
  {
    flag: "--tls-ca-cert <path>",
    text: "CA certificate that signed the orchestrator's certificate",
    env: "CLI_TLS_CA_CERT",
  },
  {
    flag: "--tls-client-cert <path>",
    text: "Client certificate for an orchestrator that requires mTLS",
    env: "CLI_TLS_CLIENT_CERT",
  },
  {
    flag: "--tls-client-key <path>",
    text: "Private key of the client certificate",
    env: "CLI_TLS_CLIENT_KEY",
  },
  {
    flag: "--api-token <token>",
    text: "The orchestrator's LMS_API_TOKEN; needed for changes unless the orchestrator uses " +
      "mTLS (prefer the variable: flags show in the process list)",
    env: "CLI_API_TOKEN",
  },
  { flag: "--output table|json", text: "Output format (default: table)" },
  { flag: "-h, --help", text: "Show help for this command" },
];

const TO_FLAG: FlagHelp = {
  flag: "--to source|target",
  text: "The database to switch to; refused if it already is the source of truth, so a " +
    "retry never switches back (default: the one that is not the source of truth now)",
};

const ALLOW_MISSING_FLAG: FlagHelp = {
  flag: "--allow-missing-proxies",
  text: "Go ahead although a proxy seen lately is not connected (it may keep serving on the " +
    "old source of truth until it reconnects; recorded as an event)",
};

const TREE: Node = {
  summary: "Inspect the LMS fleet and perform cutover",
  children: {
    initialize: {
      summary: "Set up the objects the LMS needs (run once before using the LMS)",
      description: "Creates the _molt_lms state objects in the target and a replication marker\n" +
        "table on both databases. Safe to run again.",
    },
    connections: {
      summary: "Inspect client connections",
      children: {
        list: {
          summary: "List every client connection and its most recent query",
          flags: [{
            flag: "--redact",
            text: "Replace literals in queries with placeholders",
          }],
        },
      },
    },
    cutover: {
      summary: "Switch the source of truth to the other database",
      children: {
        consistent: {
          summary: "Consistent cutover: pause, drain, switch (begin, commit, abort)",
          children: {
            begin: {
              summary: "Pause traffic to the source of truth; wait until drained",
              description:
                "By default waits and shows progress (proxies drained, open transactions, the\n" +
                "connections still holding transactions, replication catch-up) until every\n" +
                "proxy is drained and replication has caught up, or the drain timeout is\n" +
                "reached. The fleet stays paused until `cutover consistent commit` or `abort`.",
              flags: [
                TO_FLAG,
                {
                  flag: "--drain-timeout <duration>",
                  text: "How long to wait for open transactions to finish, e.g. 30s, 2m " +
                    "(default: 30s); the wait ends then",
                },
                {
                  flag: "--cancel-after <duration>",
                  text: "Cancel, then terminate, transactions still open after this long",
                },
                { flag: "--no-wait", text: "Return as soon as the cutover has begun" },
                {
                  flag: "--force",
                  text: "Begin although a proxy shadows in sync or strict-sync, which the " +
                    "product docs warn against (recorded as an event)",
                },
                ALLOW_MISSING_FLAG,
              ],
            },
            commit: {
              summary: "Switch the source of truth and resume traffic on it",
              description:
                "Refused unless the replication marker written on the source of truth once the\n" +
                "fleet drained has been seen on the other database: your replication must carry\n" +
                "the table _molt_lms.marker.",
              flags: [TO_FLAG, {
                flag: "--skip-replication-check",
                text: "Commit although the marker was not seen on the new source of truth " +
                  "(recorded as an event); only after verifying it yourself",
              }, ALLOW_MISSING_FLAG],
            },
            abort: {
              summary: "Resume traffic on the unchanged source of truth",
              description:
                "Only valid between `begin` and `commit`. After a commit, run begin and commit\n" +
                "again to switch back.",
            },
          },
        },
        immediate: {
          summary: "Switch the source of truth at once, without a pause",
          description:
            "Persists the new source of truth and broadcasts it; each session moves at its\n" +
            "next transaction boundary. Refused unless every proxy shadows in sync or\n" +
            "strict-sync (the product docs' requirement).",
          flags: [TO_FLAG, {
            flag: "--force",
            text: "Switch although a proxy shadows in none or async (recorded as an event)",
          }, ALLOW_MISSING_FLAG],
        },
      },
    },
    shadow: {
      summary: "Inspect shadowing results",
      children: {
        report: {
          summary: "Show mismatches between the databases over every proxy, worst first",
          description:
            "Totals, the mismatch rate over the last hour, 24 hours and 7 days, whether the\n" +
            "fleet is ready for an immediate cutover (every proxy shadowing in sync or\n" +
            "strict-sync for 7 days with only transient differences), and the mismatch\n" +
            "samples grouped by query fingerprint. Exits 0 whatever the report says, unless\n" +
            "--fail-on-mismatch is given.",
          flags: [
            {
              flag: "--limit <n>",
              text: `Show at most n mismatch samples (default: ${DEFAULT_SAMPLE_LIMIT}, ` +
                `at most ${SHADOW_REPORT_MAX_LIMIT})`,
            },
            {
              flag: "--fail-on-mismatch",
              text: "Exit 1 when the fleet is not ready for an immediate cutover",
            },
          ],
        },
      },
    },
    status: {
      summary: "Show source of truth, phase, epoch, proxies and recent cutovers",
    },
  },
};

const PARSE_OPTIONS = {
  "orchestrator-url": { type: "string" },
  "tls-ca-cert": { type: "string" },
  "tls-client-cert": { type: "string" },
  "tls-client-key": { type: "string" },
  "api-token": { type: "string" },
  output: { type: "string" },
  help: { type: "boolean", short: "h" },
  redact: { type: "boolean" },
  "drain-timeout": { type: "string" },
  "cancel-after": { type: "string" },
  "no-wait": { type: "boolean" },
  to: { type: "string" },
  force: { type: "boolean" },
  "skip-replication-check": { type: "boolean" },
  "allow-missing-proxies": { type: "boolean" },
  limit: { type: "string" },
  "fail-on-mismatch": { type: "boolean" },
} as const;

const GLOBAL_FLAG_NAMES = new Set([
  "orchestrator-url",
  "tls-ca-cert",
  "tls-client-cert",
  "tls-client-key",
  "api-token",
  "output",
  "help",
]);

const COMMAND_FLAGS: Record<CommandName, string[]> = {
  "initialize": [],
  "connections list": ["redact"],
  "cutover consistent begin": [
    "drain-timeout",
    "cancel-after",
    "no-wait",
    "to",
    "force",
    "allow-missing-proxies",
  ],
  "cutover consistent commit": ["to", "skip-replication-check", "allow-missing-proxies"],
  "cutover consistent abort": [],
  "cutover immediate": ["to", "force", "allow-missing-proxies"],
  "shadow report": ["limit", "fail-on-mismatch"],
  "status": [],
};

function usage(message: string, path: string[]): LmsError {
  const where = [PROGRAM, ...path, "--help"].join(" ");
  return new LmsError("CLI_USAGE", message, `run \`${where}\` for usage`);
}

function pad(text: string, width: number): string {
  return text + " ".repeat(Math.max(1, width - text.length));
}

const HELP_WIDTH = 100;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines;
}

function flagLines(flags: FlagHelp[]): string[] {
  const width = Math.max(...flags.map((f) => f.flag.length)) + 2;
  const indent = " ".repeat(2 + width);
  return flags.flatMap((f) => {
    const [first, ...rest] = wrap(f.text, HELP_WIDTH - indent.length);
    if (f.env) rest.push(`(env: ${f.env})`);
    return [`  ${pad(f.flag, width)}${first}`, ...rest.map((r) => indent + r)];
  });
}

/** Builds the help text of the command at `path` (`[]` is the root). */
export function helpText(path: string[]): string {
  let node = TREE;
  for (const part of path) {
    const next = node.children?.[part];
    if (!next) throw usage(`unknown command "${path.join(" ")}"`, []);
    node = next;
  }
  const name = [PROGRAM, ...path].join(" ");
  const lines = [`${name} - ${node.summary}`, ""];
  if (node.description) lines.push(node.description, "");
  if (node.children) {
    lines.push("Usage:", `  ${name} <command> [flags]`, "", "Commands:");
    const entries = Object.entries(node.children);
    const width = Math.max(...entries.map(([k]) => k.length)) + 2;
    for (const [key, child] of entries) lines.push(`  ${pad(key, width)}${child.summary}`);
  } else {
    lines.push("Usage:", `  ${name} [flags]`);
  }
  lines.push("");
  if (node.flags) lines.push("Flags:", ...flagLines(node.flags), "");
  lines.push("Global flags:", ...flagLines(GLOBAL_FLAGS), "");
  if (node.children) {
    lines.push(`Run \`${name} <command> --help\` for the flags of a command.`, "");
  }
  if (path.length === 0 || !node.children) lines.push(EXIT_CODES_HELP, "");
  return lines.join("\n");
}

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `500ms`, `30s`, `2m`, `1h` or `1m30s` into
 * milliseconds. A unit is required: a bare `30` is ambiguous in a cutover
 * script, so it is refused.
 *
 * @param text the flag's value
 * @param flag the flag's name, for the error message
 * @throws LmsError with code `CLI_USAGE` when `text` is not a duration
 */
export function parseDuration(text: string, flag: string): number {
  if (!DURATION.test(text)) {
    throw new LmsError(
      "CLI_USAGE",
      `${flag} "${text}" is not a duration`,
      "give a number with a unit: ms, s, m or h (e.g. 30s, 2m, 1m30s)",
    );
  }
  let total = 0;
  for (const m of text.matchAll(DURATION_PART)) total += Number(m[1]) * UNIT_MS[m[2]];
  return Math.round(total);
}

function parseLimit(text: string): number {
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit > SHADOW_REPORT_MAX_LIMIT) {
    throw new LmsError(
      "CLI_USAGE",
      `--limit "${text}" is not a whole number from 0 to ${SHADOW_REPORT_MAX_LIMIT}`,
      "give how many mismatch samples to show, e.g. --limit 50",
    );
  }
  return limit;
}

function parseFailure(err: unknown): LmsError {
  const message = err instanceof Error ? err.message : String(err);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return usage(`unknown flag ${unknown[1]}`, []);
  const missing = /Option '(-[^ ']+)(?:, (--[^ ']+))?(?: <value>)?' argument missing/.exec(message);
  if (missing) return usage(`flag ${missing[2] ?? missing[1]} needs a value`, []);
  const noArg = /Option '(-[^ ']+)(?:, (--[^ ']+))?' does not take an argument/.exec(message);
  if (noArg) return usage(`flag ${noArg[2] ?? noArg[1]} does not take a value`, []);
  return usage(message, []);
}

function fromFlagOrEnv(
  flagValue: string | undefined,
  flag: string,
  envName: string,
  env: EnvReader,
): TlsFileOption | undefined {
  if (flagValue !== undefined) {
    if (flagValue === "") throw usage(`--${flag} is empty`, []);
    return { path: flagValue, source: `--${flag}` };
  }
  const fromEnv = env(envName);
  if (fromEnv) return { path: fromEnv, source: envName };
  return undefined;
}

function resolveUrl(flagValue: string | undefined, env: EnvReader, path: string[]): URL {
  const raw = flagValue ?? env("CLI_ORCHESTRATOR_URL");
  if (!raw) {
    throw new LmsError(
      "CLI_USAGE",
      "no orchestrator URL given",
      "pass --orchestrator-url https://<host>:4200 or export CLI_ORCHESTRATOR_URL " +
        `(run \`${[PROGRAM, ...path, "--help"].join(" ")}\` for usage)`,
    );
  }
  const source = flagValue !== undefined ? "--orchestrator-url" : "CLI_ORCHESTRATOR_URL";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LmsError(
      "CLI_USAGE",
      `${source} "${raw}" is not a URL`,
      "give a full URL such as https://lms-orchestrator:4200",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new LmsError(
      "CLI_USAGE",
      `${source} must use http:// or https://, got ${url.protocol}//`,
      "give a full URL such as https://lms-orchestrator:4200",
    );
  }
  if (url.username || url.password) {
    throw new LmsError(
      "CLI_USAGE",
      `${source} must not contain a user name or password`,
      "the orchestrator authenticates the CLI by client certificate (--tls-client-cert) or " +
        "by API token (--api-token or CLI_API_TOKEN)",
    );
  }
  return url;
}

function resolveOutput(value: string | undefined, path: string[]): OutputFormat {
  if (value === undefined || value === "table") return "table";
  if (value === "json") return "json";
  throw usage(`--output must be table or json, got "${value}"`, path);
}

function resolveGlobals(
  values: Record<string, string | boolean | undefined>,
  env: EnvReader,
  path: string[],
): GlobalOptions {
  const str = (k: string) => values[k] as string | undefined;
  const output = resolveOutput(str("output"), path);
  const orchestratorUrl = resolveUrl(str("orchestrator-url"), env, path);
  const tlsCaCert = fromFlagOrEnv(str("tls-ca-cert"), "tls-ca-cert", "CLI_TLS_CA_CERT", env);
  const tlsClientCert = fromFlagOrEnv(
    str("tls-client-cert"),
    "tls-client-cert",
    "CLI_TLS_CLIENT_CERT",
    env,
  );
  const tlsClientKey = fromFlagOrEnv(
    str("tls-client-key"),
    "tls-client-key",
    "CLI_TLS_CLIENT_KEY",
    env,
  );
  if (Boolean(tlsClientCert) !== Boolean(tlsClientKey)) {
    const given = tlsClientCert ?? tlsClientKey;
    throw new LmsError(
      "CLI_USAGE",
      `${given?.source} was given without its counterpart`,
      "give both --tls-client-cert and --tls-client-key (or CLI_TLS_CLIENT_CERT and " +
        "CLI_TLS_CLIENT_KEY)",
    );
  }
  const apiToken = resolveToken(str("api-token"), env);
  const anyTls = tlsCaCert ?? tlsClientCert;
  if (anyTls && orchestratorUrl.protocol === "http:") {
    // Certificates with a plain-http URL mean the operator expects TLS; sending in clear
    // text instead would hide that mistake.
    throw new LmsError(
      "CLI_USAGE",
      `${anyTls.source} was given but the orchestrator URL uses http://`,
      "use an https:// URL, or drop the TLS flags and CLI_TLS_* variables",
    );
  }
  return { orchestratorUrl, tlsCaCert, tlsClientCert, tlsClientKey, apiToken, output };
}

function resolveToken(flagValue: string | undefined, env: EnvReader): string | undefined {
  if (flagValue !== undefined) {
    if (flagValue.trim() === "") throw usage("--api-token is empty", []);
    return flagValue.trim();
  }
  return env("CLI_API_TOKEN")?.trim() || undefined;
}

function parseTo(value: string | boolean | undefined): DatabaseSide | undefined {
  if (value === undefined) return undefined;
  if (value === "source" || value === "target") return value;
  throw new LmsError(
    "CLI_USAGE",
    `--to must be source or target, got "${String(value).slice(0, 20)}"`,
    "name the database the cutover switches to, e.g. --to target",
  );
}

function buildCommand(
  name: CommandName,
  values: Record<string, string | boolean | undefined>,
): Command {
  switch (name) {
    case "connections list":
      return { name, redact: values["redact"] === true };
    case "cutover consistent begin": {
      const drain = values["drain-timeout"] as string | undefined;
      const cancel = values["cancel-after"] as string | undefined;
      const drainTimeoutMs = drain === undefined
        ? DEFAULT_DRAIN_TIMEOUT_MS
        : parseDuration(drain, "--drain-timeout");
      if (drainTimeoutMs <= 0) {
        throw new LmsError(
          "CLI_USAGE",
          "--drain-timeout must be longer than 0",
          "give how long to wait for open transactions, e.g. 30s",
        );
      }
      const command: Command = {
        name,
        drainTimeoutMs,
        wait: values["no-wait"] !== true,
        force: values["force"] === true,
        allowMissingProxies: values["allow-missing-proxies"] === true,
      };
      const to = parseTo(values["to"]);
      if (to !== undefined) command.to = to;
      if (cancel !== undefined) {
        command.cancelAfterMs = parseDuration(cancel, "--cancel-after");
        if (command.cancelAfterMs <= 0) {
          throw new LmsError(
            "CLI_USAGE",
            "--cancel-after must be longer than 0",
            "give how long a transaction may block the drain before it is cancelled, e.g. 10s",
          );
        }
      }
      return command;
    }
    case "cutover consistent commit": {
      const command: Command = {
        name,
        skipReplicationCheck: values["skip-replication-check"] === true,
        allowMissingProxies: values["allow-missing-proxies"] === true,
      };
      const to = parseTo(values["to"]);
      if (to !== undefined) command.to = to;
      return command;
    }
    case "cutover immediate": {
      const command: Command = {
        name,
        force: values["force"] === true,
        allowMissingProxies: values["allow-missing-proxies"] === true,
      };
      const to = parseTo(values["to"]);
      if (to !== undefined) command.to = to;
      return command;
    }
    case "shadow report": {
      const limit = values["limit"] as string | undefined;
      return {
        name,
        limit: limit === undefined ? DEFAULT_SAMPLE_LIMIT : parseLimit(limit),
        failOnMismatch: values["fail-on-mismatch"] === true,
      };
    }
    default:
      return { name };
  }
}

/**
 * Parses the arguments after the program name.
 *
 * @param argv arguments, e.g. `Deno.args`
 * @param env environment lookup, used for the `CLI_*` fallbacks
 * @throws LmsError with code `CLI_USAGE` for anything malformed or missing
 */
export function parseInvocation(argv: string[], env: EnvReader): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: PARSE_OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (err) {
    throw parseFailure(err);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const path: string[] = [];
  let node = TREE;
  for (const word of parsed.positionals) {
    if (!node.children) {
      throw usage(`unexpected argument "${word}" after \`${path.join(" ")}\``, path);
    }
    const next = node.children[word];
    if (!next) {
      const choices = Object.keys(node.children).join(", ");
      const where = path.length ? `of \`${path.join(" ")}\`` : "";
      throw usage(
        `unknown command "${word}"${where ? " " + where : ""}; expected ${choices}`,
        path,
      );
    }
    path.push(word);
    node = next;
  }
  if (values["help"] === true) return { kind: "help", text: helpText(path) };
  if (node.children) {
    const choices = Object.keys(node.children).join(", ");
    const message = path.length === 0
      ? `missing command; expected ${choices}`
      : `\`${path.join(" ")}\` needs a subcommand: ${choices}`;
    throw usage(message, path);
  }
  const name = path.join(" ") as CommandName;
  const allowed = new Set(COMMAND_FLAGS[name]);
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== "option") continue;
    if (!GLOBAL_FLAG_NAMES.has(token.name) && !allowed.has(token.name)) {
      throw usage(`--${token.name} is not a flag of \`${name}\``, path);
    }
  }
  const options = resolveGlobals(values, env, path);
  return { kind: "run", command: buildCommand(name, values), options };
}
