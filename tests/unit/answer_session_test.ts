/**
 * Statements the proxy answers from session state alone
 * (proxy/translate/answer/): SET, SELECT @@x and session functions, SHOW
 * VARIABLES, SHOW WARNINGS, character sets, named locks, and the fast path
 * that leaves every other statement to the translator without a parse.
 * The context's catalog query fails, so none of these may touch a database.
 */

import assert from "node:assert/strict";
import { answerStatement, prepareAnswer } from "../../proxy/translate/answer/mod.ts";
import type { Answer } from "../../proxy/translate/answer/types.ts";
import { initParser } from "../../proxy/translate/parse.ts";
import { answerContext } from "../helpers/answer_context.ts";

await initParser();

function rows(a: Answer | null): (string | null)[][] {
  assert.ok(a && a.kind === "rows", JSON.stringify(a));
  return a.rows;
}

function error(a: Answer | null): [number, string] {
  assert.ok(a && a.kind === "error", JSON.stringify(a));
  return [a.code, a.message];
}

Deno.test("statements that are not the proxy's are left to the translator", async () => {
  const ctx = answerContext();
  for (
    const sql of [
      "SELECT * FROM users WHERE id = ?",
      "SELECT NOW()",
      "select 1",
      "INSERT INTO t VALUES (1)",
      "UPDATE users SET name = 'x'",
      "START TRANSACTION",
      "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
      "SET TRANSACTION READ ONLY",
      "EXPLAIN SELECT * FROM users",
      "SHOW PROCESSLIST",
      "",
      "-- only a comment",
    ]
  ) {
    assert.equal(await answerStatement(sql, ctx), null, sql);
  }
  assert.deepEqual(ctx.queries, []);
});

Deno.test("Connector/J's connect query reads MySQL's defaults with its labels and types", async () => {
  const a = await answerStatement(
    "/* mysql-connector-j-8.0.33 */SELECT  @@session.auto_increment_increment AS " +
      "auto_increment_increment, @@character_set_client AS character_set_client, @@license AS " +
      "license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS " +
      "max_allowed_packet, @@sql_mode AS sql_mode, @@time_zone AS time_zone, " +
      "@@transaction_isolation AS transaction_isolation, @@performance_schema",
    answerContext(),
  );
  assert.ok(a?.kind === "rows");
  assert.deepEqual(a.columns.map((c) => [c.name, c.type]), [
    ["auto_increment_increment", 8],
    ["character_set_client", 253],
    ["license", 253],
    ["lower_case_table_names", 8],
    ["max_allowed_packet", 8],
    ["sql_mode", 253],
    ["time_zone", 253],
    ["transaction_isolation", 253],
    ["@@performance_schema", 8],
  ]);
  assert.deepEqual(a.rows, [[
    "1",
    "utf8mb4",
    "GPL",
    "1",
    "67108864",
    "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
    "SYSTEM",
    "REPEATABLE-READ",
    "0",
  ]]);
});

Deno.test("session functions come from the context, labelled as MySQL labels them", async () => {
  const a = await answerStatement(
    "SELECT DATABASE(), SCHEMA() AS s, VERSION() AS `version`, CONNECTION_ID(), USER(), CURRENT_USER",
    answerContext(),
  );
  assert.ok(a?.kind === "rows");
  assert.deepEqual(a.columns.map((c) => c.name), [
    "DATABASE()",
    "s",
    "version",
    "CONNECTION_ID()",
    "USER()",
    "CURRENT_USER",
  ]);
  assert.deepEqual(a.rows, [["app", "app", "8.0.36-lms", "42", "app@10.0.0.9", "app@%"]]);
  assert.deepEqual(
    rows(await answerStatement("SELECT DATABASE()", answerContext({ database: null }))),
    [[
      null,
    ]],
  );
});

