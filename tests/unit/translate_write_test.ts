/** Translation of writes: multi-row INSERT, upserts, REPLACE, IGNORE, UPDATE/DELETE ... LIMIT. */

import assert from "node:assert/strict";
import { mysqlAffectedRows } from "../../proxy/translate/upsert.ts";
import { crdb, UnitCatalog, unitTranslator } from "../helpers/translate.ts";
import { createTranslator } from "../../proxy/translate/translate.ts";

Deno.test("INSERT: multi-row VALUES, INSERT ... SET, RETURNING the AUTO_INCREMENT column", async () => {
  const t = await (await unitTranslator()).translate(
    "INSERT INTO `users` (`email`, `name`) VALUES (?, ?), ('b@x', DEFAULT)",
  );
  assert.equal(
    t.sql,
    "INSERT INTO users (email, name) VALUES ($1, $2), ('b@x', DEFAULT) RETURNING id",
  );
  assert.equal(t.generatedKey, "id");
  assert.equal(t.kind, "insert");
  assert.equal(t.returnsRows, false);
  assert.equal(
    await crdb("INSERT INTO logs SET at = NOW(), line = 'x'"),
    "INSERT INTO logs (at, line) VALUES (localtimestamp(0), 'x')",
  );
  assert.equal(
    await crdb("INSERT INTO logs (line) SELECT name FROM users WHERE id > 2"),
    "INSERT INTO logs (line) SELECT name FROM users WHERE id > 2",
  );
});

Deno.test("INSERT IGNORE becomes ON CONFLICT DO NOTHING", async () => {
  assert.equal(
    await crdb("INSERT IGNORE INTO counters (name, hits) VALUES ('a', 1), ('b', 2)"),
    "INSERT INTO counters (name, hits) VALUES ('a', 1), ('b', 2) ON CONFLICT DO NOTHING",
  );
});

Deno.test("ON DUPLICATE KEY UPDATE: target from the catalog, VALUES(col) and row alias → excluded", async () => {
  const t = await (await unitTranslator()).translate(
    "INSERT INTO users (email, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), visits = visits + 1",
  );
  assert.equal(
    t.sql,
    "WITH _lms_existing AS (SELECT count(*) AS n FROM users WHERE (email) IN (($3))), " +
      "_lms_written AS (INSERT INTO users (email, name) VALUES ($1, $2) ON CONFLICT (email) " +
      "DO UPDATE SET name = excluded.name, visits = users.visits + 1 " +
      "WHERE (users.name, users.visits) IS DISTINCT FROM (excluded.name, users.visits + 1) " +
      "RETURNING 1) SELECT (SELECT count(*) FROM _lms_written) AS written, " +
      "(SELECT n FROM _lms_existing) AS existing",
  );
  assert.deepEqual(t.params.map((p) => p.kind === "client" && p.index), [0, 1, 0]);
  assert.equal(t.affectedRows, "upsert");
  assert.equal(t.proposedRows, 1);
  assert.match(
    await crdb(
      "INSERT INTO counters (name, hits) VALUES ('a', 1) AS new ON DUPLICATE KEY UPDATE hits = new.hits",
    ),
    /ON CONFLICT \(name\) DO UPDATE SET hits = excluded\.hits WHERE/,
  );
});

Deno.test("ON DUPLICATE KEY UPDATE prefers the primary key, falls back to a unique key, else a gap", async () => {
  assert.match(
    await crdb("INSERT INTO users (id, email) VALUES (1, 'a') ON DUPLICATE KEY UPDATE email = 'b'"),
    /ON CONFLICT \(id\)/,
  );
  await assert.rejects(
    () => crdb("INSERT INTO logs (line) VALUES ('x') ON DUPLICATE KEY UPDATE line = 'y'"),
    (err: Error & { construct?: string }) =>
      err.name === "TranslationGap" && /without a primary or unique key/.test(err.message),
  );
  await assert.rejects(
    () => crdb("INSERT INTO nowhere (a) VALUES (1) ON DUPLICATE KEY UPDATE a = 2"),
    /upsert into an unknown table/,
  );
});

