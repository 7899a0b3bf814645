/**
 * `SET` of session state: `SET NAMES`, `SET CHARACTER SET`, system variables
 * (`SET [SESSION|LOCAL] x = v`, `SET @@[session.]x = v`, several at once as
 * Laravel and Rails send them) and user variables (`SET @x = v`).
 *
 * Values are checked as MySQL checks them (variables.ts) and kept in the
 * session's maps; the whole statement fails, changing nothing, when one
 * assignment fails, as in MySQL. Variables with a CockroachDB equivalent
 * (`time_zone`, `transaction_isolation`, `transaction_read_only`,
 * `max_execution_time`, `innodb_lock_wait_timeout`) add the statement the
 * executor must run (`Answer.run`). `SET [SESSION] TRANSACTION ...` is not
 * here: it is translated (`../transactions.ts`).
 *
 * @module
 */

import { charsetName, collation, defaultCollation } from "./charsets.ts";
import { evaluate, placeholderIndex, unquoteUserVariable, type Value } from "./eval.ts";
import { AnswerError, ER, notSupported } from "./result.ts";
import { Cursor, parseExpression } from "./tokens.ts";
import type { Answer, AnswerContext, SessionValue } from "./types.ts";
import { lookup, readVariable, validate, VARIABLES } from "./variables.ts";

type Change =
  | { kind: "system"; name: string; value: SessionValue | undefined }
  | { kind: "user"; name: string; value: SessionValue };

/**
 * Answers a `SET` statement, or returns null for the forms that are
 * translated (`SET [GLOBAL|SESSION] TRANSACTION`) or not session state
 * (`SET PASSWORD`, `SET ROLE`).
 */
export function answerSet(c: Cursor, ctx: AnswerContext): Answer | null {
  if (!c.acceptWords("SET")) return null;
  if (
    c.atWords("TRANSACTION") || c.atWords("GLOBAL", "TRANSACTION") ||
    c.atWords("SESSION", "TRANSACTION") || c.atWords("LOCAL", "TRANSACTION") ||
    c.atWords("PASSWORD") || c.atWords("ROLE") || c.atWords("DEFAULT", "ROLE")
  ) {
    return null;
  }
  const changes: Change[] = [];
  for (const piece of splitAssignments(c)) changes.push(...assignment(piece, ctx));
  const run: string[] = [];
  let endsTransaction = false;
  for (const ch of changes) {
    if (ch.kind === "user") {
      ctx.userVariables.set(ch.name, ch.value);
      continue;
    }
    const before = readVariable(ch.name, ctx);
    if (ch.value === undefined) ctx.variables.delete(ch.name);
    else ctx.variables.set(ch.name, ch.value);
    const after = readVariable(ch.name, ctx);
    const target = VARIABLES[ch.name].target?.(after);
    if (target) run.push(target);
    if (
      ch.name === "autocommit" && Number(before) === 0 && Number(after) === 1 && ctx.inTransaction
    ) {
      endsTransaction = true;
    }
  }
  return {
    kind: "ok",
    affectedRows: 0,
    ...(run.length ? { run } : {}),
    ...(endsTransaction ? { endsTransaction } : {}),
  };
}

/** The assignments of a SET, each as its own cursor, split at top-level commas. */
function splitAssignments(c: Cursor): Cursor[] {
  const pieces: Cursor[] = [];
  let depth = 0;
  let start = c.i;
  for (let i = c.i; i <= c.tokens.length; i++) {
    const t = c.tokens[i];
    if (t?.kind === "punct" && t.text === "(") depth++;
    if (t?.kind === "punct" && t.text === ")") depth--;
    if (t === undefined || (depth === 0 && t.kind === "punct" && t.text === ",")) {
      if (i === start) throw c.syntaxError();
      pieces.push(new Cursor(c.sql, c.tokens.slice(start, i)));
      start = i + 1;
    }
  }
  return pieces;
}

function assignment(c: Cursor, ctx: AnswerContext): Change[] {
  if (c.acceptWords("NAMES")) return names(c);
  if (c.acceptWords("CHARACTER", "SET") || c.acceptWords("CHARSET")) return characterSet(c);
  let scope = c.acceptOne("GLOBAL", "SESSION", "LOCAL", "PERSIST", "PERSIST_ONLY");
  let name: string;
  if (c.acceptPunct("@")) {
    if (c.acceptPunct("@")) {
      const parts = c.name();
      if (!parts) throw c.syntaxError();
      if (parts.length === 2) scope = parts[0].toUpperCase();
      else if (parts.length !== 1) throw c.syntaxError();
      name = parts[parts.length - 1];
    } else {
      const raw = c.peek();
      if (!raw) throw c.syntaxError();
      const parts = raw.kind === "string" ? null : c.name();
      if (!parts) {
        c.i++;
        name = unquoteUserVariable(c.sql.slice(raw.start, raw.end));
      } else name = parts.join(".");
      const value = assignedValue(c, ctx, false);
      if (value === DEFAULT) throw c.syntaxError();
      return [{ kind: "user", name: name.toLowerCase(), value }];
    }
  } else {
    const parts = c.name();
    if (!parts || parts.length !== 1) throw c.syntaxError();
    name = parts[0];
  }
  const [canonical, def] = lookup(name);
  if (def.readOnly) {
    throw new AnswerError(
      ER.INCORRECT_GLOBAL_LOCAL_VAR,
      `Variable '${canonical}' is a read only variable`,
    );
  }
  if (scope === "GLOBAL" || scope === "PERSIST" || scope === "PERSIST_ONLY") {
    throw notSupported(
      `SET ${scope}`,
      "once CockroachDB serves the database the proxy keeps session variables only",
    );
  }
  if (def.scope === "global") {
    throw new AnswerError(
      ER.GLOBAL_VARIABLE,
      `Variable '${canonical}' is a GLOBAL variable and should be set with SET GLOBAL`,
    );
  }
  const raw = assignedValue(c, ctx, true);
  if (raw === DEFAULT) return [{ kind: "system", name: canonical, value: undefined }];
  const value = validate(canonical, def, raw);
  checkSupported(canonical, value);
  return [{ kind: "system", name: canonical, value }];
}

