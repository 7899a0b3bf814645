/**
 * The command tree of `molt-lms-cli`: every command with its help lines, its
 * own flags and their defaults, and which flags each leaf command accepts.
 *
 * @module
 */

import { SHADOW_REPORT_MAX_LIMIT } from "../shared/api.ts";
import type { DatabaseSide } from "../shared/control.ts";

/** The name the CLI is installed under, used in help and messages. */
export const PROGRAM = "molt-lms-cli";

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

/** Default for `cutover consistent begin --drain-timeout`. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** Default for `shadow report --limit`. */
export const DEFAULT_SAMPLE_LIMIT = 20;

/** One line of a help text's flag table. */
export interface FlagHelp {
  /** The flag as shown, e.g. `--limit <n>`. */
  flag: string;
  /** What it does. */
  text: string;
  /** The environment variable it falls back to, if any. */
  env?: string;
}

/** A level of the command tree: a command group, or a leaf command with its own flags. */
export interface CommandNode {
  /** One line, shown in the parent's command list and atop the help. */
  summary: string;
  /** More lines shown in the help. */
  description?: string;
  /** Subcommands, for a group. */
  children?: Record<string, CommandNode>;
  /** The command's own flags, for the help. */
  flags?: FlagHelp[];
}

/** Flags every command accepts, for the help. */
export const GLOBAL_FLAGS: FlagHelp[] = [
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

/** The command tree with every level's help. */
export const TREE: CommandNode = {
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

/** Every flag of every command, as `node:util` parseArgs options. */
export const PARSE_OPTIONS = {
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

/** The flags every command accepts. */
export const GLOBAL_FLAG_NAMES: ReadonlySet<string> = new Set([
  "orchestrator-url",
  "tls-ca-cert",
  "tls-client-cert",
  "tls-client-key",
  "api-token",
  "output",
  "help",
]);

/** The flags of each leaf command besides the global ones. */
export const COMMAND_FLAGS: Record<CommandName, string[]> = {
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
