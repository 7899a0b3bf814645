/**
 * The session state the PostgreSQL proxy keeps for each client — settings,
 * named prepared statements, transaction status — checked against what real
 * drivers do, and against what the database itself reports for the session.
 */

import assert from "node:assert/strict";
import pg from "pg";
import postgres from "postgres";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { PgSession } from "../../proxy/pg/session.ts";
import type { SessionState } from "../../proxy/pg/session_state.ts";
import { SessionCore } from "../../proxy/session/core.ts";
import type { SessionRegistry } from "../../proxy/session/registry.ts";
import { startTestProxy } from "../helpers/proxy.ts";

/** The proxy session whose client announced `applicationName` at startup. */
function sessionOf(sessions: SessionRegistry, applicationName: string): SessionState {
  const found = [...sessions].flatMap((s) =>
    s instanceof SessionCore && s.wire instanceof PgSession &&
      s.wire.state?.startupParams.get("application_name") === applicationName
      ? [s.wire.state]
      : []
  );
  assert.equal(found.length, 1, `sessions named ${applicationName}: ${found.length}`);
  return found[0];
}

/** Prepared statement names the database holds for the session of `run`. */
async function serverPrepared(
  run: (sql: string) => Promise<{ name: string }[]>,
): Promise<string[]> {
  return (await run("SELECT name FROM pg_prepared_statements ORDER BY name")).map((r) => r.name)
    .sort();
}

