/**
 * Neutral error conditions: the same failure named the same way whatever
 * database reported it, so a MySQL `1062 Duplicate entry` and a
 * PostgreSQL/CockroachDB `23505 unique_violation` compare as one failure.
 *
 * SQLSTATEs alone do not do it: MySQL reports most integrity violations as
 * class `23000` and many others as `HY000` or `42S02`, where PostgreSQL names
 * the condition. A neutral error's `code` is MySQL's error number (a number)
 * or PostgreSQL's SQLSTATE (a string, see `result.ts`); the table below maps
 * both to a condition name (PostgreSQL's, where it has one). Errors outside
 * the table fall back to SQLSTATE comparison (`compare.ts`).
 *
 * @module
 */

import type { NeutralError } from "./result.ts";

/** Condition name → [MySQL/MariaDB error numbers, PostgreSQL SQLSTATEs]. */
const CONDITIONS: Record<string, [number[], string[]]> = {
  unique_violation: [[1062, 1586, 1022, 1557, 1569], ["23505"]],
  not_null_violation: [[1048, 1364, 1263], ["23502"]],
  foreign_key_violation: [[1451, 1452, 1216, 1217], ["23503"]],
  check_violation: [[3819, 4025], ["23514"]],
  undefined_table: [[1146, 1051, 1109], ["42P01"]],
  undefined_column: [[1054], ["42703"]],
  ambiguous_column: [[1052], ["42702"]],
  duplicate_relation: [[1050, 1061], ["42P07"]],
  duplicate_column: [[1060], ["42701"]],
  undefined_database: [[1049], ["3D000"]],
  undefined_function: [[1305, 1630], ["42883"]],
  undefined_object: [[1193], ["42704"]],
  syntax_error: [[1064, 1149], ["42601"]],
  grouping_error: [[1055], ["42803"]],
  cardinality_violation: [[1242], ["21000"]],
  string_data_right_truncation: [[1406], ["22001"]],
  numeric_value_out_of_range: [[1264, 1690], ["22003"]],
  division_by_zero: [[1365], ["22012"]],
  invalid_value: [[1366, 1292, 1411], ["22P02", "22007", "22008"]],
  transaction_conflict: [[1213], ["40001", "40P01"]],
  lock_not_available: [[1205], ["55P03"]],
  insufficient_privilege: [[1142, 1143, 1044, 1227, 1370], ["42501"]],
  query_canceled: [[1317, 3024, 1969], ["57014"]],
  feature_not_supported: [[1235], ["0A000"]],
  read_only_transaction: [[1792], ["25006"]],
};

const BY_ERRNO = new Map<number, string>();
const BY_SQLSTATE = new Map<string, string>();
for (const [condition, [errnos, states]] of Object.entries(CONDITIONS)) {
  for (const n of errnos) BY_ERRNO.set(n, condition);
  for (const s of states) BY_SQLSTATE.set(s, condition);
}

/** The neutral condition of an error, or undefined when the table does not know it. */
export function conditionOf(error: NeutralError | undefined): string | undefined {
  const code = error?.code;
  if (typeof code === "number") return BY_ERRNO.get(code);
  if (typeof code === "string") return BY_SQLSTATE.get(code);
  return error?.sqlstate !== undefined ? BY_SQLSTATE.get(error.sqlstate) : undefined;
}

/**
 * Whether two errors are the same failure by the table: `true` or `false`
 * when both conditions are known, undefined when either is not (compare
 * SQLSTATEs then).
 */
export function sameCondition(
  a: NeutralError | undefined,
  b: NeutralError | undefined,
): boolean | undefined {
  const x = conditionOf(a), y = conditionOf(b);
  return x === undefined || y === undefined ? undefined : x === y;
}
