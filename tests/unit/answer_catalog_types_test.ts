/**
 * Reading CockroachDB's catalog back in MySQL's terms
 * (proxy/translate/answer/column_types.ts, schema_catalog.ts) and the
 * evaluator's MySQL comparison rules (eval.ts). The PostgreSQL renderings
 * are checked against a real server in tests/integration/answer_catalog_test.ts;
 * the CockroachDB renderings here are fixtures of what CockroachDB's
 * `pg_get_expr` and `pg_attribute` return (`:::` casts, `unique_rowid()`,
 * the hidden `rowid` column).
 */

import assert from "node:assert/strict";
import {
  mariaDbDefault,
  mysqlDefault,
  mysqlType,
} from "../../proxy/translate/answer/column_types.ts";
import { compare, likeMatch } from "../../proxy/translate/answer/eval.ts";
import { readCatalog } from "../../proxy/translate/answer/schema_catalog.ts";
import {
  parseOffset,
  timeZoneStatement,
  validTimeZone,
} from "../../proxy/translate/answer/time_zone.ts";
import type { CatalogColumn } from "../../proxy/translate/answer/schema_catalog.ts";
import { answerContext } from "../helpers/answer_context.ts";

const column = (
  pgType: string,
  defaultExpr: string | null = null,
  more: Partial<CatalogColumn> = {},
) => ({
  name: "c",
  ordinal: 1,
  pgType,
  notNull: false,
  defaultExpr,
  generated: false,
  comment: null,
  ...more,
});

Deno.test("CockroachDB column types read back as MySQL types", () => {
  const cases: [string, string, string][] = [
    ["bigint", "bigint(20)", "bigint"],
    ["integer", "int(11)", "int"],
    ["smallint", "smallint(6)", "smallint"],
    ["boolean", "tinyint(1)", "tinyint"],
    ["numeric(10,2)", "decimal(10,2)", "decimal"],
    ["double precision", "double", "double"],
    ["real", "float", "float"],
    ["character varying(191)", "varchar(191)", "varchar"],
    ["character varying", "text", "text"],
    ["text", "text", "text"],
    ["bytea", "blob", "blob"],
    ["timestamp(0) without time zone", "datetime", "datetime"],
    ["timestamp(3) without time zone", "datetime(3)", "datetime"],
    ["timestamp(0) with time zone", "timestamp", "timestamp"],
    ["time(0) without time zone", "time", "time"],
    ["date", "date", "date"],
    ["jsonb", "json", "json"],
    ["uuid", "char(36)", "char"],
  ];
  for (const [pg, columnType, dataType] of cases) {
    const t = mysqlType(column(pg));
    assert.deepEqual([t.columnType, t.dataType], [columnType, dataType], pg);
  }
  assert.equal(mysqlType(column("character varying(10)")).text, true);
  assert.equal(mysqlType(column("bigint")).text, false);
});

Deno.test("defaults lose PostgreSQL's and CockroachDB's casts (CockroachDB fixture: ':::')", () => {
  assert.equal(mysqlDefault(column("text", "'anon'::character varying")), "anon");
  assert.equal(mysqlDefault(column("text", "'anon':::STRING")), "anon");
  assert.equal(mysqlDefault(column("text", "'it''s'::text")), "it's");
  assert.equal(mysqlDefault(column("bigint", "0:::INT8")), "0");
  assert.equal(mysqlDefault(column("numeric(10,2)", "0.00")), "0.00");
  assert.equal(mysqlDefault(column("bigint", "(-1)")), "-1");
  assert.equal(mysqlDefault(column("timestamp", "now():::TIMESTAMP")), "current_timestamp()");
  assert.equal(mysqlDefault(column("timestamp", "CURRENT_TIMESTAMP")), "current_timestamp()");
  assert.equal(mysqlDefault(column("timestamp", "LOCALTIMESTAMP(0)")), "current_timestamp()");
  assert.equal(mysqlDefault(column("boolean", "true")), "1");
  assert.equal(mysqlDefault(column("text", "NULL::character varying")), null);
  assert.equal(mysqlDefault(column("bigint", "unique_rowid()", { generated: true })), null);
  assert.equal(mariaDbDefault(column("text", "'anon':::STRING")), "'anon'");
  assert.equal(mariaDbDefault(column("text")), "NULL");
  assert.equal(mariaDbDefault(column("text", null, { notNull: true })), null);
  assert.equal(mariaDbDefault(column("bigint", "0")), "0");
});

