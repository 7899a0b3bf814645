import assert from "node:assert/strict";
import { type CutoverContext, otherSide, transition } from "../../orchestrator/cutover.ts";
import type { ClusterState } from "../../shared/control.ts";

const idleSource: ClusterState = { sourceOfTruth: "source", epoch: 3, phase: "idle" };
const draining: ClusterState = { ...idleSource, phase: "draining" };
const drained: ClusterState = { ...idleSource, phase: "drained" };
const ctx = (over: Partial<CutoverContext> = {}): CutoverContext => ({
  initialized: true,
  connectedProxies: 2,
  drainedProxies: 2,
  caughtUp: null,
  ...over,
});

function refused(result: ReturnType<typeof transition>, code: string, hint?: RegExp): string {
  assert.equal(result.ok, false, "transition should be refused");
  if (result.ok) throw new Error("unreachable");
  assert.equal(result.error.code, code);
  assert.ok(result.error.message.length > 0);
  if (hint) assert.match(result.error.hint, hint);
  return result.error.message;
}

Deno.test("accepted transitions", async (t) => {
  await t.step("begin: idle -> draining, same epoch and SoT", () => {
    const r = transition(idleSource, { type: "begin" }, ctx());
    assert.deepEqual(r, { ok: true, next: draining, step: "begin" });
  });
  await t.step("all_drained: draining -> drained", () => {
    const r = transition(draining, { type: "all_drained" }, ctx());
    assert.deepEqual(r, { ok: true, next: drained, step: "drained" });
  });
  await t.step("commit from drained flips SoT and bumps epoch", () => {
    const r = transition(drained, { type: "commit", requireCaughtUp: false }, ctx());
    assert.deepEqual(r, {
      ok: true,
      next: { sourceOfTruth: "target", epoch: 4, phase: "idle" },
      step: "commit",
    });
  });
  await t.step("commit from draining when every proxy acked", () => {
    const r = transition(draining, { type: "commit", requireCaughtUp: false }, ctx());
    assert.ok(r.ok && r.next.sourceOfTruth === "target" && r.next.epoch === 4);
  });
  await t.step("commit with requireCaughtUp once caught up", () => {
    const r = transition(
      drained,
      { type: "commit", requireCaughtUp: true },
      ctx({ caughtUp: true }),
    );
    assert.ok(r.ok && r.next.phase === "idle");
  });
  await t.step("commit with zero connected proxies", () => {
    const r = transition(
      draining,
      { type: "commit", requireCaughtUp: false },
      ctx({
        connectedProxies: 0,
        drainedProxies: 0,
      }),
    );
    assert.ok(r.ok);
  });
  await t.step("reverse: commit from target goes back to source", () => {
    const onTarget: ClusterState = { sourceOfTruth: "target", epoch: 4, phase: "drained" };
    const r = transition(onTarget, { type: "commit", requireCaughtUp: false }, ctx());
    assert.deepEqual(r.ok && r.next, { sourceOfTruth: "source", epoch: 5, phase: "idle" });
  });
  await t.step("abort from draining and drained keeps SoT and epoch", () => {
    for (const s of [draining, drained]) {
      const r = transition(s, { type: "abort" }, ctx({ drainedProxies: 0 }));
      assert.deepEqual(r, { ok: true, next: idleSource, step: "abort" });
    }
  });
  await t.step("immediate from idle flips at once", () => {
    const r = transition(
      idleSource,
      { type: "immediate" },
      ctx({ connectedProxies: 5, drainedProxies: 0 }),
    );
    assert.deepEqual(r, {
      ok: true,
      next: { sourceOfTruth: "target", epoch: 4, phase: "idle" },
      step: "immediate",
    });
  });
  assert.equal(otherSide("source"), "target");
  assert.equal(otherSide("target"), "source");
});

Deno.test("refused transitions", async (t) => {
  await t.step("everything before initialize", () => {
    for (
      const e of [
        { type: "begin" },
        { type: "all_drained" },
        { type: "commit", requireCaughtUp: false },
        { type: "abort" },
        { type: "immediate" },
      ] as const
    ) {
      refused(
        transition(idleSource, e, ctx({ initialized: false })),
        "NOT_INITIALIZED",
        /initialize/,
      );
    }
  });
  await t.step("begin while draining or drained", () => {
    refused(transition(draining, { type: "begin" }, ctx()), "INVALID_PHASE", /commit.*abort/);
    refused(transition(drained, { type: "begin" }, ctx()), "INVALID_PHASE", /commit.*abort/);
  });
  await t.step("all_drained outside draining", () => {
    refused(transition(idleSource, { type: "all_drained" }, ctx()), "INVALID_PHASE");
    refused(transition(drained, { type: "all_drained" }, ctx()), "INVALID_PHASE");
  });
  await t.step("commit when not all proxies drained", () => {
    const msg = refused(
      transition(draining, { type: "commit", requireCaughtUp: false }, ctx({ drainedProxies: 1 })),
      "NOT_DRAINED",
      /abort/,
    );
    assert.match(msg, /1 of 2/);
    refused(
      transition(
        drained,
        { type: "commit", requireCaughtUp: false },
        ctx({
          connectedProxies: 3,
          drainedProxies: 2,
        }),
      ),
      "NOT_DRAINED",
    );
  });
  await t.step("commit with requireCaughtUp before catch-up", () => {
    refused(
      transition(drained, { type: "commit", requireCaughtUp: true }, ctx({ caughtUp: null })),
      "NOT_CAUGHT_UP",
    );
    const msg = refused(
      transition(drained, { type: "commit", requireCaughtUp: true }, ctx({ caughtUp: false })),
      "NOT_CAUGHT_UP",
    );
    assert.match(msg, /not caught up/);
  });
  await t.step("commit when idle", () => {
    refused(
      transition(idleSource, { type: "commit", requireCaughtUp: false }, ctx()),
      "INVALID_PHASE",
      /begin/,
    );
    refused(
      transition(
        idleSource,
        { type: "commit", requireCaughtUp: false },
        ctx({ lastStep: "commit" }),
      ),
      "INVALID_PHASE",
      /begin.*commit.*again/,
    );
  });
  await t.step("abort after commit says to begin/commit again", () => {
    const r = transition(
      { sourceOfTruth: "target", epoch: 4, phase: "idle" },
      { type: "abort" },
      ctx({
        lastStep: "commit",
      }),
    );
    refused(r, "INVALID_PHASE", /already committed.*begin.*commit.*again/);
  });
  await t.step("abort when no cutover ran", () => {
    refused(
      transition(idleSource, { type: "abort" }, ctx()),
      "INVALID_PHASE",
      /only valid between/,
    );
    refused(transition(idleSource, { type: "abort" }, ctx({ lastStep: "abort" })), "INVALID_PHASE");
  });
  await t.step("immediate during a consistent cutover", () => {
    refused(transition(draining, { type: "immediate" }, ctx()), "INVALID_PHASE", /commit.*abort/);
    refused(transition(drained, { type: "immediate" }, ctx()), "INVALID_PHASE", /commit.*abort/);
  });
});
