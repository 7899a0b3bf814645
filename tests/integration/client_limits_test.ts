/**
 * The proxy's client limits on both wires, against real databases:
 * `LMS_MAX_CONNECTIONS` answered with PostgreSQL 53300 and MySQL 1040 (not an
 * accept backlog), and failed logins per client address blocked past
 * `LMS_AUTH_FAILURE_LIMIT` with PostgreSQL 28000 and MySQL 1129.
 */

import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import pg from "pg";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { AUTH_USERS, startAuthCluster } from "../helpers/pg_auth.ts";
import { startMySqlFixture } from "../helpers/mysql_fixture.ts";
import { psql, startTestProxy } from "../helpers/proxy.ts";

type PgOutcome = { client?: pg.Client; code?: string; message: string };

async function pgConnect(port: number, password: string): Promise<PgOutcome> {
  const client = new pg.Client({
    host: "127.0.0.1",
    port,
    user: AUTH_USERS.scram.user,
    database: AUTH_USERS.scram.user,
    password,
    connectionTimeoutMillis: 15_000,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return { client, message: "connected" };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code, message: String(e.message) };
  }
}

type MyOutcome = { conn?: mysql.Connection; errno?: number; message: string };

async function myConnect(options: mysql.ConnectionOptions): Promise<MyOutcome> {
  try {
    const conn = await mysql.createConnection({ connectTimeout: 15_000, ...options });
    return { conn, message: "connected" };
  } catch (err) {
    const e = err as { errno?: number; message?: string };
    return { errno: e.errno, message: String(e.message) };
  }
}

Deno.test("PostgreSQL wire: LMS_MAX_CONNECTIONS and failed-login blocking", async (t) => {
  await using db = await startAuthCluster({ name: "limits-pg" });
  const source = db.url({ user: "postgres", database: "postgres" });

  await t.step("past LMS_MAX_CONNECTIONS clients get 53300, and get in once one left", async () => {
    await using proxy = await startTestProxy({ INIT_SOURCE: source, LMS_MAX_CONNECTIONS: "2" });
    const password = AUTH_USERS.scram.password;
    const a = await pgConnect(proxy.port, password);
    const b = await pgConnect(proxy.port, password);
    assert.ok(a.client && b.client, `${a.message} ${b.message}`);
    const over = await pgConnect(proxy.port, password);
    assert.equal(over.code, "53300");
    assert.match(over.message!, /too many clients already.*at most 2.*LMS_MAX_CONNECTIONS/);
    const cli = await psql(
      `host=127.0.0.1 port=${proxy.port} user=${AUTH_USERS.scram.user} dbname=postgres`,
      ["-w", "-c", "SELECT 1"],
      { env: { PGPASSWORD: password, PGCONNECT_TIMEOUT: "15" } },
    );
    assert.match(cli.stderr, /FATAL: {2}sorry, too many clients already/);
    // The served sessions are untouched.
    assert.equal((await a.client!.query("SELECT 1 AS one")).rows[0].one, 1);
    await b.client!.end();
    const again = await pgConnect(proxy.port, password);
    assert.ok(again.client, again.message);
    await again.client!.end();
    await a.client!.end();
  });

  await t.step(
    "past LMS_AUTH_FAILURE_LIMIT an address gets 28000 until the window passes",
    async () => {
      await using proxy = await startTestProxy({
        INIT_SOURCE: source,
        LMS_AUTH_FAILURE_LIMIT: "3",
        LMS_AUTH_FAILURE_WINDOW: "4s",
      });
      for (let i = 0; i < 3; i++) {
        const wrong = await pgConnect(proxy.port, "not-the-password");
        assert.equal(wrong.code, "28P01", wrong.message);
      }
      const blocked = await pgConnect(proxy.port, AUTH_USERS.scram.password);
      assert.equal(blocked.code, "28000");
      assert.match(
        blocked.message!,
        /host '127\.0\.0\.1' is blocked.*failed logins; retry in \d s/,
      );
      await new Promise((r) => setTimeout(r, 4_500));
      const after = await pgConnect(proxy.port, AUTH_USERS.scram.password);
      assert.ok(after.client, after.message);
      await after.client!.end();
    },
  );
});

