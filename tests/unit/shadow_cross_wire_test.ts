/**
 * A MySQL result and a PostgreSQL/CockroachDB result of the same query meet
 * only as neutral results: the MySQL side is built here by hand the way the
 * MySQL decoder builds it (MariaDB column types, canonicalisers of
 * `values.ts`, a `RowDigest`), the PostgreSQL side comes from real wire
 * messages through the PostgreSQL decoder. The comparison must need nothing
 * else.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { OID } from "../../proxy/pg/result_values.ts";
import { compareResults, type ComparisonResult } from "../../proxy/shadow/compare.ts";
import { RowDigest } from "../../proxy/shadow/digest.ts";
import type { NeutralColumn, NeutralResult, NeutralValue } from "../../proxy/shadow/result.ts";
import { notRun } from "../../proxy/shadow/result.ts";
import { DEFAULT_SHADOW_RULES } from "../../proxy/shadow/rules.ts";
import { canonicalDecimal, canonicalJson, canonicalTimestamp } from "../../proxy/shadow/values.ts";
import {
  bind,
  BIND_COMPLETE,
  type Col,
  commandComplete,
  dataRow,
  describe,
  Driver,
  error,
  execute,
  parse,
  PARSE_COMPLETE,
  query,
  READY,
  rowDescription,
  SYNC,
} from "./fixtures/shadow_wire.ts";

/** MariaDB column definitions as the MySQL decoder maps them. */
const MYSQL = {
  longlong: (name: string): NeutralColumn => ({ name, type: "int", nativeType: "LONGLONG" }),
  decimal: (name: string, scale: number): NeutralColumn => ({
    name,
    type: "decimal",
    scale,
    nativeType: `NEWDECIMAL(10,${scale})`,
  }),
  datetime: (name: string): NeutralColumn => ({ name, type: "timestamp", nativeType: "DATETIME" }),
  tinyBool: (name: string): NeutralColumn => ({ name, type: "int", nativeType: "TINY(1)" }),
  varString: (name: string, ci = true): NeutralColumn => ({
    name,
    type: "text",
    nativeType: ci ? "VAR_STRING utf8mb4_general_ci" : "VAR_STRING utf8mb4_bin",
    ...(ci ? { caseInsensitive: true } : {}),
  }),
  blob: (name: string): NeutralColumn => ({ name, type: "bytes", nativeType: "BLOB binary" }),
  json: (name: string): NeutralColumn => ({ name, type: "json", nativeType: "JSON" }),
};

/** A MySQL result set as the decoder builds it: rows kept up to the limit, all digested. */
function mysqlRows(
  sql: string,
  columns: NeutralColumn[],
  rows: NeutralValue[][],
  rowLimit = 1000,
): NeutralResult {
  const digest = new RowDigest();
  for (const row of rows) {
    digest.beginRow();
    for (const v of row) digest.value(v);
    digest.endRow();
  }
  return {
    sql,
    kind: "rows",
    command: "SELECT",
    columns,
    rows: rows.slice(0, rowLimit),
    rowCount: rows.length,
    digest: digest.hex(),
    ordered: /order\s+by/i.test(sql),
  };
}

/** A MySQL OK packet. */
function mysqlOk(sql: string, command: string, affectedRows: number, lastInsertId?: bigint) {
  const r: NeutralResult = {
    sql,
    kind: "ok",
    command,
    rows: [],
    rowCount: 0,
    digest: "",
    affectedRows,
    ordered: false,
  };
  if (lastInsertId !== undefined) r.lastInsertId = lastInsertId;
  return r;
}

/** A MySQL ERR packet. */
function mysqlError(sql: string, code: number, sqlstate: string, message: string): NeutralResult {
  return {
    sql,
    kind: "error",
    rows: [],
    rowCount: 0,
    digest: "",
    ordered: false,
    error: { code, sqlstate, message },
  };
}

/** The PostgreSQL answer to a simple query, through the real decoder. */
function pg(sql: string, rowLimit: number, ...server: Uint8Array[]): NeutralResult {
  const d = new Driver({ rowLimit });
  d.client(query(sql));
  d.server(...server, READY);
  const r = d.take()!;
  assertEquals(r.length, 1);
  return r[0];
}

function pgRows(
  sql: string,
  cols: Col[],
  values: (string | Uint8Array | null)[][],
  rowLimit = 1000,
): NeutralResult {
  return pg(
    sql,
    rowLimit,
    rowDescription(cols),
    ...values.map((v) => dataRow(v)),
    commandComplete(`SELECT ${values.length}`),
  );
}

