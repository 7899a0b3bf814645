/**
 * Reading the statements the proxy answers with the lexer (`../scan.ts`):
 * a cursor over tokens for the `SHOW`/`SET`/`DESCRIBE` grammars, names
 * (`db`.`t`, db.t), string literals, and the parser for the expressions
 * inside them.
 *
 * @module
 */

import type { Node } from "../ast.ts";
import { DEFAULT_PARSE_LIMITS, parseMysql } from "../parse.ts";
import { scan, type Token } from "../scan.ts";
import { AnswerError, ER } from "./result.ts";

/** A cursor over one statement's tokens. */
export class Cursor {
  readonly sql: string;
  readonly tokens: Token[];
  i = 0;

  /** @param sql the statement; a trailing `;` is ignored */
  constructor(sql: string, tokens?: Token[]) {
    this.sql = sql;
    const all = tokens ??
      scan(sql, DEFAULT_PARSE_LIMITS.maxTokens, DEFAULT_PARSE_LIMITS.maxDepth).tokens;
    let end = all.length;
    while (end > 0 && all[end - 1].kind === "punct" && all[end - 1].text === ";") end--;
    this.tokens = all.slice(0, end);
  }

  /** The token `k` ahead, if any. */
  peek(k = 0): Token | undefined {
    return this.tokens[this.i + k];
  }

  /** True when the next tokens are these words (upper case). */
  atWords(...words: string[]): boolean {
    return words.every((w, k) => {
      const t = this.tokens[this.i + k];
      return t?.kind === "word" && t.text === w;
    });
  }

  /** Consumes the words when they come next. */
  acceptWords(...words: string[]): boolean {
    if (!this.atWords(...words)) return false;
    this.i += words.length;
    return true;
  }

  /** Consumes one of the words, returning it, or null. */
  acceptOne(...words: string[]): string | null {
    const t = this.peek();
    if (t?.kind === "word" && words.includes(t.text)) {
      this.i++;
      return t.text;
    }
    return null;
  }

  /** Consumes a punctuation character when it comes next. */
  acceptPunct(c: string): boolean {
    const t = this.peek();
    if (t?.kind === "punct" && t.text === c) {
      this.i++;
      return true;
    }
    return false;
  }

  /** True when every token has been read. */
  done(): boolean {
    return this.i >= this.tokens.length;
  }

  /** A syntax error near the current token, as MySQL words it. */
  syntaxError(): AnswerError {
    const t = this.peek();
    const near = t ? this.sql.slice(t.start, t.start + 80) : "";
    return new AnswerError(
      ER.PARSE_ERROR,
      `You have an error in your SQL syntax; check the manual that corresponds to your MySQL ` +
        `server version for the right syntax to use near '${near}' at line 1`,
    );
  }

  /**
   * Reads a possibly qualified name (`t`, `db.t`, `` `db`.`t` ``) as its
   * parts, unquoted; null when no name comes next.
   */
  name(): string[] | null {
    const first = this.peek();
    if (!first || (first.kind !== "word" && first.kind !== "ident" && first.kind !== "string")) {
      return null;
    }
    let raw = "";
    let end = first.start;
    while (true) {
      const t = this.peek();
      if (!t || t.start !== end || (t.kind !== "word" && t.kind !== "ident")) {
        if (raw === "" && t?.kind === "string") {
          this.i++;
          return [decodeString(this.sql.slice(t.start, t.end))];
        }
        break;
      }
      raw += this.sql.slice(t.start, t.end);
      end = t.end;
      this.i++;
    }
    return splitName(raw);
  }

  /** Reads a string literal or a bare word as text; null when neither comes next. */
  text(): string | null {
    const t = this.peek();
    if (!t) return null;
    if (t.kind === "string") {
      this.i++;
      return decodeString(this.sql.slice(t.start, t.end));
    }
    if (t.kind === "word" || t.kind === "ident") return this.name()?.join(".") ?? null;
    return null;
  }

  /** Source text from the current token to the end. */
  rest(): string {
    const t = this.peek();
    if (!t) return "";
    return this.sql.slice(t.start, this.tokens[this.tokens.length - 1].end);
  }
}

/** Splits `db.t`, `` `db`.`t` `` into unquoted parts. */
export function splitName(raw: string): string[] {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === "`") {
      i++;
      while (i < raw.length) {
        if (raw[i] === "`" && raw[i + 1] === "`") {
          cur += "`";
          i += 2;
        } else if (raw[i] === "`") break;
        else cur += raw[i++];
      }
    } else if (c === ".") {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

const ESCAPES: Record<string, string> = {
  "0": "\0",
  "b": "\b",
  "n": "\n",
  "r": "\r",
  "t": "\t",
  "Z": "\x1a",
};

/** The value of a quoted MySQL string token, escapes undone. */
export function decodeString(raw: string): string {
  const q = raw[0];
  let out = "";
  for (let i = 1; i < raw.length - 1; i++) {
    const c = raw[i];
    if (c === "\\" && i + 1 < raw.length - 1) {
      const e = raw[++i];
      out += ESCAPES[e] ?? e;
    } else if (c === q && raw[i + 1] === q) {
      out += q;
      i++;
    } else out += c;
  }
  return out;
}

/** Parses one expression given as MySQL text. */
export function parseExpression(text: string): Node {
  const tree = parseMysql(`SELECT ${text}`);
  const item = tree.Query?.body?.Select?.projection?.[0];
  if (!item || tree.Query.body.Select.projection.length !== 1) {
    throw new AnswerError(ER.PARSE_ERROR, `not one expression: ${text.slice(0, 80)}`);
  }
  return item.UnnamedExpr ?? item.ExprWithAlias?.expr;
}

/** Parses the condition of a `WHERE` given as MySQL text. */
export function parseCondition(text: string): Node {
  const tree = parseMysql(`SELECT 1 FROM t WHERE ${text}`);
  return tree.Query.body.Select.selection;
}
