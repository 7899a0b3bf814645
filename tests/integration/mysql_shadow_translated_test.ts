/**
 * Shadowing MySQL sessions on the target through the proxy's own translated
 * backend (`proxy/mysql/shadow_backend.ts` → `proxy/translate/backend.ts`):
 * a throwaway MariaDB is the source of truth, a throwaway PostgreSQL (standing
 * in for CockroachDB) the target, with the same schema and data written by
 * hand for each. mysql2 text and prepared statements give no mismatch; a
 * drift on the target gives `values`, a statement the translator refuses
 * `translation_gap`, and a case-only difference under MariaDB's `_ci`
 * collation `collation` (sync; async compares too). The shadow runs as the
 * session's own role there; after a cutover the proxy declines to shadow on
 * MariaDB (it holds no password).
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import mysql from "mysql2/promise";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import type { ProxyShadowReport } from "../../shared/shadow.ts";
import { startMySqlFixture } from "../helpers/mysql_fixture.ts";
import { startTestProxy } from "../helpers/proxy.ts";

const ROLE = MARIADB_AUTH_USERS.native.user;

const SOURCE_SQL = [
  "CREATE TABLE app.items (id INT PRIMARY KEY, name VARCHAR(40), qty INT, " +
  "price DECIMAL(10,2), ok TINYINT(1), at DATETIME(3))",
  "INSERT INTO app.items SELECT seq, CONCAT('item ', seq), seq * 3, seq / 4, seq % 2, " +
  "'2024-01-01 00:00:00' + INTERVAL seq MINUTE FROM app.seq_1_to_20",
  "CREATE TABLE app.names (name VARCHAR(20)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
  "INSERT INTO app.names VALUES ('Ann'), ('ann'), ('Bo')",
  "CREATE TABLE app.secret (x INT)",
  `GRANT ALL ON app.* TO '${ROLE}'@'%'`,
];

const TARGET_SCHEMA = ["CREATE DATABASE app", `CREATE ROLE ${ROLE}`];
const TARGET_APP_SQL = `
  GRANT ALL ON SCHEMA public TO ${ROLE};
  CREATE TABLE items (id INT4 PRIMARY KEY, name VARCHAR(40), qty INT4,
    price NUMERIC(10,2), ok BOOL, at TIMESTAMP(3));
  INSERT INTO items SELECT s, 'item ' || s, s * 3, s / 4.0, s % 2 = 1,
    TIMESTAMP '2024-01-01 00:00:00' + s * INTERVAL '1 minute' FROM generate_series(1, 20) s;
  CREATE TABLE names (name VARCHAR(20));
  INSERT INTO names VALUES ('Ann'), ('ann'), ('Bo');
  CREATE TABLE secret (x INT4);
  GRANT ALL ON items, names TO ${ROLE};
`;

async function settle(
  report: () => ProxyShadowReport,
  ok: (r: ProxyShadowReport) => boolean,
  ms = 20_000,
): Promise<ProxyShadowReport> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = report();
    if (ok(r) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

Deno.test("MySQL shadowing on PostgreSQL through the translated backend (sync)", async (t) => {
  await using target = await startPgCluster({ name: "mysql-shadow-x", initSql: TARGET_SCHEMA });
  await target.psql(TARGET_APP_SQL, { database: "app" });
  await using fx = await startMySqlFixture({
    proxyEnv: { INIT_TARGET: target.url({ database: "postgres" }), LMS_SHADOW_MODE: "sync" },
    initSql: SOURCE_SQL,
  });
  const report = () => fx.proxy.cutover.shadowReport!();

  await t.step("identical data: text and prepared statements give no mismatch", async () => {
    const c = await fx.connect("proxy");
    try {
      await c.query("SELECT id, name, qty, price, ok, at FROM items ORDER BY id");
      for (const id of [1, 7, 20]) {
        await c.execute("SELECT name, price, ok, at FROM items WHERE id = ?", [id]);
      }
      await c.beginTransaction();
      await c.execute("UPDATE items SET qty = qty + ? WHERE id BETWEEN ? AND ?", [1, 3, 9]);
      // '1', not 1 or TRUE: the translator does not yet cast an integer to a BOOL column.
      await c.query("INSERT INTO items VALUES (21, 'new', 1, 2.50, '1', '2024-02-01 10:00:00')");
      await c.commit();
      await c.execute("INSERT INTO items (id, name, qty) VALUES (?, ?, ?)", [22, "prep", 4]);
      await c.query("UPDATE items SET name = 'renamed' WHERE id = 22");
      await c.query("SELECT COUNT(*), SUM(qty) FROM items");
      await c.query("SELECT id, qty FROM items WHERE id BETWEEN 1 AND 10 ORDER BY id");
    } finally {
      await c.end();
    }
    const r = await settle(report, (x) => x.statements >= 12);
    assert(r.statements >= 12, `compared ${r.statements} statements`);
    assertEquals(r.mismatches, 0, JSON.stringify(r.samples, null, 1));
    // The writes reached the target too, as the session's own role.
    assertEquals(
      await target.psql("SELECT qty FROM items WHERE id = 3", { database: "app" }),
      "10",
    );
    assertEquals(
      await target.psql("SELECT name FROM items WHERE id = 22", { database: "app" }),
      "renamed",
    );
  });

  await target.psql("UPDATE items SET price = 99 WHERE id = 2", { database: "app" });

  await t.step(
    "drifts give their kinds: values, translation_gap, collation; the shadow runs as the role",
    async () => {
      const before = report();
      const c = await fx.connect("proxy");
      try {
        const [rows] = await c.query("SELECT id, price FROM items WHERE id <= 3 ORDER BY id");
        assertEquals((rows as { price: string }[])[1].price, "0.50", "the client got MariaDB's");
        // The translator refuses `~` (MySQL's unsigned 64-bit complement): ERR 1235 there.
        const [gap] = await c.query({
          sql: "SELECT ~id AS x FROM items WHERE id = 1",
          supportBigNumbers: true,
          bigNumberStrings: true,
        });
        assertEquals((gap as { x: string }[])[0].x, "18446744073709551614");
        await c.query("SELECT DISTINCT name FROM names");
        // The role has no privilege on it there: the shadow runs as the session's user.
        await c.query("SELECT x FROM secret");
      } finally {
        await c.end();
      }
      const r = await settle(report, (x) => x.mismatches >= before.mismatches + 4);
      assertEquals(r.byKind, { values: 1, translation_gap: 1, collation: 1, error_vs_success: 1 });
      const samples = (kind: string) =>
        r.samples.filter((s) => s.kind === kind).map((s) => s.fingerprint.toUpperCase());
      assert(samples("values")[0].includes("PRICE"), JSON.stringify(r.samples));
      assert(samples("translation_gap")[0].includes("~"), JSON.stringify(r.samples));
      assert(samples("collation")[0].includes("DISTINCT"), JSON.stringify(r.samples));
      const denied = r.samples.find((s) => s.kind === "error_vs_success")?.target;
      assertEquals(denied && !denied.ok && denied.errno, 1142, JSON.stringify(denied));
    },
  );

  await t.step("async: the client's answers come first, the target is compared after", async () => {
    await using proxy = await startTestProxy({
      LMS_SOURCE_DIALECT: "mysql",
      INIT_SOURCE: fx.db.url({ database: "app" }),
      INIT_TARGET: target.url({ database: "postgres" }),
      LMS_SHADOW_MODE: "async",
    });
    const c = await mysql.createConnection(fx.options("proxy", { port: proxy.port }));
    try {
      await c.execute("SELECT name, qty FROM items WHERE id = ?", [2]);
      await c.query("SELECT id, price FROM items WHERE id = 2");
      const r = await settle(() => proxy.cutover.shadowReport!(), (x) => x.statements >= 3);
      assert(r.statements >= 3, `compared ${r.statements} statements`);
      assertEquals(r.byKind, { values: 1 }, JSON.stringify(r.samples, null, 1));
    } finally {
      await c.end();
    }
  });

  await t.step("after a cutover, sessions run without a shadow on MariaDB", async () => {
    fx.proxy.cutover.applyState({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
    const before = report();
    const c = await fx.connect("proxy");
    try {
      const [rows] = await c.query("SELECT price FROM items WHERE id = 2");
      assertEquals(rows, [{ price: "99.00" }], "served from the target");
    } finally {
      await c.end();
    }
    await new Promise((res) => setTimeout(res, 500));
    assertEquals(report().statements, before.statements);
  });
});
