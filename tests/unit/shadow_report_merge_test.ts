import assert from "node:assert/strict";
import { ShadowReportResponseSchema } from "../../shared/api.ts";
import type { MismatchSample, ProxyShadowReport } from "../../shared/shadow.ts";
import {
  describeDuration,
  mergeShadowReports,
  REQUIRED_SHADOWING_MS,
} from "../../orchestrator/shadow_report.ts";
import { ago, proxyShadowReportFixture } from "../helpers/api_fixtures.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Half past an hour, so bucket edges and windows are easy to reason about.
const NOW = Date.UTC(2026, 10, 25, 12, 30);
const HOUR_START = Date.UTC(2026, 10, 25, 12);

function sample(overrides: Partial<MismatchSample>): MismatchSample {
  return {
    fingerprint: "SELECT * FROM t WHERE id = $1",
    kind: "values",
    count: 1,
    firstSeen: ago(HOUR, NOW),
    lastSeen: ago(HOUR, NOW),
    source: { ok: true, commandTag: "SELECT 1", rowCount: 1 },
    target: { ok: true, commandTag: "SELECT 1", rowCount: 1 },
    ...overrides,
  };
}

/** A proxy in `mode` since `sinceMs` ago with one bucket per entry of `hourly` ([hoursAgo, stmts, mism, transient]). */
function report(
  proxyId: string,
  overrides: Partial<ProxyShadowReport>,
  hourly: [number, number, number, number][] = [],
): ProxyShadowReport {
  return proxyShadowReportFixture({
    proxyId,
    mode: "sync",
    shadowingSince: ago(8 * DAY, NOW),
    hourly: hourly.map(([h, statements, mismatches, transient]) => ({
      start: HOUR_START - h * HOUR,
      statements,
      mismatches,
      transient,
    })),
    samples: [],
    ...overrides,
  }, NOW);
}

const merge = (reports: ProxyShadowReport[], unreachableProxies: string[] = [], limit = 100) =>
  ShadowReportResponseSchema.parse(
    mergeShadowReports(reports, { now: NOW, limit, unreachableProxies }),
  );

Deno.test("merge: totals, by kind and proxies", () => {
  const res = merge([
    report("p2", {
      statements: 10,
      mismatches: 2,
      transient: 1,
      droppedSessions: 1,
      byKind: { values: 2 },
    }),
    report("p1", {
      statements: 5,
      mismatches: 3,
      transient: 0,
      droppedSessions: 0,
      byKind: { values: 1, columns: 2 },
    }),
  ], ["p3"]);
  assert.deepEqual(res.totals, { statements: 15, mismatches: 5, transient: 1, droppedSessions: 1 });
  assert.deepEqual(res.byKind, { values: 3, columns: 2 });
  assert.deepEqual(res.proxies.map((p) => p.proxyId), ["p1", "p2"]);
  assert.deepEqual(res.unreachableProxies, ["p3"]);
  assert.equal(res.generatedAt, new Date(NOW).toISOString());
});

Deno.test("merge: windows sum buckets per start across proxies, rounded out to whole hours", () => {
  const res = merge([
    report("p1", {}, [[0, 100, 1, 2], [1, 100, 0, 0], [5, 100, 4, 0], [30, 1000, 0, 0]]),
    report("p2", {}, [[0, 300, 1, 0], [24, 50, 1, 1], [7 * 24, 10, 10, 0], [200, 99, 99, 99]]),
  ]);
  // now is 12:30: the last hour overlaps the 11:00 and 12:00 buckets.
  assert.deepEqual(res.windows.lastHour, {
    statements: 500,
    mismatches: 2,
    transient: 2,
    mismatchRate: 2 / 500,
    transientRate: 2 / 500,
  });
  // The last day reaches back to 12:30 yesterday, which is inside the bucket 24 h ago.
  assert.equal(res.windows.lastDay.statements, 650);
  assert.equal(res.windows.lastDay.mismatches, 7);
  assert.equal(res.windows.lastDay.transient, 3);
  // Seven days: the bucket exactly 7 × 24 h ago overlaps; 200 h ago does not.
  assert.equal(res.windows.lastSevenDays.statements, 1660);
  assert.equal(res.windows.lastSevenDays.mismatches, 17);
  assert.equal(res.windows.lastSevenDays.mismatchRate, 17 / 1660);
});

Deno.test("merge: rates are null when nothing was compared", () => {
  const res = merge([report("p1", {}, [])]);
  assert.equal(res.windows.lastHour.mismatchRate, null);
  assert.equal(res.windows.lastSevenDays.transientRate, null);
});

