/** Translation of reads: identifiers, literals, parameters, operators, LIMIT, locking. */

import assert from "node:assert/strict";
import { crdb, unitTranslator } from "../helpers/translate.ts";

Deno.test("identifiers: backticks dropped, names lower-cased, quoted only when CockroachDB needs it", async () => {
  assert.equal(
    await crdb("SELECT `Id`, `user`, `order`.`Total` FROM `Orders` AS `order`"),
    'SELECT id AS "Id", "user", "order".total AS "Total" FROM orders AS "order"',
  );
  assert.equal(await crdb("SELECT `weird name` FROM t"), 'SELECT "weird name" FROM t');
  assert.equal(
    await crdb("SELECT a AS `UserName`, b AS total FROM t"),
    'SELECT a AS "UserName", b AS total FROM t',
  );
});

Deno.test("identifiers: the session database's qualifier is dropped, another database is a gap", async () => {
  assert.equal(
    await crdb("SELECT `app`.`t`.`a` FROM `app`.`t`", { database: "app" }),
    "SELECT t.a FROM t",
  );
  await assert.rejects(
    () => crdb("SELECT a FROM other.t", { database: "app" }),
    /another database: other/,
  );
});

Deno.test("string literals: MySQL escapes undone, printed standard-conforming", async () => {
  assert.equal(
    await crdb("SELECT 'it\\'s', 'a''b', \"dq\", 'back\\\\slash', 'tab\\tx', '100\\%'"),
    "SELECT 'it''s' AS \"it's\", 'a''b' AS \"a'b\", 'dq' AS dq, 'back\\slash' AS \"back\\slash\", " +
      "'tab\tx' AS \"tab\tx\", '100\\%' AS \"100\\%\"",
  );
  assert.equal(
    await crdb("SELECT TRUE, FALSE, NULL, 1.5e3"),
    'SELECT 1 AS "TRUE", 0 AS "FALSE", NULL AS "NULL", 1.5e3 AS "1.5e3"',
  );
  await assert.rejects(() => crdb("SELECT 'a\\0b'"), /NUL character/);
});

Deno.test("parameters: ? becomes $n in output order, mapped to the client's index", async () => {
  const t = await (await unitTranslator()).translate(
    "SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?, ?",
  );
  assert.equal(
    t.sql,
    "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4 OFFSET $5",
  );
  assert.equal(t.clientParamCount, 5);
  assert.deepEqual(t.params.map((p) => p.kind === "client" ? p.index : p.name), [0, 1, 2, 4, 3]);
});

Deno.test("LIMIT a, b becomes LIMIT b OFFSET a; LIMIT n OFFSET m stays", async () => {
  assert.equal(await crdb("SELECT a FROM t LIMIT 10, 20"), "SELECT a FROM t LIMIT 20 OFFSET 10");
  assert.equal(await crdb("SELECT a FROM t LIMIT 5 OFFSET 2"), "SELECT a FROM t LIMIT 5 OFFSET 2");
});

Deno.test("ORDER BY keeps MySQL's NULL ordering explicit", async () => {
  assert.equal(
    await crdb("SELECT a FROM t ORDER BY a, b DESC"),
    "SELECT a FROM t ORDER BY a ASC NULLS FIRST, b DESC NULLS LAST",
  );
});

Deno.test("operators: <=>, REGEXP, LIKE (case-insensitive by default), XOR, DIV, /", async () => {
  assert.equal(
    await crdb("SELECT a FROM t WHERE a <=> ? AND b REGEXP '^x' AND c NOT REGEXP 'y'"),
    "SELECT a FROM t WHERE (a IS NOT DISTINCT FROM $1) AND b ~* '^x' AND c !~* 'y'",
  );
  assert.equal(
    await crdb("SELECT a FROM t WHERE a LIKE 'x%' OR b NOT LIKE 'y!%' ESCAPE '!'"),
    "SELECT a FROM t WHERE a ILIKE 'x%' OR b NOT ILIKE 'y!%' ESCAPE '!'",
  );
  assert.equal(
    await crdb("SELECT a FROM t WHERE a LIKE 'x%' AND b REGEXP 'y'", {
      caseInsensitiveMatch: false,
    }),
    "SELECT a FROM t WHERE a LIKE 'x%' AND b ~ 'y'",
  );
  assert.equal(await crdb("SELECT a XOR b"), 'SELECT (((a) <> 0) <> ((b) <> 0))::INT AS "a XOR b"');
  assert.equal(
    await crdb("SELECT 7 DIV 2, 7 / 2"),
    'SELECT div(7, 2)::INT8 AS "7 DIV 2", 7::NUMERIC / 2 AS "7 / 2"',
  );
});