const DEFAULT = Symbol("DEFAULT");

/** Reads `= value` / `:= value`; DEFAULT for the keyword. */
function assignedValue(
  c: Cursor,
  ctx: AnswerContext,
  system: boolean,
): SessionValue | typeof DEFAULT {
  if (!c.acceptPunct("=")) {
    if (!(c.acceptPunct(":") && c.acceptPunct("="))) throw c.syntaxError();
  }
  if (c.done()) throw c.syntaxError();
  if (c.tokens.length - c.i === 1 && c.peek()?.kind === "word") {
    const word = c.peek()!;
    const text = c.sql.slice(word.start, word.end);
    if (word.text === "DEFAULT" && system) return DEFAULT;
    if (word.text === "NULL") return null;
    if (system && !/^[0-9]/.test(text)) return text;
  }
  const tree = parseExpression(c.rest());
  const v: Value = evaluate(tree, {
    ctx,
    bareWords: system,
    params: ctx.params,
    placeholders: placeholderIndex(tree),
  });
  return v;
}

/** Values that would change results in ways the proxy does not reproduce. */
function checkSupported(name: string, value: SessionValue): void {
  if (name === "sql_select_limit" && Number(value) < Number.MAX_SAFE_INTEGER) {
    throw notSupported(
      "sql_select_limit",
      "a limit on every SELECT is not applied once CockroachDB serves the database",
    );
  }
  if (name.startsWith("character_set_") && value !== null && name !== "character_set_filesystem") {
    const cs = charsetName(String(value));
    if (!cs) throw unknownCharset(String(value));
  }
  if (name.startsWith("collation_") && !collation(String(value))) {
    throw new AnswerError(ER.UNKNOWN_COLLATION, `Unknown collation: '${value}'`);
  }
}

function unknownCharset(name: string): AnswerError {
  return new AnswerError(
    ER.UNKNOWN_CHARACTER_SET,
    `Unknown character set: '${name}' (once CockroachDB serves the database the proxy speaks ` +
      `utf8mb4, utf8mb3, ascii and binary only)`,
  );
}

function names(c: Cursor): Change[] {
  if (c.acceptWords("DEFAULT")) {
    return [
      "character_set_client",
      "character_set_connection",
      "character_set_results",
      "collation_connection",
    ].map((name) => ({ kind: "system", name, value: undefined }));
  }
  const requested = c.text();
  if (requested === null) throw c.syntaxError();
  const cs = charsetName(requested);
  if (!cs) throw unknownCharset(requested);
  let coll = defaultCollation(cs);
  if (c.acceptWords("COLLATE")) {
    const name = c.text();
    if (name === null) throw c.syntaxError();
    const found = collation(name);
    if (!found) throw new AnswerError(ER.UNKNOWN_COLLATION, `Unknown collation: '${name}'`);
    if (found.charset !== cs) {
      throw new AnswerError(
        ER.COLLATION_CHARSET_MISMATCH,
        `COLLATION '${name}' is not valid for CHARACTER SET '${requested}'`,
      );
    }
    coll = found.name;
  }
  if (!c.done()) throw c.syntaxError();
  return [
    { kind: "system", name: "character_set_client", value: cs },
    { kind: "system", name: "character_set_connection", value: cs },
    { kind: "system", name: "character_set_results", value: cs },
    { kind: "system", name: "collation_connection", value: coll },
  ];
}

function characterSet(c: Cursor): Change[] {
  if (c.acceptWords("DEFAULT")) {
    return [
      "character_set_client",
      "character_set_results",
      "character_set_connection",
      "collation_connection",
    ].map((name) => ({ kind: "system", name, value: undefined }));
  }
  const requested = c.text();
  if (requested === null || !c.done()) throw c.syntaxError();
  const cs = charsetName(requested);
  if (!cs) throw unknownCharset(requested);
  // MySQL: the connection character set becomes the database's.
  return [
    { kind: "system", name: "character_set_client", value: cs },
    { kind: "system", name: "character_set_results", value: cs },
    { kind: "system", name: "character_set_connection", value: undefined },
    { kind: "system", name: "collation_connection", value: undefined },
  ];
}
