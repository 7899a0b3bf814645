import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { decodeTextValue, neutralMySqlColumn } from "../../proxy/mysql/result_values.ts";
import { canonicalDecimal, canonicalTimestamp } from "../../proxy/shadow/values.ts";

const text = (v: string) => new TextEncoder().encode(v);

Deno.test("MySQL DECIMAL and DATETIME text: the fast paths give the canonical forms", () => {
  const decimal = neutralMySqlColumn("p", 246, {
    collation: 63,
    length: 12,
    flags: 0,
    decimals: 2,
  });
  for (
    const v of ["10.50", "-0.00", "0.10", "123", "-3.10", "0", "100.00", "-120.000", "00012.30"]
  ) {
    assertEquals(decodeTextValue(decimal, text(v)), canonicalDecimal(v), v);
  }
  const datetime = neutralMySqlColumn("t", 12, {
    collation: 63,
    length: 26,
    flags: 0,
    decimals: 6,
  });
  for (
    const v of [
      "2024-01-02 03:04:05",
      "2024-01-02 03:04:05.000000",
      "2024-01-02 03:04:05.120000",
      "1999-12-31 23:59:59.5",
      "0000-00-00 00:00:00",
    ]
  ) {
    assertEquals(decodeTextValue(datetime, text(v)), canonicalTimestamp(v, false), v);
  }
});

Deno.test("MySQL column definitions: families, TINY(1), scale, collation", () => {
  const tiny = neutralMySqlColumn("b", 1, { collation: 63, length: 1, flags: 0, decimals: 0 });
  assertEquals(tiny.column, { name: "b", type: "int", nativeType: "TINY(1)" });
  const ci = neutralMySqlColumn("s", 253, { collation: 45, length: 200, flags: 0, decimals: 0 });
  assertEquals([ci.column.type, ci.column.caseInsensitive], ["text", true]);
  const bin = neutralMySqlColumn("s", 253, { collation: 46, length: 200, flags: 0, decimals: 0 });
  assertEquals([bin.column.type, bin.column.caseInsensitive], ["text", undefined]);
  const blob = neutralMySqlColumn("x", 252, {
    collation: 63,
    length: 65535,
    flags: 144,
    decimals: 0,
  });
  assertEquals(blob.column.type, "bytes");
  const dec = neutralMySqlColumn("d", 246, { collation: 63, length: 12, flags: 0, decimals: 2 });
  assertEquals([dec.column.type, dec.column.scale], ["decimal", 2]);
  const json = neutralMySqlColumn("j", 252, {
    collation: 45,
    length: 0,
    flags: 16,
    decimals: 0,
    json: true,
  });
  assertEquals(json.column.type, "json");
});
