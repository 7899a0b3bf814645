/**
 * A MySQL source with real processes (MariaDB, a PostgreSQL cluster standing
 * in for the CockroachDB target, an orchestrator, two proxies, the CLI):
 * `initialize` records the source's accounts (by count, never a hash), and
 * `KILL <id>` sent through one proxy for a session on the other reaches it
 * through the orchestrator, on the path of forwarded PostgreSQL cancels: the
 * session is disconnected and its statement stops on MariaDB; the same KILL
 * from another user leaves it alone.
 */

import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import {
  cli,
  eventually,
  spawnOrchestrator,
  TEST_API_TOKEN,
  waitForProxies,
} from "../helpers/fleet.ts";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy.ts";

Deno.test("MySQL source: initialize records accounts; KILL CONNECTION across proxies", async (t) => {
  const source = await startMariaDbServer({
    name: "e2e-mysql-kill",
    authUsers: true,
    initSql: [
      "CREATE DATABASE app",
      "CREATE USER 'other'@'%' IDENTIFIED BY 'other-secret'; GRANT ALL ON app.* TO 'other'@'%'",
    ],
  });
  const target = await startPgCluster({ name: "e2e-mysql-kill-target" });
  const proxies: ProxyProcess[] = [];
  const env = {
    LMS_SOURCE_DIALECT: "mysql",
    INIT_SOURCE: source.url({ database: "app" }),
    INIT_TARGET: target.url(),
  };
  const orchestrator = await spawnOrchestrator(env);
  try {
    await t.step("initialize reports the recorded accounts, never their hashes", async () => {
      const init = await cli(orchestrator.url, ["initialize"], {}, "table");
      assert.equal(init.code, 0, init.stderr + init.stdout);
      assert.match(init.stdout, /MySQL accounts\s+\d+ recorded in _molt_lms\.mysql_accounts/);
      const hash = await source.sql(
        `SELECT JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv ` +
          `WHERE User = '${MARIADB_AUTH_USERS.native.user}'`,
      );
      assert.match(hash, /^\*[0-9A-F]{40}$/);
      const again = await cli(orchestrator.url, ["initialize"]);
      assert.equal(again.code, 0, again.stderr);
      const body = again.json as { mysqlAccounts: { recorded: number } };
      assert.ok(body.mysqlAccounts.recorded >= 3, again.stdout);
      for (const text of [init.stdout, init.stderr, again.stdout, again.stderr]) {
        assert.ok(!text.includes(hash), "no stored hash in CLI output");
      }
    });

    for (let i = 1; i <= 2; i++) {
      proxies.push(
        await spawnProxy(
          {
            ...env,
            LMS_PROXY_ID: `mysql-kill-${i}`,
            LMS_ORCHESTRATOR_URL: orchestrator.url,
            LMS_API_TOKEN: TEST_API_TOKEN,
            LMS_SHUTDOWN_GRACE: "2s",
          },
        ),
      );
    }
    await waitForProxies(orchestrator.url, 2);
    const [first, second] = proxies.map((p) => p.port);
    const { user, password } = MARIADB_AUTH_USERS.native;
    const open = (port: number, as = { user, password }) =>
      mysql.createConnection({ host: "127.0.0.1", port, ...as, database: "app" });
    const sleeping = async () =>
      Number(
        await source.sql(
          "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(30)%'",
        ),
      );

    await t.step("KILL from another user is forwarded but leaves the session", async () => {
      const victim = await open(first);
      const stranger = await open(second, { user: "other", password: "other-secret" });
      try {
        const [ok] = await stranger.query(`KILL ${victim.threadId}`);
        assert.equal((ok as mysql.ResultSetHeader).affectedRows, 0);
        await new Promise((r) => setTimeout(r, 1_000));
        const [rows] = await victim.query("SELECT 'alive' AS a");
        assert.deepEqual(rows, [{ a: "alive" }]);
      } finally {
        await victim.end();
        await stranger.end();
      }
    });

    await t.step("KILL <id> through the other proxy disconnects the session", async () => {
      const victim = await open(first);
      const killer = await open(second);
      try {
        const started = Date.now();
        const outcome = victim.query("SELECT SLEEP(30) AS s").then(
          () => "not interrupted",
          (e: { errno?: number; message: string }) => `${e.errno} ${e.message}`,
        );
        await eventually("the statement runs on MariaDB", async () => await sleeping() === 1);
        // threadId is the proxy's connection id from the handshake, naming the first proxy.
        await killer.query(`KILL ${victim.threadId}`);
        const result = await outcome;
        // The database was busy, so the client reads the reason as its statement's answer.
        assert.match(result, /^1053 LMS: connection \d+ killed \(KILL CONNECTION\)/);
        assert.ok(Date.now() - started < 20_000);
        await eventually("the statement stopped on MariaDB", async () => await sleeping() === 0);
        const after = await victim.query("SELECT 1").then(() => "still open", () => "closed");
        assert.equal(after, "closed");
        const [rows] = await killer.query("SELECT 'killer' AS k");
        assert.deepEqual(rows, [{ k: "killer" }], "the killer's session goes on");
      } finally {
        victim.destroy();
        await killer.end();
      }
    });
  } finally {
    await Promise.allSettled(proxies.map((p) => p.stop()));
    await orchestrator.stop();
    await Promise.allSettled([source.stop(), target.destroy()]);
  }
});
