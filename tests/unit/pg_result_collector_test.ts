import { deepStrictEqual as assertEquals, notStrictEqual, ok as assert } from "node:assert/strict";
import { int32, message } from "../../proxy/pg/messages.ts";
import { hasTopLevelOrderBy } from "../../proxy/pg/order_by.ts";
import { OID } from "../../proxy/pg/result_values.ts";
import { type NeutralResult, succeeded } from "../../proxy/shadow/result.ts";
import {
  bind,
  BIND_COMPLETE,
  close,
  CLOSE_COMPLETE,
  commandComplete,
  COPY_DONE,
  copyData,
  copyResponse,
  dataRow,
  describe,
  Driver,
  EMPTY_QUERY,
  error,
  execute,
  NO_DATA,
  NOTICE,
  PARAMETER_STATUS,
  parameterDescription,
  parse,
  PARSE_COMPLETE,
  PORTAL_SUSPENDED,
  query,
  READY,
  rowDescription,
  SYNC,
} from "./fixtures/shadow_wire.ts";

const ok = (x: NeutralResult) => succeeded(x);
const sqlstate = (x: NeutralResult) => x.error?.sqlstate;
const skipped = (x: NeutralResult) => x.kind === "skipped" || undefined;

function int8(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, v);
  return out;
}

Deno.test("simple query with several statements", () => {
  const d = new Driver();
  d.client(query("SELECT 1 AS one; INSERT INTO t VALUES (1); SELECT a FROM t ORDER BY a"));
  d.server(rowDescription([["one", OID.int4]]), dataRow(["1"]), commandComplete("SELECT 1"));
  assertEquals(d.take(), undefined, "nothing before ReadyForQuery");
  d.server(
    NOTICE,
    commandComplete("INSERT 0 1"),
    rowDescription([["a", OID.numeric]]),
    dataRow(["1.50"]),
    dataRow([null]),
    commandComplete("SELECT 2"),
    PARAMETER_STATUS,
    READY,
  );
  const r = d.take()!;
  assertEquals(r.length, 3);
  assertEquals(r.map((x) => [x.sql, ok(x), x.tag, x.rowCount, x.ordered]), [
    ["SELECT 1 AS one", true, "SELECT 1", 1, false],
    ["INSERT INTO t VALUES (1)", true, "INSERT 0 1", 0, false],
    ["SELECT a FROM t ORDER BY a", true, "SELECT 2", 2, true],
  ]);
  assertEquals(r[0].columns, [{ name: "one", type: "int", nativeType: "int4" }]);
  assertEquals([r[0].kind, r[1].kind, r[1].command, r[1].affectedRows], [
    "rows",
    "ok",
    "INSERT",
    1,
  ]);
  assertEquals(r[0].rows, [[1n]]);
  assertEquals(r[1].columns, undefined);
  assertEquals(r[2].rows, [["1.5"], [null]]);
  assertEquals(d.take(), undefined, "a request is taken once");
});

Deno.test("simple query: an error skips the remaining statements", () => {
  const d = new Driver();
  d.client(query("SELECT 1; SELECT * FROM missing; SELECT 2"));
  d.server(
    rowDescription([["?column?", OID.int4]]),
    dataRow(["1"]),
    commandComplete("SELECT 1"),
    error("42P01", 'relation "missing" does not exist'),
    READY,
  );
  const r = d.take()!;
  assertEquals(r.map((x) => [x.sql, ok(x), sqlstate(x), skipped(x)]), [
    ["SELECT 1", true, undefined, undefined],
    ["SELECT * FROM missing", false, "42P01", undefined],
    ["SELECT 2", false, undefined, true],
  ]);
  assertEquals(r[1].error, {
    sqlstate: "42P01",
    code: "42P01",
    message: 'relation "missing" does not exist',
  });
});

Deno.test("empty query yields one result with an empty tag", () => {
  const d = new Driver();
  d.client(query(" ; "));
  d.server(EMPTY_QUERY, READY);
  const r = d.take()!;
  assertEquals(r.length, 1);
  assertEquals([r[0].kind, r[0].command, r[0].tag, r[0].rowCount], ["ok", "", "", 0]);
});