Deno.test("the catalog skips CockroachDB's hidden rowid and reads unique_rowid() keys (fixture)", async () => {
  const fixture: Record<string, Record<string, string | null>[]> = {
    tables: [{ name: "logs", kind: "r", comment: null }],
    columns: [
      {
        table_name: "logs",
        name: "line",
        ordinal: "1",
        type: "text",
        not_null: "f",
        default_expr: null,
        identity: "f",
        comment: null,
      },
      {
        table_name: "logs",
        name: "rowid",
        ordinal: "2",
        type: "bigint",
        not_null: "t",
        default_expr: "unique_rowid()",
        identity: "f",
        comment: null,
      },
      {
        table_name: "logs",
        name: "id",
        ordinal: "3",
        type: "bigint",
        not_null: "t",
        default_expr: "unique_rowid()",
        identity: "f",
        comment: null,
      },
    ],
    indexes: [{
      table_name: "logs",
      name: "logs_pkey",
      is_primary: "t",
      is_unique: "t",
      columns: "rowid",
      options: "0",
    }],
  };
  const ctx = answerContext({
    query: (sql) => {
      const key = sql.includes("pg_attribute a\n") && sql.includes("format_type")
        ? "columns"
        : sql.includes("pg_index i")
        ? "indexes"
        : sql.includes("pg_constraint")
        ? "fks"
        : "tables";
      return Promise.resolve(fixture[key] ?? []);
    },
  });
  const [logs] = await readCatalog(ctx, "logs");
  assert.deepEqual(logs.columns.map((c) => [c.name, c.generated]), [["line", false], ["id", true]]);
  assert.deepEqual(logs.indexes, [], "an index on the hidden rowid only is not MySQL's");
});

Deno.test("MySQL offsets become fixed zones, never POSIX strings with inverted signs", () => {
  assert.equal(parseOffset("+05:30"), 330);
  assert.equal(parseOffset("-8:00"), -480);
  assert.equal(parseOffset("UTC"), null);
  assert.equal(parseOffset("+05:61"), null);
  assert.equal(validTimeZone("+14:00"), true);
  assert.equal(validTimeZone("+14:01"), false);
  assert.equal(validTimeZone("-13:59"), true);
  assert.equal(validTimeZone("America/New_York"), true);
  assert.equal(validTimeZone("EST5EDT_nonsense"), false);
  assert.equal(timeZoneStatement("+00:00"), "SET TIME ZONE 'UTC'");
  assert.equal(timeZoneStatement("+03:00"), "SET TIME ZONE 'Etc/GMT-3'");
  assert.equal(timeZoneStatement("-03:30"), "SET TIME ZONE INTERVAL '-03:30' HOUR TO MINUTE");
  assert.equal(timeZoneStatement("Asia/O'Hara"), "SET TIME ZONE 'Asia/O''Hara'");
});

Deno.test("comparisons follow MySQL's case-insensitive collation and number conversion", () => {
  assert.equal(compare("BASE TABLE", "base table"), 0);
  assert.equal(compare("abc ", "abc"), 0, "PAD SPACE");
  assert.equal(compare("10", 9), 1);
  assert.equal(compare("a", "b"), -1);
  assert.equal(likeMatch("Users", "u%"), true);
  assert.equal(likeMatch("user_id", "user\\_id"), true);
  assert.equal(likeMatch("userXid", "user\\_id"), false);
  assert.equal(likeMatch("a.b", "a_b"), true);
  assert.equal(likeMatch("a(b", "a(%"), true);
  assert.equal(likeMatch("x", "x!%", "!"), false);
});

Deno.test("defaults take their column's precision and scale, as MySQL requires and prints them", () => {
  assert.equal(
    mysqlDefault(column("timestamp(3) without time zone", "CURRENT_TIMESTAMP")),
    "current_timestamp(3)",
  );
  assert.equal(mysqlDefault(column("numeric(10,2)", "0")), "0.00");
  assert.equal(mysqlDefault(column("numeric(10,2)", "'1.5'::numeric")), "1.50");
  assert.equal(mariaDbDefault(column("character varying(5)", "'123'::character varying")), "'123'");
});
