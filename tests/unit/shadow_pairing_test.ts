import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Registry } from "prom-client";
import { initFingerprints } from "../../proxy/shadow/fingerprint.ts";
import { createShadowMetrics } from "../../proxy/shadow/metrics.ts";
import { type ShadowContext, ShadowPairing } from "../../proxy/shadow/pairing.ts";
import type { NeutralResult } from "../../proxy/shadow/result.ts";
import { DEFAULT_SHADOW_RULES } from "../../proxy/shadow/rules.ts";
import { ShadowStats } from "../../proxy/shadow/stats.ts";

await initFingerprints();

function context(mode: ShadowContext["mode"]): ShadowContext {
  return {
    mode,
    stats: new ShadowStats(),
    rules: DEFAULT_SHADOW_RULES,
    metrics: createShadowMetrics(new Registry()),
    maxQueueBytes: 1 << 20,
    rowLimit: 1000,
  };
}

function rows(sql: string, ...values: bigint[]): NeutralResult {
  return {
    sql,
    kind: "rows",
    command: "SELECT",
    columns: [{ name: "n", type: "int", nativeType: "int8" }],
    rows: values.map((v) => [v]),
    rowCount: values.length,
    digest: "",
    ordered: false,
  };
}

function failed(sql: string, sqlstate: string): NeutralResult {
  return {
    sql,
    kind: "error",
    rows: [],
    rowCount: 0,
    digest: "",
    ordered: false,
    error: { sqlstate },
  };
}

Deno.test("pairs requests in order, whichever side answers first, and records each statement", () => {
  const ctx = context("async");
  const p = new ShadowPairing<string>("target", ctx);
  p.shadowRequest([rows("SELECT 1", 1n)], undefined);
  p.sourceOfTruthRequest([rows("SELECT 1", 1n)]);
  p.sourceOfTruthRequest([rows("SELECT 2", 2n), rows("SELECT 3", 3n)]);
  p.shadowRequest([rows("SELECT 2", 2n), rows("SELECT 3", 4n)], undefined);
  const report = ctx.stats.report("p", "async", null);
  assertEquals([report.statements, report.mismatches, report.byKind], [3, 1, { values: 1 }]);
  assertEquals(p.takeVerdict(), undefined, "async hands out no verdicts");
});

Deno.test("the shadow is the source side when the target is the source of truth", () => {
  const ctx = context("sync");
  const p = new ShadowPairing<string>("source", ctx);
  p.sourceOfTruthRequest([rows("SELECT n FROM t", 1n, 2n)]);
  p.shadowRequest([rows("SELECT n FROM t", 1n)], undefined);
  const [sample] = ctx.stats.report("p", "sync", null).samples;
  assertEquals([sample.kind, sample.source.rowCount, sample.target.rowCount], ["row_count", 1, 2]);
  assertEquals(p.takeVerdict(), {});
});

Deno.test("strict-sync: the shadow's failure comes back only where the source of truth succeeded", () => {
  const p = new ShadowPairing<string>("target", context("strict-sync"));
  p.sourceOfTruthRequest([rows("SELECT 1", 1n)]);
  p.shadowRequest([failed("SELECT 1", "42P01")], "shadow error bytes");
  p.sourceOfTruthRequest([failed("SELECT x", "42703")]);
  p.shadowRequest([failed("SELECT x", "42703")], "another");
  assertEquals(p.takeVerdict(), { shadowError: "shadow error bytes" });
  assertEquals(p.takeVerdict(), {});
  assertEquals(p.takeVerdict(), undefined);
});

Deno.test("the proxy's own request on the source of truth pairs with nothing", () => {
  const ctx = context("sync");
  const p = new ShadowPairing<string>("target", ctx);
  p.skipNextSourceOfTruthRequest();
  assertEquals(p.sourceOfTruthRequest([failed("SELECT 1/0", "22012")]), false);
  assertEquals(p.sourceOfTruthRequest([rows("SELECT 1", 1n)]), true);
  p.shadowRequest([rows("SELECT 1", 1n)], undefined);
  assertEquals(ctx.stats.report("p", "sync", null).mismatches, 0);
  assertEquals(p.takeVerdict(), {});
});