Deno.test("extended pipeline: an error skips Executes until Sync, each still yields a result", () => {
  const d = new Driver();
  d.client(
    parse("", "INSERT INTO t VALUES ($1)", []),
    bind("", "", ["1"], []),
    execute(),
    parse("", "INSERT INTO u VALUES ($1)", []),
    bind("", "", ["1"], []),
    execute(),
    parse("", "SELECT 3", []),
    bind("", "", [], []),
    execute(),
    SYNC,
  );
  d.server(
    PARSE_COMPLETE,
    BIND_COMPLETE,
    commandComplete("INSERT 0 1"),
    PARSE_COMPLETE,
    BIND_COMPLETE,
    error("23505", "duplicate key value violates unique constraint"),
    READY,
  );
  const r = d.take()!;
  assertEquals(r.map((x) => [x.sql, ok(x), sqlstate(x), skipped(x), x.tag]), [
    ["INSERT INTO t VALUES ($1)", true, undefined, undefined, "INSERT 0 1"],
    ["INSERT INTO u VALUES ($1)", false, "23505", undefined, undefined],
    ["SELECT 3", false, undefined, true, undefined],
  ]);
  // The next request is unaffected by the failed one.
  d.client(parse("", "SELECT 4", []), bind("", "", [], []), describe("P"), execute(), SYNC);
  d.server(
    PARSE_COMPLETE,
    BIND_COMPLETE,
    rowDescription([["x", OID.int4]]),
    dataRow(["4"]),
    commandComplete("SELECT 1"),
    READY,
  );
  const next = d.take()!;
  assertEquals(next.map((x) => [x.sql, ok(x), x.rows]), [["SELECT 4", true, [[4n]]]]);
});

Deno.test("extended: a Parse error stands for the Execute that follows it", () => {
  const d = new Driver();
  d.client(
    parse("", "SELECT * FROM missing", []),
    bind("", "", [], []),
    describe("P"),
    execute(),
    SYNC,
  );
  d.server(error("42P01", "relation does not exist"), READY);
  const r = d.take()!;
  assertEquals(r.map((x) => [x.sql, ok(x), sqlstate(x), skipped(x)]), [
    ["SELECT * FROM missing", false, "42P01", undefined],
  ]);
});

Deno.test("extended: a describe-only request yields no result; binary results use the statement's description", () => {
  const d = new Driver();
  d.client(parse("s1", "SELECT id, name FROM t WHERE id = $1", [20]), describe("S", "s1"), SYNC);
  d.server(
    PARSE_COMPLETE,
    parameterDescription([20]),
    rowDescription([["id", OID.int8], ["name", OID.text]]),
    READY,
  );
  assertEquals(d.take(), []);
  d.client(bind("", "s1", ["7"], [1]), execute(), SYNC);
  d.server(BIND_COMPLETE, dataRow([int8(7n), "seven"]), commandComplete("SELECT 1"), READY);
  const r = d.take()!;
  assertEquals(r.length, 1);
  assertEquals(r[0].sql, "SELECT id, name FROM t WHERE id = $1");
  assertEquals(r[0].columns, [
    { name: "id", type: "int", nativeType: "int8" },
    { name: "name", type: "text", nativeType: "text" },
  ]);
  assertEquals(r[0].rows, [[7n, "seven"]]);

  // Closing the statement forgets it; a later Execute of a re-parsed name sees the new SQL.
  d.client(close("S", "s1"), parse("s1", "SELECT 2", []), describe("S", "s1"), SYNC);
  d.server(CLOSE_COMPLETE, PARSE_COMPLETE, parameterDescription([]), NO_DATA, READY);
  assertEquals(d.take(), []);
  d.client(bind("", "s1", [], []), execute(), SYNC);
  d.server(BIND_COMPLETE, commandComplete("SELECT 0"), READY);
  assertEquals(d.take()!.map((x) => x.sql), ["SELECT 2"]);
});

Deno.test("COPY in and out: no rows, the tag is kept", () => {
  const d = new Driver();
  d.client(query("COPY t FROM STDIN"));
  d.server(copyResponse("G", 2));
  d.client(copyData("1\ta\n"), COPY_DONE);
  d.server(commandComplete("COPY 1"), READY);
  d.client(query("COPY t TO STDOUT"));
  d.server(copyResponse("H", 2), copyData("1\ta\n"), copyData("2\tb\n"), COPY_DONE);
  d.server(commandComplete("COPY 2"), READY);
  const r = d.take()!;
  assertEquals(r.map((x) => [x.sql, ok(x), x.tag, x.rowCount]), [
    ["COPY t FROM STDIN", true, "COPY 1", 0],
    ["COPY t TO STDOUT", true, "COPY 2", 0],
  ]);
  assertEquals(r.map((x) => [x.command, x.affectedRows]), [["COPY", 1], ["COPY", 2]]);
});

