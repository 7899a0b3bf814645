/**
 * Bad input to the translator: constructs it cannot translate are a
 * TranslationGap naming them (the wire sends ERR 1235), text the parser
 * rejects is a syntax error (1064), and input that would make the parser run
 * away is refused by the size, token, depth and time guards. The translator
 * keeps serving afterwards.
 */

import assert from "node:assert/strict";
import {
  ER_NOT_SUPPORTED_YET,
  ER_PARSE_ERROR,
  SqlSyntaxError,
  TranslationGap,
  TranslationLimit,
} from "../../proxy/translate/errors.ts";
import { unitTranslator } from "../helpers/translate.ts";

Deno.test("a construct with no translation is a TranslationGap naming it, with errno 1235", async () => {
  const translator = await unitTranslator();
  const cases: [string, RegExp][] = [
    ["SELECT @x", /user and system variables/],
    ["SELECT SOUNDEX(name) FROM users", /the function SOUNDEX\(\)/],
    ["SELECT a INTO @x FROM t", /SELECT \.\.\. INTO/],
    ["SELECT JSON_EXTRACT(j, '$[0]') FROM t", /JSON_EXTRACT with a path/],
    ["SHOW TABLES", /the statement ShowTables/],
    ["SELECT 1; SELECT 2", /several statements in one query/],
    ["SELECT a FROM t WHERE b COLLATE utf8mb4_general_ci = 'x'", /case-insensitive collation/],
    ["SELECT ~a FROM t", /the ~ operator/],
    ["SELECT DATE_FORMAT(d, '%U') FROM t", /DATE_FORMAT specifier %U/],
  ];
  for (const [sql, construct] of cases) {
    await assert.rejects(() => translator.translate(sql), (err: unknown) => {
      assert.ok(err instanceof TranslationGap, `${sql}: ${err}`);
      assert.match(err.construct, construct, sql);
      assert.equal(err.mysqlErrno, ER_NOT_SUPPORTED_YET);
      assert.equal(err.code, "TRANSLATION_GAP");
      assert.match(err.message, /^translation to CockroachDB does not support /);
      return true;
    });
  }
  assert.equal((await translator.translate("SELECT 1")).sql, 'SELECT 1 AS "1"');
});

Deno.test("text the parser rejects is a syntax error with errno 1064 and a position", async () => {
  const translator = await unitTranslator();
  await assert.rejects(() => translator.translate("SELEC 1 FROM t"), (err: unknown) => {
    assert.ok(err instanceof SqlSyntaxError);
    assert.equal(err.mysqlErrno, ER_PARSE_ERROR);
    assert.match(err.message, /Line: 1, Column: 1/);
    return true;
  });
});

Deno.test("guards: too long, too many tokens, nested too deep, too slow", async () => {
  const translator = await unitTranslator({}, { maxStatementBytes: 4096, maxTokens: 500 });
  const limitOf = async (sql: string, t = translator) => {
    try {
      await t.translate(sql);
    } catch (err) {
      if (err instanceof TranslationLimit) return [err.limit, err.message];
      throw err;
    }
    return null;
  };
  const long = `SELECT '${"x".repeat(5000)}'`;
  assert.deepEqual(await limitOf(long), [
    "bytes",
    "statement of 5009 characters exceeds the translation limit of 4096",
  ]);
  assert.equal((await limitOf(`SELECT ${Array(400).fill("1").join(", ")}`))?.[0], "tokens");
  const deep = `SELECT ${"(".repeat(100)}1${")".repeat(100)}`;
  assert.deepEqual(await limitOf(deep), [
    "depth",
    "statement nests parentheses deeper than 64, the translation limit",
  ]);
  // Nesting without parentheses reaches the parser's own recursion limit.
  // (A chain of NOTs stops the parser at the same limit, reported as a syntax error.)
  await assert.rejects(() => translator.translate(`SELECT ${"NOT ".repeat(300)}1`), SqlSyntaxError);
  assert.equal((await limitOf(`SELECT ${"- ".repeat(300)}1`))?.[0], "depth");
  const slow = await unitTranslator({}, { maxParseMs: 1 });
  const big = `SELECT ${Array.from({ length: 3000 }, (_, i) => `c${i} + ${i}`).join(", ")} FROM t`;
  assert.equal((await limitOf(big, slow))?.[0], "time");
  assert.equal((await translator.translate("SELECT 2")).sql, 'SELECT 2 AS "2"');
});

Deno.test("a runaway statement at the default limits is refused, not parsed for long", async () => {
  const translator = await unitTranslator();
  const started = performance.now();
  await assert.rejects(
    () => translator.translate(`SELECT ${"(".repeat(200_000)}1${")".repeat(200_000)}`),
    TranslationLimit,
  );
  await assert.rejects(
    () => translator.translate("SELECT 'x" + "y".repeat(2 << 20)),
    TranslationLimit,
  );
  // Generous: the guard stops the lexer early; a parse of this input would not finish at all.
  assert.ok(performance.now() - started < 10_000);
});

Deno.test("refusals are cached: the same bad text is not parsed again", async () => {
  const translator = await unitTranslator();
  const sql = "SELECT SOUNDEX(a) FROM t";
  await assert.rejects(() => translator.translate(sql), TranslationGap);
  const hits = translator.cache.hits;
  await assert.rejects(() => translator.translate(sql), TranslationGap);
  assert.equal(translator.cache.hits, hits + 1);
});