Deno.test("booleans: numbers in conditions compare with 0, comparisons as values become 1/0", async () => {
  assert.equal(
    await crdb("SELECT a > 1 AS big FROM t WHERE active AND NOT deleted"),
    "SELECT (a > 1)::INT AS big FROM t WHERE (active) <> 0 AND NOT (deleted) <> 0",
  );
});

Deno.test("locking reads: FOR UPDATE, LOCK IN SHARE MODE, NOWAIT, SKIP LOCKED", async () => {
  assert.equal(await crdb("SELECT a FROM t FOR UPDATE"), "SELECT a FROM t FOR UPDATE");
  assert.equal(
    await crdb("SELECT a FROM t WHERE b = 'LOCK IN SHARE MODE' LOCK IN SHARE MODE"),
    "SELECT a FROM t WHERE b = 'LOCK IN SHARE MODE' FOR SHARE",
  );
  assert.equal(
    await crdb("SELECT a FROM t FOR UPDATE SKIP LOCKED"),
    "SELECT a FROM t FOR UPDATE SKIP LOCKED",
  );
});

Deno.test("joins, subqueries, unions and FROM DUAL", async () => {
  assert.equal(
    await crdb(
      "SELECT u.id FROM users u LEFT JOIN posts p ON p.uid = u.id JOIN tags USING (id) WHERE EXISTS (SELECT 1 FROM x) UNION ALL SELECT 1 FROM DUAL",
    ),
    "SELECT u.id FROM users AS u LEFT JOIN posts AS p ON p.uid = u.id JOIN tags USING (id) WHERE EXISTS (SELECT 1 FROM x) UNION ALL SELECT 1",
  );
});

Deno.test("SQL_CALC_FOUND_ROWS adds a count column the executor strips; FOUND_ROWS() is a session value", async () => {
  const translator = await unitTranslator();
  const t = await translator.translate("SELECT SQL_CALC_FOUND_ROWS id FROM t LIMIT 2");
  assert.equal(t.sql, "SELECT id, count(*) OVER () AS _lms_found_rows FROM t LIMIT 2");
  assert.equal(t.foundRowsColumn, "_lms_found_rows");
  const f = await translator.translate("SELECT FOUND_ROWS(), LAST_INSERT_ID()");
  assert.equal(f.sql, 'SELECT $1::INT8 AS "FOUND_ROWS()", $2::INT8 AS "LAST_INSERT_ID()"');
  assert.deepEqual(f.params, [
    { kind: "session", name: "found_rows" },
    { kind: "session", name: "last_insert_id" },
  ]);
  assert.equal(f.clientParamCount, 0);
});

Deno.test("aliases: outermost keep their case (client labels), nested are matched case-insensitively", async () => {
  assert.equal(
    await crdb(
      "SELECT DISTINCT `distinctAlias`.`User_id` AS `ids_User_id` FROM (SELECT `User`.`id` AS `User_id` FROM `user` `User`) `distinctAlias` ORDER BY `User_id` ASC LIMIT 10",
    ),
    'SELECT DISTINCT distinctalias.user_id AS "ids_User_id" FROM (SELECT "user".id AS user_id ' +
      'FROM "user" AS "user") AS distinctalias ORDER BY user_id ASC NULLS FIRST LIMIT 10',
  );
  assert.equal(
    await crdb(
      "SELECT status, COUNT(*) AS `Total` FROM t GROUP BY status HAVING total > 1 ORDER BY Total DESC",
    ),
    'SELECT status, count(*) AS "Total" FROM t GROUP BY status HAVING "Total" > 1 ORDER BY "Total" DESC NULLS LAST',
  );
});

Deno.test("LIMIT 18446744073709551615 (MySQL's 'no limit', beyond INT8) is dropped", async () => {
  assert.equal(
    await crdb("select * from `users` limit 18446744073709551615 offset ?"),
    "SELECT * FROM users OFFSET $1",
  );
  assert.equal(
    await crdb("SELECT a FROM t LIMIT 5, 18446744073709551615"),
    "SELECT a FROM t OFFSET 5",
  );
});

Deno.test("labels: unaliased items of the outermost list are labelled as MySQL labels them", async () => {
  assert.equal(
    await crdb("SELECT COUNT(*), 1 + 2, 'it''s', NULL, -4, Name, t.Id, a AS b, ? FROM t"),
    'SELECT count(*) AS "COUNT(*)", 1 + 2 AS "1 + 2", \'it\'\'s\' AS "it\'s", NULL AS "NULL", ' +
      '-4 AS "-4", name AS "Name", t.id AS "Id", a AS b, $1 AS "?" FROM t',
  );
  assert.equal(
    await crdb("WITH c AS (SELECT 1) SELECT x, COUNT(*) FROM c UNION SELECT 1, 2"),
    'WITH c AS (SELECT 1) SELECT x, count(*) AS "COUNT(*)" FROM c UNION SELECT 1, 2',
  );
});
