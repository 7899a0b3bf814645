import assert from "node:assert/strict";
import { takesNoLocks } from "../../proxy/pg/lock_free.ts";

const body = (sql: string) => new TextEncoder().encode(sql + "\0");

Deno.test("plain reads take no locks", () => {
  for (
    const sql of [
      "SELECT abalance FROM pgbench_accounts WHERE aid = 42;",
      "  select 1",
      "SHOW search_path",
      "VALUES (1), (2)",
      "SELECT count(*) FROM items",
    ]
  ) assert.equal(takesNoLocks(body(sql)), true, sql);
});

Deno.test("writes, locking reads and anything unclear take the ordered path", () => {
  for (
    const sql of [
      "UPDATE items SET qty = 1",
      "SELECT * FROM items FOR UPDATE",
      "SELECT * FROM items WHERE id = 1 FOR  NO KEY UPDATE",
      "select * from items for share",
      "SELECT 1; UPDATE items SET qty = 2",
      "SELECT * INTO copy FROM items",
      "SELECT nextval('s')",
      "SELECT pg_advisory_lock(1)",
      "WITH d AS (DELETE FROM items RETURNING *) SELECT * FROM d",
      "SELECT 1 -- ; UPDATE",
      "/* x */ SELECT 1",
      "selection",
      "",
    ]
  ) assert.equal(takesNoLocks(body(sql)), false, sql);
});
