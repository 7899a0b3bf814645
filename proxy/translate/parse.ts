/**
 * Parsing MySQL text into a syntax tree, guarded by limits.
 *
 * The parser is sqlparser-rs (compiled to WebAssembly, `npm:@guanmingchiu/sqlparser-ts`)
 * with its MySQL dialect; README.md in this folder explains the choice. A
 * parse runs synchronously inside WebAssembly and cannot be interrupted, so the
 * time limit is enforced by bounding what goes in (bytes, tokens, nesting
 * depth, the parser's own recursion limit) and by refusing a statement whose
 * parse still took longer than the budget; the translation cache remembers the
 * refusal so the same text is not parsed again. The budget is CPU time, not
 * wall time: on a loaded machine a parse of an ordinary statement can wait a
 * second for a core, and refusing it then would fail a working application.
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { init, MySqlDialect, Parser } from "sqlparser-ts";
import type { Node } from "./ast.ts";
import { SqlSyntaxError, TranslationGap, TranslationLimit } from "./errors.ts";
import { scan, wordsAt } from "./scan.ts";

/** Guards on one statement; every field has a default. */
export interface ParseLimits {
  /** Longest statement accepted, in UTF-16 code units. Default 1 MiB. */
  maxStatementBytes: number;
  /** Most tokens accepted. Default 100 000. */
  maxTokens: number;
  /** Deepest parenthesis nesting accepted. Default 64. */
  maxDepth: number;
  /** Most CPU time a parse may take before the statement is refused, ms. Default 1000. */
  maxParseMs: number;
}

/** The defaults documented in shared/CONFIGURATION.md (`translate.*`). */
export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxStatementBytes: 1 << 20,
  maxTokens: 100_000,
  maxDepth: 64,
  maxParseMs: 1000,
};

let ready: Promise<void> | null = null;

/** Loads the parser's WebAssembly module; call (and await) once before `parseMysql`. */
export function initParser(): Promise<void> {
  // The first parses run cold (WebAssembly compilation, JIT): warm up so they do not meet the
  // time limit meant for runaway input.
  ready ??= init().then(() => {
    const parser = new Parser(new MySqlDialect());
    for (let i = 0; i < 20; i++) {
      parser.parse("SELECT a, b FROM t WHERE c = ? AND d IN (1, 2) ORDER BY a LIMIT 1, 2");
    }
  });
  return ready;
}

/**
 * Parses one MySQL statement.
 *
 * @throws {TranslationLimit} when a guard refuses the text
 * @throws {SqlSyntaxError} when the parser rejects it
 * @throws {TranslationGap} for several statements in one text
 */
export function parseMysql(sql: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): Node {
  if (sql.length > limits.maxStatementBytes) {
    throw new TranslationLimit(
      "bytes",
      `statement of ${sql.length} characters exceeds the translation limit of ` +
        `${limits.maxStatementBytes}`,
    );
  }
  const { tokens, maxDepth } = scan(sql, limits.maxTokens, limits.maxDepth);
  if (tokens.length > limits.maxTokens) {
    throw new TranslationLimit(
      "tokens",
      `statement has more than ${limits.maxTokens} tokens, the translation limit`,
    );
  }
  if (maxDepth > limits.maxDepth) {
    throw new TranslationLimit(
      "depth",
      `statement nests parentheses deeper than ${limits.maxDepth}, the translation limit`,
    );
  }
  let text = sql;
  // sqlparser-rs knows MySQL 8's FOR SHARE but not the older spelling MariaDB and ORMs use.
  for (let k = tokens.length - 4; k >= 0; k--) {
    if (wordsAt(tokens, k, ["LOCK", "IN", "SHARE", "MODE"])) {
      text = text.slice(0, tokens[k].start) + "FOR SHARE" + text.slice(tokens[k + 3].end);
    }
  }
  const started = cpuUsage();
  let statements: Node[];
  try {
    statements = new Parser(new MySqlDialect()).withRecursionLimit(limits.maxDepth * 2).parse(
      text,
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/recursion limit/i.test(message)) {
      throw new TranslationLimit("depth", `statement nests too deeply to parse (${message})`);
    }
    throw new SqlSyntaxError(message.replace(/^sql parser error: /, ""));
  }
  const spent = cpuUsage(started);
  const elapsed = (spent.user + spent.system) / 1000;
  if (elapsed > limits.maxParseMs) {
    throw new TranslationLimit(
      "time",
      `parsing took ${
        Math.round(elapsed)
      } ms of CPU, over the translation limit of ${limits.maxParseMs} ms`,
    );
  }
  if (statements.length === 0) throw new SqlSyntaxError("empty statement");
  if (statements.length > 1) throw new TranslationGap("several statements in one query");
  return statements[0];
}
