import { fixedRateBasis, type FixedRateRow, judgeFixedRate } from "../bench/fixed_rate.ts";
import assert from "node:assert/strict";
import { LmsError } from "../../shared/errors.ts";
import { parseBenchArgs } from "../bench/args.ts";
import {
  type BenchMeasurement,
  type BenchTarget,
  formatGoals,
  formatShadowChecks,
  judgeGoals,
  shadowChecks,
  withRatios,
} from "../bench/report.ts";
import {
  addCounters,
  counterDelta,
  parseShadowCounters,
  type ShadowCounters,
} from "../bench/shadow_check.ts";
import type { PgbenchScript } from "../bench/pgbench.ts";

const EXPOSITION =
  `# HELP lms_shadow_statements_total Statements run on both databases and compared.
# TYPE lms_shadow_statements_total counter
lms_shadow_statements_total 1200
# TYPE lms_shadow_mismatches_total counter
lms_shadow_mismatches_total{kind="values"} 3
lms_shadow_mismatches_total{kind="columns"} 0
lms_shadow_transient_total{reason="volatile"} 2
lms_shadow_errors_total{database="target",sqlstate="40001"} 4
lms_shadow_errors_total{database="source",sqlstate="23505"} 1
lms_shadow_dropped_sessions_total 1
lms_shadow_duration_seconds_bucket{le="0.001",database="source"} 7
proxy_connections 3
`;

Deno.test("parseShadowCounters sums each shadow counter over its labels", () => {
  assert.deepEqual(parseShadowCounters(EXPOSITION), {
    statements: 1200,
    mismatches: { values: 3, columns: 0 },
    transient: 2,
    errors: 5,
    droppedSessions: 1,
  });
});

Deno.test("parseShadowCounters rejects a proxy without shadow metrics", () => {
  assert.throws(() => parseShadowCounters("proxy_connections 3\n"), LmsError);
});

Deno.test("counterDelta and addCounters work kind by kind", () => {
  const a: ShadowCounters = {
    statements: 10,
    mismatches: { values: 1 },
    transient: 0,
    errors: 2,
    droppedSessions: 0,
  };
  const b: ShadowCounters = {
    statements: 25,
    mismatches: { values: 1, columns: 2 },
    transient: 1,
    errors: 2,
    droppedSessions: 1,
  };
  const d = counterDelta(a, b);
  assert.deepEqual(d, {
    statements: 15,
    mismatches: { values: 0, columns: 2 },
    transient: 1,
    errors: 0,
    droppedSessions: 1,
  });
  assert.deepEqual(addCounters(d, d).mismatches, { values: 0, columns: 4 });
});

function measurement(
  target: BenchTarget,
  tps: number,
  script: PgbenchScript = "select",
  shadow: Partial<ShadowCounters> | null = null,
): BenchMeasurement {
  return {
    target,
    script,
    tps,
    tpsPerRound: [tps],
    latencyAvgMs: 1,
    p50Ms: 1,
    p99Ms: 2,
    transactions: 100,
    failed: 0,
    middleCpuUsPerTx: null,
    shadow: shadow === null ? null : {
      statements: 100,
      mismatches: {},
      transient: 0,
      errors: 0,
      droppedSessions: 0,
      ...shadow,
    },
  };
}

Deno.test("shadow rows get ratios to none and to the slower direct run", () => {
  const rows = withRatios([
    measurement("direct", 1000),
    measurement("direct-target", 800),
    measurement("lms", 600),
    measurement("lms-async", 540, "select", {}),
    measurement("lms-sync", 400, "select", {}),
    measurement("pgbouncer", 500),
  ]);
  const by = (t: BenchTarget) => rows.find((r) => r.target === t)!;
  assert.equal(by("lms-async").ratioToNone, 0.9);
  assert.equal(by("lms-sync").ratioToSlowerDirect, 0.5);
  assert.equal(by("lms").ratioToNone, null);
  assert.equal(by("direct-target").ratioToSlowerDirect, null);
  assert.equal(by("lms").ratioToPgBouncer, 1.2);

  const goals = judgeGoals(rows, []);
  assert.equal(goals.proxyVsPgBouncer, true);
  assert.equal(goals.asyncVsNone, true);
  assert.equal(goals.syncVsSlowerDirect, false);
  assert.equal(goals.shadowChecks, true);
  assert.equal(goals.idleMemory, null);
  assert.match(formatGoals(goals), /lms sync >= 0\.9x the slower direct on -S: MISSED/);
  assert.doesNotMatch(formatGoals(goals), /idle connection/);
});

