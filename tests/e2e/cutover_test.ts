/**
 * End-to-end cutovers with real processes: an orchestrator, three proxies,
 * source and target PostgreSQL clusters with logical replication from source
 * to target, the real CLI, and a writer workload of 16 sessions that records
 * every acknowledged write.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { cli, eventually, type Fleet, startFleet, waitForProxies } from "../helpers/fleet.ts";
import { startWorkload, WORKLOAD_SCHEMA } from "../helpers/workload.ts";

interface Status {
  sourceOfTruth: "source" | "target";
  epoch: number;
  phase: string;
  proxies: { id: string; connected: boolean; epoch: number | null; paused: boolean }[];
}

async function status(fleet: Fleet): Promise<Status> {
  const res = await fetch(`${fleet.orchestrator.url}/api/v1/status`);
  return await res.json() as Status;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many `step` events the orchestrator recorded in `_molt_lms.events`. */
async function events(fleet: Fleet, step: string): Promise<number> {
  return Number(
    await fleet.target.psql(`SELECT count(*) FROM _molt_lms.events WHERE step = '${step}'`),
  );
}

async function ids(cluster: Fleet["source"]): Promise<Set<number>> {
  const out = await cluster.psql("SELECT id FROM acked");
  return new Set(out === "" ? [] : out.split("\n").map(Number));
}

/** The port of the database a client's session is on right now. */
async function serverPort(client: pg.Client): Promise<number> {
  const res = await client.query("SELECT inet_server_port() AS port");
  return Number(res.rows[0].port);
}

