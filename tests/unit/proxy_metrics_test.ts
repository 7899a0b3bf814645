import assert from "node:assert/strict";
import net from "node:net";
import { Gate } from "../../proxy/gate.ts";
import { createProxyMetrics } from "../../proxy/metrics.ts";
import { tcpConnect } from "../../proxy/tcp_connect.ts";
import type { ClusterState } from "../../shared/control.ts";
import { parseConnectionString } from "../../shared/connstring.ts";
import { VERSION } from "../../shared/version.ts";

function value(text: string, series: string): number {
  const found = text.split("\n").find((l) => l.startsWith(series + " "));
  assert.ok(found !== undefined, `no series ${series} in the exposition`);
  return Number(found.slice(series.length + 1));
}

Deno.test("proxy metrics: requests are counted by database and outcome at every scrape", async () => {
  const metrics = createProxyMetrics();
  metrics.observeQuery("source", false, 0.002);
  metrics.observeQuery("source", false, 0.002);
  metrics.observeQuery("source", true, 0.002);
  metrics.observeQuery("target", false, 0.002);
  let text = await metrics.registry.metrics();
  assert.equal(value(text, `lms_queries_total{database="source",outcome="ok"}`), 2);
  assert.equal(value(text, `lms_queries_total{database="source",outcome="error"}`), 1);
  assert.equal(value(text, `lms_queries_total{database="target",outcome="ok"}`), 1);
  assert.equal(value(text, `lms_queries_total{database="target",outcome="error"}`), 0);
  assert.equal(value(text, `lms_query_duration_seconds_count{database="source"}`), 3);
  metrics.observeQuery("source", false, 0.002);
  text = await metrics.registry.metrics();
  assert.equal(value(text, `lms_queries_total{database="source",outcome="ok"}`), 3);
});

Deno.test("proxy metrics: every labelled series exists at 0 before anything happened", async () => {
  const text = await createProxyMetrics().registry.metrics();
  for (const database of ["source", "target"]) {
    assert.equal(value(text, `lms_backend_errors_total{database="${database}"}`), 0);
    assert.equal(value(text, `lms_queries_total{database="${database}",outcome="ok"}`), 0);
    assert.equal(value(text, `lms_queries_total{database="${database}",outcome="error"}`), 0);
    assert.equal(value(text, `lms_query_duration_seconds_count{database="${database}"}`), 0);
    assert.equal(value(text, `lms_shadow_duration_seconds_count{database="${database}"}`), 0);
    assert.equal(value(text, `lms_session_moves_total{to="${database}",outcome="failed"}`), 0);
    assert.equal(value(text, `lms_identity_refused_total{database="${database}",use="move"}`), 0);
    assert.equal(value(text, `lms_backend_connections{database="${database}"}`), 0);
    assert.equal(value(text, `lms_source_of_truth{database="${database}"}`), 0);
  }
  for (const outcome of ["accepted", "rejected", "cancel"]) {
    assert.equal(value(text, `lms_connections_total{outcome="${outcome}"}`), 0);
  }
  assert.equal(value(text, `lms_cancel_requests_total{outcome="unknown"}`), 0);
  assert.equal(
    value(
      text,
      `lms_mysql_local_logins_total{plugin="mysql_native_password",method="scramble",outcome="denied"}`,
    ),
    0,
  );
  assert.equal(value(text, `lms_protocol_errors_total{kind="PROTOCOL_VIOLATION"}`), 0);
  for (const phase of ["idle", "draining", "drained"]) {
    assert.equal(value(text, `lms_phase{phase="${phase}"}`), 0);
  }
  assert.equal(value(text, "lms_epoch"), -1, "no state known yet");
  assert.equal(value(text, "lms_control_connected"), 0);
  assert.equal(value(text, "lms_pause_hold_seconds_count"), 0);
  assert.equal(value(text, `lms_build_info{version="${VERSION}"}`), 1);
  assert.ok(value(text, "process_resident_memory_bytes") > 0);
  assert.ok(value(text, "process_start_time_seconds") > 1_600_000_000);
  assert.ok(value(text, "process_open_fds") > 0);
  const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
  const foreign = names.filter((n) => !/^(lms_|process_|nodejs_)/.test(n));
  assert.deepEqual(foreign, [], "every proxy series has the lms_ prefix");
});

Deno.test("proxy metrics: state gauges follow the state the proxy routes by", async () => {
  const metrics = createProxyMetrics();
  let state: ClusterState = { sourceOfTruth: "target", epoch: 7, phase: "draining" };
  let connected = true;
  metrics.observeState({ state: () => state, controlConnected: () => connected });
  let text = await metrics.registry.metrics();
  assert.equal(value(text, "lms_epoch"), 7);
  assert.equal(value(text, `lms_source_of_truth{database="target"}`), 1);
  assert.equal(value(text, `lms_source_of_truth{database="source"}`), 0);
  assert.equal(value(text, `lms_phase{phase="draining"}`), 1);
  assert.equal(value(text, `lms_phase{phase="idle"}`), 0);
  assert.equal(value(text, "lms_control_connected"), 1);
  state = { sourceOfTruth: "source", epoch: 8, phase: "idle" };
  connected = false;
  text = await metrics.registry.metrics();
  assert.equal(value(text, "lms_epoch"), 8);
  assert.equal(value(text, `lms_source_of_truth{database="source"}`), 1);
  assert.equal(value(text, `lms_phase{phase="idle"}`), 1);
  assert.equal(value(text, `lms_phase{phase="draining"}`), 0);
  assert.equal(value(text, "lms_control_connected"), 0);
});

Deno.test("proxy metrics: a pause records how long each waiter was held", async () => {
  const metrics = createProxyMetrics();
  const gate = new Gate(60_000, () => {}, (s) => metrics.pauseHold.observe(s));
  gate.pause("c1");
  const held = [gate.wait(), gate.wait()];
  await new Promise((r) => setTimeout(r, 120));
  gate.resume();
  await Promise.all(held);
  await gate.wait(); // open: not held, not recorded
  const text = await metrics.registry.metrics();
  assert.equal(value(text, "lms_pause_hold_seconds_count"), 2);
  assert.ok(value(text, "lms_pause_hold_seconds_sum") >= 0.2);
  assert.equal(value(text, `lms_pause_hold_seconds_bucket{le="0.1"}`), 0);
  assert.equal(value(text, `lms_pause_hold_seconds_bucket{le="1"}`), 2);
});

Deno.test("proxy metrics: backend connections are counted per database while open", async () => {
  const server = net.createServer((s) => s.on("error", () => {}));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const spec = parseConnectionString(`postgresql://u@127.0.0.1:${port}/db`);
  const metrics = createProxyMetrics();
  const open = async (database: string) =>
    value(await metrics.registry.metrics(), `lms_backend_connections{database="${database}"}`);
  try {
    const before = { source: await open("source"), target: await open("target") };
    const a = await tcpConnect(spec, "target database");
    const b = await tcpConnect(spec, "target database");
    const c = await tcpConnect(spec, "source database");
    assert.equal(await open("target"), before.target + 2);
    assert.equal(await open("source"), before.source + 1);
    const closed = new Promise((r) => a.once("close", r));
    a.destroy();
    await closed;
    assert.equal(await open("target"), before.target + 1);
    for (const s of [b, c]) {
      const gone = new Promise((r) => s.once("close", r));
      s.destroy();
      await gone;
    }
    assert.equal(await open("target"), before.target);
    assert.equal(await open("source"), before.source);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
