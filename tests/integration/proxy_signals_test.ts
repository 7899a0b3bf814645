/**
 * Ctrl-C the way a terminal delivers it: `deno task proxy` runs in its own
 * process group and SIGINT goes to the whole group, so both `deno task` (which
 * forwards it) and the proxy get it, milliseconds apart. That must not count
 * as "stop without waiting": an open transaction still commits. Only a signal
 * sent once the grace period has visibly begun (a second later) cuts it short.
 * The orchestrator follows the same rule.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort, waitForPort } from "../../shared/local/ports.ts";
import { REPEAT_WINDOW_MS } from "../../shared/signals.ts";
import { TEST_API_TOKEN } from "../helpers/fleet.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

interface TaskProxy {
  port: number;
  child: Deno.ChildProcess;
  /** Process group of `deno task` and everything it started. */
  pgid: number;
}

/** `deno task proxy` as the leader of a new process group, like a shell job. */
async function startTaskProxy(source: string): Promise<TaskProxy> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), "task", "proxy"],
    cwd: ROOT,
    env: {
      INIT_SOURCE: source,
      LMS_SOURCE_DIALECT: "postgres",
      LMS_STANDALONE: "true",
      LMS_LISTEN: `127.0.0.1:${port}`,
      LMS_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      LMS_SHUTDOWN_GRACE: "20s",
      LMS_LOG_LEVEL: "warn",
    },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
    await res?.body?.cancel();
    if (res?.status === 200) break;
    if (Date.now() > deadline) throw new Error("deno task proxy did not become ready");
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, child, pgid: await processGroup(child) };
}

/** The process group of `child` (its leader when started through setsid). */
async function processGroup(child: Deno.ChildProcess): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${child.pid}/stat`);
  const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  assert.equal(pgid, child.pid, "setsid did not make deno task a process group leader");
  return pgid;
}

/** `kill -INT -PGID`: what the terminal does on Ctrl-C. */
async function interruptGroup(pgid: number): Promise<void> {
  const out = await new Deno.Command("kill", { args: ["-INT", "--", `-${pgid}`] }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

async function openTransaction(port: number, tag: string): Promise<pg.Client> {
  const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres" });
  client.on("error", () => {});
  await client.connect();
  await client.query("BEGIN");
  await client.query("INSERT INTO items VALUES ($1)", [tag]);
  return client;
}

Deno.test("Ctrl-C on deno task proxy lets an open transaction commit", async (t) => {
  await using cluster = await startPgCluster({
    name: "signals",
    initSql: ["CREATE TABLE items (tag text NOT NULL)"],
  });
  const source = cluster.url({ params: { sslmode: "disable" } });
  const rows = async (tag: string) =>
    Number(await cluster.psql(`SELECT count(*) FROM items WHERE tag = '${tag}'`));

  await t.step("SIGINT to the process group: the transaction commits, exit 0", async () => {
    const proxy = await startTaskProxy(source);
    const client = await openTransaction(proxy.port, "ctrl-c");
    try {
      await interruptGroup(proxy.pgid);
      // Longer than the repeat window: the proxy is visibly waiting, not gone.
      await new Promise((r) => setTimeout(r, REPEAT_WINDOW_MS + 200));
      await client.query("COMMIT");
      assert.equal(await rows("ctrl-c"), 1, "the insert was lost");
    } finally {
      await client.end().catch(() => {});
    }
    const status = await proxy.child.status;
    assert.equal(status.code, 0);
  });

  await t.step("a second Ctrl-C once the grace period has begun exits at once", async () => {
    const proxy = await startTaskProxy(source);
    const client = await openTransaction(proxy.port, "twice");
    try {
      await interruptGroup(proxy.pgid);
      await new Promise((r) => setTimeout(r, REPEAT_WINDOW_MS + 300));
      const started = Date.now();
      await interruptGroup(proxy.pgid);
      const status = await proxy.child.status;
      assert.ok(Date.now() - started < 10_000, "waited for the grace period");
      assert.notEqual(status.code, 0);
      await assert.rejects(client.query("COMMIT"));
      assert.equal(await rows("twice"), 0, "a cut transaction committed");
    } finally {
      await client.end().catch(() => {});
    }
  });

  await t.step("the orchestrator under deno task: one Ctrl-C is a graceful stop", async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const child = new Deno.Command("setsid", {
      args: [Deno.execPath(), "task", "orchestrator"],
      cwd: ROOT,
      env: {
        INIT_TARGET: source,
        LMS_SOURCE_DIALECT: "postgres",
        LMS_LISTEN: `127.0.0.1:${port}`,
        LMS_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
        LMS_LOG_LEVEL: "warn",
        LMS_API_TOKEN: TEST_API_TOKEN,
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    await waitForPort("127.0.0.1", metricsPort, 30_000);
    await interruptGroup(await processGroup(child));
    const status = await child.status;
    const log = await stderr;
    assert.equal(status.code, 0, log);
    assert.doesNotMatch(log, /exiting without waiting/);
  });
});
