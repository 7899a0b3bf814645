import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseCommandTag } from "../../proxy/pg/command_tag.ts";
import { OID } from "../../proxy/pg/result_values.ts";
import {
  compareRequests,
  compareResults,
  type ComparisonResult,
  sqlstatesMatch,
} from "../../proxy/shadow/compare.ts";
import type { NeutralResult } from "../../proxy/shadow/result.ts";
import { DEFAULT_SHADOW_RULES, parseShadowRules } from "../../proxy/shadow/rules.ts";
import {
  type Col,
  commandComplete,
  dataRow,
  Driver,
  error,
  query,
  READY,
  rowDescription,
} from "./fixtures/shadow_wire.ts";

/** One database's answer to a simple query, through the real collector. */
function answer(sql: string, ...server: Uint8Array[]): NeutralResult {
  const d = new Driver({ rowLimit: 1000 });
  d.client(query(sql));
  d.server(...server, READY);
  const r = d.take()!;
  assertEquals(r.length, 1);
  return r[0];
}

function rows(cols: Col[], values: (string | null)[][], tag = `SELECT ${values.length}`) {
  return [rowDescription(cols), ...values.map((v) => dataRow(v)), commandComplete(tag)];
}

function expect(result: ComparisonResult, verdict: string, kinds: string[]): void {
  assertEquals([result.verdict, result.kinds], [verdict, kinds], result.reason ?? "");
}

const SELECT = "SELECT id, amount FROM accounts";
const PG_COLS: Col[] = [["id", OID.int4], ["amount", OID.numeric]];
const CRDB_COLS: Col[] = [["id", OID.int8], ["amount", OID.numeric]];
const PG_ROWS = [["1", "10.50"], ["2", "20.00"], ["3", null]];

Deno.test("CockroachDB INT8 for INT and other numeric scales: a match", () => {
  const source = answer(SELECT, ...rows(PG_COLS, PG_ROWS));
  const target = answer(SELECT, ...rows(CRDB_COLS, [["1", "10.5"], ["2", "20"], ["3", null]]));
  const r = compareResults(source, target, DEFAULT_SHADOW_RULES);
  expect(r, "match", []);
  assertEquals(r.differences, []);
});

Deno.test("float text forms, timestamptz rendering, bool and bytea forms: a match", () => {
  const sql = "SELECT f, ts, b, bin FROM t";
  const cols: Col[] = [["f", OID.float8], ["ts", OID.timestamptz], ["b", OID.bool], [
    "bin",
    OID.bytea,
  ]];
  const source = answer(
    sql,
    ...rows(cols, [["1e+20", "2024-01-02 03:04:05.5+00", "t", "\\x41ff"], [
      "0.1",
      "2024-06-01 12:00:00+02",
      "f",
      "\\x",
    ]]),
  );
  const target = answer(
    sql,
    ...rows(cols, [
      ["100000000000000000000", "2024-01-02 03:04:05.500000+00:00", "true", "A\\377"],
      [
        "0.1",
        "2024-06-01 10:00:00+00:00",
        "false",
        "",
      ],
    ]),
  );
  expect(compareResults(source, target, DEFAULT_SHADOW_RULES), "match", []);
});

Deno.test("one changed value: values", () => {
  const source = answer(SELECT, ...rows(PG_COLS, PG_ROWS));
  const target = answer(SELECT, ...rows(CRDB_COLS, [["1", "10.50"], ["2", "20.01"], ["3", null]]));
  const r = compareResults(source, target, DEFAULT_SHADOW_RULES);
  expect(r, "mismatch", ["values"]);
  assertEquals(r.source.rows, [["2", "20"]]);
  assertEquals(r.target.rows, [["2", "20.01"]]);
  assertEquals(r.source.columns, ["id", "amount"]);
});

Deno.test("an extra or a missing row: row_count", () => {
  const source = answer(SELECT, ...rows(PG_COLS, PG_ROWS));
  const target = answer(SELECT, ...rows(CRDB_COLS, [...PG_ROWS, ["4", "1"]]));
  const r = compareResults(source, target, DEFAULT_SHADOW_RULES);
  expect(r, "mismatch", ["row_count"]);
  assertEquals(r.target.rows, [["4", "1"]]);
  assertEquals([r.source.rowCount, r.target.rowCount], [3, 4]);
  const missing = answer(SELECT, ...rows(CRDB_COLS, PG_ROWS.slice(0, 2)));
  expect(compareResults(source, missing, DEFAULT_SHADOW_RULES), "mismatch", ["row_count"]);
});

