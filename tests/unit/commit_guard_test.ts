import assert from "node:assert/strict";
import {
  encodeMessage,
  type OrchestratorMessage,
  parseOrchestratorMessage,
  parseProxyMessage,
} from "../../shared/control.ts";
import { confirmFleetDrained } from "../../orchestrator/commit_guard.ts";
import { drainHolds, ProxyRegistry } from "../../orchestrator/proxies.ts";

const COUNTS = { total: 0, idle: 0, active: 0, inTransaction: 0, held: 0 };

/** A registry with proxies whose answer to `confirm_drain` the test decides. */
function fleet(
  answers: Record<string, { paused: boolean; drained: boolean; left: number | null } | "silent">,
) {
  const resumed: string[] = [];
  const registry = new ProxyRegistry({
    onFleetChange: () => {},
    onSelfResumed: (id) => resumed.push(id),
  });
  for (const [id, answer] of Object.entries(answers)) {
    registry.register({
      v: 1,
      type: "hello",
      proxyId: id,
      version: "t",
      shadowMode: "none",
      state: null,
      sessions: COUNTS,
    }, {
      send: (text) => {
        const parsed = parseOrchestratorMessage(text);
        assert.ok(parsed.ok);
        const m = parsed.message as OrchestratorMessage;
        if (m.type !== "confirm_drain" || answer === "silent") return;
        queueMicrotask(() =>
          registry.record(id, {
            v: 1,
            type: "drain_confirmation",
            requestId: m.requestId,
            cutoverId: m.cutoverId,
            paused: answer.paused,
            drained: answer.drained,
            pauseRemainingMs: answer.left,
          })
        );
      },
      close: () => {},
    });
    registry.record(id, {
      v: 1,
      type: "drain_progress",
      cutoverId: "c1",
      drained: true,
      counts: COUNTS,
      blocking: [],
      pauseRemainingMs: 30_000,
    });
  }
  return { registry, resumed };
}

const options = { timeoutMs: 200, marginMs: 2_000 };

Deno.test("confirmFleetDrained passes a fleet paused with time to spare", async () => {
  const { registry } = fleet({
    a: { paused: true, drained: true, left: 30_000 },
    b: { paused: true, drained: true, left: null },
  });
  assert.equal(await confirmFleetDrained(registry, "c1", options), null);
});

Deno.test("confirmFleetDrained refuses a proxy that resumed, one close to its limit, a silent one", async () => {
  const resumed = await confirmFleetDrained(
    fleet({
      a: { paused: true, drained: true, left: 30_000 },
      b: { paused: false, drained: false, left: 0 },
    })
      .registry,
    "c1",
    options,
  );
  assert.equal(resumed?.error.apiCode, "NOT_DRAINED");
  assert.deepEqual(resumed?.resumed, ["b"]);
  assert.match(resumed!.error.message, /b no longer holds its pause/);

  const tight = await confirmFleetDrained(
    fleet({ a: { paused: true, drained: true, left: 1_500 } }).registry,
    "c1",
    options,
  );
  assert.match(tight!.error.message, /pause of a ends within 2000 ms/);
  assert.deepEqual(tight?.resumed, []);

  const started = performance.now();
  const silent = await confirmFleetDrained(
    fleet({ a: { paused: true, drained: true, left: 30_000 }, b: "silent" }).registry,
    "c1",
    options,
  );
  assert.ok(performance.now() - started >= 150, "waits for the silent proxy");
  assert.match(silent!.error.message, /^b did not confirm its drain within 200 ms/);
});

Deno.test("a pause_expired report or a lapsed pause voids the drain ack", () => {
  const { registry, resumed } = fleet({ a: { paused: true, drained: true, left: 1 } });
  const entry = registry.connected()[0];
  assert.ok(drainHolds(entry.drain, "c1", Date.now()));
  assert.ok(!drainHolds(entry.drain, "c1", Date.now() + 31_000), "lapses with its pause");
  assert.deepEqual(registry.expireDrains("c1", Date.now() + 31_000), ["a"]);
  assert.deepEqual(resumed, ["a"]);

  const other = fleet({ b: { paused: true, drained: true, left: 1 } });
  other.registry.record("b", { v: 1, type: "pause_expired", cutoverId: "c1" });
  assert.equal(other.registry.connected()[0].drain, null);
  assert.deepEqual(other.resumed, ["b"]);
});

Deno.test("the new control messages parse, and bad ones are refused", () => {
  assert.ok(parseProxyMessage(encodeMessage({ type: "pause_expired", cutoverId: "c" })).ok);
  assert.ok(
    parseOrchestratorMessage(
      encodeMessage({ type: "confirm_drain", requestId: "r", cutoverId: "c" }),
    )
      .ok,
  );
  const negative = parseProxyMessage(
    JSON.stringify({
      v: 1,
      type: "drain_confirmation",
      requestId: "r",
      cutoverId: "c",
      paused: true,
      drained: true,
      pauseRemainingMs: -5,
    }),
  );
  assert.equal(negative.ok, false);
});
