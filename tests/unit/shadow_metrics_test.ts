import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { createProxyMetrics } from "../../proxy/metrics.ts";
import { createShadowMetrics } from "../../proxy/shadow/metrics.ts";

function line(text: string, series: string): number {
  const found = text.split("\n").find((l) => l.startsWith(series + " "));
  assert.ok(found !== undefined, `no series ${series} in\n${text}`);
  return Number(found.slice(series.length + 1));
}

Deno.test("shadow metrics: names, labels and values in the registry output", async (t) => {
  const registry = new Registry();
  const m = createShadowMetrics(registry);

  await t.step("every kind is exported at 0 before anything happened", async () => {
    const text = await registry.metrics();
    assert.equal(line(text, "lms_shadow_statements_total"), 0);
    const kinds = ["error_vs_success", "sqlstate", "command_tag", "row_count", "columns", "values"];
    for (const kind of [...kinds, "collation", "translation_gap"]) {
      assert.equal(line(text, `lms_shadow_mismatches_total{kind="${kind}"}`), 0);
    }
    assert.equal(line(text, "lms_shadow_dropped_sessions_total"), 0);
    assert.equal(line(text, "lms_shadow_queue_bytes"), 0);
  });

  await t.step("recorded events show up with their labels", async () => {
    m.statement();
    m.statement();
    m.statement();
    m.mismatch("values");
    m.mismatch("values");
    m.mismatch("row_count");
    m.transient("retry_40001");
    m.error("target", "40001");
    m.error("source", "23505");
    m.error("target", "40001");
    m.droppedSession();
    m.observeDuration("source", 0.002);
    m.observeDuration("target", 0.2);
    m.addQueueBytes(4096);
    m.addQueueBytes(-1000);
    const text = await registry.metrics();
    assert.equal(line(text, "lms_shadow_statements_total"), 3);
    assert.equal(line(text, `lms_shadow_mismatches_total{kind="values"}`), 2);
    assert.equal(line(text, `lms_shadow_mismatches_total{kind="row_count"}`), 1);
    assert.equal(line(text, `lms_shadow_transient_total{reason="retry_40001"}`), 1);
    assert.equal(line(text, `lms_shadow_errors_total{database="target",sqlstate="40001"}`), 2);
    assert.equal(line(text, `lms_shadow_errors_total{database="source",sqlstate="23505"}`), 1);
    assert.equal(line(text, "lms_shadow_dropped_sessions_total"), 1);
    assert.equal(line(text, `lms_shadow_duration_seconds_count{database="source"}`), 1);
    assert.equal(
      line(text, `lms_shadow_duration_seconds_bucket{le="0.0025",database="source"}`),
      1,
    );
    assert.equal(line(text, `lms_shadow_duration_seconds_bucket{le="0.1",database="target"}`), 0);
    assert.equal(line(text, `lms_shadow_duration_seconds_bucket{le="0.25",database="target"}`), 1);
    assert.equal(line(text, "lms_shadow_queue_bytes"), 3096);
  });

  await t.step("malformed SQLSTATEs and the queue size cannot go astray", async () => {
    m.error("source", "not a state");
    m.addQueueBytes(-1_000_000);
    const text = await registry.metrics();
    assert.equal(line(text, `lms_shadow_errors_total{database="source",sqlstate="other"}`), 1);
    assert.ok(!text.includes("not a state"));
    assert.equal(line(text, "lms_shadow_queue_bytes"), 0);
  });

  await t.step("transient reasons are capped", async () => {
    for (let i = 0; i < 80; i++) m.transient(`reason_${i}`);
    const text = await registry.metrics();
    const series = text.split("\n").filter((l) => l.startsWith("lms_shadow_transient_total{"));
    assert.ok(series.length <= 51, `${series.length} series`);
    assert.ok(line(text, `lms_shadow_transient_total{reason="other"}`) >= 30);
  });
});

Deno.test("proxy metrics include the shadow metrics in the proxy's registry", async () => {
  const metrics = createProxyMetrics();
  metrics.shadow.statement();
  metrics.shadow.mismatch("columns");
  const text = await metrics.registry.metrics();
  assert.equal(line(text, "lms_shadow_statements_total"), 1);
  assert.equal(line(text, `lms_shadow_mismatches_total{kind="columns"}`), 1);
  assert.match(text, /^# TYPE lms_shadow_duration_seconds histogram$/m);
  assert.match(text, /^# TYPE lms_shadow_queue_bytes gauge$/m);
});
