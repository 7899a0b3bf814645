import assert from "node:assert/strict";
import {
  CONSISTENT_MODE_WARNING,
  type CutoverContext,
  type CutoverEvent,
  IMMEDIATE_MODE_WARNING,
  otherSide,
  transition,
} from "../../orchestrator/cutover.ts";
import type { ReplicationStatus } from "../../shared/api.ts";
import type { ClusterState } from "../../shared/control.ts";

const idleSource: ClusterState = { sourceOfTruth: "source", epoch: 3, phase: "idle" };
const draining: ClusterState = { ...idleSource, phase: "draining" };
const drained: ClusterState = { ...idleSource, phase: "drained" };
const caughtUp: ReplicationStatus = { checked: true, caughtUp: true, lagMs: 12, error: null };
const waiting: ReplicationStatus = { checked: true, caughtUp: false, lagMs: null, error: null };
const ctx = (over: Partial<CutoverContext> = {}): CutoverContext => ({
  initialized: true,
  connectedProxies: 2,
  drainedProxies: 2,
  replication: caughtUp,
  shadowModes: [{ proxyId: "p1", mode: "none" }, { proxyId: "p2", mode: "async" }],
  resumedProxies: [],
  missingProxies: [],
  ...over,
});
const syncModes = [{ proxyId: "p1", mode: "sync" as const }, {
  proxyId: "p2",
  mode: "strict-sync" as const,
}];
const begin: CutoverEvent = { type: "begin", from: "source", force: false };
const commit: CutoverEvent = { type: "commit", from: "source", skipReplicationCheck: false };
const immediate: CutoverEvent = { type: "immediate", from: "source", force: false };

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
    const r = transition(idleSource, begin, ctx());
    assert.deepEqual(r, { ok: true, next: draining, step: "begin" });
  });
  await t.step("all_drained: draining -> drained; drain_lost: back", () => {
    assert.deepEqual(transition(draining, { type: "all_drained" }, ctx()), {
      ok: true,
      next: drained,
      step: "drained",
    });
    assert.deepEqual(transition(drained, { type: "drain_lost" }, ctx()), {
      ok: true,
      next: draining,
      step: "drain_lost",
    });
  });
  await t.step("commit from drained flips SoT and bumps epoch", () => {
    const r = transition(drained, commit, ctx());
    assert.deepEqual(r, {
      ok: true,
      next: { sourceOfTruth: "target", epoch: 4, phase: "idle" },
      step: "commit",
    });
  });
  await t.step("commit from draining when every proxy acked and the marker arrived", () => {
    const r = transition(draining, commit, ctx());
    assert.ok(r.ok && r.next.sourceOfTruth === "target" && r.next.epoch === 4);
  });
  await t.step("commit with skipReplicationCheck before the marker arrived", () => {
    for (const replication of [null, waiting]) {
      const r = transition(
        drained,
        { ...commit, skipReplicationCheck: true },
        ctx({ replication }),
      );
      assert.ok(r.ok && r.next.phase === "idle");
    }
  });
  await t.step("commit with zero connected proxies", () => {
    const r = transition(draining, commit, ctx({ connectedProxies: 0, drainedProxies: 0 }));
    assert.ok(r.ok);
  });
  await t.step("reverse: commit from target goes back to source", () => {
    const onTarget: ClusterState = { sourceOfTruth: "target", epoch: 4, phase: "drained" };
    const r = transition(onTarget, { ...commit, from: "target" }, ctx());
    assert.deepEqual(r.ok && r.next, { sourceOfTruth: "source", epoch: 5, phase: "idle" });
  });
  await t.step("abort from draining and drained keeps SoT and epoch", () => {
    for (const s of [draining, drained]) {
      const r = transition(s, { type: "abort" }, ctx({ drainedProxies: 0 }));
      assert.deepEqual(r, { ok: true, next: idleSource, step: "abort" });
    }
  });
  await t.step("immediate from idle flips at once in sync modes", () => {
    const r = transition(
      idleSource,
      immediate,
      ctx({ connectedProxies: 5, drainedProxies: 0, shadowModes: syncModes }),
    );
    assert.deepEqual(r, {
      ok: true,
      next: { sourceOfTruth: "target", epoch: 4, phase: "idle" },
      step: "immediate",
    });
  });
  await t.step("--force overrides the shadow-mode guards", () => {
    assert.ok(
      transition(idleSource, { ...begin, force: true }, ctx({ shadowModes: syncModes })).ok,
    );
    assert.ok(transition(idleSource, { ...immediate, force: true }, ctx()).ok);
  });
  assert.equal(otherSide("source"), "target");
  assert.equal(otherSide("target"), "source");
});

