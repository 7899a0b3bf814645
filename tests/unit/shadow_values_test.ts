import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  canonicalDecimal,
  canonicalTimestamp,
  displayValue,
  foldText,
  parseFloatText,
  valueKey,
  valuesEqual,
} from "../../proxy/shadow/values.ts";

Deno.test("type-tolerant equality across type families", () => {
  assert(valuesEqual(1n, canonicalDecimal("1.00")), "INT = DECIMAL of any scale");
  assert(valuesEqual(1n, 1), "INT = FLOAT");
  assert(valuesEqual(true, 1n) && valuesEqual(false, 0n), "BOOL = TINYINT(1)");
  assert(!valuesEqual(true, 2n));
  assert(valuesEqual(new Uint8Array([1, 255]), new Uint8Array([1, 255])));
  assert(!valuesEqual(new Uint8Array([1]), new Uint8Array([2])));
  assert(valuesEqual(NaN, NaN));
  assert(valuesEqual(-0, 0));
  assert(!valuesEqual(null, "") && !valuesEqual(null, 0n) && valuesEqual(null, null));
  assert(!valuesEqual("Alice", "alice"), "text is exact; collations are the comparison's business");
  assertEquals(valueKey(9223372036854775807n), "9223372036854775807");
});

Deno.test("DATETIME and TIMESTAMP renderings share one canonical form", () => {
  const datetime = canonicalTimestamp("2024-01-02 03:04:05.500000", false);
  assertEquals(datetime, "2024-01-02 03:04:05.5");
  assertEquals(canonicalTimestamp("2024-01-02T03:04:05.5", false), datetime);
  assertEquals(canonicalTimestamp("0000-00-00 00:00:00", false), "0000-00-00 00:00:00");
});

Deno.test("floats round to their type's digits", () => {
  assertEquals(parseFloatText("0.30000000000000004", false), 0.3);
  assertEquals(parseFloatText("1.10000002", true), 1.1);
  assertEquals(parseFloatText("-inf", false), -Infinity);
});

Deno.test("display and folding", () => {
  assertEquals(
    [
      displayValue(true),
      displayValue(5n),
      displayValue(new Uint8Array([0xab])),
      displayValue(null),
    ],
    ["true", "5", "\\xab", null],
  );
  assertEquals(foldText("ÉMILE  "), "emile");
  assertEquals(foldText("Straße"), "straße");
});