Deno.test("consistent and immediate cutovers under load", async (t) => {
  await using fleet = await startFleet({
    proxies: 3,
    schema: WORKLOAD_SCHEMA,
    replicate: ["acked"],
    // Long enough for a loaded machine to run begin and commit as two CLI processes: a pause
    // that runs out voids the cutover (see control_plane_test).
    proxyEnv: { LMS_MAX_PAUSE: "15s" },
  });
  await waitForProxies(fleet.orchestrator.url, 3);
  const ports = fleet.proxies.map((p) => p.port);
  const workload = await startWorkload(ports, 16);
  const probe = new pg.Client({ host: "127.0.0.1", port: ports[0], user: "postgres" });
  probe.on("error", () => {});
  await probe.connect();
  try {
    await sleep(500);
    assert.equal(await serverPort(probe), fleet.source.port);

    await t.step("abort mid-drain resumes everything on the source", async () => {
      const blocker = new pg.Client({ host: "127.0.0.1", port: ports[1], user: "postgres" });
      // A failed step leaves this session open until the fleet stops; its shutdown notice must not
      // surface as an uncaught error that hides the real failure.
      blocker.on("error", () => {});
      await blocker.connect();
      await blocker.query("BEGIN");
      await blocker.query("INSERT INTO acked (id, client, tx) VALUES (-1, -1, 'blocker')");
      const begin = await cli(fleet.orchestrator.url, [
        "cutover",
        "consistent",
        "begin",
        "--no-wait",
      ]);
      assert.equal(begin.code, 0, begin.stderr);
      // Every proxy reports its pause: the phase alone is stored before the pause is broadcast,
      // and on a loaded machine writes still complete in between.
      await eventually("the fleet paused", async () => {
        const s = await status(fleet);
        return s.phase === "draining" && s.proxies.every((p) => p.paused);
      });
      // A writer that was inside its two-insert transaction when the pause came finishes it (the
      // drain), so each of the 16 may still acknowledge two ids, and none more.
      const before = workload.acked.size;
      await sleep(300);
      const moved = workload.acked.size - before;
      assert.ok(moved <= 2 * 16, `writers are held while paused (${moved} writes acknowledged)`);
      const abort = await cli(fleet.orchestrator.url, ["cutover", "consistent", "abort"]);
      assert.equal(abort.code, 0, abort.stderr);
      await blocker.query("COMMIT");
      await blocker.end();
      const s = await status(fleet);
      assert.equal(s.sourceOfTruth, "source");
      assert.equal(s.phase, "idle");
      const resumed = workload.acked.size;
      await eventually("writes resume", () => workload.acked.size > resumed + 50);
      assert.equal(await serverPort(probe), fleet.source.port);
    });

    await t.step("consistent cutover moves every session to the target", async () => {
      const begin = await cli(fleet.orchestrator.url, [
        "cutover",
        "consistent",
        "begin",
        "--drain-timeout",
        "20s",
      ]);
      assert.equal(begin.code, 0, `${begin.stderr}${begin.stdout}`);
      const commit = await cli(fleet.orchestrator.url, [
        "cutover",
        "consistent",
        "commit",
        "--to",
        "target",
      ]);
      assert.equal(commit.code, 0, `${commit.stderr}${commit.stdout}`);
      const committed = workload.acked.size;
      await eventually(
        "writes continue on the target",
        () => workload.acked.size > committed + 200,
      );
      const s = await status(fleet);
      assert.equal(s.sourceOfTruth, "target");
      assert.equal(s.epoch, 1);
      await eventually(
        "every proxy on epoch 1",
        async () => (await status(fleet)).proxies.every((p) => p.epoch === 1),
      );
      assert.equal(await serverPort(probe), fleet.target.port, "the session moved, same client");
      assert.deepEqual(workload.errors, []);
      const acked = [...workload.acked];
      const onTarget = await ids(fleet.target);
      const missing = acked.filter((id) => !onTarget.has(id));
      assert.deepEqual(missing, [], "every acknowledged write is on the target");
      const onSource = await ids(fleet.source);
      assert.ok(onSource.size < onTarget.size, "writes after the commit went to the target only");
    });

    await t.step("a proxy (re)started after the commit routes to the target", async () => {
      for (let round = 0; round < 2; round++) {
        await using extra = await fleet.spawnProxy("proxy-extra");
        const c = new pg.Client({ host: "127.0.0.1", port: extra.port, user: "postgres" });
        await c.connect();
        assert.equal(await serverPort(c), fleet.target.port);
        await c.end();
      }
    });

    await t.step("a second begin/commit reverses the cutover", async () => {
      // Nothing replicates from the target back to the source here: the marker never arrives.
      const begin = await cli(fleet.orchestrator.url, [
        "cutover",
        "consistent",
        "begin",
        "--to",
        "source",
        "--no-wait",
      ]);
      assert.equal(begin.code, 0, `${begin.stderr}${begin.stdout}`);
      await eventually("drained", async () => (await status(fleet)).phase === "drained");
      const refused = await cli(fleet.orchestrator.url, ["cutover", "consistent", "commit"]);
      assert.equal(refused.code, 1, `${refused.stderr}${refused.stdout}`);
      assert.match(refused.stderr, /NOT_CAUGHT_UP/);
      assert.match(refused.stderr, /from the target to the source/);
      // Every write was acknowledged by the target and the workload is paused: nothing is
      // missing on the source that it needs, so the operator overrides the check.
      const commit = await cli(fleet.orchestrator.url, [
        "cutover",
        "consistent",
        "commit",
        "--to",
        "source",
        "--skip-replication-check",
      ]);
      assert.equal(commit.code, 0, `${commit.stderr}${commit.stdout}`);
      await eventually(
        "the override recorded in _molt_lms.events",
        async () => await events(fleet, "replication_check_skipped") === 1,
      );
      const s = await status(fleet);
      assert.equal(s.sourceOfTruth, "source");
      assert.equal(s.epoch, 2);
      const committed = workload.acked.size;
      await eventually(
        "writes continue on the source",
        () => workload.acked.size > committed + 100,
      );
      assert.equal(await serverPort(probe), fleet.source.port);
      assert.deepEqual(workload.errors, []);
    });

    await t.step("immediate cutover: no transaction spans two databases", async () => {
      // Shadowing is off here, which the docs warn against for an immediate cutover.
      const refused = await cli(fleet.orchestrator.url, ["cutover", "immediate", "--to", "target"]);
      assert.equal(refused.code, 1, `${refused.stderr}${refused.stdout}`);
      assert.match(refused.stderr, /UNSAFE_SHADOW_MODE/);
      const res = await cli(fleet.orchestrator.url, [
        "cutover",
        "immediate",
        "--to",
        "target",
        "--force",
      ]);
      assert.equal(res.code, 0, `${res.stderr}${res.stdout}`);
      await eventually(
        "the override recorded in _molt_lms.events",
        async () => await events(fleet, "shadow_mode_guard_overridden") === 1,
      );
      const switched = workload.acked.size;
      await eventually("writes continue", () => workload.acked.size > switched + 200);
      await eventually(
        "probe on the target",
        async () => await serverPort(probe) === fleet.target.port,
      );
      assert.deepEqual(workload.errors, []);
      const split = await fleet.source.psql(
        "SELECT tx FROM acked WHERE tx LIKE 't%' GROUP BY tx HAVING count(*) <> 2",
      );
      assert.equal(split, "", "a transaction left half of its rows on the source");
    });
  } finally {
    await probe.end();
    await workload.stop();
  }
  assert.deepEqual(workload.errors, []);
});
