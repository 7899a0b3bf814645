/**
 * The session core's decisions — hold, release, prepare a standby, move,
 * stay pinned, fail — driven through a scripted wire, as a MySQL or
 * PostgreSQL wire would drive it. The real PostgreSQL wire over real
 * databases is covered by the integration and e2e tests.
 */

import assert from "node:assert/strict";
import type { SessionContext } from "../../proxy/session/context.ts";
import { SessionCore } from "../../proxy/session/core.ts";
import { LmsError } from "../../shared/errors.ts";
import {
  bytes,
  type Handle,
  relayingSession,
  ScriptedWire,
  settle,
} from "../helpers/scripted_session.ts";

Deno.test("a quiescent session holds work while the gate is closed, then releases it in order", async () => {
  const { ctx, gate, core, wire } = await relayingSession();
  gate.pause("c1");
  assert.equal(core.holds(bytes("a")), true);
  assert.equal(core.holds(bytes("b")), true);
  assert.equal(core.connectionState, "held");
  assert.deepEqual(wire.opened, ["target"], "the held request's standby is opened at once");
  await settle();
  assert.equal(core.drained, true);
  assert.equal(core.readsHeld, true);
  gate.resume();
  ctx.sessions.reconsiderAll();
  assert.deepEqual(wire.delivered, ["a", "b"]);
  assert.equal(core.held, false);
  assert.equal(core.holds(bytes("c")), false);
  await settle();
});

Deno.test("a session in a transaction runs on while paused and prepares its standby once quiescent", async () => {
  const { gate, core, wire } = await relayingSession();
  wire.isQuiescent = false;
  gate.pause("c1");
  assert.equal(core.holds(bytes("UPDATE")), false);
  assert.equal(core.drained, false);
  assert.equal(core.connectionState, "in transaction");
  wire.isQuiescent = true;
  core.checkpoint();
  assert.deepEqual(wire.opened, ["target"]);
  assert.equal(core.drained, false, "not drained before its standby is ready");
  await settle();
  assert.equal(core.drained, true);
  gate.resume();
  core.reconsider();
  await settle();
  assert.deepEqual(wire.discarded, [{ side: "target" }], "an abort closes the standby");
});