Deno.test("Laravel's combined SET keeps every value and maps the time zone", async () => {
  const ctx = answerContext();
  const a = await answerStatement(
    "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci', time_zone='+00:00', SESSION " +
      "sql_mode='ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES';",
    ctx,
  );
  assert.deepEqual(a, { kind: "ok", affectedRows: 0, run: ["SET TIME ZONE 'UTC'"] });
  assert.deepEqual(
    rows(
      await answerStatement(
        "SELECT @@character_set_client, @@character_set_results, @@collation_connection, " +
          "@@time_zone, @@session.sql_mode",
        ctx,
      ),
    ),
    [[
      "utf8mb4",
      "utf8mb4",
      "utf8mb4_unicode_ci",
      "+00:00",
      "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES",
    ]],
  );
});

Deno.test("Rails' SET evaluates expressions over the current sql_mode", async () => {
  const ctx = answerContext();
  await answerStatement("SET sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE'", ctx);
  const a = await answerStatement(
    "SET  @@SESSION.sql_mode = CONCAT(REPLACE(REPLACE(REPLACE(@@sql_mode, 'STRICT_TRANS_TABLES', " +
      "''), 'STRICT_ALL_TABLES', ''), 'TRADITIONAL', ''), ',NO_AUTO_VALUE_ON_ZERO'),  " +
      "@@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483",
    ctx,
  );
  assert.equal(a?.kind, "ok");
  assert.equal(ctx.variables.get("sql_mode"), "NO_ZERO_DATE,NO_AUTO_VALUE_ON_ZERO");
  assert.equal(ctx.variables.get("wait_timeout"), 2147483);
  await answerStatement("SET @@SESSION.wait_timeout = DEFAULT", ctx);
  assert.deepEqual(rows(await answerStatement("SELECT @@wait_timeout", ctx)), [["28800"]]);
});

Deno.test("SET is validated as MySQL validates it, and a failed SET changes nothing", async () => {
  const ctx = answerContext();
  const cases: [string, number][] = [
    ["SET foo = 1", 1193],
    ["SET autocommit = 'maybe'", 1231],
    ["SET wait_timeout = 'long'", 1232],
    ["SET sql_mode = 'NOT_A_MODE'", 1231],
    ["SET transaction_isolation = 'SNAPSHOT'", 1231],
    ["SET time_zone = 'Mars/Olympus'", 1298],
    ["SET time_zone = '+15:00'", 1298],
    ["SET version = '9'", 1238],
    ["SET max_connections = 10", 1229],
    ["SET GLOBAL wait_timeout = 10", 1235],
    ["SET NAMES latin1", 1115],
    ["SET NAMES utf8mb4 COLLATE 'latin1_swedish_ci'", 1273],
    ["SET NAMES utf8mb4 COLLATE 'utf8mb3_general_ci'", 1253],
    ["SET sql_select_limit = 10", 1235],
    ["SET autocommit", 1064],
  ];
  for (const [sql, code] of cases) {
    assert.equal(error(await answerStatement(sql, ctx))[0], code, sql);
  }
  assert.equal(error(await answerStatement("SET wait_timeout = 5, nope = 1", ctx))[0], 1193);
  assert.equal(ctx.variables.has("wait_timeout"), false);
  assert.equal(
    error(await answerStatement("SET foo = 1", ctx))[1],
    "Unknown system variable 'foo'",
  );
});

Deno.test("variables with a CockroachDB equivalent return the statement to run", async () => {
  const run = async (sql: string) => {
    const a = await answerStatement(sql, answerContext());
    assert.ok(a?.kind === "ok", JSON.stringify(a));
    return a.run ?? [];
  };
  assert.deepEqual(await run("SET time_zone = '+05:00'"), ["SET TIME ZONE 'Etc/GMT-5'"]);
  assert.deepEqual(await run("SET time_zone = '-08:00'"), ["SET TIME ZONE 'Etc/GMT+8'"]);
  assert.deepEqual(await run("SET time_zone = '+05:30'"), [
    "SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE",
  ]);
  assert.deepEqual(await run("SET time_zone = 'SYSTEM'"), ["SET TIME ZONE 'UTC'"]);
  assert.deepEqual(await run("SET time_zone = 'Europe/Paris'"), ["SET TIME ZONE 'Europe/Paris'"]);
  assert.deepEqual(await run("SET SQL_AUTO_IS_NULL = 0, TX_ISOLATION = 'read-committed'"), [
    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
  ]);
  assert.deepEqual(await run("SET SESSION transaction_read_only = ON"), [
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
  ]);
  assert.deepEqual(await run("SET max_execution_time = 1500"), [
    "SET statement_timeout = '1500ms'",
  ]);
  assert.deepEqual(await run("SET innodb_lock_wait_timeout = 5"), ["SET lock_timeout = '5s'"]);
  assert.deepEqual(await run("SET sql_mode = TRADITIONAL"), []);
});

