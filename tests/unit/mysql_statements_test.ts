import assert from "node:assert/strict";
import {
  parseKill,
  queryEffects,
  splitStatements,
  stripComments,
} from "../../proxy/mysql/statements.ts";
import { MySqlSessionState } from "../../proxy/mysql/session_state.ts";

Deno.test("KILL statements that name a connection id, and those that do not", () => {
  assert.deepEqual(parseKill("KILL QUERY 42"), { connection: false, id: 42, modifier: "" });
  assert.deepEqual(parseKill(" kill 7;"), { connection: true, id: 7, modifier: "" });
  assert.deepEqual(parseKill("KILL HARD CONNECTION 9"), {
    connection: true,
    id: 9,
    modifier: "HARD",
  });
  assert.deepEqual(parseKill("/* ctrl-c */ KILL QUERY 5"), {
    connection: false,
    id: 5,
    modifier: "",
  });
  assert.equal(parseKill("KILL QUERY ID 5"), undefined, "a query id, not a connection id");
  assert.equal(parseKill("KILL USER bob"), undefined);
  assert.equal(parseKill("SELECT 'KILL 5'"), undefined);
});

Deno.test("comments and statements are split outside quotes", () => {
  assert.equal(stripComments("SELECT 1 -- x\n+ 2 # y\n"), "SELECT 1  \n+ 2  \n");
  assert.equal(stripComments("SELECT '/* no */' /* yes */"), "SELECT '/* no */'  ");
  assert.equal(
    stripComments("SELECT /*!40101 SQL_NO_CACHE */ 1").replace(/\s+/g, " "),
    "SELECT SQL_NO_CACHE 1",
  );
  assert.deepEqual(splitStatements("SET @a = ';'; SELECT \"x;y\" ; ;"), [
    "SET @a = ';'",
    'SELECT "x;y"',
  ]);
});

Deno.test("statement effects are applied to the session state", () => {
  const s = new MySqlSessionState("u", "app");
  const run = (sql: string) => queryEffects(sql).forEach((e) => s.apply(e));
  run(
    "SET NAMES utf8mb4; SET SESSION sql_mode='ANSI', @@wait_timeout=5, @x = 1; SET GLOBAL max_connections = 5",
  );
  assert.match(s.setNames, /utf8mb4/);
  assert.deepEqual([...s.sessionVars.keys()].sort(), ["sql_mode", "wait_timeout"]);
  assert.deepEqual([...s.userVars], ["x"]);
  run("USE `other db`");
  assert.equal(s.database, "other db");
  run("LOCK TABLES t WRITE");
  run("SELECT GET_LOCK('a', 1), GET_LOCK('b''s', 0)");
  run("CREATE TEMPORARY TABLE IF NOT EXISTS tmp1 (x INT); CREATE TEMPORARY TABLE `tmp 2` (y INT)");
  assert.equal(
    s.blockingReason(),
    "holds LOCK TABLES; holds named lock(s) 'a', 'b's' (GET_LOCK); has temporary table(s) tmp1, tmp 2",
  );
  run(
    "UNLOCK TABLES; DO RELEASE_LOCK('a'); SELECT RELEASE_ALL_LOCKS(); DROP TEMPORARY TABLE tmp1, `tmp 2`",
  );
  assert.equal(s.blockingReason(), undefined);
  run("SELECT 1 INTO @y; SELECT @z := 2");
  assert.deepEqual([...s.userVars].sort(), ["x", "y", "z"]);
  s.reset();
  assert.equal(s.userVars.size + s.sessionVars.size, 0);
});
