/**
 * Login proofs (issue 11, cutover at fleet scale): during a consistent drain
 * the idle sessions of one credential prove their login on the other
 * database once, not once each; a refusal still blocks the drain of every
 * session of that credential; a session with a request waiting still gets a
 * standby of its own; idle sessions open their connections after the commit.
 * Driven through scripted wires sharing one proxy context.
 */

import assert from "node:assert/strict";
import { LoginProofs } from "../../proxy/session/login_proofs.ts";
import { LmsError } from "../../shared/errors.ts";
import {
  bytes,
  relayingSession,
  type ScriptedSession,
  settle,
} from "../helpers/scripted_session.ts";

/** `n` relaying sessions of one proxy whose wires give `key`. */
async function sessionsOf(n: number, key: string | undefined): Promise<ScriptedSession[]> {
  const first = await relayingSession();
  const all = [first];
  for (let i = 1; i < n; i++) all.push(await relayingSession({}, first.ctx));
  for (const s of all) s.wire.loginKeyValue = key;
  return all;
}

const opened = (all: ScriptedSession[]) => all.flatMap((s) => s.wire.opened);
const discarded = (all: ScriptedSession[]) => all.flatMap((s) => s.wire.discarded);

Deno.test("idle sessions of one credential prove their login once per pause, then move after the commit", async () => {
  const all = await sessionsOf(5, "shop/app/digest");
  const { ctx, gate, router } = all[0];
  gate.pause("c1");
  ctx.sessions.reconsiderAll();
  assert.equal(all.some((s) => s.core.drained), false, "not drained before the proof settles");
  await settle();
  assert.deepEqual(opened(all), ["target"], "one login for five sessions");
  assert.deepEqual(discarded(all), [{ side: "target" }], "the proof's connection is closed");
  assert.equal(all.every((s) => s.core.drained), true);

  router.apply({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  gate.resume();
  ctx.sessions.reconsiderAll();
  await settle();
  await settle();
  assert.equal(all.every((s) => s.core.side === "target"), true);
  assert.equal(
    opened(all).length,
    6,
    "each idle session opens its own connection after the commit",
  );
});

Deno.test("a refused proof blocks the drain of every session of that credential, with the reason", async () => {
  const all = await sessionsOf(3, "shop/app/digest");
  const other = await relayingSession({}, all[0].ctx);
  other.wire.loginKeyValue = "shop/admin/digest";
  const reason = "the target database refused app";
  for (const s of all) s.wire.openError = new LmsError("AUTH_REFUSED", reason);
  const { ctx, gate } = all[0];
  gate.pause("c1");
  ctx.sessions.reconsiderAll();
  await settle();
  for (const s of all) {
    assert.equal(s.core.drained, false);
    assert.equal(s.core.blockingReason, reason);
  }
  assert.equal(other.core.drained, true, "another credential has its own proof");
  assert.equal(opened([...all, other]).length, 2);
  gate.resume();
  ctx.sessions.reconsiderAll();
  assert.equal(all[0].core.blockingReason, undefined, "an abort forgets the refusal");
});

Deno.test("a failure that is not about identity does not block the drain", async () => {
  const all = await sessionsOf(2, "shop/app/digest");
  for (const s of all) s.wire.openFails = true;
  all[0].gate.pause("c1");
  all[0].ctx.sessions.reconsiderAll();
  await settle();
  assert.equal(all.every((s) => s.core.drained && s.core.blockingReason === undefined), true);
});

Deno.test("a request held after the proof gets its own standby and the proxy stays drained", async () => {
  const [idle, busy] = await sessionsOf(2, "shop/app/digest");
  let ready = () => {};
  const { ctx, gate, router } = idle;
  gate.pause("c1");
  ctx.sessions.reconsiderAll();
  await settle();
  assert.equal(busy.core.drained, true);
  busy.wire.openWaits = new Promise<void>((r) => (ready = r));
  assert.equal(busy.core.holds(bytes("next")), true);
  assert.deepEqual(busy.wire.opened, ["target"], "the standby opens at once");
  assert.equal(busy.core.drained, true, "a slow standby does not undo the drain");
  ready();
  await settle();
  router.apply({ sourceOfTruth: "target", epoch: 1, phase: "idle" });
  gate.resume();
  ctx.sessions.reconsiderAll();
  await settle();
  assert.deepEqual(busy.wire.delivered, ["next"]);
  assert.deepEqual(busy.wire.opened, ["target"], "the standby is used, no second open");
  assert.equal(busy.core.side, "target");
});

Deno.test("a wire without login keys proves each session with its own standby", async () => {
  const all = await sessionsOf(3, undefined);
  all[0].gate.pause("c1");
  all[0].ctx.sessions.reconsiderAll();
  await settle();
  assert.deepEqual(opened(all), ["target", "target", "target"]);
  all[0].gate.resume();
  all[0].ctx.sessions.reconsiderAll();
  await settle();
  assert.equal(discarded(all).length, 3, "an abort closes every standby");
});

Deno.test("LoginProofs: one login per key and pause, a new pause proves again, a slow login waits out", async () => {
  let changes = 0;
  const proofs = new LoginProofs(() => changes++, 30);
  let logins = 0;
  let finish = () => {};
  const slow = () => {
    logins++;
    return new Promise<void>((r) => (finish = r));
  };
  const refusal = () => "refused";
  const a = proofs.proof("pause-1", "k", slow, refusal);
  assert.equal(proofs.proof("pause-1", "k", slow, refusal), a);
  assert.equal(logins, 1);
  assert.equal(a.watch.settled || a.watch.waitedOut, false);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(a.watch.waitedOut, true);
  assert.equal(changes, 1);
  finish();
  await settle();
  assert.deepEqual([a.watch.settled, a.refusal, changes], [true, undefined, 2]);

  const b = proofs.proof("pause-2", "k", () => Promise.reject(new Error("no")), refusal);
  assert.notEqual(b, a);
  assert.equal(proofs.size, 1, "the last pause's proofs are forgotten");
  await settle();
  assert.deepEqual([b.watch.settled, b.refusal], [true, "refused"]);
  const thrown = proofs.proof("pause-2", "k2", () => {
    throw new Error("sync");
  }, refusal);
  await settle();
  assert.deepEqual([thrown.watch.settled, thrown.refusal], [true, "refused"]);
});