function expect(r: ComparisonResult, verdict: string, kinds: string[]): void {
  assertEquals([r.verdict, r.kinds], [verdict, kinds], r.reason ?? "");
}

const ACCOUNTS = "SELECT id, amount, created, active, name, data, doc FROM accounts";
const MYSQL_COLS = [
  MYSQL.longlong("id"),
  MYSQL.decimal("amount", 2),
  MYSQL.datetime("created"),
  MYSQL.tinyBool("active"),
  MYSQL.varString("name"),
  MYSQL.blob("data"),
  MYSQL.json("doc"),
];
const PG_COLS: Col[] = [
  ["id", OID.int8],
  ["amount", OID.numeric],
  ["created", OID.timestamp],
  ["active", OID.bool],
  ["name", OID.text],
  ["data", OID.bytea],
  ["doc", OID.jsonb],
];

/** MariaDB's text protocol renderings, decoded as the MySQL decoder does. */
function mysqlAccount(
  id: number,
  amount: string,
  created: string,
  active: number,
  name: string,
  data: number[],
  doc: string,
): NeutralValue[] {
  return [
    BigInt(id),
    canonicalDecimal(amount),
    canonicalTimestamp(created, false),
    BigInt(active),
    name,
    new Uint8Array(data),
    canonicalJson(doc),
  ];
}

const MYSQL_ACCOUNTS = [
  mysqlAccount(1, "10.50", "2024-01-02 03:04:05", 1, "Alice", [0x41, 0xff], '{"b": 1, "a": 2}'),
  mysqlAccount(2, "20.00", "2024-06-01 12:00:00.500000", 0, "Bob", [], "[1, 2]"),
];
const PG_ACCOUNTS = [
  ["1", "10.5", "2024-01-02 03:04:05", "t", "Alice", "\\x41ff", '{"a": 2, "b": 1}'],
  ["2", "20", "2024-06-01 12:00:00.5", "f", "Bob", "\\x", "[1, 2]"],
];

Deno.test("MariaDB LONGLONG, NEWDECIMAL(10,2), DATETIME, TINY(1), BLOB, JSON equal CockroachDB INT8, NUMERIC, TIMESTAMP, BOOL, BYTEA, JSONB", () => {
  const mysql = mysqlRows(ACCOUNTS, MYSQL_COLS, MYSQL_ACCOUNTS);
  const crdb = pgRows(ACCOUNTS, PG_COLS, PG_ACCOUNTS);
  const r = compareResults(mysql, crdb, DEFAULT_SHADOW_RULES);
  expect(r, "match", []);
  assertEquals(r.differences, []);
  // Either side may be the source of truth.
  expect(compareResults(crdb, mysql, DEFAULT_SHADOW_RULES), "match", []);
});

Deno.test("the same, with PostgreSQL binary results (INT8, NUMERIC, TIMESTAMP, BOOL) and the rows in another order", () => {
  const be = (size: number, write: (v: DataView) => void) => {
    const out = new Uint8Array(size);
    write(new DataView(out.buffer));
    return out;
  };
  // 10.50 as binary numeric: digits [10, 5000], weight 0, dscale 2.
  const numeric = be(12, (v) => {
    v.setInt16(0, 2);
    v.setInt16(2, 0);
    v.setUint16(4, 0);
    v.setUint16(6, 2);
    v.setUint16(8, 10);
    v.setUint16(10, 5000);
  });
  // 2024-01-02 03:04:05 is 757_479_845 s after 2000-01-01.
  const ts = be(8, (v) => v.setBigInt64(0, 757_479_845_000_000n));
  const sql = "SELECT id, amount, created, active FROM accounts WHERE id = $1";
  const d = new Driver();
  d.client(parse("", sql, []), bind("", "", ["1"], [1]), describe("P"), execute(), SYNC);
  d.server(
    PARSE_COMPLETE,
    BIND_COMPLETE,
    rowDescription([
      ["id", OID.int8, 1],
      ["amount", OID.numeric, 1],
      ["created", OID.timestamp, 1],
      ["active", OID.bool, 1],
    ]),
    dataRow([be(8, (v) => v.setBigInt64(0, 1n)), numeric, ts, new Uint8Array([1])]),
    commandComplete("SELECT 1"),
    READY,
  );
  const [crdb] = d.take()!;
  const mysql = mysqlRows(sql, MYSQL_COLS.slice(0, 4), [MYSQL_ACCOUNTS[0].slice(0, 4)]);
  expect(compareResults(mysql, crdb, DEFAULT_SHADOW_RULES), "match", []);

  const reversed = pgRows(ACCOUNTS, PG_COLS, [...PG_ACCOUNTS].reverse());
  const mysqlAll = mysqlRows(ACCOUNTS, MYSQL_COLS, MYSQL_ACCOUNTS);
  expect(compareResults(mysqlAll, reversed, DEFAULT_SHADOW_RULES), "match", []);
});