Deno.test("shadow checks fail rows that did not really shadow", () => {
  const checks = shadowChecks([
    measurement("lms-async", 1, "select", {}),
    measurement("lms-async", 1, "tpcb", { statements: 700, mismatches: { values: 5 } }),
    measurement("lms-sync", 1, "select", { mismatches: { values: 1 } }),
    measurement("lms-sync", 1, "tpcb", { statements: 700, mismatches: { columns: 1 } }),
    measurement("lms-strict-sync", 1, "select", { droppedSessions: 1 }),
    measurement("lms-strict-sync", 1, "tpcb", { statements: 50 }),
    measurement("lms", 1),
  ]);
  assert.deepEqual(checks.map((c) => c.ok), [true, true, false, false, false, false]);
  assert.equal(checks[1].unexpectedMismatches, 0);
  assert.equal(checks[3].unexpectedMismatches, 1);
  const text = formatShadowChecks(checks);
  assert.match(text, /lms async tpcb: 700 statements compared \(7\.00\/tx\), 5 mismatches/);
  assert.match(text, /lms strict-sync tpcb: .*FAILED/);
  assert.equal(
    judgeGoals(withRatios([measurement("lms-sync", 1, "select", {})]), []).shadowChecks,
    true,
  );
});

Deno.test("--shadow is the default and --no-shadow leaves the shadow rows out", () => {
  assert.equal(parseBenchArgs([]).shadow, true);
  assert.equal(parseBenchArgs(["--shadow"]).shadow, true);
  assert.equal(parseBenchArgs(["--no-shadow"]).shadow, false);
  assert.throws(() => parseBenchArgs(["--shadow", "--no-shadow"]), LmsError);
});

Deno.test("fixed-rate goals: async near none, sync near none plus the slower database", () => {
  const row = (
    c: FixedRateRow["case"],
    target: BenchTarget,
    p50Ms: number,
    cpu: number | null,
  ) => ({
    case: c,
    target,
    rate: 100,
    tps: 100,
    p50Ms,
    p99Ms: p50Ms * 2,
    cpuUsPerTx: cpu,
    p50VsNone: target.startsWith("lms-") ? p50Ms / 1 : null,
    p99VsNone: target.startsWith("lms-") ? p50Ms / 1 : null,
    cpuVsNone: target.startsWith("lms-") && cpu !== null ? cpu / 50 : null,
  });
  const rows: FixedRateRow[] = [
    row("select", "direct", 0.5, null),
    row("select", "direct-target", 0.8, null),
    row("select", "lms", 1, 50),
    row("select", "lms-async", 1.05, 70),
    row("select", "lms-sync", 1.9, 75),
    row("select", "lms-strict-sync", 2.0, 90),
  ];
  const goals = judgeFixedRate(rows);
  assert.equal(goals.asyncLatency, true);
  assert.equal(goals.syncLatency, false, "2.0 ms > 1.15 × 1 ms + 0.8 ms");
  assert.equal(goals.shadowCpu, false, "90 / 50 = 1.8×");
  assert.equal(judgeFixedRate([]).asyncLatency, null);
});

Deno.test("the fixed rate is a share of the slowest fixed-rate row unless --rate-base direct", () => {
  const runs = [
    measurement("direct", 40_000),
    measurement("lms", 20_000),
    measurement("lms-async", 7_500),
    measurement("lms-strict-sync", 7_400),
    measurement("pgbouncer", 1_000),
    measurement("lms-sync", 100, "tpcb"),
  ];
  assert.deepEqual(fixedRateBasis(runs, "slowest", 0.2), {
    base: "slowest",
    target: "lms-strict-sync",
    tps: 7_400,
    share: 0.2,
    rate: 1_480,
  });
  assert.equal(fixedRateBasis(runs, "direct", 0.4)?.rate, 16_000);
  assert.equal(fixedRateBasis([measurement("direct", 5, "tpcb")], "slowest", 0.2), undefined);
  const args = parseBenchArgs([]);
  assert.equal(args.rateShare, 0.2);
  assert.equal(args.rateBase, "slowest");
  assert.equal(parseBenchArgs(["--rate-share", "8", "--rate-base", "direct"]).rateBase, "direct");
  assert.throws(() => parseBenchArgs(["--rate-base", "fastest"]), LmsError);
});
