/**
 * Recognises the SQL statements that change session state — SET, RESET,
 * DISCARD, DEALLOCATE — so a session can be replayed on another database.
 * A full parser is not needed: these statements have a fixed keyword prefix,
 * and only statement boundaries (quotes, dollar quotes, comments) need care.
 *
 * @module
 */

/** A session-state change found in SQL text. */
export type SessionCommand =
  | { kind: "set"; name: string; statement: string }
  | { kind: "reset"; name: string }
  | { kind: "reset-all" }
  | { kind: "discard-all" }
  | { kind: "deallocate"; name: string }
  | { kind: "deallocate-all" }
  | { kind: "savepoint"; name: string }
  | { kind: "rollback-to"; name: string }
  | { kind: "release"; name: string };

/** Splits SQL text into statements at top-level semicolons. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      i = sql.indexOf(c, i + 1);
      if (i < 0) break;
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === "$") {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (m) {
        const end = sql.indexOf(m[0], i + m[0].length);
        i = end < 0 ? n : end + m[0].length;
      } else i++;
    } else if (c === ";") {
      out.push(sql.slice(start, i));
      start = ++i;
    } else i++;
  }
  out.push(sql.slice(start));
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

const LEADING_COMMENTS = /^(\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*/;

function normaliseName(raw: string): string {
  const t = raw.trim();
  return t.startsWith('"') ? t.slice(1, -1) : t.toLowerCase();
}

/** Classifies one statement; `undefined` when it does not touch session state. */
export function classifyStatement(statement: string): SessionCommand | undefined {
  const s = statement.replace(LEADING_COMMENTS, "");
  const head = s.slice(0, 40).toUpperCase();
  if (head.startsWith("SET ") || head.startsWith("SET\t") || head.startsWith("SET\n")) {
    const rest = s.slice(3).trim();
    const upper = rest.toUpperCase();
    if (/^(LOCAL|TRANSACTION|CONSTRAINTS)\b/.test(upper)) return undefined;
    const body = upper.startsWith("SESSION ") && !upper.startsWith("SESSION AUTHORIZATION")
      ? rest.slice(8).trim()
      : rest;
    const bodyUpper = body.toUpperCase();
    if (bodyUpper.startsWith("TIME ZONE")) return { kind: "set", name: "timezone", statement: s };
    if (bodyUpper.startsWith("SESSION AUTHORIZATION")) {
      return { kind: "set", name: "session_authorization", statement: s };
    }
    if (bodyUpper.startsWith("ROLE")) return { kind: "set", name: "role", statement: s };
    if (bodyUpper.startsWith("NAMES")) {
      return { kind: "set", name: "client_encoding", statement: s };
    }
    if (bodyUpper.startsWith("CHARACTERISTICS")) {
      return { kind: "set", name: "session_characteristics", statement: s };
    }
    const m = /^("[^"]+"|[A-Za-z_][\w.]*)\s*(=|\bTO\b)/i.exec(body);
    if (!m) return undefined;
    return { kind: "set", name: normaliseName(m[1]), statement: s };
  }
  if (head.startsWith("RESET ")) {
    const name = s.slice(6).trim();
    if (name.toUpperCase() === "ALL") return { kind: "reset-all" };
    const upper = name.toUpperCase();
    if (upper === "TIME ZONE") return { kind: "reset", name: "timezone" };
    if (upper === "SESSION AUTHORIZATION") return { kind: "reset", name: "session_authorization" };
    return { kind: "reset", name: normaliseName(name) };
  }
  if (/^DISCARD\s+ALL$/i.test(s)) return { kind: "discard-all" };
  const savepoint = /^SAVEPOINT\s+(\S+)$/i.exec(s);
  if (savepoint) return { kind: "savepoint", name: normaliseName(savepoint[1]) };
  const rollbackTo = /^ROLLBACK\s+(?:WORK\s+|TRANSACTION\s+)?TO\s+(?:SAVEPOINT\s+)?(\S+)$/i.exec(s);
  if (rollbackTo) return { kind: "rollback-to", name: normaliseName(rollbackTo[1]) };
  const release = /^RELEASE\s+(?:SAVEPOINT\s+)?(\S+)$/i.exec(s);
  if (release) return { kind: "release", name: normaliseName(release[1]) };
  const dealloc = /^DEALLOCATE\s+(PREPARE\s+)?(\S+)$/i.exec(s);
  if (dealloc) {
    return dealloc[2].toUpperCase() === "ALL"
      ? { kind: "deallocate-all" }
      : { kind: "deallocate", name: normaliseName(dealloc[2]) };
  }
  return undefined;
}

const SESSION_KEYWORD = /^(SET|RESET|DISCARD|DEALLOCATE|SAVEPOINT|ROLLBACK|RELEASE)\b/i;
const SESSION_KEYWORD_ANYWHERE = /\b(SET|RESET|DISCARD|DEALLOCATE|SAVEPOINT|ROLLBACK|RELEASE)\b/i;

/**
 * Every session-state change in a (possibly multi-statement) SQL text. This
 * runs for every query, so a single statement is judged by its first keyword
 * alone; only texts with more than one statement are split.
 */
export function sessionCommands(sql: string): SessionCommand[] {
  const semicolon = sql.indexOf(";");
  if (semicolon < 0 || semicolon === sql.trimEnd().length - 1) {
    const statement = sql.replace(LEADING_COMMENTS, "");
    if (!SESSION_KEYWORD.test(statement)) return [];
    const cmd = classifyStatement(statement.replace(/;\s*$/, ""));
    return cmd ? [cmd] : [];
  }
  if (!SESSION_KEYWORD_ANYWHERE.test(sql)) return [];
  const out: SessionCommand[] = [];
  for (const statement of splitStatements(sql)) {
    const cmd = classifyStatement(statement);
    if (cmd) out.push(cmd);
  }
  return out;
}

/**
 * The commands of a committed transaction that still hold: what a
 * `ROLLBACK TO SAVEPOINT` undid is dropped, and the savepoint markers go.
 */
export function withoutRolledBack(commands: SessionCommand[]): SessionCommand[] {
  const out: SessionCommand[] = [];
  const marks: { name: string; at: number }[] = [];
  for (const cmd of commands) {
    if (cmd.kind === "savepoint") {
      marks.push({ name: cmd.name, at: out.length });
    } else if (cmd.kind === "rollback-to" || cmd.kind === "release") {
      const i = marks.findLastIndex((m) => m.name === cmd.name);
      if (i < 0) continue;
      // ROLLBACK TO keeps its savepoint and destroys later ones; RELEASE destroys it too.
      if (cmd.kind === "rollback-to") out.length = marks[i].at;
      marks.length = cmd.kind === "rollback-to" ? i + 1 : i;
    } else {
      out.push(cmd);
    }
  }
  return out;
}
