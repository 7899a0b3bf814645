import assert from "node:assert/strict";
import { OrchestratorMetrics } from "../../orchestrator/metrics.ts";

function value(text: string, series: string): number | undefined {
  const found = text.split("\n").find((l) => l.startsWith(series + " "));
  return found === undefined ? undefined : Number(found.slice(series.length + 1));
}

Deno.test("orchestrator metrics: labelled series start at 0, all named lms_orchestrator_", async () => {
  const text = await new OrchestratorMetrics("9.9.9").registry.metrics();
  for (const phase of ["idle", "draining", "drained"]) {
    assert.equal(value(text, `lms_orchestrator_phase{phase="${phase}"}`), 0);
  }
  for (const database of ["source", "target"]) {
    assert.equal(value(text, `lms_orchestrator_source_of_truth{database="${database}"}`), 0);
  }
  for (const step of ["begin", "commit", "abort", "immediate"]) {
    assert.equal(value(text, `lms_orchestrator_cutover_steps_total{step="${step}"}`), 0);
  }
  assert.equal(value(text, `lms_orchestrator_commands_refused_total{code="NOT_CAUGHT_UP"}`), 0);
  assert.equal(
    value(text, `lms_orchestrator_control_messages_invalid_total{code="DUPLICATE_PROXY_ID"}`),
    0,
  );
  assert.equal(value(text, `lms_orchestrator_build_info{version="9.9.9"}`), 1);
  assert.ok((value(text, "process_resident_memory_bytes") ?? 0) > 0);
  const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(names.filter((n) => !/^(lms_orchestrator_|process_|nodejs_)/.test(n)), []);
});

Deno.test("orchestrator metrics: heartbeat age per proxy, read at scrape time", async () => {
  const metrics = new OrchestratorMetrics("1");
  const now = Date.now();
  metrics.observeFleet(() => [
    { id: "p1", lastHeartbeatAt: new Date(now - 1_500) },
    { id: "p2", lastHeartbeatAt: new Date(now - 40_000) },
    { id: "p3", lastHeartbeatAt: null },
  ]);
  const text = await metrics.registry.metrics();
  const p1 = value(text, `lms_orchestrator_proxy_heartbeat_age_seconds{proxy="p1"}`)!;
  const p2 = value(text, `lms_orchestrator_proxy_heartbeat_age_seconds{proxy="p2"}`)!;
  assert.ok(p1 >= 1.5 && p1 < 30, `p1 age ${p1}`);
  assert.ok(p2 >= 40 && p2 < 70, `p2 age ${p2}`);
  assert.equal(value(text, `lms_orchestrator_proxy_heartbeat_age_seconds{proxy="p3"}`), undefined);
  metrics.observeFleet(() => [{ id: "p1", lastHeartbeatAt: new Date() }]);
  const later = await metrics.registry.metrics();
  assert.equal(
    value(later, `lms_orchestrator_proxy_heartbeat_age_seconds{proxy="p2"}`),
    undefined,
    "a forgotten proxy's series goes away",
  );
});
