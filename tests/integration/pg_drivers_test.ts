/**
 * The two common Node.js drivers through the PostgreSQL proxy: node-postgres
 * (extended protocol, named statements, types, errors, LISTEN/NOTIFY) and
 * postgres.js (prepared statements, pipelining on one connection, COPY,
 * ParameterStatus, large results). Each result is compared with the same
 * work done on a direct connection.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import postgres from "postgres";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { startTestProxy } from "../helpers/proxy.ts";

type Target = "direct" | "proxy";

/** What node-postgres hands to a `notification` listener. */
interface Notification {
  channel: string;
  payload?: string;
  processId: number;
}
const TARGETS: Target[] = ["direct", "proxy"];

/** Runs `f` on a fresh node-postgres client per target and returns both results. */
async function withPg<T>(
  urls: Record<Target, string>,
  f: (client: pg.Client, target: Target) => Promise<T>,
): Promise<Record<Target, T>> {
  const out = {} as Record<Target, T>;
  for (const target of TARGETS) {
    const client = new pg.Client({ connectionString: urls[target] });
    await client.connect();
    try {
      out[target] = await f(client, target);
    } finally {
      await client.end();
    }
  }
  return out;
}

/** Runs `f` on a one-connection postgres.js pool per target and returns both results. */
async function withSql<T>(
  urls: Record<Target, string>,
  f: (sql: postgres.Sql, target: Target) => Promise<T>,
): Promise<Record<Target, T>> {
  const out = {} as Record<Target, T>;
  for (const target of TARGETS) {
    const sql = postgres(urls[target], { max: 1, onnotice: () => {} });
    try {
      out[target] = await f(sql, target);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }
  return out;
}

/** The SQLSTATE of a rejection. */
async function sqlstate(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { code?: string }).code);
  }
  throw new Error("expected the query to fail");
}