Deno.test("merge: samples group by fingerprint and kind, worst first, limited", () => {
  const q1 = "SELECT * FROM t WHERE id = $1";
  const q2 = "UPDATE t SET x = $1";
  const res = merge([
    report("p1", {
      samples: [
        sample({
          fingerprint: q1,
          count: 3,
          firstSeen: ago(5 * HOUR, NOW),
          lastSeen: ago(HOUR, NOW),
          target: { ok: true, rowCount: 1, rows: [["old"]] },
        }),
        sample({ fingerprint: q2, kind: "row_count", count: 4, lastSeen: ago(HOUR, NOW) }),
        sample({ fingerprint: q1, kind: "columns", count: 1, lastSeen: ago(2 * HOUR, NOW) }),
      ],
    }),
    report("p2", {
      samples: [
        sample({
          fingerprint: q1,
          count: 2,
          firstSeen: ago(3 * HOUR, NOW),
          lastSeen: ago(60_000, NOW),
          target: { ok: true, rowCount: 1, rows: [["new"]] },
        }),
        sample({ fingerprint: q2, kind: "columns", count: 1, lastSeen: ago(60_000, NOW) }),
      ],
    }),
  ]);
  assert.equal(res.totalSamples, 4);
  assert.deepEqual(
    res.samples.map((s) => [s.fingerprint, s.kind, s.count, s.proxies]),
    [
      [q1, "values", 5, ["p1", "p2"]],
      [q2, "row_count", 4, ["p1"]],
      // Equal counts: the most recent first.
      [q2, "columns", 1, ["p2"]],
      [q1, "columns", 1, ["p1"]],
    ],
  );
  const worst = res.samples[0];
  assert.equal(worst.firstSeen, ago(5 * HOUR, NOW));
  assert.equal(worst.lastSeen, ago(60_000, NOW));
  assert.deepEqual(worst.target.rows, [["new"]], "outcomes of the latest occurrence");

  const limited = merge(
    [report("p1", { samples: [sample({}), sample({ kind: "columns" })] })],
    [],
    1,
  );
  assert.equal(limited.samples.length, 1);
  assert.equal(limited.totalSamples, 2);
});

Deno.test("judgement: ready only after seven days of sync shadowing without mismatches", async (t) => {
  const clean: [number, number, number, number][] = [[0, 100, 0, 5], [100, 100, 0, 0]];

  await t.step("seven days of sync and strict-sync with only transient differences", () => {
    const res = merge([
      report("p1", { shadowingSince: ago(REQUIRED_SHADOWING_MS, NOW) }, clean),
      report("p2", { mode: "strict-sync", shadowingSince: ago(30 * DAY, NOW) }, clean),
    ]);
    assert.deepEqual(res.judgement, { readyForImmediateCutover: true, reasons: [] });
  });

  await t.step("too short, wrong mode, mismatches, unreachable proxies: each says why", () => {
    const res = merge([
      report("p1", { shadowingSince: ago(2 * HOUR + 5 * 60_000, NOW) }, [[0, 100, 30, 0]]),
      report("p2", { mode: "async" }, [[3, 100, 4, 0]]),
      report("p3", { mode: "none", shadowingSince: null }, []),
      report("p4", { shadowingSince: ago(REQUIRED_SHADOWING_MS - 60_000, NOW) }, clean),
    ], ["p5"]);
    assert.equal(res.judgement.readyForImmediateCutover, false);
    assert.deepEqual(res.judgement.reasons, [
      "proxy p5 did not answer; its shadowing is unknown",
      "proxy p1: shadowing for 2 h of the required 7 days",
      "proxy p2: mode async: immediate cutover needs sync or strict-sync",
      "proxy p3: mode none: immediate cutover needs sync or strict-sync",
      "proxy p4: shadowing for 6.9 days of the required 7 days",
      "34 mismatches in the last 7 days",
    ]);
  });

  await t.step("a mismatch older than seven days no longer counts", () => {
    const res = merge([report("p1", {}, [[0, 100, 0, 0], [7 * 24 + 1, 100, 1, 0]])]);
    assert.deepEqual(res.judgement, { readyForImmediateCutover: true, reasons: [] });
    const recent = merge([report("p1", {}, [[0, 100, 0, 0], [7 * 24, 100, 1, 0]])]);
    assert.deepEqual(recent.judgement.reasons, ["1 mismatch in the last 7 days"]);
  });

  await t.step("a translation gap counts however long ago it was seen", () => {
    const res = merge([
      report("p1", { byKind: { translation_gap: 2 } }, [[0, 100, 0, 0], [8 * 24, 100, 2, 0]]),
    ]);
    assert.deepEqual(res.judgement.reasons, [
      "2 statements could not be translated for the other database (translation_gap) since " +
      "the proxies started: after a cutover they would fail",
    ]);
  });

  await t.step("no proxies or no statements is not ready", () => {
    assert.deepEqual(merge([]).judgement.reasons, [
      "no proxy is connected, so nothing is known about shadowing",
    ]);
    assert.deepEqual(merge([report("p1", {}, [])]).judgement.reasons, [
      "no statements were shadowed in the last 7 days",
    ]);
  });
});

Deno.test("describeDuration floors to the unit shown", () => {
  assert.equal(describeDuration(59 * 60_000), "59 min");
  assert.equal(describeDuration(47 * HOUR + 59 * 60_000), "47 h");
  assert.equal(describeDuration(7 * DAY - 1), "6.9 days");
  assert.equal(describeDuration(7 * DAY), "7 days");
});
