/** 1/0 and TRUE/FALSE meeting a BOOL column (MySQL's TINYINT(1) on CockroachDB). */

import assert from "node:assert/strict";
import { referencedTables } from "../../proxy/translate/booleans.ts";
import { initParser, parseMysql } from "../../proxy/translate/parse.ts";
import { DEFAULT_PARSE_LIMITS } from "../../proxy/translate/parse.ts";
import { crdb } from "../helpers/translate.ts";

Deno.test("comparisons with a BOOL column take TRUE/FALSE, other numbers compare as INT", async () => {
  const cases: [string, string][] = [
    ["SELECT id FROM flags WHERE active = 1", "SELECT id FROM flags WHERE active = TRUE"],
    ["SELECT id FROM flags WHERE 0 = `active`", "SELECT id FROM flags WHERE FALSE = active"],
    ["SELECT id FROM flags WHERE active = TRUE", "SELECT id FROM flags WHERE active = TRUE"],
    ["SELECT id FROM flags WHERE active <> 0", "SELECT id FROM flags WHERE active <> FALSE"],
    ["SELECT id FROM flags WHERE active = 2", "SELECT id FROM flags WHERE active::INT = 2"],
    ["SELECT id FROM flags WHERE active = ?", "SELECT id FROM flags WHERE active = $1"],
    ["SELECT id FROM flags WHERE active", "SELECT id FROM flags WHERE active"],
    ["SELECT id FROM flags WHERE NOT active", "SELECT id FROM flags WHERE NOT active"],
    ["SELECT id FROM flags WHERE active IS TRUE", "SELECT id FROM flags WHERE active IS TRUE"],
    [
      "SELECT id FROM flags WHERE active IN (0, 1)",
      "SELECT id FROM flags WHERE active IN (FALSE, TRUE)",
    ],
    [
      "SELECT id FROM flags WHERE active IN (0, 2)",
      "SELECT id FROM flags WHERE active::INT IN (0, 2)",
    ],
    [
      "SELECT id FROM flags WHERE active <=> 1",
      "SELECT id FROM flags WHERE (active IS NOT DISTINCT FROM TRUE)",
    ],
    [
      "SELECT f.id FROM flags AS f WHERE f.active = 1",
      "SELECT f.id FROM flags AS f WHERE f.active = TRUE",
    ],
    ["SELECT active + 1 AS a FROM flags", "SELECT active::INT + 1 AS a FROM flags"],
    ["SELECT id, active FROM flags", "SELECT id, active FROM flags"],
    // Not BOOL in members: which table `active` means is unknown, so it is left alone.
    [
      "SELECT m.id FROM members m JOIN flags f ON f.id = m.id WHERE active = 1",
      "SELECT m.id FROM members AS m JOIN flags AS f ON f.id = m.id WHERE active = 1",
    ],
    ["SELECT id FROM members WHERE active = 1", "SELECT id FROM members WHERE active = 1"],
  ];
  for (const [mysql, expected] of cases) assert.equal(await crdb(mysql), expected, mysql);
});

Deno.test("values written to a BOOL column become BOOL", async () => {
  const cases: [string, string][] = [
    [
      "INSERT INTO flags (id, active) VALUES (1, 1), (2, FALSE), (3, ?)",
      "INSERT INTO flags (id, active) VALUES (1, TRUE), (2, FALSE), (3, $1)",
    ],
    ["INSERT INTO flags VALUES (1, 0, 1)", "INSERT INTO flags VALUES (1, FALSE, 1)"],
    [
      "INSERT INTO flags SET id = 1, active = 1 > 0",
      "INSERT INTO flags (id, active) VALUES (1, 1 > 0)",
    ],
    [
      "INSERT INTO flags (id, active) VALUES (1, DEFAULT)",
      "INSERT INTO flags (id, active) VALUES (1, DEFAULT)",
    ],
    ["UPDATE flags SET active = TRUE WHERE id = 2", "UPDATE flags SET active = TRUE WHERE id = 2"],
    ["UPDATE flags SET active = NOT active, n = 1", "UPDATE flags SET active = NOT active, n = 1"],
    [
      "UPDATE flags SET active = IF(n > 1, 1, 0)",
      "UPDATE flags SET active = (CASE WHEN n > 1 THEN 1 ELSE 0 END)::BOOL",
    ],
  ];
  for (const [mysql, expected] of cases) assert.equal(await crdb(mysql), expected, mysql);
  const upsert = await crdb(
    "INSERT INTO flags (id, active) VALUES (1, 1) ON DUPLICATE KEY UPDATE active = 0",
  );
  assert.match(upsert, /VALUES \(1, TRUE\) ON CONFLICT \(id\) DO UPDATE SET active = FALSE /);
});

Deno.test("functions, arithmetic and casts take a BOOL column as its integer 1/0", async () => {
  const cases: [string, string][] = [
    ["SELECT SUM(active) AS x FROM flags", "SELECT sum(((active)::INT)::NUMERIC) AS x FROM flags"],
    ["SELECT AVG(active) AS a FROM flags", "SELECT avg(((active)::INT)::NUMERIC) AS a FROM flags"],
    ["SELECT MAX(active) AS x FROM flags", "SELECT max((active)::INT) AS x FROM flags"],
    [
      "SELECT COALESCE(active, 5) AS x FROM flags",
      "SELECT coalesce((active)::INT, 5) AS x FROM flags",
    ],
    ["SELECT -active AS x FROM flags", "SELECT -(active)::INT AS x FROM flags"],
    ["SELECT active / 2 AS x FROM flags", "SELECT (active)::INT::NUMERIC / 2 AS x FROM flags"],
    ["SELECT active DIV 2 AS x FROM flags", "SELECT div((active)::INT, 2)::INT8 AS x FROM flags"],
    [
      "SELECT CAST(active AS CHAR) AS x FROM flags",
      "SELECT CAST((active)::INT AS TEXT) AS x FROM flags",
    ],
    [
      "SELECT CASE active WHEN 1 THEN 'y' END AS x FROM flags",
      "SELECT CASE (active)::INT WHEN 1 THEN 'y' END AS x FROM flags",
    ],
    [
      "SELECT id FROM flags WHERE active BETWEEN 1 AND 1",
      "SELECT id FROM flags WHERE (active)::INT BETWEEN 1 AND 1",
    ],
    // A condition stays a condition.
    [
      "SELECT IF(active, 1, 0) AS x FROM flags",
      "SELECT CASE WHEN active THEN 1 ELSE 0 END AS x FROM flags",
    ],
    // Not BOOL in members: left alone.
    ["SELECT SUM(active) AS x FROM members", "SELECT sum((active)::NUMERIC) AS x FROM members"],
  ];
  for (const [mysql, expected] of cases) assert.equal(await crdb(mysql), expected, mysql);
});

Deno.test("the tables a statement names, for their BOOL columns", async () => {
  await initParser();
  const tables = (sql: string) => referencedTables(parseMysql(sql, DEFAULT_PARSE_LIMITS)).sort();
  assert.deepEqual(tables("SELECT 1"), []);
  assert.deepEqual(
    tables("SELECT * FROM app.a JOIN b ON b.id = a.id WHERE a.x IN (SELECT y FROM `C`)"),
    ["a", "b", "c"],
  );
  assert.deepEqual(tables("INSERT INTO t (x) SELECT x FROM u"), ["t", "u"]);
  assert.deepEqual(tables("UPDATE t SET x = 1"), ["t"]);
  assert.deepEqual(tables("DELETE FROM t WHERE x = 1"), ["t"]);
});