Deno.test("REPLACE: every other column from the new row or its default", async () => {
  const t = await (await unitTranslator()).translate(
    "REPLACE INTO counters (name, hits) VALUES ('a', 1)",
  );
  assert.match(
    t.sql,
    /INSERT INTO counters \(name, hits\) VALUES \('a', 1\) ON CONFLICT \(name\) DO UPDATE SET hits = excluded\.hits, note = DEFAULT RETURNING 1/,
  );
  assert.equal(t.affectedRows, "replace");
});

Deno.test("MySQL's affected rows: 1 inserted, 2 changed, 0 unchanged (1 with CLIENT_FOUND_ROWS)", () => {
  // 3 proposed rows: 1 new, 2 existing of which 1 changed.
  assert.equal(mysqlAffectedRows("upsert", 3, 2, 2, false), 1 + 2 + 0);
  assert.equal(mysqlAffectedRows("upsert", 3, 2, 2, true), 1 + 2 + 1);
  assert.equal(mysqlAffectedRows("replace", 3, 3, 2, false), 1 + 2 * 2);
  assert.equal(mysqlAffectedRows("plain", 3, 3, 0, false), 3);
});

Deno.test("UPDATE/DELETE ... ORDER BY ... LIMIT: native on CockroachDB (fixture), ctid on PostgreSQL", async () => {
  assert.equal(
    await crdb("UPDATE t SET a = a + 1 WHERE b = ? ORDER BY id DESC LIMIT 2"),
    "UPDATE t SET a = a + 1 WHERE b = $1 ORDER BY id DESC NULLS LAST LIMIT 2",
  );
  assert.equal(
    await crdb("DELETE FROM t WHERE b = 1 ORDER BY id LIMIT 1"),
    "DELETE FROM t WHERE b = 1 ORDER BY id ASC NULLS FIRST LIMIT 1",
  );
  assert.equal(
    await crdb("DELETE FROM t WHERE b = 1 ORDER BY id LIMIT 1", { target: "postgresql" }),
    "DELETE FROM t WHERE t.ctid IN (SELECT t.ctid FROM t WHERE b = 1 ORDER BY id ASC NULLS FIRST LIMIT 1)",
  );
});

Deno.test("multi-table UPDATE and DELETE become UPDATE ... FROM and DELETE ... USING", async () => {
  assert.equal(
    await crdb("UPDATE posts p JOIN users u ON u.id = p.uid SET p.views = 0 WHERE u.active = 0"),
    "UPDATE posts AS p SET views = 0 FROM users AS u WHERE u.id = p.uid AND u.active = 0",
  );
  assert.equal(
    await crdb("DELETE pt FROM post_tags pt JOIN posts p ON p.id = pt.pid WHERE p.draft = 1"),
    "DELETE FROM post_tags AS pt USING posts AS p WHERE p.id = pt.pid AND p.draft = 1",
  );
});

Deno.test("UPDATE without CLIENT_FOUND_ROWS skips unchanged rows, as MySQL counts them", async () => {
  assert.equal(
    await crdb("UPDATE t SET a = 1, b = ? WHERE id = 2", { clientFoundRows: false }),
    "UPDATE t SET a = 1, b = $1 WHERE id = 2 AND (t.a, t.b) IS DISTINCT FROM (1, $1)",
  );
});

Deno.test("the catalog is asked once per table; DDL invalidates it and cached translations", async () => {
  const catalog = new UnitCatalog();
  const translator = await createTranslator({ catalog });
  const sql = "INSERT INTO users (email) VALUES (?)";
  await translator.translate(sql);
  await translator.translate(sql);
  await translator.translate("INSERT INTO users (email) VALUES ('x')");
  assert.equal(catalog.lookups, 1);
  assert.equal(translator.cache.hits, 1);
  const ddl = await translator.translate("ALTER TABLE users ADD COLUMN age INT");
  assert.deepEqual(ddl.invalidates, ["users"]);
  translator.invalidate(ddl.invalidates);
  await translator.translate(sql);
  assert.equal(catalog.lookups, 2);
});

Deno.test("a row of defaults, `() VALUES ()` (Knex, TypeORM), becomes DEFAULT VALUES", async () => {
  assert.equal(
    await crdb("insert into `users` () values ()"),
    "INSERT INTO users DEFAULT VALUES RETURNING id",
  );
});
