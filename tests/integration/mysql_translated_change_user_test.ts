/**
 * COM_CHANGE_USER on a session served from PostgreSQL (standing in for
 * CockroachDB) after the cutover, with mysql2's `changeUser`, compared with
 * the same calls on MariaDB directly: the proxy verifies the new user's
 * password against the source's accounts, the session starts over as that
 * user (its open transaction rolled back, user variables gone), runs as the
 * CockroachDB role mapped from it (a table only that user may read), and a
 * wrong password gets MySQL's 1045; and the same once MariaDB is stopped.
 */

import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { startMySqlFixture } from "../helpers/mysql_fixture.ts";
import { waitFor } from "../helpers/wait.ts";

const FIRST = MARIADB_AUTH_USERS.native;
const SECOND = { user: "lms_second", password: "second-secret" };

/** What a call did: its rows, an OK, or the MySQL error number. */
type Outcome = { rows: unknown[] } | { ok: true } | { error: number };

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    const r = await p;
    if (Array.isArray(r) && Array.isArray(r[0])) {
      return { rows: (r[0] as Record<string, unknown>[]).map((row) => ({ ...row })) };
    }
    return { ok: true };
  } catch (err) {
    const errno = (err as { errno?: number }).errno;
    if (errno === undefined) throw err;
    return { error: errno };
  }
}

Deno.test("COM_CHANGE_USER served from PostgreSQL matches MariaDB", async () => {
  const target = await startPgCluster({
    name: "mysql-change-user",
    initSql: ["CREATE DATABASE app", `CREATE ROLE ${FIRST.user}`, `CREATE ROLE ${SECOND.user}`],
  });
  await target.psql(
    `CREATE TABLE people (id INT4 PRIMARY KEY, email VARCHAR(40) NOT NULL);
     CREATE TABLE secret (id INT4 PRIMARY KEY);
     INSERT INTO secret VALUES (7);
     GRANT ALL ON people TO ${FIRST.user}, ${SECOND.user};
     GRANT SELECT ON secret TO ${SECOND.user};`,
    { database: "app" },
  );
  await using fx = await startMySqlFixture({
    proxyEnv: { INIT_TARGET: target.url({ database: "postgres" }) },
    initSql: [
      "CREATE TABLE app.people (id INT PRIMARY KEY, email VARCHAR(40) NOT NULL)",
      "CREATE TABLE app.secret (id INT PRIMARY KEY)",
      "INSERT INTO app.secret VALUES (7)",
      `CREATE USER '${SECOND.user}'@'%' IDENTIFIED BY '${SECOND.password}'`,
      `REVOKE ALL PRIVILEGES, GRANT OPTION FROM '${FIRST.user}'@'%'`,
      `GRANT ALL ON app.people TO '${FIRST.user}'@'%', '${SECOND.user}'@'%'`,
      `GRANT SELECT ON app.secret TO '${SECOND.user}'@'%'`,
    ],
  });
  fx.proxy.cutover.applyState({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  const direct = await fx.connect("direct");
  const proxied = await fx.connect("proxy");
  try {
    await waitFor(
      "the session on the target",
      () => [...fx.proxy.sessions].every((s) => s.side === "target"),
    );
    const [session] = [...fx.proxy.sessions];
    /** Runs `call` on both connections; asserts the outcomes are equal and returns them. */
    const same = async (what: string, call: (c: mysql.Connection) => Promise<unknown>) => {
      const mariadb = await outcome(call(direct));
      const translated = await outcome(call(proxied));
      assert.deepEqual(translated, mariadb, what);
      return mariadb;
    };
    const user = async (c: mysql.Connection) => {
      const [rows] = await c.query("SELECT USER() AS u");
      return String((rows as { u: string }[])[0].u).split("@")[0];
    };

    assert.deepEqual(
      await same("the first user may not read secret", (c) => c.query("SELECT id FROM secret")),
      { error: 1142 },
    );
    await same("a user variable", (c) => c.query("SET @kept = 5"));
    await same("begin", (c) => c.query("BEGIN"));
    await same(
      "an uncommitted write",
      (c) => c.query("INSERT INTO people (id, email) VALUES (1, 'a@x')"),
    );

    assert.deepEqual(
      await same(
        "a wrong password",
        (c) => c.changeUser({ user: SECOND.user, password: "wrong", database: "app" }),
      ),
      { error: 1045 },
    );

    assert.deepEqual(
      await same(
        "the right password",
        (c) => c.changeUser({ user: SECOND.user, password: SECOND.password, database: "app" }),
      ),
      { ok: true },
    );
    assert.equal(await user(proxied), SECOND.user);
    assert.equal(await user(direct), SECOND.user);
    assert.deepEqual(await same("now it may", (c) => c.query("SELECT id FROM secret")), {
      rows: [{ id: 7 }],
    });
    assert.deepEqual(
      await same("user variables were reset", (c) => c.query("SELECT @kept AS k")),
      { rows: [{ k: null }] },
    );
    assert.deepEqual(
      await same(
        "the open transaction was rolled back",
        (c) => c.query("SELECT COUNT(*) AS n FROM people"),
      ),
      { rows: [{ n: 0 }] },
    );
    await same(
      "a prepared statement as the new user",
      (c) => c.execute("INSERT INTO people (id, email) VALUES (?, ?)", [2, "b@x"]),
    );

    assert.deepEqual(
      await same(
        "back to the first user",
        (c) => c.changeUser({ user: FIRST.user, password: FIRST.password, database: "app" }),
      ),
      { ok: true },
    );
    assert.deepEqual(await same("the first user again", (c) => c.query("SELECT id FROM secret")), {
      error: 1142,
    });
    assert.deepEqual(
      await same("the committed write", (c) => c.query("SELECT id, email FROM people")),
      { rows: [{ id: 2, email: "b@x" }] },
    );
    assert.deepEqual([...fx.proxy.sessions], [session], "the same session: no reconnect");

    // MariaDB gone: the proxy verifies from the accounts it recorded from it.
    await direct.end();
    await fx.db.stop();
    assert.deepEqual(
      await outcome(proxied.changeUser({ user: SECOND.user, password: "wrong", database: "app" })),
      { error: 1045 },
    );
    assert.deepEqual(
      await outcome(
        proxied.changeUser({ user: SECOND.user, password: SECOND.password, database: "app" }),
      ),
      { ok: true },
    );
    assert.deepEqual(await outcome(proxied.query("SELECT id FROM secret")), { rows: [{ id: 7 }] });
  } finally {
    await Promise.allSettled([direct.end(), proxied.end()]);
    await target.destroy();
  }
});
