/**
 * Row comparison of two neutral results: position by position when the
 * statement orders them, as multisets otherwise, by digest past the row
 * limit, and with case-insensitive text folded to tell collation differences
 * from others. Both databases usually return rows in the same order, so the
 * common case compares values in place and builds no keys.
 *
 * @module
 */

import type { NeutralColumn, NeutralResult, NeutralValue } from "./result.ts";
import { foldText, valueKey, valuesEqual } from "./values.ts";

/** One row of values. */
export type Row = NeutralValue[];

const MAX_SAMPLE_ROWS = 3;

/** Positions of text columns either side compares case-insensitively; undefined when none. */
export function caseInsensitiveColumns(
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

/** Sample rows of a difference, at most three per side. */
export interface RowDiff {
  source: Row[];
  target: Row[];
  note?: string;
  /** The rows are equal once case-insensitive columns are folded. */
  collation?: boolean;
}

/**
 * How the rows of two complete-or-limited results with the same columns
 * differ, if they do (see the module documentation); `folding` marks the
 * case-insensitive columns.
 */
export function compareRows(
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
export function sameFoldedSets(
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
export function rowDifference(
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