Deno.test("SET autocommit = 1 inside a transaction commits it, as in MySQL", async () => {
  const ctx = answerContext();
  assert.deepEqual(await answerStatement("SET autocommit = 0", ctx), {
    kind: "ok",
    affectedRows: 0,
  });
  ctx.inTransaction = true;
  assert.deepEqual(await answerStatement("SET autocommit = ON", ctx), {
    kind: "ok",
    affectedRows: 0,
    endsTransaction: true,
  });
  assert.deepEqual(rows(await answerStatement("SELECT @@autocommit", ctx)), [["1"]]);
});

Deno.test("user variables are kept and read back", async () => {
  const ctx = answerContext();
  await answerStatement("SET @a := 5, @`B` = 'x'", ctx);
  assert.deepEqual(rows(await answerStatement("SELECT @a + 1 AS n, @b, @missing", ctx)), [[
    "6",
    "x",
    null,
  ]]);
  const params = answerContext({ params: ["k"] });
  await answerStatement("SET @p = ?", params);
  assert.equal(params.userVariables.get("p"), "k");
});

Deno.test("SHOW VARIABLES filters with LIKE and WHERE, printing booleans as ON/OFF", async () => {
  const ctx = answerContext();
  await answerStatement("SET autocommit = 0", ctx);
  assert.deepEqual(rows(await answerStatement("SHOW VARIABLES LIKE 'auto%'", ctx)), [
    ["auto_increment_increment", "1"],
    ["auto_increment_offset", "1"],
    ["autocommit", "OFF"],
  ]);
  assert.deepEqual(
    rows(
      await answerStatement(
        "SHOW SESSION VARIABLES WHERE Variable_name IN ('autocommit', 'SQL_MODE') OR value = 'GPL'",
        ctx,
      ),
    ),
    [["autocommit", "OFF"], ["license", "GPL"], [
      "sql_mode",
      rows(
        await answerStatement("SELECT @@sql_mode", ctx),
      )[0][0],
    ]],
  );
  assert.deepEqual(rows(await answerStatement("SHOW GLOBAL VARIABLES LIKE 'autocommit'", ctx)), [[
    "autocommit",
    "ON",
  ]]);
  assert.equal(error(await answerStatement("SHOW VARIABLES LIKE", ctx))[0], 1064);
});

Deno.test("SHOW WARNINGS, SHOW ERRORS and their counts read the previous statement's", async () => {
  const ctx = answerContext({
    warnings: [
      { level: "Warning", code: 1265, message: "Data truncated for column 'a' at row 1" },
      { level: "Note", code: 1051, message: "Unknown table 'app.t'" },
      { level: "Error", code: 1146, message: "Table 'app.x' doesn't exist" },
    ],
  });
  assert.deepEqual(rows(await answerStatement("SHOW WARNINGS LIMIT 1, 1", ctx)), [[
    "Note",
    "1051",
    "Unknown table 'app.t'",
  ]]);
  assert.deepEqual(rows(await answerStatement("SHOW ERRORS", ctx)), [[
    "Error",
    "1146",
    "Table 'app.x' doesn't exist",
  ]]);
  assert.deepEqual(rows(await answerStatement("SHOW COUNT(*) WARNINGS", ctx)), [["3"]]);
  assert.deepEqual(rows(await answerStatement("SHOW COUNT(*) ERRORS", ctx)), [["1"]]);
  assert.deepEqual(rows(await answerStatement("SELECT @@warning_count, @@error_count", ctx)), [[
    "3",
    "1",
  ]]);
});

