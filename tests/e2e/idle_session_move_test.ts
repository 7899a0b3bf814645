/**
 * Idle sessions follow a cutover in turns (issue 11): a proxy opens at most a
 * few connections to the new database at once for its idle sessions, and a
 * session whose client sends a request goes ahead of them. Whatever the
 * order, once the proxy reports the new epoch no session is served by the
 * old database, and each keeps its state (a SET variable, a named prepared
 * statement, its user and database). Forty idle sessions through one proxy,
 * more than it opens at once, through an immediate cutover to the target and
 * a consistent one back, with one request held by the pause.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { API_PATHS, type StatusResponse } from "../../shared/api.ts";
import { BACKGROUND_CONCURRENCY } from "../../proxy/session/open_queue.ts";
import { apiPost, eventually, type Fleet, startFleet, waitForProxies } from "../helpers/fleet.ts";

const SESSIONS = BACKGROUND_CONCURRENCY + 24;

/** What a session answers about itself, through its named prepared statement. */
interface Whoami {
  port: number;
  tag: string;
  usr: string;
  db: string;
}

const WHOAMI = {
  name: "whoami",
  text: "SELECT inet_server_port() AS port, current_setting('lms_test.tag') AS tag, " +
    "current_user AS usr, current_database() AS db",
};

async function whoami(c: pg.Client): Promise<Whoami> {
  const res = await c.query<Whoami>(WHOAMI);
  const row = res.rows[0];
  return { ...row, port: Number(row.port) };
}

async function status(fleet: Fleet): Promise<StatusResponse> {
  const res = await fetch(`${fleet.orchestrator.url}${API_PATHS.status}`);
  return await res.json() as StatusResponse;
}

/** Waits until the proxy reports `epoch` to the orchestrator: its acknowledgement. */
async function acked(fleet: Fleet, epoch: number): Promise<void> {
  await eventually(
    `the proxy on epoch ${epoch}`,
    async () => (await status(fleet)).proxies.every((p) => p.epoch === epoch),
  );
}

async function post(fleet: Fleet, path: string, body: unknown): Promise<void> {
  const res = await apiPost(`${fleet.orchestrator.url}${path}`, body);
  assert.equal(res.status, 200, `POST ${path}: ${JSON.stringify(res.body)}`);
}

Deno.test("idle sessions follow cutovers in turns, with their state, never on the old side after the ack", async () => {
  await using fleet = await startFleet({
    proxies: 1,
    schema: "SELECT 1",
    replicate: [],
    proxyEnv: { LMS_MAX_PAUSE: "30s" },
  });
  await waitForProxies(fleet.orchestrator.url, 1);
  const port = fleet.proxies[0].port;
  const clients: pg.Client[] = [];
  const errors: string[] = [];
  try {
    for (let i = 0; i < SESSIONS; i++) {
      const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
      c.on("error", (err: Error) => errors.push(`session ${i}: ${err.message}`));
      await c.connect();
      await c.query(`SET lms_test.tag = 'idle-${i}'`);
      assert.equal((await whoami(c)).port, fleet.source.port);
      clients.push(c);
    }
    const expect = (i: number, side: Fleet["source"]): Whoami => ({
      port: side.port,
      tag: `idle-${i}`,
      usr: "postgres",
      db: "postgres",
    });

    const before = (await status(fleet)).epoch;
    await post(fleet, API_PATHS.immediate, { from: "source", force: true });
    await acked(fleet, before + 1);
    // The last session to have started asks first: its move is at the back of the queue.
    assert.deepEqual(await whoami(clients.at(-1)!), expect(SESSIONS - 1, fleet.target));
    const answers = await Promise.all(clients.map(whoami));
    answers.forEach((a, i) => assert.deepEqual(a, expect(i, fleet.target), `session ${i}`));

    await post(fleet, API_PATHS.consistentBegin, { from: "target", drainTimeoutMs: 30_000 });
    await eventually("the proxy paused", async () => (await status(fleet)).proxies[0].paused);
    const held = whoami(clients[0]);
    // Awaited after the commit; a failure before it must not mask the step that failed.
    held.catch(() => {});
    await eventually("the fleet drained", async () => (await status(fleet)).phase === "drained");
    await post(fleet, API_PATHS.consistentCommit, { from: "target", skipReplicationCheck: true });
    await acked(fleet, before + 2);
    assert.deepEqual(await held, expect(0, fleet.source), "the held request ran on the new side");
    const back = await Promise.all(clients.map(whoami));
    back.forEach((a, i) => assert.deepEqual(a, expect(i, fleet.source), `session ${i}`));
    assert.deepEqual(errors, []);
  } finally {
    await Promise.allSettled(clients.map((c) => c.end()));
  }
});