Deno.test("portal suspended: each Execute yields its chunk", () => {
  const d = new Driver();
  d.client(
    parse("", "SELECT a FROM t", []),
    bind("c1", "", [], []),
    describe("P", "c1"),
    execute("c1", 2),
    execute("c1", 2),
    SYNC,
  );
  d.server(
    PARSE_COMPLETE,
    BIND_COMPLETE,
    rowDescription([["a", OID.int4]]),
    dataRow(["1"]),
    dataRow(["2"]),
    PORTAL_SUSPENDED,
    dataRow(["3"]),
    commandComplete("SELECT 1"),
    READY,
  );
  const r = d.take()!;
  assertEquals(r.map((x) => [x.suspended, x.tag, x.rows]), [
    [true, undefined, [[1n], [2n]]],
    [undefined, "SELECT 1", [[3n]]],
  ]);
  assertEquals(r[0].command, undefined, "a suspended portal has not completed");
  assertEquals(r[1].columns, [{ name: "a", type: "int", nativeType: "int4" }]);
});

Deno.test("row limit: rows past it are only digested, order-independently", () => {
  const run = (values: string[]) => {
    const d = new Driver({ rowLimit: 2, chunk: 3 });
    d.client(query("SELECT a, b FROM t"));
    d.server(rowDescription([["a", OID.int4], ["b", OID.numeric]]));
    for (const v of values) d.server(dataRow([v, v + ".0"]));
    d.server(commandComplete(`SELECT ${values.length}`), READY);
    return d.take()![0];
  };
  const a = run(["1", "2", "3", "4", "5"]);
  assertEquals(a.rows, [[1n, "1"], [2n, "2"]]);
  assertEquals(a.rowCount, 5);
  assertEquals(run(["5", "4", "3", "2", "1"]).digest, a.digest);
  notStrictEqual(run(["1", "2", "3", "4", "6"]).digest, a.digest);
  notStrictEqual(run(["1", "2", "3", "4", "4"]).digest, run(["1", "2", "3", "3", "4"]).digest);
});

Deno.test("digest of binary INT8 rows equals that of text INT4 rows past the limit", () => {
  const text = new Driver({ rowLimit: 0 });
  text.client(query("SELECT id FROM t"));
  text.server(rowDescription([["id", OID.int4]]), dataRow(["1"]), dataRow(["2"]));
  text.server(commandComplete("SELECT 2"), READY);
  const binary = new Driver({ rowLimit: 0 });
  binary.client(
    parse("", "SELECT id FROM t", []),
    bind("", "", [], [1]),
    describe("P"),
    execute(),
    SYNC,
  );
  binary.server(PARSE_COMPLETE, BIND_COMPLETE, rowDescription([["id", OID.int8, 1]]));
  binary.server(dataRow([int8(2n)]), dataRow([int8(1n)]), commandComplete("SELECT 2"), READY);
  const [a] = text.take()!;
  const [b] = binary.take()!;
  assertEquals(a.rows, []);
  assertEquals(a.digest, b.digest);
});

Deno.test("hasTopLevelOrderBy", () => {
  assert(hasTopLevelOrderBy("select a from t order  by a limit 3"));
  assert(hasTopLevelOrderBy("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1"));
  assert(!hasTopLevelOrderBy("SELECT * FROM (SELECT a FROM t ORDER BY a) s"));
  assert(!hasTopLevelOrderBy("SELECT row_number() OVER (ORDER BY a) FROM t"));
  assert(!hasTopLevelOrderBy("SELECT 'order by' FROM t -- order by a"));
  assert(!hasTopLevelOrderBy("SELECT reorder by FROM t"));
});

Deno.test("function call: one result per FunctionCall", () => {
  const d = new Driver();
  const fn = (oid: number) => message("F", int32(oid), new Uint8Array([0, 0, 0, 0, 0, 0]));
  d.client(fn(1598));
  d.server(message("V", int32(1), new Uint8Array([0x31])), READY);
  d.client(fn(1));
  d.server(error("42883", "function does not exist"), READY);
  assertEquals(d.take()!.map((x) => [ok(x), x.tag, sqlstate(x)]), [
    [true, "", undefined],
    [false, undefined, "42883"],
  ]);
});