Deno.test("named locks are refused naming the function and the reason", async () => {
  for (
    const sql of [
      "SELECT GET_LOCK('migrations', 0)",
      "SELECT RELEASE_LOCK('migrations')",
      "SELECT IS_FREE_LOCK('x'), IS_USED_LOCK('x')",
      "SELECT RELEASE_ALL_LOCKS()",
    ]
  ) {
    const [code, message] = error(await answerStatement(sql, answerContext()));
    assert.equal(code, 1235, sql);
    assert.match(message, /_LOCK/);
    assert.match(message, /no advisory locks/);
  }
});

Deno.test("server tables: engines, character sets, collations", async () => {
  const ctx = answerContext();
  assert.deepEqual(rows(await answerStatement("SHOW ENGINES", ctx)).map((r) => r[0]), ["InnoDB"]);
  assert.deepEqual(rows(await answerStatement("SHOW CHARACTER SET LIKE 'utf8%'", ctx)), [
    ["utf8mb3", "UTF-8 Unicode", "utf8mb3_general_ci", "3"],
    ["utf8mb4", "UTF-8 Unicode", "utf8mb4_general_ci", "4"],
  ]);
  assert.deepEqual(
    rows(
      await answerStatement("SHOW COLLATION WHERE Charset = 'utf8mb4' AND `Default` = 'Yes'", ctx),
    ),
    [["utf8mb4_general_ci", "utf8mb4", "45", "Yes", "Yes", "1", "PAD SPACE"]],
  );
  assert.deepEqual(rows(await answerStatement("SHOW DATABASES", ctx)), [["app"], [
    "information_schema",
  ]]);
  assert.deepEqual(rows(await answerStatement("SHOW SCHEMAS LIKE 'info%'", ctx)), [[
    "information_schema",
  ]]);
  assert.equal(error(await answerStatement("SHOW CREATE DATABASE other", ctx))[0], 1049);
  assert.equal(
    error(await answerStatement("SHOW TABLES", answerContext({ database: null })))[0],
    1046,
  );
});

Deno.test("COM_STMT_PREPARE learns whether the proxy answers and how many ? there are", () => {
  assert.deepEqual(
    prepareAnswer("select * from information_schema.tables where table_name = ? and x = ?"),
    { mayAnswer: true, paramCount: 2 },
  );
  assert.deepEqual(prepareAnswer("SELECT @@version"), { mayAnswer: true, paramCount: 0 });
  assert.deepEqual(prepareAnswer("SET @x = ?"), { mayAnswer: true, paramCount: 1 });
  assert.deepEqual(prepareAnswer("DESCRIBE users"), { mayAnswer: true, paramCount: 0 });
  assert.deepEqual(prepareAnswer("EXPLAIN SELECT * FROM t WHERE a = ?"), {
    mayAnswer: false,
    paramCount: 1,
  });
  assert.deepEqual(prepareAnswer("SELECT * FROM users WHERE id = ? AND s = '?'"), {
    mayAnswer: false,
    paramCount: 1,
  });
});

Deno.test("SHOW TRIGGERS / PROCEDURE STATUS / EVENTS: none exist on the target", async () => {
  for (
    const sql of [
      "SHOW TRIGGERS",
      "SHOW TRIGGERS FROM app LIKE 'u%'",
      "SHOW PROCEDURE STATUS WHERE Db = 'app'",
      "SHOW FUNCTION STATUS",
      "SHOW EVENTS",
    ]
  ) {
    assert.deepEqual(rows(await answerStatement(sql, answerContext())), [], sql);
  }
});

Deno.test("the mysql client's connect query: LIMIT keeps or drops the one row", async () => {
  assert.deepEqual(
    rows(await answerStatement("select @@version_comment limit 1", answerContext())),
    [[
      "LMS proxy, served by CockroachDB",
    ]],
  );
  assert.deepEqual(rows(await answerStatement("SELECT @@version LIMIT 0", answerContext())), []);
  assert.deepEqual(rows(await answerStatement("SELECT @@version LIMIT 1, 1", answerContext())), []);
  assert.deepEqual(
    rows(await answerStatement("SELECT @@version FROM DUAL ORDER BY 1 LIMIT 5", answerContext())),
    [["8.0.36-lms"]],
  );
});
