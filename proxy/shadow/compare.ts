/**
 * Compares the outcomes of one statement on the source and the target, by
 * meaning, on neutral results whatever wire they came from: errors by
 * SQLSTATE, commands by verb, affected rows and generated key, rows by
 * type-tolerant value equality (`values.ts`; as a multiset unless the
 * statement orders them), and huge results by digest. Differences known to
 * be legitimate — serialization retries and volatile functions — are
 * classified as transient; differences that disappear when text is compared
 * as a case-insensitive collation does are reported as `collation`.
 *
 * @module
 */

import type { MismatchKind, OutcomeSummary } from "../../shared/shadow.ts";
import type { NeutralColumn, NeutralResult, NeutralValue } from "./result.ts";
import { isVolatile, type ShadowRules } from "./rules.ts";
import { displayValue, foldText, valueKey, valuesEqual } from "./values.ts";

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

type Row = NeutralValue[];

const SERIALIZATION_FAILURE = "40001";
const MAX_SAMPLE_ROWS = 3;
const VOLATILE_KINDS: ReadonlySet<MismatchKind> = new Set(["values", "command_tag"]);

/** Compares the two outcomes of one statement. */
export function compareResults(
  source: NeutralResult,
  target: NeutralResult,
  rules: ShadowRules,
): ComparisonResult {
  const differences: MismatchKind[] = [];
  let sourceRows: Row[] | undefined;
  let targetRows: Row[] | undefined;
  let note: string | undefined;

  if (source.kind === "translation_gap" || target.kind === "translation_gap") {
    differences.push("translation_gap");
  } else if (failed(source) !== failed(target)) {
    differences.push("error_vs_success");
  } else if (failed(source)) {
    if (source.kind !== target.kind) differences.push("error_vs_success");
    else if (!sqlstatesMatch(source.error?.sqlstate, target.error?.sqlstate)) {
      differences.push("sqlstate");
    }
  } else {
    if (!sameCommand(source, target)) differences.push("command_tag");
    const folding = caseInsensitiveColumns(source, target);
    if (!sameColumns(source, target)) {
      if (source.rowCount !== target.rowCount) differences.push("row_count");
      differences.push("columns");
    } else if (source.rowCount !== target.rowCount) {
      differences.push(
        folding && sameFoldedSets(source, target, folding) ? "collation" : "row_count",
      );
    } else if (source.rowCount > 0) {
      const rows = compareRows(source, target, folding);
      if (rows) {
        differences.push(rows.collation ? "collation" : "values");
        sourceRows = rows.source;
        targetRows = rows.target;
        note = rows.note;
      }
    }
    if (source.rowCount !== target.rowCount && !sourceRows) {
      const rows = rowDifference(source.rows, target.rows, source.ordered, undefined);
      sourceRows = rows.source;
      targetRows = rows.target;
    }
  }

  const summaries = {
    source: summarise(source, sourceRows),
    target: summarise(target, targetRows),
  };
  if (differences.length === 0) return { verdict: "match", kinds: [], differences, ...summaries };
  const sourceState = source.error?.sqlstate;
  const targetState = target.error?.sqlstate;
  if (
    differences[0] !== "translation_gap" &&
    (sourceState === SERIALIZATION_FAILURE || targetState === SERIALIZATION_FAILURE)
  ) {
    const side = sourceState === SERIALIZATION_FAILURE ? "source" : "target";
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
  source: NeutralResult[],
  target: NeutralResult[],
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

function absent(sql: string): NeutralResult {
  return {
    sql,
    kind: "error",
    error: { message: "no result: the statement did not run on this database" },
    rows: [],
    rowCount: 0,
    digest: "",
    ordered: false,
  };
}

function failed(r: NeutralResult): boolean {
  return r.kind === "error" || r.kind === "skipped";
}

/**
 * Equal SQLSTATEs, or the same class where one side only names the class
 * (`23000`, as MySQL reports every integrity violation) and the other names
 * the condition (`23505`).
 */
export function sqlstatesMatch(a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== 5 || b.length !== 5) return false;
  return a.slice(0, 2) === b.slice(0, 2) && (a.endsWith("000") || b.endsWith("000"));
}

/** Same verb; affected rows and generated keys equal where both sides report them. */
function sameCommand(source: NeutralResult, target: NeutralResult): boolean {
  if (source.command !== target.command) return false;
  if (
    source.affectedRows !== undefined && target.affectedRows !== undefined &&
    source.affectedRows !== target.affectedRows
  ) return false;
  return source.lastInsertId === undefined || target.lastInsertId === undefined ||
    source.lastInsertId === target.lastInsertId;
}

function sameColumns(source: NeutralResult, target: NeutralResult): boolean {
  const a = source.columns ?? [];
  const b = target.columns ?? [];
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].name !== b[i].name) return false;
  return true;
}

