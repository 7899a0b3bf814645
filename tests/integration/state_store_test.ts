import assert from "node:assert/strict";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { parseConnectionString } from "../../shared/connstring.ts";
import { INITIAL_STATE, StateStore } from "../../shared/state_store.ts";

Deno.test("state store on PostgreSQL", async (t) => {
  await using target = await startPgCluster({ name: "store-target" });
  await using source = await startPgCluster({ name: "store-source" });
  const store = new StateStore({
    target: parseConnectionString(target.url(), "INIT_TARGET"),
    source: parseConnectionString(source.url(), "INIT_SOURCE"),
  });
  try {
    await t.step("before initialize: epoch 0 on the source, no history, CAS refused", async () => {
      const state = await store.readState();
      assert.deepEqual(state, {
        ...INITIAL_STATE,
        initialized: false,
        updatedAt: null,
        updatedBy: null,
      });
      assert.deepEqual(await store.history(10), []);
      const won = await store.compareAndSet(
        { epoch: 0, phase: "idle" },
        {
          sourceOfTruth: "target",
          epoch: 1,
          phase: "idle",
        },
        "o1",
        "immediate",
      );
      assert.equal(won, false);
    });

    await t.step(
      "initialize is idempotent and creates the marker table on both sides",
      async () => {
        const first = await store.initialize("o1");
        assert.deepEqual([first.created, first.state], [true, INITIAL_STATE]);
        const second = await store.initialize("o2");
        assert.deepEqual([second.created, second.state], [false, INITIAL_STATE]);
        assert.deepEqual(second.markers.map((m) => [m.side, m.dialect]), [
          ["target", "postgres"],
          ["source", "postgres"],
        ]);
        const state = await store.readState();
        assert.equal(state.initialized, true);
        assert.equal(state.updatedBy, "o1");
        const history = await store.history(10);
        assert.deepEqual(history.map((e) => e.step), ["initialize"]);
        for (const db of [target, source]) {
          assert.equal(await db.psql("SELECT to_regclass('_molt_lms.marker') IS NOT NULL"), "t");
        }
        assert.equal(await source.psql("SELECT to_regclass('_molt_lms.state') IS NULL"), "t");
        assert.equal(await target.psql("SELECT count(*) FROM _molt_lms.state"), "1");
      },
    );

    await t.step("compare-and-set writes only on the expected epoch and phase", async () => {
      const draining = { sourceOfTruth: "source", epoch: 0, phase: "draining" } as const;
      assert.equal(
        await store.compareAndSet({ epoch: 1, phase: "idle" }, draining, "o1", "begin"),
        false,
      );
      assert.equal(
        await store.compareAndSet({ epoch: 0, phase: "drained" }, draining, "o1", "begin"),
        false,
      );
      assert.equal(
        await store.compareAndSet({ epoch: 0, phase: "idle" }, draining, "o1", "begin", {
          cutoverId: "c1",
        }),
        true,
      );
      const state = await store.readState();
      assert.equal(state.phase, "draining");
      assert.equal(state.epoch, 0);
      const [latest] = await store.history(1);
      assert.equal(latest.step, "begin");
      assert.deepEqual(latest.detail, { cutoverId: "c1" });
    });

    await t.step("two orchestrators CAS the same state at once: exactly one wins", async () => {
      const rival = new StateStore({ target: parseConnectionString(target.url(), "INIT_TARGET") });
      const expected = { epoch: 0, phase: "draining" } as const;
      const next = { sourceOfTruth: "target", epoch: 1, phase: "idle" } as const;
      let results: boolean[];
      try {
        results = await Promise.all(
          ["a", "b", "c", "d"].map((who, i) =>
            (i % 2 === 0 ? store : rival).compareAndSet(expected, next, who, "commit", { who })
          ),
        );
      } finally {
        await rival.close();
      }
      assert.equal(results.filter(Boolean).length, 1, `results: ${results}`);
      const state = await store.readState();
      assert.deepEqual({ s: state.sourceOfTruth, e: state.epoch, p: state.phase }, {
        s: "target",
        e: 1,
        p: "idle",
      });
      const commits = (await store.history(20)).filter((e) => e.step === "commit");
      assert.equal(commits.length, 1, "only the winner's step is in the history");
      assert.equal(commits[0].actor, state.updatedBy);
    });

    await t.step("history is append-only and newest first", async () => {
      await store.appendEvent(1, "drain_timeout", "o1", { blocking: [] });
      const history = await store.history(10);
      assert.deepEqual(history.map((e) => e.step), [
        "drain_timeout",
        "commit",
        "begin",
        "initialize",
      ]);
      assert.ok(history.every((e) => !Number.isNaN(Date.parse(e.at))));
      assert.deepEqual((await store.history(2)).map((e) => e.step), ["drain_timeout", "commit"]);
    });

    await t.step("markers: written on one side, seen only where they are", async () => {
      const onTarget = await store.markerPoller("target", "m1");
      const onSource = await store.markerPoller("source", "m1");
      try {
        assert.equal(await onSource.seen(), false);
        await store.writeMarker("source", "m1");
        assert.equal(await onSource.seen(), true);
        assert.equal(await onTarget.seen(), false, "no replication between the clusters here");
        await store.writeMarker("source", "m1");
      } finally {
        await onTarget.close();
        await onSource.close();
      }
    });
  } finally {
    await store.close();
  }
});

Deno.test("state store reports an unreachable target with an LmsError", async () => {
  const store = new StateStore({
    target: parseConnectionString("postgres://nobody:secret-pw@127.0.0.1:1/x", "INIT_TARGET"),
  });
  try {
    await assert.rejects(store.initialize("o1"), (err: Error) => {
      assert.match(err.message, /not reachable/);
      assert.doesNotMatch(err.message, /secret-pw/);
      return true;
    });
  } finally {
    await store.close();
  }
});