Deno.test("same rows in another order: a match without ORDER BY, values with it", () => {
  const reversed = [...PG_ROWS].reverse();
  expect(
    compareResults(
      answer(SELECT, ...rows(PG_COLS, PG_ROWS)),
      answer(SELECT, ...rows(CRDB_COLS, reversed)),
      DEFAULT_SHADOW_RULES,
    ),
    "match",
    [],
  );
  const ordered = SELECT + " ORDER BY amount";
  expect(
    compareResults(
      answer(ordered, ...rows(PG_COLS, PG_ROWS)),
      answer(ordered, ...rows(CRDB_COLS, reversed)),
      DEFAULT_SHADOW_RULES,
    ),
    "mismatch",
    ["values"],
  );
});

Deno.test("different column names: columns", () => {
  const source = answer("SELECT count(*) FROM t", ...rows([["count", OID.int8]], [["3"]]));
  const target = answer("SELECT count(*) FROM t", ...rows([["count_rows", OID.int8]], [["3"]]));
  expect(compareResults(source, target, DEFAULT_SHADOW_RULES), "mismatch", ["columns"]);
});

Deno.test("missing table on the target: error_vs_success", () => {
  const source = answer(SELECT, ...rows(PG_COLS, PG_ROWS));
  const target = answer(SELECT, error("42P01", 'relation "accounts" does not exist'));
  const r = compareResults(source, target, DEFAULT_SHADOW_RULES);
  expect(r, "mismatch", ["error_vs_success"]);
  assertEquals(r.target, {
    ok: false,
    sqlstate: "42P01",
    message: 'relation "accounts" does not exist',
  });
  expect(compareResults(target, source, DEFAULT_SHADOW_RULES), "mismatch", ["error_vs_success"]);
});

Deno.test("unique violation only on the target: error_vs_success", () => {
  const sql = "INSERT INTO users (email) VALUES ('a@example.com')";
  const source = answer(sql, commandComplete("INSERT 0 1"));
  const target = answer(sql, error("23505", "duplicate key value violates unique constraint"));
  expect(compareResults(source, target, DEFAULT_SHADOW_RULES), "mismatch", ["error_vs_success"]);
});

Deno.test("both fail with different SQLSTATEs: sqlstate; with the same: a match", () => {
  const sql = "INSERT INTO t VALUES (NULL)";
  const a = answer(sql, error("23502", "null value in column"));
  const b = answer(sql, error("23514", "check constraint"));
  expect(compareResults(a, b, DEFAULT_SHADOW_RULES), "mismatch", ["sqlstate"]);
  const c = answer(sql, error("23502", 'null value in column "x" violates not-null constraint'));
  expect(compareResults(a, c, DEFAULT_SHADOW_RULES), "match", []);
  // A class-only SQLSTATE (MySQL reports 23000 for every integrity violation) matches its class.
  assert(sqlstatesMatch("23000", "23505"));
  assert(!sqlstatesMatch("23502", "23505"));
  assert(!sqlstatesMatch("HY000", "23505"));
});

Deno.test("command tags: verb and count, INSERT's oid ignored", () => {
  const sql = "UPDATE t SET a = 1";
  expect(
    compareResults(
      answer(sql, commandComplete("UPDATE 3")),
      answer(sql, commandComplete("UPDATE 2")),
      DEFAULT_SHADOW_RULES,
    ),
    "mismatch",
    ["command_tag"],
  );
  expect(
    compareResults(
      answer("INSERT INTO t VALUES (1)", commandComplete("INSERT 0 1")),
      answer("INSERT INTO t VALUES (1)", commandComplete("INSERT 17 1")),
      DEFAULT_SHADOW_RULES,
    ),
    "match",
    [],
  );
  assertEquals(parseCommandTag("INSERT 0 5"), { verb: "INSERT", count: 5 });
  assertEquals(parseCommandTag("CREATE TABLE"), { verb: "CREATE TABLE", count: undefined });
});