Deno.test("MySQL wire: LMS_MAX_CONNECTIONS (1040) and failed-login blocking (1129)", async (t) => {
  await using fx = await startMySqlFixture({
    proxyEnv: { LMS_MAX_CONNECTIONS: "2", LMS_AUTH_FAILURE_LIMIT: "3" },
  });

  await t.step("past LMS_MAX_CONNECTIONS clients get 1040 Too many connections", async () => {
    const a = await myConnect(fx.options("proxy"));
    const b = await myConnect(fx.options("proxy"));
    assert.ok(a.conn && b.conn, `${a.message} ${b.message}`);
    const over = await myConnect(fx.options("proxy"));
    assert.equal(over.errno, 1040, over.message);
    assert.match(over.message!, /too many clients already.*LMS_MAX_CONNECTIONS/);
    const [rows] = await a.conn!.query("SELECT 1 AS one");
    assert.deepEqual(rows, [{ one: 1 }]);
    await b.conn!.end();
    const again = await myConnect(fx.options("proxy"));
    assert.ok(again.conn, again.message);
    await again.conn!.end();
    await a.conn!.end();
  });

  await t.step("past LMS_AUTH_FAILURE_LIMIT the address gets 1129 Host is blocked", async () => {
    for (let i = 0; i < 3; i++) {
      const wrong = await myConnect(fx.options("proxy", { password: "not-the-password" }));
      assert.equal(wrong.errno, 1045, wrong.message);
    }
    const blocked = await myConnect(
      fx.options("proxy", { password: MARIADB_AUTH_USERS.native.password }),
    );
    assert.equal(blocked.errno, 1129, blocked.message);
    assert.match(blocked.message!, /host '127\.0\.0\.1' is blocked.*LMS_AUTH_FAILURE_LIMIT/);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("hold limits during a pause, on both wires: the one over gets an error, others wait", async (t) => {
  await t.step("PostgreSQL: LMS_MAX_HELD_BYTES answered with 53400", async () => {
    await using db = await startAuthCluster({ name: "limits-held" });
    await using proxy = await startTestProxy({
      INIT_SOURCE: db.url({ user: "postgres", database: "postgres" }),
      LMS_MAX_HELD_BYTES: "4KiB",
    });
    const big = await pgConnect(proxy.port, AUTH_USERS.scram.password);
    const small = await pgConnect(proxy.port, AUTH_USERS.scram.password);
    assert.ok(big.client && small.client);
    const state = proxy.cutover.state()!;
    proxy.cutover.pause("hold-test");
    const failed = big.client!.query(`SELECT '${"x".repeat(8192)}' AS filler`).then(
      () => undefined,
      (e: { code?: string; message: string }) => e,
    );
    const waited = small.client!.query("SELECT 7 AS seven");
    const err = await failed;
    assert.equal(err?.code, "53400");
    assert.match(err!.message, /more than 4096 bytes.*LMS_MAX_HELD_BYTES/);
    await sleep(200);
    assert.equal(proxy.sessions.size, 1, "only the session over the limit was closed");
    proxy.cutover.resume(state);
    assert.equal((await waited).rows[0].seven, 7);
    await small.client!.end();
  });

  await t.step("MySQL: LMS_MAX_HELD_CLIENTS answered with 1041", async () => {
    await using fx = await startMySqlFixture({ proxyEnv: { LMS_MAX_HELD_CLIENTS: "1" } });
    const first = await myConnect(fx.options("proxy"));
    const second = await myConnect(fx.options("proxy"));
    assert.ok(first.conn && second.conn);
    const state = fx.proxy.cutover.state()!;
    fx.proxy.cutover.pause("hold-test");
    const held = first.conn!.query("SELECT 7 AS seven");
    await sleep(300);
    const over = await second.conn!.query("SELECT 8 AS eight").then(
      () => undefined,
      (e: { errno?: number; message: string }) => e,
    );
    assert.equal(over?.errno, 1041, String(over?.message));
    assert.match(over!.message, /already holds 1 sessions.*LMS_MAX_HELD_CLIENTS/);
    fx.proxy.cutover.resume(state);
    const [rows] = await held;
    assert.deepEqual(rows, [{ seven: 7 }]);
    await first.conn!.end();
    second.conn!.destroy();
  });
});
