/**
 * Which sessions of a proxy open their connection to the new database first
 * when many move at once (issue 11): a session whose client has a request
 * waiting goes ahead of the idle ones, and nothing it sends runs anywhere but
 * on the new side. Driven through the scripted wire; the real wires over real
 * databases are covered by `tests/e2e/idle_session_move_test.ts`.
 */

import assert from "node:assert/strict";
import { BACKGROUND_CONCURRENCY } from "../../proxy/session/open_queue.ts";
import {
  bytes,
  relayingSession,
  type ScriptedSession,
  settle,
} from "../helpers/scripted_session.ts";

/**
 * One proxy with `BACKGROUND_CONCURRENCY + 4` idle sessions whose opens wait
 * until `release()`, and one more session (`late`, the last to start) whose
 * opens complete at once.
 */
async function crowdedProxy() {
  let release = () => {};
  const idleOpens = new Promise<void>((r) => (release = r));
  const first = await relayingSession();
  const idle: ScriptedSession[] = [first];
  for (let i = 1; i < BACKGROUND_CONCURRENCY + 4; i++) {
    idle.push(await relayingSession({}, first.ctx));
  }
  for (const s of idle) s.wire.openWaits = idleOpens;
  const late = await relayingSession({}, first.ctx);
  return { ...first, idle, late, release };
}

const opened = (sessions: ScriptedSession[]) =>
  sessions.filter((s) => s.wire.opened.length > 0).length;

Deno.test("after a new epoch idle sessions move in turns; one whose client sends a request moves first", async () => {
  const { ctx, router, idle, late, release } = await crowdedProxy();
  router.apply({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  ctx.sessions.reconsiderAll();
  assert.equal(opened(idle), BACKGROUND_CONCURRENCY, "idle sessions open in turns");
  assert.deepEqual(late.wire.opened, [], "the last session waits its turn");
  assert.equal(late.core.readsHeld, false, "its client is read while the move waits");

  assert.equal(late.core.holds(bytes("SELECT 1")), true, "a request during the move is held");
  assert.deepEqual(late.wire.delivered, [], "and not run on the old side");
  await settle();
  assert.deepEqual(late.wire.opened, ["target"], "the request hurried its open past the queue");
  assert.deepEqual(late.wire.swapped, [{ side: "target" }]);
  assert.deepEqual(late.wire.delivered, ["SELECT 1"]);
  assert.deepEqual(late.wire.deliveredOn, ["target"], "the request ran on the new side");
  assert.equal(opened(idle), BACKGROUND_CONCURRENCY, "idle sessions still wait for theirs");
  assert.ok(idle.every((s) => s.core.side === "source" && s.wire.swapped.length === 0));

  release();
  for (let i = 0; i < 10 && idle.some((s) => s.core.side !== "target"); i++) await settle();
  assert.ok(idle.every((s) => s.core.side === "target"), "every idle session moved in the end");
  assert.ok(idle.every((s) => s.wire.swapped.length === 1 && s.wire.opened.length === 1));
  assert.equal(late.core.holds(bytes("SELECT 2")), false, "a moved session runs at once");
  for (const s of [...idle, late]) s.core.close();
});

Deno.test("during a pause a held session's standby opens ahead of idle sessions' standbys", async () => {
  const { ctx, router, gate, idle, late, release } = await crowdedProxy();
  gate.pause("c1");
  ctx.sessions.reconsiderAll();
  assert.equal(opened(idle), BACKGROUND_CONCURRENCY);
  assert.deepEqual(late.wire.opened, [], "queued behind the idle sessions");
  assert.equal(late.core.holds(bytes("UPDATE")), true);
  await settle();
  assert.deepEqual(late.wire.opened, ["target"], "its client waits: it opens first");
  assert.equal(late.core.drained, true, "its standby is ready");
  assert.equal(idle.at(-1)!.core.drained, false, "an idle standby still waiting blocks the drain");

  router.apply({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  gate.resume();
  ctx.sessions.reconsiderAll();
  await settle();
  assert.deepEqual(late.wire.swapped, [{ side: "target" }], "the commit swaps in its standby");
  assert.deepEqual(late.wire.deliveredOn, ["target"]);
  assert.deepEqual(late.wire.opened, ["target"], "no second connection");

  release();
  for (let i = 0; i < 10 && idle.some((s) => s.core.side !== "target"); i++) await settle();
  assert.ok(idle.every((s) => s.core.side === "target" && s.wire.opened.length === 1));
  for (const s of [...idle, late]) s.core.close();
});

Deno.test("a session that ends while its move waits its turn never opens the new database", async () => {
  const { ctx, router, idle, late, release } = await crowdedProxy();
  router.apply({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  ctx.sessions.reconsiderAll();
  late.core.close();
  release();
  for (let i = 0; i < 10 && idle.some((s) => s.core.side !== "target"); i++) await settle();
  assert.ok(idle.every((s) => s.core.side === "target"));
  assert.deepEqual(late.wire.opened, [], "its open was dropped from the queue");
  assert.deepEqual(late.wire.swapped, []);
  for (const s of idle) s.core.close();
});

Deno.test("a pause takes back moves still waiting their turn: those sessions drain where they are", async () => {
  const { ctx, router, gate, idle, release } = await crowdedProxy();
  router.apply({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  ctx.sessions.reconsiderAll();
  const waiting = idle.filter((s) => s.wire.opened.length === 0);
  const moving = idle.filter((s) => s.wire.opened.length > 0);
  assert.equal(waiting.length, 4);
  for (const s of waiting) [s.wire.openWaits, s.wire.loginKeyValue] = [undefined, "shop/app"];
  gate.pause("c2");
  ctx.sessions.reconsiderAll();
  await settle();
  for (const s of waiting) {
    assert.equal(s.core.side, "source", "still on its old side");
    assert.equal(s.core.drained, true, "an idle session on its old side is drained");
  }
  assert.equal(moving.length, BACKGROUND_CONCURRENCY, "opens already started go on");
  assert.ok(moving.every((s) => !s.core.drained), "and keep their sessions undrained");
  release();
  for (let i = 0; i < 10 && moving.some((s) => s.core.side !== "target"); i++) await settle();
  assert.ok(moving.every((s) => s.core.side === "target" && s.core.drained));

  router.apply({ sourceOfTruth: "source", epoch: 2, phase: "idle" });
  gate.resume();
  ctx.sessions.reconsiderAll();
  await settle();
  assert.ok(
    waiting.every((s) => s.core.side === "source" && s.wire.swapped.length === 0),
    "a commit back to their side leaves them where they are",
  );
  for (const s of idle) s.core.close();
});