Deno.test("40001 on one side: transient", () => {
  const sql = "UPDATE accounts SET amount = amount + 1 WHERE id = 1";
  const source = answer(sql, commandComplete("UPDATE 1"));
  const target = answer(
    sql,
    error("40001", "restart transaction: TransactionRetryWithProtoRefreshError"),
  );
  const r = compareResults(source, target, DEFAULT_SHADOW_RULES);
  expect(r, "transient", []);
  assertEquals(r.differences, ["error_vs_success"]);
  assert(r.reason?.includes("40001"));
});

Deno.test("volatile functions: value differences are transient, others are not", () => {
  const sql = "SELECT now(), gen_random_uuid()";
  const cols: Col[] = [["now", OID.timestamptz], ["gen_random_uuid", OID.uuid]];
  const source = answer(
    sql,
    ...rows(cols, [["2024-01-01 00:00:00+00", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]]),
  );
  const target = answer(
    sql,
    ...rows(cols, [["2024-01-01 00:00:01+00", "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]]),
  );
  const r = compareResults(source, target, DEFAULT_SHADOW_RULES);
  expect(r, "transient", []);
  assertEquals(r.differences, ["values"]);
  const failed = answer(sql, error("42883", "unknown function"));
  expect(compareResults(source, failed, DEFAULT_SHADOW_RULES), "mismatch", ["error_vs_success"]);
  // Without the rule, the same difference is a mismatch; a custom rule classifies it again.
  const plain = "SELECT stamp()";
  const a = answer(plain, ...rows([["stamp", OID.int8]], [["1"]]));
  const b = answer(plain, ...rows([["stamp", OID.int8]], [["2"]]));
  expect(compareResults(a, b, DEFAULT_SHADOW_RULES), "mismatch", ["values"]);
  expect(compareResults(a, b, parseShadowRules("\\bstamp\\(")), "transient", []);
});

Deno.test("past the row limit the digests decide", () => {
  const limited = (values: string[]) => {
    const d = new Driver({ rowLimit: 2 });
    d.client(query("SELECT a FROM t"));
    d.server(...rows([["a", OID.int4]], values.map((v) => [v])), READY);
    return d.take()![0];
  };
  const a = limited(["1", "2", "3", "4"]);
  expect(compareResults(a, limited(["4", "3", "2", "1"]), DEFAULT_SHADOW_RULES), "match", []);
  const r = compareResults(a, limited(["1", "2", "3", "5"]), DEFAULT_SHADOW_RULES);
  expect(r, "mismatch", ["values"]);
  assert(r.reason?.includes("digest"));
});

Deno.test("compareRequests pairs by position and reports a statement only one side ran", () => {
  const one = answer("SELECT 1", ...rows([["x", OID.int4]], [["1"]]));
  const results = compareRequests([one, one], [one], DEFAULT_SHADOW_RULES);
  assertEquals(results.map((r) => [r.verdict, r.kinds]), [["match", []], ["mismatch", [
    "error_vs_success",
  ]]]);
});

Deno.test("skipped statements: both skipped match, one skipped is error_vs_success", () => {
  const skipped: NeutralResult = {
    sql: "SELECT 2",
    kind: "skipped",
    rows: [],
    rowCount: 0,
    digest: "",
    ordered: false,
  };
  expect(compareResults(skipped, { ...skipped }, DEFAULT_SHADOW_RULES), "match", []);
  const ran = answer("SELECT 2", ...rows([["x", OID.int4]], [["2"]]));
  const r = compareResults(skipped, ran, DEFAULT_SHADOW_RULES);
  expect(r, "mismatch", ["error_vs_success"]);
  assertEquals(r.source.message, "not executed: an earlier statement of the request failed");
});

Deno.test("suspended portal chunks of an unordered query compare by count only", () => {
  const chunk = (values: string[], ordered: boolean): NeutralResult => ({
    sql: ordered ? "SELECT a FROM t ORDER BY a" : "SELECT a FROM t",
    kind: "rows",
    rows: values.map((v) => [BigInt(v)]),
    rowCount: values.length,
    digest: "",
    ordered,
    suspended: true,
    columns: [{ name: "a", type: "int", nativeType: "int4" }],
  });
  expect(
    compareResults(chunk(["1", "2"], false), chunk(["3", "4"], false), DEFAULT_SHADOW_RULES),
    "match",
    [],
  );
  expect(
    compareResults(chunk(["1", "2"], true), chunk(["3", "4"], true), DEFAULT_SHADOW_RULES),
    "mismatch",
    [
      "values",
    ],
  );
});