/** Positions of text columns either side compares case-insensitively; undefined when none. */
function caseInsensitiveColumns(
  source: NeutralResult,
  target: NeutralResult,
): boolean[] | undefined {
  const mask = markCaseInsensitive(source.columns, undefined);
  return markCaseInsensitive(target.columns, mask);
}

function markCaseInsensitive(
  columns: NeutralColumn[] | undefined,
  mask: boolean[] | undefined,
): boolean[] | undefined {
  if (!columns) return mask;
  for (let i = 0; i < columns.length; i++) {
    if (columns[i].caseInsensitive && columns[i].type === "text") (mask ??= [])[i] = true;
  }
  return mask;
}

interface RowDiff {
  source: Row[];
  target: Row[];
  note?: string;
  /** The rows are equal once case-insensitive columns are folded. */
  collation?: boolean;
}

function compareRows(
  source: NeutralResult,
  target: NeutralResult,
  folding: boolean[] | undefined,
): RowDiff | undefined {
  const complete = source.rows.length === source.rowCount &&
    target.rows.length === target.rowCount;
  const ordered = source.ordered && target.ordered;
  // A suspended portal's chunk holds arbitrary rows of an unordered result.
  if (!ordered && (source.suspended || target.suspended)) return undefined;
  if (complete) {
    const diff = rowDifference(source.rows, target.rows, ordered, undefined);
    if (diff.source.length === 0 && diff.target.length === 0) return undefined;
    // A case-insensitive collation may order or pick rows differently (ORDER BY, DISTINCT).
    if (folding) {
      const folded = rowDifference(source.rows, target.rows, false, folding);
      if (folded.source.length === 0 && folded.target.length === 0) {
        return { ...diff, collation: true };
      }
    }
    return diff;
  }
  if (ordered) {
    const diff = rowDifference(source.rows, target.rows, true, undefined);
    if (diff.source.length > 0 || diff.target.length > 0) return diff;
  }
  if (source.digest === target.digest) return undefined;
  const diff = rowDifference(source.rows, target.rows, false, undefined);
  return { ...diff, note: "digests of the rows past the row limit differ" };
}

/**
 * Rows whose distinct folded values are the same on both sides: what a
 * case-insensitive DISTINCT, GROUP BY or UNION keeps differently. Only for
 * complete results.
 */
function sameFoldedSets(
  source: NeutralResult,
  target: NeutralResult,
  folding: boolean[],
): boolean {
  if (source.rows.length !== source.rowCount || target.rows.length !== target.rowCount) {
    return false;
  }
  const a = new Set(source.rows.map((r) => rowKey(r, folding)));
  const b = new Set(target.rows.map((r) => rowKey(r, folding)));
  if (a.size !== b.size) return false;
  for (const k of a) if (!b.has(k)) return false;
  return true;
}

const SEP = "\u0000";

function rowKey(row: Row, folding: boolean[] | undefined): string {
  let key = "";
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    const k = folding?.[i] && typeof v === "string" ? foldText(v) : valueKey(v);
    key += i > 0 ? SEP + k : k;
  }
  return key;
}

function rowsEqual(x: Row, y: Row): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!valuesEqual(x[i], y[i])) return false;
  return true;
}

/**
 * Up to three rows only one side has (as a multiset, text folded where
 * `folding` says), or that differ position by position when `ordered`.
 */
