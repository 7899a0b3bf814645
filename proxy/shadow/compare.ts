/**
 * Compares the outcomes of one statement on the source and the target, by
 * meaning: errors by SQLSTATE, command tags by verb and count, rows as
 * normalised values (as a multiset unless the statement orders them), and
 * huge results by digest. Differences known to be legitimate — serialization
 * retries and volatile functions — are classified as transient.
 *
 * @module
 */

import type { MismatchKind, OutcomeSummary } from "../../shared/shadow.ts";
import type { StatementResult } from "./collector.ts";
import { isVolatile, type ShadowRules } from "./rules.ts";

/** How a comparison ended. */
export type Verdict = "match" | "transient" | "mismatch";

/** The comparison of one statement's two outcomes. */
export interface ComparisonResult {
  /** `mismatch` only for real differences; `transient` for classified ones. */
  verdict: Verdict;
  /** Kinds of a real mismatch; empty unless `verdict` is `mismatch`. */
  kinds: MismatchKind[];
  /** Every difference found, whatever the verdict (transient ones included). */
  differences: MismatchKind[];
  /** Why the verdict is what it is, for transient and mismatch verdicts. */
  reason?: string;
  /** Outcome on the source. */
  source: OutcomeSummary;
  /** Outcome on the target. */
  target: OutcomeSummary;
}

const SERIALIZATION_FAILURE = "40001";
const MAX_SAMPLE_ROWS = 3;
const VOLATILE_KINDS: ReadonlySet<MismatchKind> = new Set(["values", "command_tag"]);
const ROW_COUNT_VERBS: ReadonlySet<string> = new Set(["SELECT", "FETCH", "MOVE"]);

/** Compares the two outcomes of one statement. */
export function compareResults(
  source: StatementResult,
  target: StatementResult,
  rules: ShadowRules,
): ComparisonResult {
  const differences: MismatchKind[] = [];
  let sourceRows: (string | null)[][] | undefined;
  let targetRows: (string | null)[][] | undefined;
  let note: string | undefined;

  if (source.ok !== target.ok) {
    differences.push("error_vs_success");
  } else if (!source.ok) {
    if (source.skipped !== target.skipped) differences.push("error_vs_success");
    else if (source.sqlstate !== target.sqlstate) differences.push("sqlstate");
  } else {
    const tagKind = compareTags(source, target);
    if (tagKind) differences.push(tagKind);
    if (source.rowCount !== target.rowCount) differences.push("row_count");
    if (!sameColumns(source, target)) differences.push("columns");
    else if (source.rowCount === target.rowCount && source.rowCount > 0) {
      const rows = compareRows(source, target);
      if (rows) {
        differences.push("values");
        sourceRows = rows.source;
        targetRows = rows.target;
        note = rows.note;
      }
    }
    if (source.rowCount !== target.rowCount && !sourceRows) {
      const rows = rowDifference(source.rows, target.rows, source.ordered);
      sourceRows = rows.source;
      targetRows = rows.target;
    }
  }

  const summaries = {
    source: summarise(source, sourceRows),
    target: summarise(target, targetRows),
  };
  if (differences.length === 0) return { verdict: "match", kinds: [], differences, ...summaries };
  if (source.sqlstate === SERIALIZATION_FAILURE || target.sqlstate === SERIALIZATION_FAILURE) {
    const side = source.sqlstate === SERIALIZATION_FAILURE ? "source" : "target";
    return {
      verdict: "transient",
      kinds: [],
      differences,
      reason: `serialization failure (40001) on the ${side}: the client retries it`,
      ...summaries,
    };
  }
  if (
    differences.every((k) => VOLATILE_KINDS.has(k)) &&
    (isVolatile(source.sql, rules) || isVolatile(target.sql, rules))
  ) {
    return {
      verdict: "transient",
      kinds: [],
      differences,
      reason: "the statement calls a volatile function",
      ...summaries,
    };
  }
  return {
    verdict: "mismatch",
    kinds: differences,
    differences,
    reason: describe(differences, source, target, note),
    ...summaries,
  };
}

/**
 * Compares two databases' results of one request, paired by position. A
 * result that only one side has is compared with an absent statement
 * (error vs. success), so a statement one side ran and the other did not is
 * reported rather than lost.
 */
export function compareRequests(
  source: StatementResult[],
  target: StatementResult[],
  rules: ShadowRules,
): ComparisonResult[] {
  const n = Math.max(source.length, target.length);
  const out = new Array<ComparisonResult>(n);
  for (let i = 0; i < n; i++) {
    const s = source[i] ?? absent(target[i].sql);
    const t = target[i] ?? absent(source[i].sql);
    out[i] = compareResults(s, t, rules);
  }
  return out;
}

function absent(sql: string): StatementResult {
  return {
    sql,
    ok: false,
    message: "no result: the statement did not run on this database",
    rows: [],
    rowCount: 0,
    digest: "",
    ordered: false,
  };
}

/** Splits a command tag into its verb and count; INSERT's oid field is ignored. */
export function parseCommandTag(tag: string): { verb: string; count: number | undefined } {
  const parts = tag.trim().split(/\s+/);
  const last = parts[parts.length - 1];
  if (parts.length > 1 && /^\d+$/.test(last)) {
    const verb = parts[0] === "INSERT" ? "INSERT" : parts.slice(0, -1).join(" ");
    return { verb, count: Number(last) };
  }
  return { verb: parts.join(" "), count: undefined };
}

