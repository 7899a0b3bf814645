/**
 * npm:mysql2 through the MySQL proxy, each result compared with the same
 * work done on a direct connection: text and binary (prepared) protocol over
 * every column type, multiple statements and multiple result sets, values
 * above the 16 MiB packet size in both directions, a 100k-row streamed
 * result, and LOAD DATA LOCAL INFILE.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type mysql from "mysql2/promise";
import { startMySqlFixture } from "../helpers/mysql_fixture.ts";

type Target = "direct" | "proxy";
const TARGETS: Target[] = ["direct", "proxy"];

const TYPES_TABLE = `CREATE TABLE app.types (
  id INT PRIMARY KEY,
  ti TINYINT, si SMALLINT UNSIGNED, mi MEDIUMINT, i INT, bi BIGINT, bu BIGINT UNSIGNED,
  de DECIMAL(30,10), f FLOAT, d DOUBLE, b BIT(12),
  dt DATE, dtm DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(6), y YEAR,
  c CHAR(5), vc VARCHAR(100), bn BINARY(4), vb VARBINARY(50),
  tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB, tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT,
  e ENUM('red','green'), st SET('a','b','c'), j JSON, g POINT, u VARCHAR(20) CHARACTER SET utf8mb4
)`;

const TYPES_ROWS = [
  `INSERT INTO app.types VALUES (1, -128, 65535, -8388608, -2147483648, -9223372036854775808,
    18446744073709551615, 12345678901234567890.0123456789, 3.5, -2.25e300, b'101010101010',
    '2024-02-29', '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07.999', '-838:59:59.000000', 2155,
    'ab', 'hello world', x'00ff00ff', x'deadbeef', x'01', x'0203', x'0405', x'0607', 'tiny', 'text',
    'medium', 'long', 'green', 'a,c', '{"k": [1, 2, {"n": null}]}', ST_GeomFromText('POINT(1 2)'),
    'Grüße 🎉')`,
  `INSERT INTO app.types (id) VALUES (2)`,
  `INSERT INTO app.types VALUES (3, 127, 0, 8388607, 2147483647, 9223372036854775807, 0, -0.0000000001,
    -0, 0, b'0', '1000-01-01', '1000-01-01 00:00:00', '1970-01-01 00:00:01', '00:00:00', 1901, '', '',
    x'00000000', x'', x'', x'', x'', x'', '', '', '', '', 'red', '', '[]', ST_GeomFromText('POINT(0 0)'), '')`,
];

async function both<T>(
  connect: (t: Target) => Promise<mysql.Connection>,
  f: (c: mysql.Connection) => Promise<T>,
): Promise<Record<Target, T>> {
  const out = {} as Record<Target, T>;
  for (const target of TARGETS) {
    const c = await connect(target);
    try {
      out[target] = await f(c);
    } finally {
      await c.end();
    }
  }
  return out;
}

function sha(b: Uint8Array | string): string {
  return createHash("sha256").update(b).digest("hex");
}

Deno.test("mysql2 through the proxy returns what MariaDB returns directly", async (t) => {
  await using fx = await startMySqlFixture({ initSql: [TYPES_TABLE, ...TYPES_ROWS] });
  const connect = (target: Target, extra: mysql.ConnectionOptions = {}) =>
    fx.connect(target, {
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      multipleStatements: true,
      ...extra,
    });

  await t.step("text protocol, every column type", async () => {
    const r = await both(connect, async (c) => {
      const [rows, fields] = await c.query("SELECT * FROM types ORDER BY id");
      return {
        rows,
        fields: (fields as mysql.FieldPacket[]).map((f) => [f.name, f.type, f.flags]),
      };
    });
    assert.equal((r.proxy.rows as unknown[]).length, 3);
    assert.deepEqual(r.proxy, r.direct);
  });

  await t.step("prepared statements (binary rows), every column type and parameter", async () => {
    const r = await both(connect, async (c) => {
      const [rows] = await c.execute("SELECT * FROM types WHERE id >= ? ORDER BY id", [1]);
      const [params] = await c.execute(
        "SELECT ? AS i, ? AS s, ? AS d, ? AS b, ? AS n, ? AS big",
        [42, "text ✓", 1.5, Buffer.from([0, 1, 2, 255]), null, "9007199254740993"],
      );
      const [upd] = await c.execute("UPDATE types SET vc = ? WHERE id = ?", ["changed", 3]);
      await c.execute("UPDATE types SET vc = '' WHERE id = 3");
      return { rows, params, affected: (upd as mysql.ResultSetHeader).affectedRows };
    });
    assert.equal((r.proxy.rows as unknown[]).length, 3);
    assert.equal(r.proxy.affected, 1);
    assert.deepEqual(r.proxy, r.direct);
  });

  await t.step("multiple statements and result sets, errors in the middle", async () => {
    const r = await both(connect, async (c) => {
      const [sets] = await c.query(
        "SELECT 1 AS a; DO 0; SELECT id FROM types ORDER BY id; SET @x := 5; SELECT @x AS x",
      );
      const err = await c.query("SELECT 1; SELECT * FROM missing_table; SELECT 2").then(
        () => "no error",
        (e: { errno: number; sqlState: string }) => `${e.errno} ${e.sqlState}`,
      );
      const [after] = await c.query("SELECT 'still fine' AS ok");
      return { sets, err, after };
    });
    assert.equal(r.proxy.err, "1146 42S02");
    assert.deepEqual(r.proxy, r.direct);
  });

  await t.step("a 20 MiB value in both directions (packets split at 16 MiB)", async () => {
    const big = Buffer.alloc(20 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    await fx.db.sql("CREATE TABLE app.big (id INT PRIMARY KEY, b LONGBLOB)");
    const r = await both(connect, async (c) => {
      const id = c.config.port === fx.db.port ? 1 : 2;
      await c.execute("INSERT INTO big VALUES (?, ?)", [id, big]);
      const [rows] = await c.query(`SELECT b, LENGTH(b) AS n FROM big WHERE id = ${id}`);
      const row = (rows as { b: Buffer; n: number }[])[0];
      return [sha(row.b), row.n];
    });
    assert.deepEqual(r.proxy, [sha(big), big.length]);
    assert.deepEqual(r.proxy, r.direct);
  });

  await t.step("a streamed result of 100k rows", async () => {
    const r = await both(connect, async (c) => {
      let count = 0, sum = 0, last = "";
      // The promise wrapper has no streaming; its callback connection does.
      const raw = (c as unknown as { connection: { query(sql: string): { stream(): Readable } } })
        .connection;
      const stream = raw.query("SELECT seq, CONCAT('row-', seq) AS s FROM seq_1_to_100000")
        .stream();
      for await (const row of stream as AsyncIterable<{ seq: number; s: string }>) {
        count++;
        sum += Number(row.seq);
        last = row.s;
      }
      return { count, sum, last };
    });
    assert.deepEqual(r.proxy, { count: 100000, sum: 5000050000, last: "row-100000" });
    assert.deepEqual(r.proxy, r.direct);
  });

  await t.step("LOAD DATA LOCAL INFILE", async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `${i}\tvalue ${i}\n`).join("");
    const r = await both(connect, async (c) => {
      await c.query(
        "DROP TABLE IF EXISTS loaded; CREATE TABLE loaded (id INT PRIMARY KEY, v TEXT)",
      );
      const [res] = await c.query({
        sql: "LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE loaded",
        infileStreamFactory: () => Readable.from([Buffer.from(lines)]),
      });
      const [rows] = await c.query("SELECT COUNT(*) AS n, SUM(id) AS s, MAX(v) AS m FROM loaded");
      return { affected: (res as mysql.ResultSetHeader).affectedRows, rows };
    });
    assert.equal(r.proxy.affected, 5000);
    assert.deepEqual(r.proxy, r.direct);
  });

  await t.step("ping, change of database, reset and change user keep working", async () => {
    const r = await both(connect, async (c) => {
      await c.ping();
      await c.query("CREATE DATABASE IF NOT EXISTS other");
      await c.changeUser({ database: "other" });
      const [db1] = await c.query("SELECT DATABASE() AS d");
      await c.query("USE app");
      const [db2] = await c.query("SELECT DATABASE() AS d");
      await c.reset();
      const [afterReset] = await c.query("SELECT DATABASE() AS d, @x AS x");
      return { db1, db2, afterReset };
    });
    assert.deepEqual(r.proxy.db1, [{ d: "other" }]);
    assert.deepEqual(r.proxy, r.direct);
  });
});
