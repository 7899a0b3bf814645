/**
 * Query fingerprints: a statement with its literals replaced by placeholders,
 * so mismatch samples group by query shape and never show values.
 *
 * Literals are found by PostgreSQL's own parser (libpg_query compiled to
 * WebAssembly, `npm:libpg-query`), which knows every literal form — typed
 * strings, escape and dollar quoting, negative and exponent numbers. The
 * text is then canonicalised from the parser's tokens: keywords upper case,
 * comments dropped, single spaces, lists of literals collapsed and literal
 * placeholders numbered in order, so `IN (1, 2)` and `in (3,4,5)` agree.
 * Statements PostgreSQL cannot parse (CockroachDB-only syntax, or before the
 * parser loaded) fall back to a regular-expression redaction; those are
 * counted ({@linkcode fingerprintFallbacks}).
 *
 * @module
 */

import { loadModule, normalizeSync, scanSync } from "libpg-query";
import { errorMessage } from "../../shared/errors.ts";
import { createLogger } from "../../shared/log.ts";
import { redactLiterals } from "../pg/redact.ts";

const CACHE_SIZE = 5000;
const MAX_CACHED_SQL = 8192;
const MAX_FINGERPRINT = 2000;
const cache = new Map<string, string>();
let loaded: Promise<void> | undefined;
let ready = false;
let fallbacks = 0;

interface Token {
  text: string;
  start: number;
  end: number;
  tokenName: string;
  keywordKind: number;
}

/**
 * Loads the parser once; later calls return the same promise. Never rejects:
 * when the WebAssembly module cannot load, a warning is logged and every
 * fingerprint uses the fallback (see {@linkcode fingerprintParserLoaded}).
 */
export function initFingerprints(): Promise<void> {
  loaded ??= loadModule().then(
    () => {
      ready = true;
    },
    (err: unknown) => {
      createLogger("shadow").warn(
        "the PostgreSQL parser (libpg-query) did not load; query fingerprints use literal redaction",
        { error: errorMessage(err) },
      );
    },
  );
  return loaded;
}

/** True once the parser loaded. */
export function fingerprintParserLoaded(): boolean {
  return ready;
}

/** How many statements were fingerprinted without the parser since start. */
export function fingerprintFallbacks(): number {
  return fallbacks;
}

/**
 * The fingerprint of `sql`, e.g. `SELECT * FROM t WHERE id = $1`: stable
 * across literal values, letter case of keywords and whitespace. Synchronous;
 * results are cached in a bounded LRU.
 */
export function fingerprint(sql: string): string {
  const hit = cache.get(sql);
  if (hit !== undefined) {
    cache.delete(sql);
    cache.set(sql, hit);
    return hit;
  }
  const fp = bounded(compute(sql));
  // Huge statements (bulk inserts) would pin megabytes as cache keys.
  if (sql.length > MAX_CACHED_SQL) return fp;
  cache.set(sql, fp);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return fp;
}

/** Long fingerprints are cut, with a hash of the whole keeping distinct ones apart. */
function bounded(fp: string): string {
  if (fp.length <= MAX_FINGERPRINT) return fp;
  let h = 0x811c9dc5;
  for (let i = 0; i < fp.length; i++) h = Math.imul(h ^ fp.charCodeAt(i), 0x01000193);
  return `${fp.slice(0, MAX_FINGERPRINT)} /* ... #${(h >>> 0).toString(16)} */`;
}

function compute(sql: string): string {
  if (ready) {
    try {
      return fromParser(sql);
    } catch {
      // Not PostgreSQL syntax: use the fallback below.
    }
  }
  fallbacks++;
  return fallback(sql);
}

function fromParser(sql: string): string {
  const userParams = maxParam(scanSync(sql).tokens as Token[]);
  const tokens = (scanSync(normalizeSync(sql)).tokens as Token[]).filter((t) =>
    t.tokenName !== "SQL_COMMENT" && t.tokenName !== "C_COMMENT"
  );
  const isLiteral = (t: Token | undefined): boolean =>
    t !== undefined && t.tokenName === "PARAM" && Number(t.text.slice(1)) > userParams;
  let out = "";
  let prev: Token | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    let text = t.keywordKind !== 0 ? t.text.toUpperCase() : t.text;
    if (isLiteral(t)) {
      text = LITERAL;
      let j = i;
      while (tokens[j + 1]?.text === "," && isLiteral(tokens[j + 2])) j += 2;
      if (j > i && prev?.text === "(" && tokens[j + 1]?.text === ")") {
        text += " /*, ... */";
        i = j;
      }
    }
    if (prev && needsSpace(prev, t)) out += " ";
    out += text;
    prev = t;
  }
  let next = userParams + 1;
  return out.replace(ROWS, "$1 /*, ... */").replaceAll(LITERAL, () => `$${next++}`);
}

/** Placeholder of a literal until the list collapsing is done and they are numbered. */
const LITERAL = "$?";
/** Repeated rows of literals, e.g. a multi-row VALUES list. */
const ROWS = /(\(\$\?(?: \/\*, \.\.\. \*\/)?\))(?:, \(\$\?(?: \/\*, \.\.\. \*\/)?\))+/g;

function needsSpace(prev: Token, t: Token): boolean {
  if (t.text === "," || t.text === ")" || prev.text === "(" || t.text === ";") return false;
  if (t.text === "(" && prev.keywordKind === 0 && prev.tokenName === "IDENT") return false;
  if (prev.text === "." || t.text === ".") return false;
  if (prev.text === "::" || t.text === "::") return false;
  return true;
}

function maxParam(tokens: Token[]): number {
  let max = 0;
  for (const t of tokens) {
    if (t.tokenName === "PARAM") max = Math.max(max, Number(t.text.slice(1)));
  }
  return max;
}

function fallback(sql: string): string {
  return redactLiterals(sql)
    .replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, " ")
    .replace(
      /("(?:[^"]|"")*")|([^"]+)/g,
      (_m, quoted: string | undefined, plain: string) =>
        quoted ?? plain.replace(/\s+/g, " ").toUpperCase(),
    )
    .replace(/\s*([(),.])\s*/g, (_m, p: string) => (p === "," ? ", " : p))
    .trim();
}
