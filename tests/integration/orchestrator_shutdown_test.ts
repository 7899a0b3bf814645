/**
 * Graceful shutdown of a real orchestrator process (SIGTERM): `/readyz` and
 * the API answer 503 at once, a command already running finishes and answers,
 * one that outlives the grace period is abandoned without touching the store,
 * and the process exits 0.
 *
 * A command is held mid-compare-and-set by locking the state row from a
 * separate connection, so "running" is a fact the test controls, not a race.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import {
  apiPost,
  eventually,
  type OrchestratorProcess,
  spawnOrchestrator,
} from "../helpers/fleet.ts";

async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? JSON.parse(text) : text };
}

/** An immediate cutover here has no proxies to shadow: it needs `force`. */
const FORCED_IMMEDIATE = { from: "source", force: true };

function post(url: string, body: unknown = {}): Promise<{ status: number; body: unknown }> {
  return apiPost(url, body);
}

async function waitReady(orch: OrchestratorProcess): Promise<void> {
  await eventually(
    "the orchestrator to be ready",
    async () =>
      (await get(`http://127.0.0.1:${orch.metricsPort}/readyz`).catch(() => undefined))?.status ===
        200,
  );
}

/** Sends SIGTERM; resolves with the exit code and the seconds it took. */
async function terminate(orch: OrchestratorProcess): Promise<{ code: number; seconds: number }> {
  const started = performance.now();
  orch.child.kill("SIGTERM");
  const status = await orch.child.status;
  return { code: status.code, seconds: (performance.now() - started) / 1000 };
}

Deno.test("orchestrator graceful shutdown on SIGTERM", async (t) => {
  await using target = await startPgCluster({ name: "orch-shutdown" });
  const targetUrl = target.url({ params: { sslmode: "disable" } });
  const locker = new pg.Client({ connectionString: targetUrl });
  await locker.connect();
  const lockerPid = Number((await locker.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
  const lockStateRow = async () => {
    await locker.query("BEGIN");
    await locker.query("SELECT * FROM _molt_lms.state WHERE id = 1 FOR UPDATE");
  };
  const waitingOnLock = () =>
    eventually("a command blocked on the state row", async () =>
      await target.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' " +
          "AND query LIKE 'UPDATE _molt_lms.state%'",
      ) === "1");
  const stored = () => target.psql("SELECT source_of_truth || ' ' || epoch FROM _molt_lms.state");
  const immediateSteps = () =>
    target.psql("SELECT count(*) FROM _molt_lms.events WHERE step = 'immediate'");

  try {
    await t.step("a running command finishes and answers; later calls get 503", async () => {
      const orch = await spawnOrchestrator({
        INIT_TARGET: targetUrl,
        LMS_SHUTDOWN_GRACE: "10s",
      });
      try {
        await waitReady(orch);
        assert.equal((await post(`${orch.url}/api/v1/initialize`)).status, 200);
        assert.equal(await stored(), "source 0");
        await lockStateRow();
        const running = post(`${orch.url}/api/v1/cutover/immediate`, FORCED_IMMEDIATE);
        await waitingOnLock();
        const exited = terminate(orch);
        await eventually(
          "/readyz to turn 503",
          async () => (await get(`http://127.0.0.1:${orch.metricsPort}/readyz`)).status === 503,
        );
        assert.equal((await get(`http://127.0.0.1:${orch.metricsPort}/healthz`)).status, 200);
        const refused = await get(`${orch.url}/api/v1/status`);
        assert.equal(refused.status, 503);
        assert.match(JSON.stringify(refused.body), /shutting down/);
        assert.equal(
          (await post(`${orch.url}/api/v1/cutover/consistent/begin`, { from: "target" })).status,
          503,
        );

        await locker.query("COMMIT");
        const answered = await running;
        assert.equal(answered.status, 200, JSON.stringify(answered.body));
        const state = (answered.body as { state: { sourceOfTruth: string; epoch: number } }).state;
        assert.deepEqual([state.sourceOfTruth, state.epoch], ["target", 1]);
        const { code, seconds } = await exited;
        assert.equal(code, 0);
        assert.ok(seconds < 8, `exit took ${seconds.toFixed(1)} s`);
        assert.equal(await stored(), "target 1");
        assert.equal(await immediateSteps(), "1");
      } finally {
        await locker.query("ROLLBACK").catch(() => undefined);
        await orch.kill();
      }
    });

    await t.step(
      "a command outliving the grace period is abandoned; the store is unchanged",
      async () => {
        const orch = await spawnOrchestrator({
          INIT_TARGET: targetUrl,
          LMS_SHUTDOWN_GRACE: "1s",
        });
        try {
          await waitReady(orch);
          await lockStateRow();
          const running = post(`${orch.url}/api/v1/cutover/immediate`, {
            ...FORCED_IMMEDIATE,
            from: "target",
          }).then(
            (r) => r.status,
            () => "no answer",
          );
          await waitingOnLock();
          const { code, seconds } = await terminate(orch);
          assert.equal(code, 0);
          assert.ok(seconds >= 0.9, `exit after ${seconds.toFixed(2)} s, before the grace period`);
          assert.ok(seconds < 5, `exit took ${seconds.toFixed(1)} s; the grace period is 1 s`);
          assert.equal(await running, "no answer");
          await locker.query("COMMIT");
          await eventually("the abandoned connection to go away", async () =>
            await target.psql(
              "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' " +
                `AND pid NOT IN (pg_backend_pid(), ${lockerPid})`,
            ) === "0");
          assert.equal(await stored(), "target 1");
          assert.equal(await immediateSteps(), "1");
        } finally {
          await locker.query("ROLLBACK").catch(() => undefined);
          await orch.kill();
        }
      },
    );
  } finally {
    await locker.end();
  }
});
