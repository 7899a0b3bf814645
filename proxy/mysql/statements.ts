/**
 * What a statement sent with COM_QUERY does to the session, read from its
 * text: session variables and character set, user variables, the current
 * database, table locks, named locks and temporary tables. Only the leading
 * keywords (and `GET_LOCK`/`RELEASE_LOCK` calls, `@var :=` assignments) are
 * looked at, after comments are removed; the effect is applied only when
 * the database answered the statement with success.
 *
 * @module
 */

/** One statement's effect on the session. */
export type StatementEffect =
  | { kind: "none" }
  | { kind: "set"; names: string[]; text: string }
  | { kind: "setNames"; text: string }
  | { kind: "userVars"; names: string[] }
  | { kind: "use"; database: string }
  | { kind: "lockTables" }
  | { kind: "unlockTables" }
  | { kind: "beginTransaction" }
  | { kind: "getLock"; name: string }
  | { kind: "releaseLock"; name: string }
  | { kind: "releaseAllLocks" }
  | { kind: "createTemporary"; table: string }
  | { kind: "dropTables"; tables: string[] }
  | { kind: "many"; effects: StatementEffect[] };

/** A `KILL` statement naming a connection id. */
export interface KillStatement {
  /** `KILL [CONNECTION] n` ends the connection; `KILL QUERY n` only its statement. */
  connection: boolean;
  /** The connection id as the client gave it. */
  id: number;
  /** `HARD`/`SOFT` as written, or "". */
  modifier: string;
}

const KILL = /^KILL\s+(?:(HARD|SOFT)\s+)?(CONNECTION\s+|QUERY\s+(?!ID\b))?(\d+)\s*;?\s*$/i;

/** Parses `KILL [HARD|SOFT] [CONNECTION|QUERY] n`; `KILL QUERY ID n` and `KILL USER u` are not this. */
export function parseKill(sql: string): KillStatement | undefined {
  const m = KILL.exec(stripComments(sql).trim());
  if (!m) return undefined;
  const id = Number(m[3]);
  if (!Number.isSafeInteger(id)) return undefined;
  return { connection: !/^QUERY/i.test(m[2] ?? ""), id, modifier: m[1] ?? "" };
}

/** Removes `/* *\/`, `-- ` and `#` comments outside quotes; executable `/*! *\/` comments keep their body. */
export function stripComments(sql: string): string {
  let out = "";
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`") {
      const end = closingQuote(sql, i);
      out += sql.slice(i, end);
      i = end - 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      const stop = end < 0 ? sql.length : end;
      if (sql[i + 2] === "!" || sql[i + 2] === "M" && sql[i + 3] === "!") {
        out += " " + sql.slice(i + 2, stop).replace(/^M?!\d*/, "") + " ";
      } else out += " ";
      i = stop + 1;
    } else if ((c === "-" && sql[i + 1] === "-" && /\s/.test(sql[i + 2] ?? " ")) || c === "#") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end - 1;
      out += " ";
    } else out += c;
  }
  return out;
}

function closingQuote(sql: string, start: number): number {
  const q = sql[start];
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] === "\\" && q !== "`") i++;
    else if (sql[i] === q) {
      if (sql[i + 1] === q) i++;
      else return i + 1;
    }
  }
  return sql.length;
}

