/**
 * Compares the outcomes of one statement on the source and the target, by
 * meaning, on neutral results whatever wire they came from: errors by
 * neutral condition or SQLSTATE, commands by verb, affected rows and generated key, rows by
 * type-tolerant value equality (`values.ts`; as a multiset unless the
 * statement orders them), and huge results by digest. Differences known to
 * be legitimate — serialization retries and volatile functions — are
 * classified as transient; differences that disappear when text is compared
 * as a case-insensitive collation does are reported as `collation`.
 *
 * @module
 */

import type { MismatchKind, OutcomeSummary } from "../../shared/shadow.ts";
import { alignTypes } from "./align.ts";
import { sameCondition } from "./error_classes.ts";
import type { NeutralResult } from "./result.ts";
import { isVolatile, type ShadowRules } from "./rules.ts";
import {
  caseInsensitiveColumns,
  compareRows,
  type Row,
  rowDifference,
  sameFoldedSets,
} from "./rows.ts";
import { displayValue } from "./values.ts";

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
    else if (!sameFailure(source, target)) differences.push("sqlstate");
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
      const [s, t] = alignTypes(source, target);
      const rows = compareRows(s, t, folding);
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

/**
 * The same failure: the same neutral condition (`error_classes.ts`: MySQL's
 * 1062 is PostgreSQL's 23505) where the table knows both errors, else
 * matching SQLSTATEs.
 */
function sameFailure(source: NeutralResult, target: NeutralResult): boolean {
  return sameCondition(source.error, target.error) ??
    sqlstatesMatch(source.error?.sqlstate, target.error?.sqlstate);
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

function summarise(r: NeutralResult, rows: Row[] | undefined): OutcomeSummary {
  const ok = r.kind === "rows" || r.kind === "ok";
  const out: OutcomeSummary = { ok };
  if (!ok) {
    if (r.error?.sqlstate !== undefined) out.sqlstate = r.error.sqlstate;
    if (typeof r.error?.code === "number") out.errno = r.error.code;
    if (r.kind === "translation_gap") out.notTranslated = true;
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
