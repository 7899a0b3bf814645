import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ComparisonResult } from "../../proxy/shadow/compare.ts";
import { initFingerprints } from "../../proxy/shadow/fingerprint.ts";
import { ShadowStats } from "../../proxy/shadow/stats.ts";
import { ProxyShadowReportSchema } from "../../shared/shadow.ts";

await initFingerprints();

const HOUR = 3_600_000;
const START = Date.UTC(2026, 0, 1);

const MATCH: ComparisonResult = {
  verdict: "match",
  kinds: [],
  differences: [],
  source: { ok: true },
  target: { ok: true },
};
const TRANSIENT: ComparisonResult = {
  verdict: "transient",
  kinds: [],
  differences: ["error_vs_success"],
  source: { ok: true },
  target: { ok: false, sqlstate: "40001" },
};
function mismatch(...kinds: ComparisonResult["kinds"]): ComparisonResult {
  return {
    verdict: "mismatch",
    kinds,
    differences: kinds,
    source: { ok: true, rowCount: 1 },
    target: { ok: true, rowCount: 2 },
  };
}

Deno.test("hourly buckets over eight days keep the last seven", () => {
  let now = START;
  const stats = new ShadowStats({ now: () => now });
  for (let hour = 0; hour < 8 * 24; hour++) {
    now = START + hour * HOUR + 1000;
    stats.record("SELECT 1", MATCH);
    stats.record("SELECT 1", hour % 2 === 0 ? TRANSIENT : MATCH);
    if (hour % 24 === 0) stats.record("SELECT * FROM t WHERE id = 1", mismatch("values"));
  }
  const report = ProxyShadowReportSchema.parse(
    stats.report("p1", "sync", "2026-01-01T00:00:00.000Z"),
  );
  assertEquals(report.statements, 8 * 24 * 2 + 8);
  assertEquals(report.transient, 8 * 24 / 2);
  assertEquals(report.mismatches, 8);
  assertEquals(report.byKind, { values: 8 });
  assertEquals(report.hourly.length, 169);
  assertEquals(report.hourly[0].start, START + (8 * 24 - 169) * HOUR);
  assertEquals(report.hourly.at(-1)!.start, START + (8 * 24 - 1) * HOUR);
  assert(report.hourly.every((b, i) => i === 0 || b.start - report.hourly[i - 1].start === HOUR));
  assertEquals(report.hourly.reduce((n, b) => n + b.mismatches, 0), 7);
  assertEquals(report.hourly.at(-1), {
    start: START + 191 * HOUR,
    statements: 2,
    mismatches: 0,
    transient: 0,
  });
  assertEquals(report.samples.length, 1);
  assertEquals(report.samples[0].count, 8);
  assertEquals(report.samples[0].fingerprint, "SELECT * FROM t WHERE id = $1");
  assertEquals(report.samples[0].firstSeen, new Date(START + 1000).toISOString());
  assertEquals(report.samples[0].lastSeen, new Date(START + 168 * HOUR + 1000).toISOString());
  // Time passes with no traffic: old buckets still expire at report time.
  now += 200 * HOUR;
  assertEquals(stats.report("p1", "sync", null).hourly, []);
});

Deno.test("samples group by fingerprint and kind, evict the least frequent, report worst first", () => {
  let now = START;
  const stats = new ShadowStats({ maxSamples: 3, now: () => now });
  const tick = () => (now += 1000);
  for (let i = 0; i < 5; i++) {
    tick();
    stats.record(`SELECT * FROM a WHERE id = ${i}`, mismatch("values", "row_count"));
  }
  tick();
  stats.record("SELECT * FROM b", mismatch("columns"));
  tick();
  stats.record("SELECT * FROM c WHERE x = 'v'", mismatch("columns"));
  let report = stats.report("p1", "async", null);
  assertEquals(report.samples.map((s) => [s.fingerprint, s.kind, s.count]), [
    ["SELECT * FROM a WHERE id = $1", "values", 5],
    ["SELECT * FROM a WHERE id = $1", "row_count", 5],
    ["SELECT * FROM c WHERE x = $1", "columns", 1],
  ]);
  tick();
  stats.record("SELECT * FROM c WHERE x = 'w'", mismatch("columns"));
  assertEquals(stats.report("p1", "async", null).samples[2].count, 2);
  // Full: a new group replaces the least frequent one.
  tick();
  stats.record("SELECT * FROM d", mismatch("values"));
  report = stats.report("p1", "async", null);
  assertEquals(report.samples.map((s) => [s.fingerprint, s.kind, s.count]), [
    ["SELECT * FROM a WHERE id = $1", "values", 5],
    ["SELECT * FROM a WHERE id = $1", "row_count", 5],
    ["SELECT * FROM d", "values", 1],
  ]);
  assertEquals(report.byKind, { values: 6, row_count: 5, columns: 3 });
  assertEquals(report.samples[0].target, { ok: true, rowCount: 2 });
  stats.recordDroppedSession();
  assertEquals(stats.report("p1", "async", null).droppedSessions, 1);
});

Deno.test("persisted counts restore into a fresh process's stats, adding to what it saw", () => {
  let now = START + 5 * HOUR;
  const before = new ShadowStats({ now: () => now });
  let differences = 0;
  before.onDifference = () => differences++;
  before.record("SELECT 1", MATCH);
  before.record("SELECT 2", mismatch("values"));
  before.record("SELECT 3", TRANSIENT);
  assertEquals(differences, 2);
  const saved = before.persisted();
  now += HOUR;
  const after = new ShadowStats({ now: () => now });
  after.record("SELECT 4", MATCH);
  after.restore(saved.hourly, saved.byKind);
  const report = after.report("p1", "sync", null);
  assertEquals(
    [report.statements, report.mismatches, report.transient],
    [4, 1, 1],
  );
  assertEquals(report.byKind, { values: 1 });
  assertEquals(report.hourly.map((b) => b.start), [START + 5 * HOUR, START + 6 * HOUR]);
  // Restored buckets older than seven days are not kept.
  const late = new ShadowStats({ now: () => now + 8 * 24 * HOUR });
  late.restore(saved.hourly, saved.byKind);
  assertEquals(late.report("p1", "sync", null).hourly, []);
});