/** Splits a (comment-free) multi-statement text at top-level semicolons. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`") i = closingQuote(sql, i) - 1;
    else if (c === ";") {
      out.push(sql.slice(start, i));
      start = i + 1;
    }
  }
  out.push(sql.slice(start));
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

function unquote(name: string): string {
  const n = name.trim();
  if (/^[`'"].*[`'"]$/.test(n)) return n.slice(1, -1).replace(/``/g, "`");
  return n;
}

const IDENT = "(`(?:[^`]|``)+`|[A-Za-z0-9_$.]+)";
const CREATE_TEMP = new RegExp(
  `^CREATE\\s+(?:OR\\s+REPLACE\\s+)?TEMPORARY\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${IDENT}`,
  "i",
);
const DROP_TABLES =
  /^DROP\s+(?:TEMPORARY\s+)?TABLES?\s+(?:IF\s+EXISTS\s+)?([\s\S]+?)(?:\s+(?:RESTRICT|CASCADE))?$/i;
const USE = new RegExp(`^USE\\s+${IDENT}`, "i");
const USER_VAR_ASSIGN = /@(`(?:[^`]|``)+`|'(?:[^']|'')+'|[A-Za-z0-9_$.]+)\s*:=/g;
const INTO_VARS = /\bINTO\s+(@[\s\S]+?)(?:\s+FOR\s+UPDATE|\s+LOCK\s+IN|\s*$|\s+FROM\b)/i;
const LOCK_CALL = /\b(GET_LOCK|RELEASE_LOCK)\s*\(\s*'((?:[^'\\]|\\.|'')*)'/gi;

/** The effect of one statement (no comments, no trailing semicolon). */
export function statementEffect(stmt: string): StatementEffect {
  const effects: StatementEffect[] = [];
  const head = stmt.slice(0, 64).toUpperCase();
  if (/^SET\s/.test(head)) effects.push(setEffect(stmt));
  else if (/^USE\s/.test(head)) {
    const m = USE.exec(stmt);
    if (m) effects.push({ kind: "use", database: unquote(m[1]) });
  } else if (/^LOCK\s+TABLES?\s/.test(head)) effects.push({ kind: "lockTables" });
  else if (/^UNLOCK\s+TABLES?\b/.test(head)) effects.push({ kind: "unlockTables" });
  else if (/^(BEGIN\b|START\s+TRANSACTION\b)/.test(head)) {
    effects.push({ kind: "beginTransaction" });
  } else if (/^CREATE\s/.test(head)) {
    const m = CREATE_TEMP.exec(stmt);
    if (m) effects.push({ kind: "createTemporary", table: unquote(m[1]) });
  } else if (/^DROP\s+(TEMPORARY\s+)?TABLES?\s/.test(head)) {
    const m = DROP_TABLES.exec(stmt);
    if (m) effects.push({ kind: "dropTables", tables: m[1].split(",").map(unquote) });
  }
  for (const m of stmt.matchAll(LOCK_CALL)) {
    const name = m[2].replace(/''/g, "'");
    effects.push(
      m[1].toUpperCase() === "GET_LOCK" ? { kind: "getLock", name } : { kind: "releaseLock", name },
    );
  }
  if (/\bRELEASE_ALL_LOCKS\s*\(/i.test(stmt)) effects.push({ kind: "releaseAllLocks" });
  const userVars = [...stmt.matchAll(USER_VAR_ASSIGN)].map((m) => unquote(m[1]));
  const into = /^SELECT\b/i.test(stmt) ? INTO_VARS.exec(stmt) : null;
  if (into) {
    for (const v of into[1].split(",")) {
      const name = v.trim();
      if (name.startsWith("@")) userVars.push(unquote(name.slice(1)));
    }
  }
  if (userVars.length > 0) effects.push({ kind: "userVars", names: userVars });
  if (effects.length === 0) return { kind: "none" };
  return effects.length === 1 ? effects[0] : { kind: "many", effects };
}

function setEffect(stmt: string): StatementEffect {
  const body = stmt.replace(/^SET\s+/i, "");
  if (/^(NAMES|CHARACTER\s+SET|CHARSET)\b/i.test(body)) return { kind: "setNames", text: stmt };
  // These change the next transaction, other sessions, or nothing a session carries.
  if (
    /^(GLOBAL|PERSIST|PERSIST_ONLY|TRANSACTION|PASSWORD|ROLE|DEFAULT\s+ROLE|STATEMENT)\b/i.test(
      body,
    )
  ) {
    return { kind: "none" };
  }
  const names: string[] = [];
  const users: string[] = [];
  for (const part of splitAssignments(body)) {
    const m =
      /^\s*(@@(?:SESSION\.|LOCAL\.)?|SESSION\s+|LOCAL\s+|@)?([A-Za-z0-9_$.`'"]+)\s*(?::=|=)/i
        .exec(part);
    if (!m) continue;
    if (m[1] === "@") users.push(unquote(m[2]));
    else if (!/^@@GLOBAL\./i.test(part.trim())) names.push(unquote(m[2]).toLowerCase());
  }
  if (users.length > 0 && names.length === 0) return { kind: "userVars", names: users };
  if (users.length === 0) {
    return names.length > 0 ? { kind: "set", names, text: stmt } : { kind: "none" };
  }
  return {
    kind: "many",
    effects: [{ kind: "set", names, text: stmt }, { kind: "userVars", names: users }],
  };
}

function splitAssignments(body: string): string[] {
  const parts: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "'" || c === '"' || c === "`") i = closingQuote(body, i) - 1;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}

/** The effects of every statement in a COM_QUERY text, in order. */
export function queryEffects(sql: string): StatementEffect[] {
  return splitStatements(stripComments(sql)).map(statementEffect);
}
