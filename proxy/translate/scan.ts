/**
 * A light MySQL lexer run before the parser.
 *
 * It knows MySQL's lexical rules (quoted strings with backslash escapes,
 * backtick identifiers, `#`, `-- ` and `/* *\/` comments) so it can count
 * tokens and parenthesis depth for the parser guards, and find keywords that
 * the parser does not accept (`LOCK IN SHARE MODE`) outside strings and
 * comments. It is not a parser: it classifies characters, nothing more.
 *
 * @module
 */

/** One token: a word, a quoted string or identifier, a number, or a punctuation character. */
export interface Token {
  /** `word`, `string`, `ident` (backticks), `number` or `punct`. */
  kind: "word" | "string" | "ident" | "number" | "punct";
  /** Offset of the first character in the statement. */
  start: number;
  /** Offset after the last character. */
  end: number;
  /** Upper-cased text for words, the character for punctuation, raw text otherwise. */
  text: string;
}

/** The lexer's summary of a statement. */
export interface ScanResult {
  tokens: Token[];
  /** Deepest parenthesis nesting seen. */
  maxDepth: number;
}

/**
 * Splits a statement into tokens, stopping early once `maxTokens` or
 * `maxDepth` is exceeded (the caller then refuses the statement).
 */
export function scan(sql: string, maxTokens: number, maxDepth: number): ScanResult {
  const tokens: Token[] = [];
  let depth = 0;
  let maxSeen = 0;
  let i = 0;
  const n = sql.length;
  while (i < n && tokens.length <= maxTokens && maxSeen <= maxDepth) {
    const c = sql[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") {
      i++;
    } else if (c === "#" || (c === "-" && sql[i + 1] === "-" && /\s/.test(sql[i + 2] ?? " "))) {
      while (i < n && sql[i] !== "\n") i++;
    } else if (c === "/" && sql[i + 1] === "*") {
      const close = sql.indexOf("*/", i + 2);
      i = close < 0 ? n : close + 2;
    } else if (c === "'" || c === '"' || c === "`") {
      const start = i++;
      while (i < n) {
        if (sql[i] === "\\" && c !== "`") {
          i += 2;
        } else if (sql[i] === c) {
          if (sql[i + 1] === c) i += 2;
          else break;
        } else i++;
      }
      i++;
      tokens.push({
        kind: c === "`" ? "ident" : "string",
        start,
        end: Math.min(i, n),
        text: sql.slice(start, i),
      });
    } else if (isWordChar(c)) {
      const start = i;
      while (i < n && isWordChar(sql[i])) i++;
      const text = sql.slice(start, i);
      tokens.push({
        kind: /^[0-9]/.test(text) ? "number" : "word",
        start,
        end: i,
        text: text.toUpperCase(),
      });
    } else {
      if (c === "(") maxSeen = Math.max(maxSeen, ++depth);
      if (c === ")") depth--;
      tokens.push({ kind: "punct", start: i, end: i + 1, text: c });
      i++;
    }
  }
  return { tokens, maxDepth: maxSeen };
}

function isWordChar(c: string): boolean {
  return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") ||
    c === "_" || c === "$" || c === "." || c.charCodeAt(0) > 127;
}

/** True when the words at `at` are exactly `words` (upper case). */
export function wordsAt(tokens: Token[], at: number, words: string[]): boolean {
  return words.every((w, k) => tokens[at + k]?.kind === "word" && tokens[at + k].text === w);
}