Deno.test("past the row limit, MySQL and PostgreSQL digests agree on the same rows and differ on others", () => {
  const sql = "SELECT id, amount FROM ledger";
  const cols = [MYSQL.longlong("id"), MYSQL.decimal("amount", 2)];
  const ids = [1, 2, 3, 4, 5];
  const mysql = mysqlRows(sql, cols, ids.map((i) => [BigInt(i), canonicalDecimal(`${i}.10`)]), 2);
  const same = pgRows(sql, [["id", OID.int8], ["amount", OID.numeric]], [
    ...ids.map((i) => [String(i), `${i}.1`]).reverse(),
  ], 2);
  assertEquals(mysql.digest, same.digest);
  expect(compareResults(mysql, same, DEFAULT_SHADOW_RULES), "match", []);
  const changed = pgRows(
    sql,
    [["id", OID.int8], ["amount", OID.numeric]],
    ids.map((i) => [String(i), i === 5 ? "5.11" : `${i}.1`]),
    2,
  );
  const r = compareResults(mysql, changed, DEFAULT_SHADOW_RULES);
  expect(r, "mismatch", ["values"]);
  assert(r.reason?.includes("digest"));
});

Deno.test("real differences are still caught: a changed value, a missing row, TINYINT(1) 2 vs true", () => {
  const mysql = mysqlRows(ACCOUNTS, MYSQL_COLS, MYSQL_ACCOUNTS);
  const changed = pgRows(ACCOUNTS, PG_COLS, [
    PG_ACCOUNTS[0],
    ["2", "20.01", ...PG_ACCOUNTS[1].slice(2)],
  ]);
  const r = compareResults(mysql, changed, DEFAULT_SHADOW_RULES);
  expect(r, "mismatch", ["values"]);
  assertEquals(r.source.rows, [["2", "20", "2024-06-01 12:00:00.5", "0", "Bob", "\\x", "[1,2]"]]);
  assertEquals(r.target.rows?.[0][1], "20.01");

  const missing = pgRows(ACCOUNTS, PG_COLS, [PG_ACCOUNTS[0]]);
  const m = compareResults(mysql, missing, DEFAULT_SHADOW_RULES);
  expect(m, "mismatch", ["row_count"]);
  assertEquals([m.source.rowCount, m.target.rowCount], [2, 1]);

  const sql = "SELECT active FROM accounts";
  const two = mysqlRows(sql, [MYSQL.tinyBool("active")], [[2n]]);
  const yes = pgRows(sql, [["active", OID.bool]], [["t"]]);
  expect(compareResults(two, yes, DEFAULT_SHADOW_RULES), "mismatch", ["values"]);
  const one = mysqlRows(sql, [MYSQL.tinyBool("active")], [[1n]]);
  expect(compareResults(one, yes, DEFAULT_SHADOW_RULES), "match", []);
});

Deno.test("differences a case-insensitive MySQL collation causes are their own kind", async (t) => {
  await t.step("DISTINCT keeps one spelling on MySQL, both on PostgreSQL", () => {
    const sql = "SELECT DISTINCT name FROM users";
    const mysql = mysqlRows(sql, [MYSQL.varString("name")], [["Alice"], ["bob"]]);
    const crdb = pgRows(sql, [["name", OID.varchar]], [["Alice"], ["alice"], ["bob"]]);
    const r = compareResults(mysql, crdb, DEFAULT_SHADOW_RULES);
    expect(r, "mismatch", ["collation"]);
    assert(r.reason?.includes("collation"));
  });
  await t.step("ORDER BY sorts case-insensitively on MySQL", () => {
    const sql = "SELECT name FROM users ORDER BY name";
    const mysql = mysqlRows(sql, [MYSQL.varString("name")], [["alice"], ["Bob"], ["carol"]]);
    const crdb = pgRows(sql, [["name", OID.text]], [["Bob"], ["alice"], ["carol"]]);
    expect(compareResults(mysql, crdb, DEFAULT_SHADOW_RULES), "mismatch", ["collation"]);
  });
  await t.step("MAX picks another spelling; accents and trailing spaces fold too", () => {
    const sql = "SELECT MAX(name) AS m FROM users";
    const mysql = mysqlRows(sql, [MYSQL.varString("m")], [["ÉMILE "]]);
    const crdb = pgRows(sql, [["m", OID.text]], [["emile"]]);
    expect(compareResults(mysql, crdb, DEFAULT_SHADOW_RULES), "mismatch", ["collation"]);
  });
  await t.step("other text differences in the same column stay values", () => {
    const sql = "SELECT name FROM users WHERE id = 1";
    const mysql = mysqlRows(sql, [MYSQL.varString("name")], [["alice"]]);
    const crdb = pgRows(sql, [["name", OID.text]], [["alicia"]]);
    expect(compareResults(mysql, crdb, DEFAULT_SHADOW_RULES), "mismatch", ["values"]);
  });
  await t.step("a binary collation makes a case difference a values mismatch", () => {
    const sql = "SELECT name FROM users WHERE id = 1";
    const mysql = mysqlRows(sql, [MYSQL.varString("name", false)], [["Alice"]]);
    const crdb = pgRows(sql, [["name", OID.text]], [["alice"]]);
    expect(compareResults(mysql, crdb, DEFAULT_SHADOW_RULES), "mismatch", ["values"]);
  });
});