function rowDifference(
  a: Row[],
  b: Row[],
  ordered: boolean,
  folding: boolean[] | undefined,
): RowDiff {
  const source: Row[] = [];
  const target: Row[] = [];
  if (!folding) {
    // Both databases usually return the rows in the same order: then no keys are built.
    const n = Math.max(a.length, b.length);
    let i = 0;
    while (i < n && a[i] && b[i] && rowsEqual(a[i], b[i])) i++;
    if (i === n) return { source, target };
    if (ordered) {
      for (; i < n && source.length < MAX_SAMPLE_ROWS; i++) {
        const x = a[i];
        const y = b[i];
        if (x && y && rowsEqual(x, y)) continue;
        if (x) source.push(x);
        if (y) target.push(y);
      }
      return { source, target };
    }
  }
  const counts = new Map<string, number>();
  for (const row of a) {
    const k = rowKey(row, folding);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const row of b) {
    const k = rowKey(row, folding);
    const c = counts.get(k) ?? 0;
    if (c > 0) counts.set(k, c - 1);
    else if (target.length < MAX_SAMPLE_ROWS) target.push(row);
    else if (source.length >= MAX_SAMPLE_ROWS) break;
  }
  for (const row of a) {
    if (source.length >= MAX_SAMPLE_ROWS) break;
    const k = rowKey(row, folding);
    const c = counts.get(k) ?? 0;
    if (c > 0) {
      counts.set(k, c - 1);
      source.push(row);
    }
  }
  return { source, target };
}

function summarise(r: NeutralResult, rows: Row[] | undefined): OutcomeSummary {
  const ok = r.kind === "rows" || r.kind === "ok";
  const out: OutcomeSummary = { ok };
  if (!ok) {
    if (r.error?.sqlstate !== undefined) out.sqlstate = r.error.sqlstate;
    const message = r.kind === "skipped"
      ? "not executed: an earlier statement of the request failed"
      : r.kind === "translation_gap"
      ? `not translated: ${r.error?.message ?? "unsupported statement"}`
      : r.error?.message;
    if (message !== undefined) out.message = message;
    return out;
  }
  const tag = commandText(r);
  if (tag !== undefined) out.commandTag = tag;
  out.rowCount = r.rowCount;
  if (r.columns) out.columns = r.columns.map((c) => c.name);
  if (rows && rows.length > 0) out.rows = rows.map((row) => row.map(displayValue));
  return out;
}

/** The database's own completion text, else one made of verb and counts. */
function commandText(r: NeutralResult): string | undefined {
  if (r.tag !== undefined) return r.tag;
  if (r.command === undefined) return undefined;
  let text = r.command;
  if (r.affectedRows !== undefined) text += ` ${r.affectedRows}`;
  if (r.lastInsertId !== undefined) text += ` (id ${r.lastInsertId})`;
  return text;
}

function describe(
  kinds: MismatchKind[],
  source: NeutralResult,
  target: NeutralResult,
  note: string | undefined,
): string {
  const parts: string[] = [];
  for (const k of kinds) {
    switch (k) {
      case "translation_gap": {
        const side = source.kind === "translation_gap" ? source : target;
        parts.push(
          `not translated for the ${side === source ? "source" : "target"}: ${
            side.error?.message ?? "unsupported statement"
          }`,
        );
        break;
      }
      case "error_vs_success":
        parts.push(
          failed(target)
            ? `failed only on the target (${target.error?.sqlstate ?? "not run"})`
            : `failed only on the source (${source.error?.sqlstate ?? "not run"})`,
        );
        break;
      case "sqlstate":
        parts.push(
          `SQLSTATE ${source.error?.sqlstate} on the source, ${target.error?.sqlstate} on the target`,
        );
        break;
      case "command_tag":
        parts.push(`command "${commandText(source)}" vs "${commandText(target)}"`);
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
      case "collation":
        parts.push(
          "rows differ only by letter case, accents or trailing spaces of text that one side " +
            "compares case-insensitively (its collation)",
        );
        break;
    }
  }
  return parts.join("; ");
}
