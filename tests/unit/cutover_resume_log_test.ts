/**
 * Every epoch a proxy adopts is in its log as `routing state changed`, the
 * line the fault matrix reads (`tests/chaos/epochs.ts`): also when `resume`
 * brings the new epoch to a proxy that was not paused (it joined after the
 * pause, or its own pause had expired).
 */

import assert from "node:assert/strict";
import { ProxyCutover } from "../../proxy/cutover.ts";
import { Gate } from "../../proxy/gate.ts";
import { createProxyMetrics } from "../../proxy/metrics.ts";
import { Router } from "../../proxy/router.ts";
import { CancelRegistry } from "../../proxy/session/cancel_registry.ts";
import { SessionRegistry } from "../../proxy/session/registry.ts";
import { parseConnectionString } from "../../shared/connstring.ts";
import type { LogFields, Logger } from "../../shared/log.ts";
import { routingEvents } from "../chaos/epochs.ts";

/** A logger that keeps its lines as the JSON the proxy would print. */
function recordingLogger(lines: string[]): Logger {
  const at = (level: string) => (msg: string, fields?: LogFields) =>
    lines.push(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }));
  const log: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: () => log,
  };
  return log;
}

function cutover(lines: string[]): { cutover: ProxyCutover; gate: Gate; router: Router } {
  const router = new Router(
    parseConnectionString("postgres://u@127.0.0.1:1/db"),
    parseConnectionString("postgres://u@127.0.0.1:2/db"),
  );
  const gate = new Gate(60_000, () => {});
  const c = new ProxyCutover({
    proxyId: "p1",
    router,
    gate,
    sessions: new SessionRegistry(),
    cancels: new CancelRegistry("p1"),
    metrics: createProxyMetrics(),
    redactQueries: true,
    log: recordingLogger(lines),
  });
  return { cutover: c, gate, router };
}

Deno.test("resume while not paused logs the epoch it adopts", () => {
  const lines: string[] = [];
  const { cutover: c, gate, router } = cutover(lines);
  c.applyState({ sourceOfTruth: "source", epoch: 0, phase: "idle" });
  assert.equal(gate.paused, false);
  c.resume({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  assert.equal(router.state?.epoch, 1);
  const epochs = routingEvents(lines.join("\n")).filter((e) => e.kind === "epoch");
  assert.deepEqual(epochs.map((e) => e.epoch), [0, 1]);
  const last = JSON.parse(lines.at(-1)!);
  assert.equal(last.msg, "routing state changed");
  assert.equal(last.sourceOfTruth, "target");
});

Deno.test("resume from a pause logs the new epoch; a resume that changes nothing logs none", () => {
  const lines: string[] = [];
  const { cutover: c } = cutover(lines);
  c.applyState({ sourceOfTruth: "source", epoch: 3, phase: "idle" });
  c.pause("cut-1");
  c.resume({ sourceOfTruth: "target", epoch: 4, phase: "idle" });
  // An abort resumes on the epoch in force, and a late older state is not adopted.
  c.resume({ sourceOfTruth: "target", epoch: 4, phase: "idle" });
  c.resume({ sourceOfTruth: "source", epoch: 2, phase: "idle" });
  const changed = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "routing state changed");
  assert.deepEqual(changed.map((l) => [l.epoch, l.sourceOfTruth]), [[3, "source"], [4, "target"]]);
  assert.ok(lines.some((l) => JSON.parse(l).msg === "resuming"));
});
