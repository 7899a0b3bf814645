/** Translation of MySQL functions, DATE_FORMAT patterns, casts and intervals. */

import assert from "node:assert/strict";
import { convertDateFormat } from "../../proxy/translate/date_format.ts";
import { aliasName } from "../../proxy/translate/identifiers.ts";
import { crdb } from "../helpers/translate.ts";

const cases: [string, string][] = [
  ["NOW()", "localtimestamp(0)"],
  ["NOW(6)", "localtimestamp(6)"],
  ["CURRENT_TIMESTAMP", "localtimestamp(0)"],
  ["CURDATE()", "current_date"],
  ["IFNULL(a, 'x')", "COALESCE(a, 'x')"],
  ["IF(a > 1, 'y', 'n')", "CASE WHEN a > 1 THEN 'y' ELSE 'n' END"],
  ["IF(flag, 1, 0)", "CASE WHEN (flag) <> 0 THEN 1 ELSE 0 END"],
  ["CONCAT(a, '-', b)", "((a)::TEXT || ('-')::TEXT || (b)::TEXT)"],
  ["CONCAT_WS(',', a, b)", "concat_ws(',', (a)::TEXT, (b)::TEXT)"],
  ["GROUP_CONCAT(a)", "string_agg((a)::TEXT, ',')"],
  [
    "GROUP_CONCAT(a ORDER BY b DESC SEPARATOR ';')",
    "string_agg((a)::TEXT, ';' ORDER BY b DESC NULLS LAST)",
  ],
  ["GROUP_CONCAT(DISTINCT a ORDER BY a)", "string_agg(DISTINCT a, ',' ORDER BY a ASC NULLS FIRST)"],
  ["DATE_FORMAT(d, '%Y-%m-%d %H:%i:%s')", "to_char((d)::TIMESTAMP, 'YYYY-MM-DD HH24:MI:SS')"],
  ["UNIX_TIMESTAMP()", "floor(extract(epoch FROM now()))::INT8"],
  ["UNIX_TIMESTAMP(d)", "floor(extract(epoch FROM (d)::TIMESTAMPTZ))::INT8"],
  ["FROM_UNIXTIME(n)", "to_timestamp(n)::TIMESTAMP"],
  ["FROM_UNIXTIME(n, '%Y')", "to_char(to_timestamp(n)::TIMESTAMP, 'YYYY')"],
  ["DATE_ADD(d, INTERVAL 1 DAY)", "((d)::TIMESTAMP + INTERVAL '1 day')"],
  ["DATE_SUB(d, INTERVAL ? HOUR)", "((d)::TIMESTAMP - ($1) * INTERVAL '1 hour')"],
  ["d + INTERVAL 1 QUARTER", "(d)::TIMESTAMP + ((1) * 3) * INTERVAL '1 month'"],
  ["UUID()", "gen_random_uuid()::TEXT"],
  ["LENGTH(a)", "octet_length(a)"],
  ["COUNT(*)", "count(*)"],
  ["COUNT(DISTINCT a)", "count(DISTINCT a)"],
  ["SUM(a)", "sum((a)::NUMERIC)"],
  ["CAST(a AS SIGNED)", "CAST(a AS INT8)"],
  ["CAST(a AS UNSIGNED)", "CAST(a AS INT8)"],
  ["CAST(a AS CHAR)", "CAST(a AS TEXT)"],
  ["CAST(a AS CHAR(10))", "CAST(a AS VARCHAR(10))"],
  ["CAST(a AS DECIMAL(10,2))", "CAST(a AS DECIMAL(10, 2))"],
  ["CAST(a AS DATETIME)", "CAST(a AS TIMESTAMP)"],
  ["CAST(a AS JSON)", "CAST(a AS JSONB)"],
  ["CONVERT(a, SIGNED)", "CAST(a AS INT8)"],
  ["JSON_EXTRACT(j, '$.a.b')", "((j)::JSONB #> '{a,b}')"],
  [
    "ROW_NUMBER() OVER (PARTITION BY a ORDER BY b)",
    "row_number() OVER (PARTITION BY a ORDER BY b ASC NULLS FIRST)",
  ],
];

for (const [mysql, cockroach] of cases) {
  Deno.test(`function: ${mysql}`, async () => {
    // The alias is MySQL's label for the item: its source text (labels.ts).
    assert.equal(await crdb(`SELECT ${mysql}`), `SELECT ${cockroach} AS ${aliasName(mysql)}`);
  });
}

Deno.test("DATE_FORMAT: every specifier, literal text quoted, %% kept, unknown ones refused", () => {
  assert.equal(
    convertDateFormat("%Y %y %m %c %d %e %H %k %h %I %l %i %s %S %f %p %M %b %W %a %j %T %r %D"),
    "YYYY YY MM FMMM DD FMDD HH24 FMHH24 HH12 HH12 FMHH12 MI SS SS US AM FMMonth Mon FMDay Dy DDD " +
      "HH24:MI:SS HH12:MI:SS AM FMDDth",
  );
  assert.equal(convertDateFormat("Day %d of %Y, 100%%"), '"Day "DD" of "YYYY", 100%"');
  assert.throws(() => convertDateFormat("%U"), /DATE_FORMAT specifier %U/);
});

Deno.test("functions CockroachDB lacks are gaps that name them", async () => {
  await assert.rejects(() => crdb("SELECT SOUNDEX(a)"), /the function SOUNDEX\(\)/);
  await assert.rejects(() => crdb("SELECT LAST_INSERT_ID(5)"), /LAST_INSERT_ID\(expr\)/);
  await assert.rejects(() => crdb("SELECT DATE_FORMAT(d, f)"), /format that is not a literal/);
  await assert.rejects(
    () => crdb("SELECT VALUES(a)"),
    /VALUES\(\) outside ON DUPLICATE KEY UPDATE/,
  );
});