Deno.test("refused transitions", async (t) => {
  await t.step("everything before initialize", () => {
    for (const e of [begin, { type: "all_drained" } as const, commit, { type: "abort" } as const]) {
      refused(
        transition(idleSource, e, ctx({ initialized: false })),
        "NOT_INITIALIZED",
        /initialize/,
      );
    }
  });
  await t.step("a switching request that names no source of truth", () => {
    const onTarget: ClusterState = { sourceOfTruth: "target", epoch: 4, phase: "idle" };
    for (const e of [begin, immediate]) {
      const msg = refused(
        transition(onTarget, { ...e, from: undefined }, ctx({ shadowModes: syncModes })),
        "BAD_REQUEST",
        /"from": "target".*--to source/,
      );
      assert.match(msg, /source of truth is now the target/);
    }
    refused(transition(drained, { ...commit, from: undefined }, ctx()), "BAD_REQUEST");
  });
  await t.step("a retried request finds the source of truth switched: nothing changes", () => {
    const after: ClusterState = { sourceOfTruth: "target", epoch: 4, phase: "idle" };
    for (const e of [begin, commit, immediate]) {
      const msg = refused(
        transition(after, e, ctx({ shadowModes: syncModes })),
        "SOURCE_OF_TRUTH_MISMATCH",
        /--to source/,
      );
      assert.match(msg, /already the target.*nothing changed/);
    }
  });
  await t.step("consistent cutover in sync or strict-sync quotes the docs", () => {
    const msg = refused(
      transition(idleSource, begin, ctx({ shadowModes: syncModes })),
      "UNSAFE_SHADOW_MODE",
      /none or async.*--force/,
    );
    assert.ok(msg.includes(CONSISTENT_MODE_WARNING), msg);
    assert.match(msg, /p1 \(sync\), p2 \(strict-sync\)/);
  });
  await t.step("immediate cutover in none or async quotes the docs", () => {
    const msg = refused(transition(idleSource, immediate, ctx()), "UNSAFE_SHADOW_MODE", /--force/);
    assert.ok(msg.includes(IMMEDIATE_MODE_WARNING), msg);
    assert.match(msg, /p1 \(none\), p2 \(async\)/);
  });
  await t.step("begin while draining or drained", () => {
    refused(transition(draining, begin, ctx()), "INVALID_PHASE", /commit.*abort/);
    refused(transition(drained, begin, ctx()), "INVALID_PHASE", /commit.*abort/);
  });
  await t.step("all_drained outside draining, drain_lost outside drained", () => {
    refused(transition(idleSource, { type: "all_drained" }, ctx()), "INVALID_PHASE");
    refused(transition(drained, { type: "all_drained" }, ctx()), "INVALID_PHASE");
    refused(transition(draining, { type: "drain_lost" }, ctx()), "INVALID_PHASE");
  });
  await t.step("commit when not all proxies drained", () => {
    const msg = refused(
      transition(draining, commit, ctx({ drainedProxies: 1 })),
      "NOT_DRAINED",
      /wait for open transactions.*abort/,
    );
    assert.match(msg, /1 of 2/);
    refused(
      transition(drained, commit, ctx({ connectedProxies: 3, drainedProxies: 2 })),
      "NOT_DRAINED",
    );
  });
  await t.step("commit after proxies resumed by themselves: abort, then begin again", () => {
    const msg = refused(
      transition(draining, commit, ctx({ drainedProxies: 1, resumedProxies: ["p2"] })),
      "NOT_DRAINED",
      /abort.*then.*begin.*again/,
    );
    assert.match(msg, /p2 resumed traffic on the source by themselves.*LMS_MAX_PAUSE/);
  });
  await t.step("commit before the marker was seen names both databases the right way", () => {
    const forward = refused(
      transition(drained, commit, ctx({ replication: waiting })),
      "NOT_CAUGHT_UP",
      /from the source to the target.*_molt_lms\.marker.*--skip-replication-check/,
    );
    assert.match(forward, /written on the source has not been seen on the target/);
    const onTarget: ClusterState = { sourceOfTruth: "target", epoch: 4, phase: "drained" };
    const back = refused(
      transition(onTarget, { ...commit, from: "target" }, ctx({ replication: waiting })),
      "NOT_CAUGHT_UP",
      /from the target to the source/,
    );
    assert.match(back, /written on the target has not been seen on the source/);
    refused(transition(drained, commit, ctx({ replication: null })), "NOT_CAUGHT_UP");
    const failed = refused(
      transition(drained, commit, ctx({ replication: { ...waiting, error: "no such table" } })),
      "NOT_CAUGHT_UP",
    );
    assert.match(failed, /check failed: no such table/);
  });
  await t.step("commit when idle", () => {
    refused(transition(idleSource, commit, ctx()), "INVALID_PHASE", /begin/);
    refused(
      transition(idleSource, commit, ctx({ lastStep: "commit" })),
      "INVALID_PHASE",
      /begin.*commit.*again/,
    );
  });
  await t.step("abort after commit says to begin/commit again", () => {
    const r = transition(
      { sourceOfTruth: "target", epoch: 4, phase: "idle" },
      { type: "abort" },
      ctx({ lastStep: "commit" }),
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
    const sync = ctx({ shadowModes: syncModes });
    refused(transition(draining, immediate, sync), "INVALID_PHASE", /commit.*abort/);
    refused(transition(drained, immediate, sync), "INVALID_PHASE", /commit.*abort/);
  });
});

Deno.test("begin, commit and immediate wait for fleet members that are not connected", () => {
  const missingProxies = [{ proxyId: "p3", absentForMs: 4_000, graceLeftMs: 26_000 }];
  type Switching = Extract<CutoverEvent, { type: "begin" | "commit" | "immediate" }>;
  const cases: [ClusterState, Switching][] = [
    [idleSource, { type: "begin", from: "source", force: false }],
    [drained, { type: "commit", from: "source", skipReplicationCheck: false }],
    [idleSource, { type: "immediate", from: "source", force: true }],
  ];
  for (const [state, event] of cases) {
    const refused = transition(state, event, ctx({ missingProxies }));
    assert.equal(refused.ok, false, event.type);
    if (refused.ok) continue;
    assert.equal(refused.error.code, "PROXIES_MISSING");
    assert.match(refused.error.message, /p3 \(last seen 4 s ago\) is not connected/);
    assert.match(refused.error.hint, /26 s from now .*--allow-missing-proxies/);
    const allowed = transition(
      state,
      { ...event, allowMissingProxies: true },
      ctx({ missingProxies }),
    );
    assert.equal(allowed.ok, true, event.type);
  }
});