Deno.test("node-postgres and postgres.js through the proxy equal the direct connection", async (t) => {
  await using cluster = await startPgCluster({ name: "drivers" });
  await using proxy = await startTestProxy({ INIT_SOURCE: cluster.url() });
  const urls: Record<Target, string> = {
    direct: cluster.url(),
    proxy: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
  };
  await cluster.psql(
    "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2));" +
      "INSERT INTO items SELECT g, 'item ' || g, g * 1.25 FROM generate_series(1, 1000) g;" +
      "CREATE TABLE copy_direct (id int, v text); CREATE TABLE copy_proxy (id int, v text);",
  );

  await t.step("node-postgres: parameterized queries and types", async () => {
    const typesSql = "SELECT $1::int4 AS i4, $2::int8 AS i8, $3::numeric AS num, " +
      "$4::timestamptz AS ts, $5::bytea AS bin, $6::json AS js, $7::int4[] AS arr, " +
      "$8::text[] AS tarr, NULL::int AS nothing, 'é🐘'::text AS uni";
    const values = [
      -2147483648,
      "9223372036854775807",
      "12345678901234567890.000000000001",
      new Date("2024-02-29T12:34:56.789Z"),
      Buffer.from([0, 1, 2, 255, 254]),
      JSON.stringify({ a: [1, 2, { b: null }], s: 'x"y' }),
      [1, null, 3],
      ["a,b", 'q"uote', ""],
    ];
    const out = await withPg(urls, async (client) => {
      const types = await client.query(typesSql, values);
      const rows = await client.query(
        "SELECT id, name, price FROM items WHERE id BETWEEN $1 AND $2 ORDER BY id",
        [10, 20],
      );
      return {
        types: types.rows,
        rows: rows.rows,
        fields: types.fields.map((f: { dataTypeID: number }) => f.dataTypeID),
      };
    });
    assert.deepEqual(out.proxy, out.direct);
    const row = out.proxy.types[0];
    assert.equal(row.i4, -2147483648);
    assert.equal(row.i8, "9223372036854775807");
    assert.equal(row.num, "12345678901234567890.000000000001");
    assert.equal((row.ts as Date).toISOString(), "2024-02-29T12:34:56.789Z");
    assert.deepEqual([...(row.bin as Buffer)], [0, 1, 2, 255, 254]);
    assert.deepEqual(row.js, { a: [1, 2, { b: null }], s: 'x"y' });
    assert.deepEqual(row.arr, [1, null, 3]);
    assert.deepEqual(row.tarr, ["a,b", 'q"uote', ""]);
    assert.equal(row.nothing, null);
    assert.equal(row.uni, "é🐘");
    assert.equal(out.proxy.rows.length, 11);
  });

  await t.step("node-postgres: a named prepared statement reused many times", async () => {
    const out = await withPg(urls, async (client) => {
      const results: unknown[] = [];
      for (let i = 1; i <= 100; i++) {
        const r = await client.query({
          name: "item_by_id",
          text: "SELECT id, name, price FROM items WHERE id = $1",
          values: [i * 7],
        });
        results.push(r.rows[0]);
      }
      const prepared = await client.query(
        "SELECT name, statement FROM pg_prepared_statements ORDER BY name",
      );
      return { results, prepared: prepared.rows };
    });
    assert.deepEqual(out.proxy, out.direct);
    assert.equal(out.proxy.results.length, 100);
    assert.deepEqual(out.proxy.results[99], { id: 700, name: "item 700", price: "875.00" });
    assert.deepEqual(out.proxy.prepared.map((r: { name: string }) => r.name), ["item_by_id"]);
  });

  await t.step(
    "node-postgres: errors carry the SQLSTATE and a transaction rolls back",
    async () => {
      const out = await withPg(urls, async (client, target) => {
        const codes = [
          await sqlstate(client.query("SELECT * FROM no_such_table")),
          await sqlstate(client.query("SELECT 1/0")),
          await sqlstate(client.query("SELECT $1::int", ["nope"])),
          await sqlstate(client.query("INSERT INTO items VALUES (1, 'dup', 0)")),
        ];
        const stillWorks = (await client.query("SELECT 41 + $1::int AS n", [1])).rows[0].n;
        await client.query("BEGIN");
        await client.query("INSERT INTO items VALUES ($1, $2, 0)", [
          target === "direct" ? 5001 : 5002,
          "in tx",
        ]);
        const inside = (await client.query("SELECT count(*)::int AS n FROM items")).rows[0].n;
        const aborted = await sqlstate(client.query("SELECT 1/0"));
        const inFailed = await sqlstate(client.query("SELECT 1"));
        await client.query("ROLLBACK");
        const after = (await client.query("SELECT count(*)::int AS n FROM items")).rows[0].n;
        return { codes, stillWorks, inside, aborted, inFailed, after };
      });
      assert.deepEqual(out.proxy, out.direct);
      assert.deepEqual(out.proxy, {
        codes: ["42P01", "22012", "22P02", "23505"],
        stillWorks: 42,
        inside: 1001,
        aborted: "22012",
        inFailed: "25P02",
        after: 1000,
      });
    },
  );

  await t.step("LISTEN/NOTIFY between sessions through the proxy", async () => {
    const listener = new pg.Client({ connectionString: urls.proxy });
    const notifier = new pg.Client({ connectionString: urls.proxy });
    await listener.connect();
    await notifier.connect();
    try {
      const got: { channel: string; payload?: string; processId: number }[] = [];
      let wake: () => void = () => {};
      listener.on("notification", (n: Notification) => {
        got.push({ channel: n.channel, payload: n.payload, processId: n.processId });
        wake();
      });
      await listener.query("LISTEN lms_channel");
      const arrived = (count: number) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`only ${got.length} notifications`)),
            5000,
          );
          wake = () => {
            if (got.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          };
          wake();
        });
      await notifier.query("NOTIFY lms_channel, 'hello through the proxy'");
      await notifier.query("SELECT pg_notify($1, $2)", ["lms_channel", "ünïcode payload"]);
      await arrived(2);
      // A notification from a direct session reaches the proxied listener too.
      await cluster.psql("NOTIFY lms_channel, 'from a direct session'");
      await arrived(3);
      const notifierPid = (await notifier.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
      assert.deepEqual(got.map((n) => n.payload), [
        "hello through the proxy",
        "ünïcode payload",
        "from a direct session",
      ]);
      assert.ok(got.every((n) => n.channel === "lms_channel"));
      assert.equal(got[0].processId, notifierPid);
    } finally {
      await listener.end();
      await notifier.end();
    }
  });

  await t.step("postgres.js: ParameterStatus follows SET application_name", async () => {
    const out = await withSql(urls, async (sql) => {
      await sql`SET application_name = 'lms-driver-test'`;
      const shown = (await sql`SHOW application_name`)[0].application_name;
      const reported = sql.parameters.application_name;
      await sql`SET TIME ZONE 'Asia/Tokyo'`;
      const tz = sql.parameters.TimeZone;
      await sql`RESET application_name`;
      return { shown, reported, tz, afterReset: sql.parameters.application_name };
    });
    assert.deepEqual(out.proxy, out.direct);
    assert.deepEqual(out.proxy, {
      shown: "lms-driver-test",
      reported: "lms-driver-test",
      tz: "Asia/Tokyo",
      afterReset: "postgres.js",
    });
  });

  await t.step("postgres.js: 200 pipelined prepared queries on one connection", async () => {
    const out = await withSql(urls, async (sql) => {
      const results = await Promise.all(
        Array.from(
          { length: 200 },
          (_, i) =>
            i % 2 === 0
              ? sql`SELECT id, name FROM items WHERE id = ${i + 1}`
              : sql`SELECT count(*)::int AS n FROM items WHERE id <= ${i}`,
        ),
      );
      const failing = await Promise.allSettled([
        sql`SELECT ${1}::int AS ok`,
        sql`SELECT 1/${0}::int AS boom`,
        sql`SELECT ${3}::int AS ok`,
      ]);
      const pids = await Promise.all(
        Array.from({ length: 20 }, () => sql`SELECT pg_backend_pid() AS pid`),
      );
      const prepared = await sql`SELECT count(*)::int AS n FROM pg_prepared_statements`;
      return {
        results: results.map((r) => [...r]),
        failing: failing.map((r) =>
          r.status === "fulfilled" ? [...r.value] : (r.reason as { code: string }).code
        ),
        pids: new Set(pids.map((r) => r[0].pid)).size,
        prepared: prepared[0].n,
      };
    });
    assert.deepEqual(out.proxy, out.direct);
    assert.equal(out.proxy.results.length, 200);
    assert.deepEqual(out.proxy.results[198], [{ id: 199, name: "item 199" }]);
    assert.deepEqual(out.proxy.results[199], [{ n: 199 }]);
    assert.deepEqual(out.proxy.failing, [[{ ok: 1 }], "22012", [{ ok: 3 }]]);
    assert.equal(out.proxy.pids, 1);
    assert.ok(out.proxy.prepared >= 4, `prepared statements: ${out.proxy.prepared}`);
  });

  await t.step("postgres.js: cancelling a running query through the proxy", async () => {
    const out = await withSql(urls, async (sql) => {
      const started = performance.now();
      const running = sql`SELECT pg_sleep(20)`.execute();
      await new Promise((r) => setTimeout(r, 300));
      running.cancel();
      const code = await sqlstate(running);
      const elapsed = performance.now() - started;
      const after = await sql`SELECT 'still usable' AS s`;
      return { code, quick: elapsed < 10_000, after: [...after] };
    });
    assert.deepEqual(out.proxy, out.direct);
    assert.deepEqual(out.proxy, { code: "57014", quick: true, after: [{ s: "still usable" }] });
  });

  await t.step("postgres.js: sql.begin commits and rolls back", async () => {
    const out = await withSql(urls, async (sql, target) => {
      const id = target === "direct" ? 6001 : 6002;
      await sql.begin(async (tx) => {
        await tx`INSERT INTO items VALUES (${id}, 'committed', 1)`;
        await tx`UPDATE items SET price = price + 1 WHERE id = ${id}`;
      });
      const rolledBack = await sqlstate(sql.begin(async (tx) => {
        await tx`INSERT INTO items VALUES (${id + 100}, 'rolled back', 1)`;
        await tx`SELECT 1/0`;
      }));
      const rows = await sql`SELECT name, price FROM items WHERE id IN (${id}, ${id + 100})`;
      return { rolledBack, rows: [...rows] };
    });
    assert.deepEqual(out.proxy, out.direct);
    assert.deepEqual(out.proxy, {
      rolledBack: "22012",
      rows: [{ name: "committed", price: "2.00" }],
    });
  });

  await t.step("postgres.js: COPY FROM STDIN (writable) and TO STDOUT (readable)", async () => {
    const lines = Array.from(
      { length: 5000 },
      (_, i) => `${i}\t${i % 7 === 0 ? "\\N" : `row ${i} \\t tab ✓ ${"z".repeat(i % 300)}`}\n`,
    );
    const input = lines.join("");
    const out = await withSql(urls, async (sql, target) => {
      const writable = await sql`COPY ${sql(`copy_${target}`)} FROM STDIN`.writable();
      await pipeline(Readable.from(lines), writable);
      const readable = await sql`COPY (SELECT * FROM ${
        sql(`copy_${target}`)
      } ORDER BY id) TO STDOUT`
        .readable();
      const chunks: Buffer[] = [];
      await pipeline(
        readable,
        new Writable({
          write(chunk: Buffer, _enc, done) {
            chunks.push(chunk);
            done();
          },
        }),
      );
      const nulls = await sql`SELECT count(*)::int AS n FROM ${
        sql(`copy_${target}`)
      } WHERE v IS NULL`;
      return { text: Buffer.concat(chunks).toString("utf8"), nulls: nulls[0].n };
    });
    assert.deepEqual(out.proxy, out.direct);
    assert.equal(out.proxy.text, input);
    assert.equal(out.proxy.nulls, Math.ceil(5000 / 7));
  });

  await t.step("postgres.js: a 100k-row result equals the direct one", async () => {
    const out = await withSql(urls, async (sql) => {
      const rows = await sql`
        SELECT g AS id, md5(g::text) AS h, g * 0.5 AS half, repeat('x', g % 50) AS pad
        FROM generate_series(1, 100000) g`;
      const digest = await crypto.subtle.digest(
        "SHA-256",
        new TextEncoder().encode(JSON.stringify(rows)),
      );
      return {
        count: rows.length,
        last: rows[rows.length - 1],
        digest: Buffer.from(digest).toString("hex"),
      };
    });
    assert.deepEqual(out.proxy, out.direct);
    assert.equal(out.proxy.count, 100000);
    assert.deepEqual(out.proxy.last, {
      id: 100000,
      h: await cluster.psql("SELECT md5('100000')"),
      half: "50000.0",
      pad: "",
    });
  });
});