Deno.test("a commit moves the held session onto its standby and releases its work there", async () => {
  const { ctx, router, gate, core, wire } = await relayingSession();
  gate.pause("c1");
  core.checkpoint();
  assert.equal(core.holds(bytes("next")), true);
  router.apply({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  gate.resume();
  ctx.sessions.reconsiderAll();
  assert.deepEqual(wire.delivered, [], "nothing runs before the move");
  await settle();
  assert.deepEqual(wire.opened, ["target"], "the standby is used, not a second connection");
  assert.deepEqual(wire.swapped, [{ side: "target" }]);
  assert.equal(core.side, "target");
  assert.deepEqual(wire.delivered, ["next"]);
});

Deno.test("a pinned session is neither drained nor moved", async () => {
  const { router, gate, core, wire } = await relayingSession();
  wire.blockingReason = "holds LOCK TABLES";
  gate.pause("c1");
  core.checkpoint();
  assert.equal(core.drained, false);
  assert.equal(core.blockingReason, "holds LOCK TABLES");
  assert.deepEqual(wire.opened, []);
  router.apply({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  gate.resume();
  core.reconsider();
  await settle();
  assert.equal(core.side, "source");
  assert.deepEqual(wire.swapped, []);
});

Deno.test("a move that cannot open the new database ends the session as backend-unavailable", async () => {
  const { ctx, router, core, wire } = await relayingSession();
  wire.openFails = true;
  router.apply({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  core.reconsider();
  await settle();
  assert.equal(wire.failures.length, 1);
  assert.equal(wire.failures[0].kind, "backend-unavailable");
  assert.match(wire.failures[0].message, /could not move this session to the target database/);
  assert.equal(ctx.sessions.size, 0);
  assert.equal(wire.closedConnections, 1);
});

Deno.test("terminate is an admin shutdown; close forgets the session and its cancel key once", async () => {
  const { ctx, core, wire, key } = await relayingSession();
  assert.equal(ctx.sessions.counts().idle, 1);
  assert.equal(ctx.cancels.find(key.processId), core);
  core.terminate("proxy is shutting down; reconnect");
  assert.deepEqual(wire.failures, [{
    kind: "admin-shutdown",
    message: "LMS: proxy is shutting down; reconnect",
  }]);
  core.close();
  assert.equal(wire.closedConnections, 1);
  assert.equal(ctx.sessions.size, 0);
  assert.equal(ctx.cancels.find(key.processId), undefined);
  assert.equal(await ctx.cancels.cancel(key.processId, key.secretKey), false);
});

const NO_CREDENTIAL = "LMS cannot log in as app on the target database: no credential for it";

async function refusedCount(ctx: SessionContext, use: string): Promise<number> {
  const metric = await ctx.metrics.identityRefused.get();
  // Every database/use pair is exported from the start, so sum over databases.
  return metric.values.filter((v) => v.labels.use === use).reduce((n, v) => n + v.value, 0);
}

Deno.test("a session that cannot run as its user on the other database blocks the drain", async () => {
  const { ctx, gate, core, wire } = await relayingSession();
  wire.openError = new LmsError("IDENTITY_UNAVAILABLE", NO_CREDENTIAL);
  gate.pause("c1");
  core.checkpoint();
  await settle();
  assert.equal(core.drained, false);
  assert.equal(core.blockingReason, NO_CREDENTIAL);
  assert.equal(await refusedCount(ctx, "move"), 1);
  gate.resume();
  core.reconsider();
  assert.equal(core.blockingReason, undefined, "an abort forgets the refusal");
  assert.equal(core.drained, true);
});

Deno.test("another failure to prepare the standby does not block the drain", async () => {
  const { gate, core, wire } = await relayingSession();
  wire.openFails = true;
  gate.pause("c1");
  core.checkpoint();
  await settle();
  assert.equal(core.drained, true);
  assert.equal(core.blockingReason, undefined);
});

Deno.test("after an immediate cutover, a session without a credential is told to reconnect", async () => {
  const { ctx, router, core, wire } = await relayingSession();
  wire.openError = new LmsError("AUTH_REFUSED", "the target database refused app");
  router.apply({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  core.reconsider();
  await settle();
  assert.deepEqual(wire.failures, [{
    kind: "backend-unavailable",
    message: "LMS cannot move this session to the target database as its own user: " +
      "the target database refused app",
    hint: "reconnect: a new connection authenticates on the target database directly",
  }]);
  assert.equal(await refusedCount(ctx, "move"), 1);
  assert.equal(core.closed, true);
});

Deno.test("a slow standby keeps the session from counting as drained for a moment only", async () => {
  const { gate, core, wire } = await relayingSession();
  let ready = () => {};
  wire.openWaits = new Promise<void>((r) => (ready = r));
  gate.pause("c1");
  core.checkpoint();
  await settle();
  assert.equal(core.drained, false);
  await new Promise((r) => setTimeout(r, 2_200));
  assert.equal(core.drained, true);
  ready();
  await settle();
  gate.resume();
  core.reconsider();
  await settle();
});

Deno.test("a session past LMS_MAX_HELD_BYTES gets limit-exceeded; another stays held", async () => {
  const first = await relayingSession({ maxHeldBytes: 10 });
  const second = await relayingSession({}, first.ctx);
  first.gate.pause("c1");
  assert.equal(first.core.holds(bytes("12345")), true);
  assert.equal(second.core.holds(bytes("abc")), true);
  assert.equal(first.core.holds(bytes("678901")), true);
  assert.equal(first.wire.failures.length, 1);
  assert.equal(first.wire.failures[0].kind, "limit-exceeded");
  assert.match(first.wire.failures[0].message, /more than 10 bytes.*LMS_MAX_HELD_BYTES/);
  assert.equal(first.core.closed, true);
  assert.equal(second.core.held, true);
  assert.equal(first.ctx.limits.heldClients, 1);
  first.gate.resume();
  first.ctx.sessions.reconsiderAll();
  assert.deepEqual(second.wire.delivered, ["abc"]);
  assert.equal(first.ctx.limits.heldClients, 0);
  await settle();
});

Deno.test("past LMS_MAX_HELD_CLIENTS the next session to hold gets an error, the held ones wait", async () => {
  const first = await relayingSession({ maxHeldClients: 1 });
  const second = await relayingSession({}, first.ctx);
  first.gate.pause("c1");
  assert.equal(first.core.holds(bytes("a")), true);
  assert.equal(first.core.holds(bytes("b")), true);
  assert.equal(first.ctx.limits.heldClients, 1);
  assert.equal(second.core.holds(bytes("x")), true);
  assert.equal(second.wire.failures[0]?.kind, "limit-exceeded");
  assert.match(second.wire.failures[0].message, /holds 1 sessions.*LMS_MAX_HELD_CLIENTS/);
  assert.equal(second.core.closed, true);
  // A new client arriving at the closed gate is refused as well.
  const third = new SessionCore<Handle>(first.ctx, "127.0.0.1:5001", (c) => new ScriptedWire(c));
  await third.run();
  await assert.rejects(
    third.admit(),
    (err: unknown) => err instanceof LmsError && err.code === "HELD_LIMIT",
  );
  first.gate.resume();
  first.ctx.sessions.reconsiderAll();
  assert.deepEqual(first.wire.delivered, ["a", "b"]);
  assert.equal(first.ctx.limits.heldClients, 0);
  first.gate.pause("c2");
  assert.equal(first.core.holds(bytes("c")), true, "the slot was given back");
  first.gate.resume();
  first.ctx.sessions.reconsiderAll();
  await settle();
});
