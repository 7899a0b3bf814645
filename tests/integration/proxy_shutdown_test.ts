/**
 * Graceful shutdown of a real proxy process (SIGTERM): it stops accepting and
 * turns unready at once, disconnects idle clients with 57P01 and a reconnect
 * message, lets a running transaction commit, cuts (rolls back) a transaction
 * that outlives the grace period, never runs work sent after the shutdown
 * began, and exits 0 in time.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy.ts";
import { waitFor } from "../helpers/wait.ts";

const RECONNECT = /shutting down; reconnect/;

interface WatchedClient {
  client: pg.Client;
  /** Errors the client reported outside a query (the proxy's goodbye). */
  errors: Error[];
}

async function connect(port: number): Promise<WatchedClient> {
  const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres" });
  const errors: Error[] = [];
  client.on("error", (err: Error) => errors.push(err));
  await client.connect();
  return { client, errors };
}

async function httpStatus(port: number, path: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  await res.body?.cancel();
  return res.status;
}

function assertReconnectError(err: Error | undefined): void {
  assert.ok(err, "the client got no error from the proxy");
  assert.equal((err as Error & { code?: string }).code, "57P01", err.message);
  assert.match(err.message, RECONNECT);
}

async function refused(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch (err) {
    return err instanceof Deno.errors.ConnectionRefused;
  }
}

/** Sends SIGTERM; resolves with the exit code and the seconds it took. */
async function terminate(proxy: ProxyProcess): Promise<{ code: number; seconds: number }> {
  const started = performance.now();
  proxy.child.kill("SIGTERM");
  const status = await proxy.child.status;
  return { code: status.code, seconds: (performance.now() - started) / 1000 };
}

Deno.test("proxy graceful shutdown on SIGTERM", async (t) => {
  await using cluster = await startPgCluster({
    name: "shutdown",
    initSql: ["CREATE TABLE items (tag text NOT NULL)"],
  });
  const source = cluster.url({ params: { sslmode: "disable" } });
  const rows = async (tag: string) =>
    Number(await cluster.psql(`SELECT count(*) FROM items WHERE tag = '${tag}'`));

  await t.step("idle clients are told to reconnect; a transaction commits first", async () => {
    await using proxy = await spawnProxy({ INIT_SOURCE: source, LMS_SHUTDOWN_GRACE: "10s" });
    const idle = await connect(proxy.port);
    const late = await connect(proxy.port);
    const tx = await connect(proxy.port);
    try {
      await tx.client.query("BEGIN");
      await tx.client.query("INSERT INTO items VALUES ('tx-1')");
      const exited = terminate(proxy);
      await waitFor(
        "/readyz to turn 503",
        async () => await httpStatus(proxy.metricsPort, "/readyz") === 503,
      );
      assert.equal(await httpStatus(proxy.metricsPort, "/healthz"), 200);
      assert.ok(await refused(proxy.port), "a new connection was accepted during shutdown");

      await waitFor("the idle client's goodbye", () => idle.errors.length > 0, 5_000);
      assertReconnectError(idle.errors[0]);
      // Work sent after the shutdown began is dropped, never executed.
      await late.client.query("INSERT INTO items VALUES ('late')").catch(() => undefined);

      await new Promise((r) => setTimeout(r, 1_000));
      await tx.client.query("INSERT INTO items VALUES ('tx-2')");
      await tx.client.query("COMMIT");
      await waitFor("the transaction client's goodbye", () => tx.errors.length > 0, 5_000);
      assertReconnectError(tx.errors[0]);

      const { code, seconds } = await exited;
      assert.equal(code, 0);
      assert.ok(seconds < 8, `exit took ${seconds.toFixed(1)} s; the grace period is 10 s`);
      assert.equal(await rows("tx-1"), 1);
      assert.equal(await rows("tx-2"), 1);
      assert.equal(await rows("late"), 0);
    } finally {
      for (const c of [idle, late, tx]) await c.client.end().catch(() => undefined);
    }
  });

  await t.step("a transaction longer than the grace period is cut and rolled back", async () => {
    await using proxy = await spawnProxy({ INIT_SOURCE: source, LMS_SHUTDOWN_GRACE: "1s" });
    const tx = await connect(proxy.port);
    try {
      await tx.client.query("BEGIN");
      await tx.client.query("INSERT INTO items VALUES ('long')");
      const { code, seconds } = await terminate(proxy);
      assert.equal(code, 0);
      assert.ok(seconds >= 0.9, `exit after ${seconds.toFixed(2)} s, before the grace period`);
      assert.ok(seconds < 5, `exit took ${seconds.toFixed(1)} s; the grace period is 1 s`);
      await waitFor("the cut client's error", () => tx.errors.length > 0, 5_000);
      assertReconnectError(tx.errors[0]);
      await assert.rejects(tx.client.query("COMMIT"));
      await waitFor(
        "the cut transaction's backend to go away",
        async () =>
          await cluster.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' " +
              "AND pid <> pg_backend_pid()",
          ) === "0",
      );
      assert.equal(await rows("long"), 0);
    } finally {
      await tx.client.end().catch(() => undefined);
    }
  });
});
