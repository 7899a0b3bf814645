/**
 * The in-proxy information_schema engine (proxy/translate/answer/query_engine.ts)
 * on the tables that need no catalog (ENGINES, COLLATIONS, CHARACTER_SETS,
 * SCHEMATA): joins, grouping, ordering, limits, UNION and derived tables,
 * and its refusals. Catalog-backed tables are compared with MariaDB in
 * tests/integration/answer_catalog_test.ts.
 */

import assert from "node:assert/strict";
import { answerStatement } from "../../proxy/translate/answer/mod.ts";
import type { Answer } from "../../proxy/translate/answer/types.ts";
import { initParser } from "../../proxy/translate/parse.ts";
import { answerContext } from "../helpers/answer_context.ts";

await initParser();

async function ask(sql: string): Promise<Answer> {
  const a = await answerStatement(sql, answerContext());
  assert.ok(a, `not answered: ${sql}`);
  return a;
}

async function rows(sql: string): Promise<(string | null)[][]> {
  const a = await ask(sql);
  assert.ok(a.kind === "rows", JSON.stringify(a));
  return a.rows;
}

Deno.test("filters, joins, grouping, ordering and limits", async () => {
  assert.deepEqual(
    await rows(
      "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE character_set_name = " +
        "'UTF8MB4' AND collation_name LIKE '%unicode%' ORDER BY COLLATION_NAME DESC LIMIT 1",
    ),
    [["utf8mb4_unicode_ci"]],
  );
  assert.deepEqual(
    await rows(
      "SELECT cs.CHARACTER_SET_NAME, COUNT(*) AS n, MAX(co.ID) FROM information_schema.CHARACTER_SETS cs " +
        "JOIN information_schema.COLLATIONS co ON co.CHARACTER_SET_NAME = cs.CHARACTER_SET_NAME " +
        "GROUP BY cs.CHARACTER_SET_NAME HAVING COUNT(*) > 1 ORDER BY 2 DESC, 1",
    ),
    [["utf8mb4", "6", "309"], ["utf8mb3", "3", "192"], ["ascii", "2", "65"]],
  );
  assert.deepEqual(
    await rows(
      "SELECT s.SCHEMA_NAME, e.ENGINE FROM information_schema.SCHEMATA s LEFT JOIN " +
        "information_schema.ENGINES e ON e.ENGINE = 'MyISAM' ORDER BY s.SCHEMA_NAME LIMIT 1, 5",
    ),
    [["information_schema", null]],
  );
  assert.deepEqual(await rows("SELECT COUNT(*) FROM information_schema.ROUTINES"), [["0"]]);
});

Deno.test("UNION and derived tables, as TypeORM writes them", async () => {
  assert.deepEqual(
    await rows(
      "SELECT `x`.`SCHEMA_NAME` FROM (SELECT * FROM `INFORMATION_SCHEMA`.`SCHEMATA` WHERE " +
        "`SCHEMA_NAME` = 'app' UNION SELECT * FROM `INFORMATION_SCHEMA`.`SCHEMATA` WHERE " +
        "`SCHEMA_NAME` = 'APP') `x`",
    ),
    [["app"]],
  );
  assert.deepEqual(
    await rows(
      "SELECT ENGINE FROM information_schema.ENGINES UNION ALL SELECT ENGINE FROM " +
        "information_schema.ENGINES",
    ),
    [["InnoDB"], ["InnoDB"]],
  );
});

Deno.test("constructs the engine lacks are refused by name", async () => {
  const refused = async (sql: string, code: number, text: RegExp) => {
    const a = await ask(sql);
    assert.ok(a.kind === "error", JSON.stringify(a));
    assert.equal(a.code, code, sql);
    assert.match(a.message, text);
  };
  await refused("SELECT * FROM information_schema.PROCESSLIST", 1109, /PROCESSLIST/);
  await refused(
    "SELECT * FROM information_schema.TABLES t JOIN users u ON u.name = t.TABLE_NAME",
    1235,
    /joined with other tables/,
  );
  await refused(
    "SELECT * FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (SELECT 'app')",
    1235,
    /InSubquery/,
  );
  await refused(
    "SELECT ENGINE FROM information_schema.ENGINES UNION SELECT ENGINE, SUPPORT FROM " +
      "information_schema.ENGINES",
    1222,
    /different number of columns/,
  );
});

Deno.test("labels: MySQL 8 prints information_schema's upper-case names, MariaDB as written", async () => {
  const sql = "SELECT engine, e.support AS s FROM information_schema.ENGINES e";
  const mysql8 = await answerStatement(sql, answerContext());
  assert.ok(mysql8?.kind === "rows");
  assert.deepEqual(mysql8.columns.map((c) => c.name), ["ENGINE", "s"]);
  const maria = await answerStatement(sql, answerContext({ serverVersion: "10.11.6-MariaDB" }));
  assert.ok(maria?.kind === "rows");
  assert.deepEqual(maria.columns.map((c) => c.name), ["engine", "s"]);
});

Deno.test("SELECT * keeps its columns when no row matches", async () => {
  const a = await ask("SELECT * FROM information_schema.ENGINES WHERE ENGINE = 'MyISAM'");
  assert.ok(a.kind === "rows");
  assert.deepEqual(a.columns.map((c) => c.name), [
    "ENGINE",
    "SUPPORT",
    "COMMENT",
    "TRANSACTIONS",
    "XA",
    "SAVEPOINTS",
  ]);
  assert.deepEqual(a.rows, []);
});
