/**
 * The `--help` text of every level of `molt-lms-cli`, and the usage error that
 * points at it.
 *
 * @module
 */

import { LmsError } from "../shared/errors.ts";
import { type FlagHelp, GLOBAL_FLAGS, PROGRAM, TREE } from "./command_tree.ts";
import { EXIT_CODES_HELP } from "./exit_codes.ts";

/** A `CLI_USAGE` error whose hint points at the help of the command at `path`. */
export function usage(message: string, path: string[]): LmsError {
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