Deno.test("OK packets against command tags: verb, affected rows, last insert id", () => {
  const sql = "INSERT INTO orders (total) VALUES (1)";
  const crdb = pg(sql, 1000, commandComplete("INSERT 0 1"));
  expect(compareResults(mysqlOk(sql, "INSERT", 1, 5n), crdb, DEFAULT_SHADOW_RULES), "match", []);
  const r = compareResults(mysqlOk(sql, "INSERT", 2), crdb, DEFAULT_SHADOW_RULES);
  expect(r, "mismatch", ["command_tag"]);
  assertEquals([r.source.commandTag, r.target.commandTag], ["INSERT 2", "INSERT 0 1"]);
  // Both report the generated key (CockroachDB's through RETURNING): it must agree.
  const withId = { ...crdb, lastInsertId: 6n };
  expect(
    compareResults(mysqlOk(sql, "INSERT", 1, 5n), withId, DEFAULT_SHADOW_RULES),
    "mismatch",
    ["command_tag"],
  );
});

Deno.test("MySQL errors against SQLSTATEs; a statement the proxy could not translate", () => {
  const sql = "INSERT INTO users (email) VALUES ('a@example.com')";
  const dup = mysqlError(sql, 1062, "23000", "Duplicate entry 'a@example.com' for key 'email'");
  const crdbDup = pg(sql, 1000, error("23505", "duplicate key value violates unique constraint"));
  expect(compareResults(dup, crdbDup, DEFAULT_SHADOW_RULES), "match", []);
  const ok = pg(sql, 1000, commandComplete("INSERT 0 1"));
  const r = compareResults(dup, ok, DEFAULT_SHADOW_RULES);
  expect(r, "mismatch", ["error_vs_success"]);
  assertEquals(r.source, {
    ok: false,
    sqlstate: "23000",
    errno: 1062,
    message: "Duplicate entry 'a@example.com' for key 'email'",
  });

  const odd = "SELECT * FROM t PROCEDURE ANALYSE()";
  const gap = notRun("translation_gap", odd, false, {
    code: 1235,
    sqlstate: "42000",
    message: "PROCEDURE ANALYSE is not supported",
  });
  const mysql = mysqlRows(odd, [MYSQL.longlong("id")], [[1n]]);
  const g = compareResults(mysql, gap, DEFAULT_SHADOW_RULES);
  expect(g, "mismatch", ["translation_gap"]);
  assertEquals(g.target.message, "not translated: PROCEDURE ANALYSE is not supported");
  assert(g.target.notTranslated, "the summary says the target never ran it");
  assert(g.reason?.includes("not translated for the target"));
  // A gap is never transient, not even where the source failed with 40001.
  const retry = mysqlError(odd, 1213, "40001", "Deadlock found");
  expect(compareResults(retry, gap, DEFAULT_SHADOW_RULES), "mismatch", ["translation_gap"]);
});

Deno.test("uuid as MySQL CHAR(36) text equals a PostgreSQL UUID", () => {
  const sql = "SELECT id FROM sessions";
  const mysql = mysqlRows(sql, [MYSQL.varString("id", false)], [[
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
  ]]);
  const crdb = pgRows(sql, [["id", OID.uuid]], [["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"]]);
  expect(compareResults(mysql, crdb, DEFAULT_SHADOW_RULES), "match", []);
});