Deno.test("the proxy tracks settings, prepared statements and transaction status", async (t) => {
  await using cluster = await startPgCluster({ name: "session-state" });
  await using proxy = await startTestProxy({ INIT_SOURCE: cluster.url() });
  await cluster.psql("CREATE SCHEMA x; CREATE TABLE x.t (id int PRIMARY KEY, v text);");
  const url = `postgres://postgres@127.0.0.1:${proxy.port}/postgres`;

  await t.step("node-postgres: SET, RESET, transactions, DEALLOCATE, DISCARD ALL", async () => {
    const client = new pg.Client({ connectionString: url, application_name: "state-pg" });
    await client.connect();
    try {
      const state = sessionOf(proxy.sessions, "state-pg");
      const q = async (sql: string) => (await client.query(sql)).rows;
      assert.equal(state.txStatus, "I");
      assert.equal(state.settings.size, 0);

      await q("SET search_path = x");
      await q("SET application_name TO 'y'");
      await q("SET TIME ZONE 'UTC'");
      assert.deepEqual(Object.fromEntries(state.settings), {
        search_path: "SET search_path = x",
        application_name: "SET application_name TO 'y'",
        timezone: "SET TIME ZONE 'UTC'",
      });

      await q("BEGIN");
      assert.equal(state.txStatus, "T");
      await q("SET work_mem='8MB'");
      assert.equal((await q("SHOW work_mem"))[0].work_mem, "8MB");
      assert.equal(state.settings.has("work_mem"), false);
      await q("ROLLBACK");
      assert.equal(state.txStatus, "I");
      assert.equal(state.settings.has("work_mem"), false);
      assert.equal((await q("SHOW work_mem"))[0].work_mem, "4MB");

      await q("BEGIN; SET work_mem='16MB'; COMMIT");
      assert.equal(state.txStatus, "I");
      assert.equal(state.settings.get("work_mem"), "SET work_mem='16MB'");

      // A failed transaction is "E" until it ends, and what it set is dropped.
      await q("BEGIN");
      await q("SET statement_timeout = '5s'");
      await assert.rejects(client.query("SELECT 1/0"), /division by zero/);
      // node-postgres rejects at the ErrorResponse; the ReadyForQuery behind it may still be
      // on its way through the proxy.
      for (let i = 0; i < 100 && state.txStatus !== "E"; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(state.txStatus, "E");
      await q("COMMIT");
      assert.equal(state.txStatus, "I");
      assert.equal(state.settings.has("statement_timeout"), false);

      // SET LOCAL and a SET the database refuses change nothing.
      await q("BEGIN; SET LOCAL lock_timeout = '1s'; COMMIT");
      await assert.rejects(client.query("SET work_mem = 'lots'"), /invalid value/);
      assert.equal(state.settings.has("lock_timeout"), false);
      assert.equal(state.settings.get("work_mem"), "SET work_mem='16MB'");

      await q("RESET application_name");
      assert.equal(state.settings.has("application_name"), false);
      assert.deepEqual([...state.settings.keys()].sort(), ["search_path", "timezone", "work_mem"]);
      assert.equal(state.lastQuery, "RESET application_name");

      for (let i = 0; i < 3; i++) {
        await client.query({ name: "by_id", text: "SELECT v FROM t WHERE id = $1", values: [i] });
        await client.query({
          name: "insert_row",
          text: "INSERT INTO t VALUES ($1, $2) ON CONFLICT DO NOTHING",
          values: [i, `row ${i}`],
        });
      }
      assert.deepEqual([...state.prepared.keys()].sort(), ["by_id", "insert_row"]);
      assert.equal(state.prepared.get("by_id")?.sql, "SELECT v FROM t WHERE id = $1");
      assert.deepEqual(await serverPrepared(q), ["by_id", "insert_row"]);
      // The table resolved through the session's search_path (schema x).
      assert.equal(await cluster.psql("SELECT count(*) FROM x.t"), "3");

      await q("DEALLOCATE by_id");
      assert.deepEqual([...state.prepared.keys()], ["insert_row"]);
      assert.deepEqual(await serverPrepared(q), ["insert_row"]);

      await q("DISCARD ALL");
      assert.equal(state.settings.size, 0);
      assert.equal(state.prepared.size, 0);
      assert.deepEqual(await serverPrepared(q), []);
      assert.equal((await q("SHOW work_mem"))[0].work_mem, "4MB");
      assert.equal(state.txStatus, "I");
    } finally {
      await client.end();
    }
  });

  await t.step("savepoints and non-transactional DEALLOCATE", async () => {
    const client = new pg.Client({ connectionString: url, application_name: "state-sp" });
    await client.connect();
    try {
      const state = sessionOf(proxy.sessions, "state-sp");
      const q = async (sql: string) => (await client.query(sql)).rows;
      await q(
        "BEGIN; SET work_mem = '3MB'; SAVEPOINT a; SET work_mem = '5MB'; " +
          "SET search_path = x; ROLLBACK TO SAVEPOINT a; COMMIT",
      );
      assert.equal((await q("SHOW work_mem"))[0].work_mem, "3MB");
      assert.equal(state.settings.get("work_mem"), "SET work_mem = '3MB'");
      assert.equal(state.settings.has("search_path"), false);
      // Statement by statement, with nested savepoints and RELEASE.
      for (
        const sql of [
          "BEGIN",
          "SAVEPOINT outer_sp",
          "SET lock_timeout = '2s'",
          "SAVEPOINT inner_sp",
          "SET work_mem = '6MB'",
          "RELEASE inner_sp",
          "SAVEPOINT later",
          "SET statement_timeout = '9s'",
          "ROLLBACK TO later",
          "COMMIT",
        ]
      ) await q(sql);
      assert.equal((await q("SHOW work_mem"))[0].work_mem, "6MB");
      assert.equal((await q("SHOW statement_timeout"))[0].statement_timeout, "0");
      assert.deepEqual(Object.fromEntries(state.settings), {
        work_mem: "SET work_mem = '6MB'",
        lock_timeout: "SET lock_timeout = '2s'",
      });

      await client.query({ name: "keep_me", text: "SELECT 1 AS one" });
      await client.query({ name: "drop_me", text: "SELECT 2 AS two" });
      await q("BEGIN");
      await q("DEALLOCATE drop_me");
      await q("ROLLBACK");
      const onServer = await serverPrepared(q);
      assert.deepEqual(onServer, ["keep_me"]);
      assert.deepEqual([...state.prepared.keys()], onServer);
    } finally {
      await client.end();
    }
  });

  await t.step("extended-protocol SET is tracked like a simple one", async () => {
    const client = new pg.Client({ connectionString: url, application_name: "state-ext" });
    await client.connect();
    try {
      const state = sessionOf(proxy.sessions, "state-ext");
      // A named statement makes node-postgres use Parse/Bind/Execute/Sync.
      await client.query({ name: "set_wm", text: "SET work_mem = '32MB'" });
      await client.query({ text: "SET search_path = x, public", values: [] });
      assert.equal((await client.query("SHOW work_mem")).rows[0].work_mem, "32MB");
      assert.equal(state.settings.get("work_mem"), "SET work_mem = '32MB'");
      assert.equal(state.settings.get("search_path"), "SET search_path = x, public");
      assert.deepEqual([...state.prepared.keys()], ["set_wm"]);
    } finally {
      await client.end();
    }
  });

  await t.step("postgres.js: pipelined prepared statements are tracked by name", async () => {
    const sql = postgres(url, {
      max: 1,
      prepare: true,
      connection: { application_name: "state-pgjs" },
    });
    try {
      await sql`SELECT 1`;
      const state = sessionOf(proxy.sessions, "state-pgjs");
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => {
          switch (i % 3) {
            case 0:
              return sql`SELECT ${i}::int AS n`;
            case 1:
              return sql`SELECT ${String(i)}::text || 'a' AS n`;
            default:
              return sql`SELECT count(*)::int AS n FROM generate_series(1, ${i})`;
          }
        }),
      );
      assert.deepEqual(results[59][0], { n: 59 });
      const onServer = (await sql`SELECT name FROM pg_prepared_statements ORDER BY name`)
        .map((r) => r.name as string).sort();
      assert.ok(onServer.length >= 5, `server statements: ${onServer.join(",")}`);
      assert.deepEqual([...state.prepared.keys()].sort(), onServer);
      const texts = [...state.prepared.values()].map((p) => p.sql);
      assert.ok(texts.includes("SELECT $1::int AS n"), texts.join(" | "));
      assert.ok(texts.includes("SELECT count(*)::int AS n FROM generate_series(1, $1)"));
      await sql.begin(async (tx) => {
        await tx`SELECT 1`;
        assert.equal(state.txStatus, "T");
      });
      assert.equal(state.txStatus, "I");
      await sql`SET work_mem = '2MB'`;
      assert.equal(state.settings.get("work_mem"), "SET work_mem = '2MB'");
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
