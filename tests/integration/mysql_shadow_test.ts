/**
 * Shadowing MySQL sessions, all modes, on real servers: MariaDB A is the
 * source of truth, MariaDB B the "other" database, plugged in where the
 * translated CockroachDB backend goes (`tests/helpers/mysql_shadow_backend.ts`),
 * and a PostgreSQL cluster holds the (empty) state store. sysbench and mysql2
 * on identical data give no mismatch; drifts on B give exactly their kinds,
 * `collation` and `translation_gap` included; `sync` waits for B, `async`
 * does not and is bounded, `strict-sync` answers with B's error.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import mysql from "mysql2/promise";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { type MariaDbServer, startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import type { ProxyShadowReport } from "../../shared/shadow.ts";
import { TranslationGap } from "../../proxy/translate/errors.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { mariaDbShadowBackend } from "../helpers/mysql_shadow_backend.ts";
import { sysbenchConnectArgs } from "../bench/sysbench.ts";

const { user, password } = MARIADB_AUTH_USERS.native;

const SCHEMA = [
  "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40), qty INT, price DECIMAL(10,2), " +
  "ok TINYINT(1), at DATETIME(3))",
  "INSERT INTO items SELECT seq, CONCAT('item ', seq), seq * 3, seq / 4, seq % 2, " +
  "'2024-01-01 00:00:00' + INTERVAL seq MINUTE FROM seq_1_to_40",
  "CREATE TABLE names (name VARCHAR(20)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
  "INSERT INTO names VALUES ('Ann'), ('ann'), ('Bo')",
  "CREATE TABLE emails (email VARCHAR(40))",
  "CREATE TABLE pad (id INT AUTO_INCREMENT PRIMARY KEY, body LONGTEXT)",
];
const GAP = new TranslationGap("SOUNDS LIKE").message;

async function sysbench(port: number, args: string[]): Promise<string> {
  const out = await new Deno.Command("sysbench", {
    args: [
      "oltp_read_write",
      ...sysbenchConnectArgs({ port, user, password, database: "app" }),
      "--tables=2",
      "--table-size=500",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (out.code !== 0) throw new Error(`sysbench ${args[0]} failed:\n${text}`);
  return text;
}

async function settle(
  report: () => ProxyShadowReport,
  ok: (r: ProxyShadowReport) => boolean,
  ms = 15_000,
): Promise<ProxyShadowReport> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = report();
    if (ok(r) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

function samplesOf(r: ProxyShadowReport, kind: string): string[] {
  return r.samples.filter((s) => s.kind === kind).map((s) => s.fingerprint);
}

async function checksum(db: MariaDbServer, table: string): Promise<string> {
  return (await db.sql(`CHECKSUM TABLE ${table}`, { database: "app" })).split("\t")[1];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What `p` resolves to, or "still waiting" when it takes longer than `ms`. */
