/**
 * Tolerance between type families that two databases use for the same
 * column, beyond what value keys absorb (`values.ts`: integers of any width,
 * decimals of any scale, booleans as 1/0). A MySQL-sourced column and its
 * CockroachDB counterpart can come back as:
 * - `timestamp` (MySQL DATETIME/TIMESTAMP: wall-clock text, no offset) and
 *   `timestamptz` (CockroachDB TIMESTAMPTZ, canonical in UTC): equal when the
 *   wall-clock texts are equal, since the proxy compares MySQL sessions in
 *   UTC (`time_zone = '+00:00'`);
 * - `json` and `text` (MariaDB's JSON is LONGTEXT; CockroachDB's is JSONB):
 *   the text side is read as JSON.
 *
 * Only the kept rows are aligned; past the row limit the digests of both
 * sides must agree as they are.
 *
 * @module
 */

import type { NeutralResult, NeutralType, NeutralValue } from "./result.ts";
import { canonicalJson } from "./values.ts";

type Convert = (v: NeutralValue) => NeutralValue;

const stripUtc: Convert = (v) =>
  typeof v === "string" ? v.replace(/\+00( BC)?$/, (_m, bc: string | undefined) => bc ?? "") : v;
const asJson: Convert = (v) => typeof v === "string" ? canonicalJson(v) : v;

/** How to convert the value of family `from` to compare with family `to`; undefined when none. */
function converter(from: NeutralType, to: NeutralType): Convert | undefined {
  if (from === "timestamptz" && to === "timestamp") return stripUtc;
  if (from === "text" && to === "json") return asJson;
  return undefined;
}

/**
 * The two results with the kept rows of tolerated family pairs converted to
 * a common form; the same objects when no column needs it.
 */
export function alignTypes(
  source: NeutralResult,
  target: NeutralResult,
): [NeutralResult, NeutralResult] {
  const a = source.columns, b = target.columns;
  if (!a || !b || a.length !== b.length) return [source, target];
  let forSource: (Convert | undefined)[] | undefined;
  let forTarget: (Convert | undefined)[] | undefined;
  for (let i = 0; i < a.length; i++) {
    if (a[i].type === b[i].type) continue;
    const s = converter(a[i].type, b[i].type);
    const t = converter(b[i].type, a[i].type);
    if (s) (forSource ??= [])[i] = s;
    if (t) (forTarget ??= [])[i] = t;
  }
  return [convertRows(source, forSource), convertRows(target, forTarget)];
}

function convertRows(
  r: NeutralResult,
  convert: (Convert | undefined)[] | undefined,
): NeutralResult {
  if (!convert) return r;
  const rows = r.rows.map((row) => row.map((v, i) => (convert[i] ? convert[i]!(v) : v)));
  return { ...r, rows };
}
