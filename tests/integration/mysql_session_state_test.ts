/**
 * What the MySQL proxy knows about each session, checked against what
 * mysql2 does and what MariaDB reports, and how sessions behave towards the
 * cutover machinery: transaction status, current database, prepared
 * statements, variables, locks and temporary tables (which block a drain,
 * with the reason), the pause gate (idle sessions hold their next command,
 * transactions finish, new clients wait before reaching MariaDB),
 * `connections list`, and graceful shutdown (idle sessions get 1053).
 */

import assert from "node:assert/strict";
import type mysql from "mysql2/promise";
import { MySqlWire } from "../../proxy/mysql/session.ts";
import type { MySqlSessionState } from "../../proxy/mysql/session_state.ts";
import { SessionCore } from "../../proxy/session/core.ts";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { RawMySql } from "../helpers/raw_mysql.ts";
import { startMySqlFixture } from "../helpers/mysql_fixture.ts";
import { waitFor } from "../helpers/wait.ts";

/** A MySQL session as the core shows it, with the wire's state. */
class SessionView {
  constructor(readonly core: SessionCore<never>, readonly wire: MySqlWire) {}
  get state(): MySqlSessionState | undefined {
    return this.wire.state;
  }
  get connectionState(): string {
    return this.core.connectionState;
  }
  get database(): string {
    return this.core.database;
  }
  get blockingReason(): string | undefined {
    return this.core.blockingReason;
  }
  get id(): string {
    return this.core.id;
  }
}

async function threadOf(c: mysql.Connection): Promise<number> {
  const [rows] = await c.query("SELECT CONNECTION_ID() AS id");
  return (rows as { id: number }[])[0].id;
}