async function within(p: Promise<string>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((r) => (timer = setTimeout(() => r("still waiting"), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("MySQL shadowing: plumbing and comparison through a second MariaDB, every mode", async (t) => {
  const init = ["CREATE DATABASE app", `USE app; ${SCHEMA.join(";\n")}`];
  await using a = await startMariaDbServer({ name: "shadow-a", authUsers: true, initSql: init });
  await using b = await startMariaDbServer({
    name: "shadow-b",
    authUsers: true,
    initSql: init,
    settings: { "innodb-lock-wait-timeout": "120" },
  });
  await using store = await startPgCluster({ name: "shadow-store" });
  const env = (mode: string, extra: Record<string, string> = {}) => ({
    LMS_SOURCE_DIALECT: "mysql",
    INIT_SOURCE: a.url({ database: "app" }),
    INIT_TARGET: store.url(),
    LMS_SHADOW_MODE: mode,
    ...extra,
  });
  // Presented as translated: statements the proxy's answerers take (SELECT CONNECTION_ID(), ...)
  // are then not compared, and an ERR 1235 naming a gap is a translation_gap.
  const backend = mariaDbShadowBackend(b.port, { [user]: password }, { translated: true });
  await using sync = await startTestProxy(env("sync"), { mysqlShadowBackend: backend });
  const report = () => sync.cutover.shadowReport!();
  const connect = (port: number, extra: mysql.ConnectionOptions = {}) =>
    mysql.createConnection({ host: "127.0.0.1", port, user, password, database: "app", ...extra });

  // One sysbench thread: concurrent sessions that read each other's fresh writes can see
  // them on one database and not yet on the other (a commit reaches the shadow after the
  // source of truth made it visible), which no shadow mode can order.
  await t.step(
    "sync, identical data: sysbench oltp_read_write (prepared) gives no mismatch",
    async () => {
      await sysbench(sync.port, ["prepare"]);
      await sysbench(sync.port, [
        "--threads=1",
        "--events=300",
        "--time=0",
        "--db-ps-mode=auto",
        "run",
      ]);
      const r = await settle(report, (x) => x.statements > 3000);
      assert(r.statements > 3000, `compared ${r.statements} statements`);
      assertEquals(r.mismatches, 0, JSON.stringify(r.samples, null, 1));
      assertEquals(await checksum(b, "sbtest1"), await checksum(a, "sbtest1"));
    },
  );

  await t.step(
    "sync, identical data: mysql2 queries, prepared statements, transactions, errors",
    async () => {
      await b.sql("SELECT 1");
      const before = report().statements;
      const c = await connect(sync.port);
      try {
        await c.query("SELECT id, name, qty, price, ok, at FROM items ORDER BY id");
        for (const id of [1, 7, 40]) {
          await c.execute("SELECT name, price, at FROM items WHERE id = ?", [id]);
        }
        await c.beginTransaction();
        await c.execute("UPDATE items SET qty = qty + 1 WHERE id BETWEEN ? AND ?", [3, 9]);
        await c.query("INSERT INTO emails VALUES ('x@example.com')");
        await c.commit();
        await c.query("SELECT COUNT(*), SUM(qty), AVG(price) FROM items");
        // Different on the two servers (B just served one more connection); answered by the
        // proxy on CockroachDB: never compared.
        await c.query("SELECT CONNECTION_ID()");
        await c.execute("SELECT CONNECTION_ID()");
        await assertRejects(() => c.query("SELECT * FROM missing_table"), 1146);
        // Answered by the proxy itself while answers are held: in its turn, never compared.
        await assertRejects(() => c.query("KILL QUERY 999999"), 1094);
        await c.query("SELECT name FROM names WHERE name = 'ann'");
      } finally {
        await c.end();
      }
      const multi = await connect(sync.port, { multipleStatements: true });
      try {
        const [results] = await multi.query("SELECT 1 AS one; SELECT id FROM items WHERE id = 2");
        assertEquals((results as unknown[]).length, 2);
      } finally {
        await multi.end();
      }
      const r = await settle(report, (x) => x.statements >= before + 14);
      assert(r.statements >= before + 14, `compared ${r.statements - before} statements`);
      assertEquals(r.mismatches, 0, JSON.stringify(r.samples, null, 1));
      assertEquals(await checksum(b, "items"), await checksum(a, "items"));
    },
  );

  await b.sql(
    "UPDATE items SET price = 99 WHERE id = 2; " +
      "ALTER TABLE names MODIFY name VARCHAR(20) COLLATE utf8mb4_bin",
    { database: "app" },
  );
  await a.sql("CREATE PROCEDURE soundex_of() SELECT 'x' AS s", { database: "app" });
  await b.sql(
    `CREATE PROCEDURE soundex_of() SIGNAL SQLSTATE '42000' ` +
      `SET MYSQL_ERRNO = 1235, MESSAGE_TEXT = '${GAP}'`,
    { database: "app" },
  );

  await t.step("drifts give exactly their kinds: values, collation, translation_gap", async () => {
    const c = await connect(sync.port);
    try {
      await c.query("SELECT id, price FROM items WHERE id <= 3");
      await c.query("SELECT DISTINCT name FROM names");
      await c.query("CALL soundex_of()");
    } finally {
      await c.end();
    }
    const r = await settle(report, (x) => x.mismatches >= 3);
    assertEquals(r.byKind, { values: 1, collation: 1, translation_gap: 1 });
    assertEquals(samplesOf(r, "values").length, 1);
    assert(samplesOf(r, "collation")[0].includes("DISTINCT"), JSON.stringify(r.samples));
    assert(samplesOf(r, "translation_gap")[0].toUpperCase().includes("CALL"));
  });

  await t.step(
    "a statement only the source of truth can prepare: its prepare and each execution are reported, and the session shadows on",
    async () => {
      await a.sql("CREATE TABLE only_a (x INT)", { database: "app" });
      const before = report();
      const c = await connect(sync.port);
      try {
        await c.execute("SELECT x FROM only_a WHERE x = ?", [1]);
        await c.execute("SELECT x FROM only_a WHERE x = ?", [2]);
        await c.query("SELECT id, qty FROM items WHERE id = 1");
        // B allocated no id for the failed prepare: from here the two sides' ids differ.
        await c.execute("SELECT qty, price FROM items WHERE id = ?", [4]);
      } finally {
        await c.end();
      }
      const r = await settle(report, (x) => x.statements >= before.statements + 6);
      assertEquals(r.statements - before.statements, 6);
      assertEquals(r.mismatches - before.mismatches, 3, JSON.stringify(r.samples, null, 1));
      assertEquals(r.byKind.error_vs_success - (before.byKind.error_vs_success ?? 0), 3);
    },
  );

  await t.step("sync: the client's answer waits for the shadow", async () => {
    const locker = await mysql.createConnection(
      { host: "127.0.0.1", port: b.port, user, password, database: "app" },
    );
    const c = await connect(sync.port);
    try {
      await locker.beginTransaction();
      await locker.query("SELECT * FROM items WHERE id = 5 FOR UPDATE");
      let done = false;
      const update = c.query("UPDATE items SET qty = qty + 1 WHERE id = 5").then(() => done = true);
      await sleep(1_500);
      assert(!done, "sync answered before the shadow did");
      await locker.rollback();
      await update;
    } finally {
      await locker.end();
      await c.end();
    }
  });

  await t.step(
    "async: the client never waits for the shadow, and the shadow is bounded",
    async () => {
      await using proxy = await startTestProxy(env("async", { LMS_SHADOW_QUEUE: "64KiB" }), {
        mysqlShadowBackend: backend,
      });
      const locker = await mysql.createConnection(
        { host: "127.0.0.1", port: b.port, user, password, database: "app" },
      );
      const c = await connect(proxy.port);
      try {
        await locker.beginTransaction();
        await locker.query("SELECT * FROM items WHERE id = 6 FOR UPDATE");
        // B's lock wait (innodb_lock_wait_timeout, 120 s there) outlasts this bound by far.
        const answered = await within(
          c.query("UPDATE items SET qty = qty + 1 WHERE id = 6").then(() => "answered"),
          30_000,
        );
        assertEquals(answered, "answered", "the client waited for the blocked shadow");
        const body = "y".repeat(512 * 1024);
        for (let i = 0; i < 40; i++) await c.query("INSERT INTO pad (body) VALUES (?)", [body]);
        const r = proxy.cutover.shadowReport!();
        assertEquals(r.droppedSessions, 1, "the blocked shadow fell too far behind");
        await c.query("SELECT 1");
      } finally {
        await locker.rollback();
        await locker.end();
        await c.end();
      }
    },
  );

  await t.step(
    "strict-sync answers with the shadow's error; sync with the source of truth's",
    async () => {
      await b.sql("CREATE UNIQUE INDEX emails_unique ON emails (email)", { database: "app" });
      await using strict = await startTestProxy(env("strict-sync"), {
        mysqlShadowBackend: backend,
      });
      const s = await connect(strict.port);
      const c = await connect(sync.port);
      try {
        await c.query("INSERT INTO emails VALUES ('x@example.com')").catch(() => {});
        await assertRejects(() => s.query("INSERT INTO emails VALUES ('x@example.com')"), 1062);
        const [ok] = await c.query("INSERT INTO emails VALUES ('x@example.com')");
        assertEquals((ok as mysql.ResultSetHeader).affectedRows, 1);
        const [rows] = await s.query("SELECT COUNT(*) AS n FROM emails");
        assert((rows as { n: number }[])[0].n >= 2, "the source of truth took the inserts");
      } finally {
        await s.end();
        await c.end();
      }
    },
  );
});

async function assertRejects(f: () => Promise<unknown>, errno: number): Promise<void> {
  try {
    await f();
  } catch (err) {
    assertEquals((err as { errno?: number }).errno, errno, String(err));
    return;
  }
  throw new Error(`expected MySQL error ${errno}`);
}
