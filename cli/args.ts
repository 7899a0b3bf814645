/**
 * Command-line parsing for `molt-lms-cli`: walks the command tree
 * ({@linkcode ./command_tree.ts}), checks each flag belongs to the command,
 * and turns the flag values into the command to run.
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
import {
  type Command,
  COMMAND_FLAGS,
  type CommandName,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_SAMPLE_LIMIT,
  GLOBAL_FLAG_NAMES,
  PARSE_OPTIONS,
  TREE,
} from "./command_tree.ts";
import { type EnvReader, type GlobalOptions, resolveGlobals } from "./global_options.ts";
import { helpText, usage } from "./help.ts";

/** What the command line asks for: a help text or a command to run. */
export type Invocation =
  | { kind: "help"; text: string }
  | { kind: "run"; command: Command; options: GlobalOptions };

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