function compareTags(source: StatementResult, target: StatementResult): MismatchKind | undefined {
  if (source.commandTag === target.commandTag) return undefined;
  if (source.commandTag === undefined || target.commandTag === undefined) return "command_tag";
  const s = parseCommandTag(source.commandTag);
  const t = parseCommandTag(target.commandTag);
  if (s.verb !== t.verb) return "command_tag";
  // A row-returning statement's count is its row count, reported as such.
  if (ROW_COUNT_VERBS.has(s.verb)) return undefined;
  return s.count === t.count ? undefined : "command_tag";
}

function sameColumns(source: StatementResult, target: StatementResult): boolean {
  const a = source.columns ?? [];
  const b = target.columns ?? [];
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].name !== b[i].name) return false;
  return true;
}

interface RowDiff {
  source: (string | null)[][];
  target: (string | null)[][];
  note?: string;
}

function compareRows(source: StatementResult, target: StatementResult): RowDiff | undefined {
  const complete = source.rows.length === source.rowCount &&
    target.rows.length === target.rowCount;
  const ordered = source.ordered && target.ordered;
  // A suspended portal's chunk holds arbitrary rows of an unordered result.
  if (!ordered && (source.suspended || target.suspended)) return undefined;
  if (complete) {
    const diff = rowDifference(source.rows, target.rows, ordered);
    return diff.source.length > 0 || diff.target.length > 0 ? diff : undefined;
  }
  if (ordered) {
    const diff = rowDifference(source.rows, target.rows, true);
    if (diff.source.length > 0 || diff.target.length > 0) return diff;
  }
  if (source.digest === target.digest) return undefined;
  const diff = rowDifference(source.rows, target.rows, false);
  return { ...diff, note: "digests of the rows past the row limit differ" };
}

const SEP = "\u0000";
const NULL_MARK = "\u0001N";

function rowKey(row: (string | null)[]): string {
  let key = "";
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    key += (i > 0 ? SEP : "") + (v === null ? NULL_MARK : v);
  }
  return key;
}

/** Up to three rows only one side has (as a multiset), or that differ position by position. */
function rowDifference(
  a: (string | null)[][],
  b: (string | null)[][],
  ordered: boolean,
): RowDiff {
  const source: (string | null)[][] = [];
  const target: (string | null)[][] = [];
  if (ordered) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n && (source.length < MAX_SAMPLE_ROWS); i++) {
      const x = a[i];
      const y = b[i];
      if (x && y && rowKey(x) === rowKey(y)) continue;
      if (x) source.push(x);
      if (y) target.push(y);
    }
    return { source, target };
  }
  const counts = new Map<string, number>();
  for (const row of a) {
    const k = rowKey(row);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const row of b) {
    const k = rowKey(row);
    const c = counts.get(k) ?? 0;
    if (c > 0) counts.set(k, c - 1);
    else if (target.length < MAX_SAMPLE_ROWS) target.push(row);
    else if (source.length >= MAX_SAMPLE_ROWS) break;
  }
  for (const row of a) {
    if (source.length >= MAX_SAMPLE_ROWS) break;
    const k = rowKey(row);
    const c = counts.get(k) ?? 0;
    if (c > 0) {
      counts.set(k, c - 1);
      source.push(row);
    }
  }
  return { source, target };
}

function summarise(r: StatementResult, rows: (string | null)[][] | undefined): OutcomeSummary {
  const out: OutcomeSummary = { ok: r.ok };
  if (!r.ok) {
    if (r.sqlstate !== undefined) out.sqlstate = r.sqlstate;
    out.message = r.skipped
      ? "not executed: an earlier statement of the request failed"
      : r.message;
    if (out.message === undefined) delete out.message;
    return out;
  }
  if (r.commandTag !== undefined) out.commandTag = r.commandTag;
  out.rowCount = r.rowCount;
  if (r.columns) out.columns = r.columns.map((c) => c.name);
  if (rows && rows.length > 0) out.rows = rows;
  return out;
}

function describe(
  kinds: MismatchKind[],
  source: StatementResult,
  target: StatementResult,
  note: string | undefined,
): string {
  const parts: string[] = [];
  for (const k of kinds) {
    switch (k) {
      case "error_vs_success":
        parts.push(
          source.ok
            ? `failed only on the target (${target.sqlstate ?? "not run"})`
            : `failed only on the source (${source.sqlstate ?? "not run"})`,
        );
        break;
      case "sqlstate":
        parts.push(`SQLSTATE ${source.sqlstate} on the source, ${target.sqlstate} on the target`);
        break;
      case "command_tag":
        parts.push(`command tag "${source.commandTag}" vs "${target.commandTag}"`);
        break;
      case "row_count":
        parts.push(`${source.rowCount} rows on the source, ${target.rowCount} on the target`);
        break;
      case "columns":
        parts.push("result columns differ");
        break;
      case "values":
        parts.push(note ?? "row values differ");
        break;
    }
  }
  return parts.join("; ");
}
