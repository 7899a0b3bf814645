import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { conditionOf, sameCondition } from "../../proxy/shadow/error_classes.ts";
import { compareResults } from "../../proxy/shadow/compare.ts";
import type { NeutralError, NeutralResult } from "../../proxy/shadow/result.ts";
import { DEFAULT_SHADOW_RULES } from "../../proxy/shadow/rules.ts";

const mysql = (code: number, sqlstate: string): NeutralError => ({ code, sqlstate });
const pg = (sqlstate: string): NeutralError => ({ code: sqlstate, sqlstate });

function failed(error: NeutralError): NeutralResult {
  return { sql: "x", kind: "error", error, rows: [], rowCount: 0, digest: "", ordered: false };
}

Deno.test("neutral error conditions: MySQL numbers and SQLSTATEs name the same failure", () => {
  assertEquals(conditionOf(mysql(1062, "23000")), "unique_violation");
  assertEquals(conditionOf(pg("23505")), "unique_violation");
  assertEquals(sameCondition(mysql(1062, "23000"), pg("23505")), true);
  assertEquals(sameCondition(mysql(1146, "42S02"), pg("42P01")), true);
  assertEquals(sameCondition(mysql(1048, "23000"), pg("23505")), false, "NOT NULL is not UNIQUE");
  assertEquals(sameCondition(mysql(1213, "40001"), pg("40001")), true);
  assertEquals(sameCondition(mysql(9999, "HY000"), pg("23505")), undefined, "unknown: no verdict");
  assertEquals(conditionOf({ sqlstate: "42703" }), "undefined_column", "SQLSTATE alone");
});

Deno.test("compare: errors by condition first, then by SQLSTATE class", () => {
  const rules = DEFAULT_SHADOW_RULES;
  assertEquals(compareResults(failed(mysql(1062, "23000")), failed(pg("23505")), rules).kinds, []);
  assertEquals(
    compareResults(failed(mysql(1048, "23000")), failed(pg("23505")), rules).kinds,
    ["sqlstate"],
    "both known, different conditions, although the SQLSTATE classes agree",
  );
  assertEquals(
    compareResults(failed(mysql(1644, "23000")), failed(pg("23514")), rules).kinds,
    [],
    "unknown to the table: class 23 matches 23000",
  );
});
