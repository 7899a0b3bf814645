import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { LmsError } from "../../shared/errors.ts";
import { DEFAULT_SHADOW_RULES, isVolatile, parseShadowRules } from "../../proxy/shadow/rules.ts";

Deno.test("default volatile rules", () => {
  for (
    const sql of [
      "SELECT now()",
      "INSERT INTO t VALUES (CURRENT_TIMESTAMP)",
      "SELECT random() < 0.5",
      "INSERT INTO t (id) VALUES (gen_random_uuid())",
      "SELECT nextval('s')",
      "SELECT uuid_generate_v4()",
      "SELECT txid_current()",
      "SELECT current_time",
      "SELECT localtimestamp",
    ]
  ) assert(isVolatile(sql, DEFAULT_SHADOW_RULES), sql);
  for (const sql of ["SELECT known_time FROM t", "SELECT snow(1)", "SELECT 1"]) {
    assert(!isVolatile(sql, DEFAULT_SHADOW_RULES), sql);
  }
});

Deno.test("parseShadowRules adds comma-separated patterns to the defaults", () => {
  assertEquals(parseShadowRules(undefined), DEFAULT_SHADOW_RULES);
  assertEquals(parseShadowRules("  "), DEFAULT_SHADOW_RULES);
  const rules = parseShadowRules("\\bmy_clock\\(, audit_\\w{1\\,3}_id");
  assertEquals(rules.volatile.length, DEFAULT_SHADOW_RULES.volatile.length + 2);
  assert(isVolatile("SELECT MY_CLOCK()", rules));
  assert(isVolatile("SELECT audit_ab_id FROM t", rules));
  assert(isVolatile("SELECT now()", rules));
});

Deno.test("parseShadowRules names an invalid pattern", () => {
  throws(
    () => parseShadowRules("ok_fn\\(, broken(["),
    (e: unknown) =>
      e instanceof LmsError && e.code === "CONFIG_INVALID" && e.message.includes('"broken(["'),
  );
});