Deno.test("MySQL session state, drains and shutdown", async (t) => {
  await using fx = await startMySqlFixture({
    initSql: ["CREATE TABLE app.t (id INT PRIMARY KEY, v INT)", "INSERT INTO app.t VALUES (1, 0)"],
  });
  const sessionOf = async (c: mysql.Connection): Promise<SessionView> => {
    const thread = await threadOf(c);
    const found = [...fx.proxy.sessions].flatMap((s) =>
      s instanceof SessionCore && s.wire instanceof MySqlWire && s.wire.backendThread === thread
        ? [new SessionView(s as SessionCore<never>, s.wire)]
        : []
    );
    assert.equal(found.length, 1);
    return found[0];
  };

  await t.step("transaction status follows the server status flags", async () => {
    const c = await fx.connect("proxy");
    const s = await sessionOf(c);
    assert.equal(s.connectionState, "idle");
    await c.query("BEGIN");
    assert.equal(s.connectionState, "in transaction");
    assert.ok(s.state!.txStartedAt > 0);
    await c.query("COMMIT");
    assert.equal(s.connectionState, "idle");
    await c.query("SET autocommit = 0");
    assert.equal(s.state!.autocommit, false);
    await c.query("UPDATE t SET v = v + 1");
    assert.equal(s.connectionState, "in transaction", "autocommit off: the UPDATE opened one");
    await c.query("ROLLBACK");
    assert.equal(s.connectionState, "idle");
    await c.end();
  });

  await t.step("current database, prepared statements, variables", async () => {
    const c = await fx.connect("proxy", { multipleStatements: true });
    const s = await sessionOf(c);
    assert.equal(s.database, "app");
    await c.query("CREATE DATABASE IF NOT EXISTS other");
    await c.query("USE other");
    assert.equal(s.database, "other");
    await c.query("USE missing_db").catch(() => {});
    assert.equal(s.database, "other", "a failed USE changes nothing");
    await c.query("USE app");
    const stmt = await c.prepare("SELECT v FROM t WHERE id = ?");
    assert.deepEqual([...s.state!.statements.values()], ["SELECT v FROM t WHERE id = ?"]);
    await stmt.execute([1]);
    assert.equal(s.state!.lastQuery, "SELECT v FROM t WHERE id = ?");
    stmt.close();
    await c.query("SELECT 1");
    assert.equal(s.state!.statements.size, 0);
    await c.query("SET NAMES utf8mb4; SET SESSION sql_mode = 'ANSI', @@session.wait_timeout = 100");
    await c.query("SET @a = 1, @b := 2; SELECT @c := 3; SELECT 4 INTO @d");
    assert.match(s.state!.setNames, /SET NAMES utf8mb4/);
    assert.deepEqual([...s.state!.sessionVars.keys()].sort(), ["sql_mode", "wait_timeout"]);
    assert.deepEqual([...s.state!.userVars].sort(), ["a", "b", "c", "d"]);
    await c.reset();
    assert.equal(s.state!.userVars.size, 0, "COM_RESET_CONNECTION forgets them");
    await c.end();
  });

  await t.step("locks and temporary tables block a drain and say why", async () => {
    const c = await fx.connect("proxy");
    const s = await sessionOf(c);
    await c.query("LOCK TABLES t READ");
    assert.equal(s.blockingReason, "holds LOCK TABLES");
    await c.query("UNLOCK TABLES");
    await c.query("SELECT GET_LOCK('job-7', 1)");
    await c.query("CREATE TEMPORARY TABLE scratch (x INT)");
    assert.equal(
      s.blockingReason,
      "holds named lock(s) 'job-7' (GET_LOCK); has temporary table(s) scratch",
    );
    fx.proxy.cutover.pause("test-cutover");
    try {
      const status = fx.proxy.cutover.drainStatus();
      assert.equal(status.drained, false);
      const mine = status.blocking.find((b) => b.sessionId === s.id);
      assert.equal(mine?.reason, s.blockingReason);
      // A blocking session keeps running so it can release what it holds.
      await c.query("SELECT RELEASE_LOCK('job-7')");
      await c.query("DROP TEMPORARY TABLE scratch");
      assert.equal(s.blockingReason, undefined);
      assert.equal(fx.proxy.cutover.drainStatus().drained, true);
    } finally {
      fx.proxy.cutover.resume(fx.proxy.router.state!);
    }
    await c.end();
  });

  await t.step(
    "the pause gate holds idle sessions and new clients, lets transactions finish",
    async () => {
      const idle = await fx.connect("proxy");
      const inTx = await fx.connect("proxy");
      await inTx.query("BEGIN");
      await inTx.query("UPDATE t SET v = 100 WHERE id = 1");
      fx.proxy.cutover.pause("test-cutover");
      let resumed = false;
      try {
        assert.equal(fx.proxy.cutover.drainStatus().drained, false, "the transaction blocks");
        const held = idle.query("SELECT v FROM t WHERE id = 1").then(([rows]) => {
          assert.ok(resumed, "the held query ran only after the resume");
          return rows;
        });
        const before = Number(
          await fx.db.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST"),
        );
        const newcomer = fx.connect("proxy").then((c) => {
          assert.ok(resumed, "the new client reached the database only after the resume");
          return c;
        });
        await inTx.query("UPDATE t SET v = 101 WHERE id = 1");
        await inTx.query("COMMIT");
        await waitFor("the drain", () => fx.proxy.cutover.drainStatus().drained);
        const counts = fx.proxy.cutover.sessions();
        assert.ok(counts.held >= 2, JSON.stringify(counts));
        await new Promise((r) => setTimeout(r, 200));
        const during = Number(
          await fx.db.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST"),
        );
        assert.equal(during, before, "the waiting client has no database connection");
        const listed = fx.proxy.cutover.connections(false);
        assert.ok(listed.some((c) => c.lastQuery === "COMMIT"), JSON.stringify(listed));
        resumed = true;
        fx.proxy.cutover.resume(fx.proxy.router.state!);
        assert.deepEqual(await held, [{ v: 101 }]);
        await (await newcomer).end();
      } finally {
        if (!resumed) fx.proxy.cutover.resume(fx.proxy.router.state!);
        await idle.end();
        await inTx.end();
      }
    },
  );

  await t.step("graceful shutdown: an idle session gets 1053 ER_SERVER_SHUTDOWN", async () => {
    const { user, password } = MARIADB_AUTH_USERS.native;
    const raw = await RawMySql.login(fx.proxy.port, user, password);
    await fx.proxy.shutdown(5_000);
    const err = await raw.nextError();
    assert.equal(err.code, 1053);
    assert.match(err.message, /proxy is shutting down; reconnect/);
    await raw.closedWithin();
  });
});
