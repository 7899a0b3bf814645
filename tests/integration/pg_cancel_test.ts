/**
 * Query cancellation through the proxy, by real clients (postgres.js, psql on
 * SIGINT) and by a hand-made CancelRequest: the proxy's own cancel key
 * reaches the right database backend, and a wrong key cancels nothing.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { pgBinDir } from "../../shared/local/pg_binaries.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { query } from "../../proxy/pg/messages.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { RawPgClient, sendCancel } from "../helpers/raw_pg.ts";
import { waitFor } from "../helpers/wait.ts";

const QUICK_MS = 5_000;

Deno.test("cancelling queries through the proxy", async (t) => {
  await using cluster = await startPgCluster({ name: "cancel" });
  await using proxy = await startTestProxy({
    INIT_SOURCE: cluster.url({ params: { sslmode: "disable" } }),
  });
  const proxyUrl = `postgres://postgres@127.0.0.1:${proxy.port}/postgres`;

  /** Waits until the database runs a query containing `tag`. */
  const running = (tag: string) =>
    waitFor(`a running query tagged ${tag}`, async () =>
      (await cluster.psql(
        `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' ` +
          `AND query LIKE '%${tag}%' AND pid <> pg_backend_pid()`,
      )) === "1");

  const cancelRequests = async (outcome: string): Promise<number> => {
    const text = await proxy.metrics.registry.metrics();
    const m = new RegExp(`^lms_cancel_requests_total\\{outcome="${outcome}"\\} (\\d+)$`, "m")
      .exec(text);
    return m ? Number(m[1]) : 0;
  };

  await t.step("postgres.js query.cancel()", async () => {
    const sql = postgres(proxyUrl, { max: 1, onnotice: () => {} });
    try {
      const q = sql`SELECT pg_sleep(30) -- cancel-postgresjs`.execute();
      await running("cancel-postgresjs");
      const started = Date.now();
      q.cancel();
      const err = await q.then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof Error, "the query was not cancelled");
      assert.equal((err as Error & { code?: string }).code, "57014", String(err));
      assert.ok(Date.now() - started < QUICK_MS, `cancel took ${Date.now() - started} ms`);
      const after = await sql`SELECT 1 AS one`;
      assert.equal(after[0].one, 1);
    } finally {
      await sql.end();
    }
  });

  await t.step("psql on SIGINT", async () => {
    const child = new Deno.Command(`${pgBinDir()}/psql`, {
      args: [proxyUrl, "-X", "-At", "-c", "SELECT pg_sleep(30) -- cancel-psql"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    await running("cancel-psql");
    const started = Date.now();
    child.kill("SIGINT");
    const out = await output;
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(Date.now() - started < QUICK_MS, `cancel took ${Date.now() - started} ms`);
    assert.equal(out.code, 1, stderr);
    assert.match(stderr, /canceling statement due to user request/);
  });

  await t.step("raw CancelRequest with the key from BackendKeyData", async () => {
    await using victim = await RawPgClient.connect(proxy.port);
    await using bystander = await RawPgClient.connect(proxy.port);
    const key = await victim.startup();
    const other = await bystander.startup();
    assert.notEqual(key.processId, other.processId);
    await victim.send(query("SELECT pg_sleep(30) -- cancel-raw-victim"));
    await bystander.send(query("SELECT pg_sleep(30) -- cancel-raw-bystander"));
    await running("cancel-raw-victim");
    await running("cancel-raw-bystander");
    const forwarded = await cancelRequests("forwarded");
    const started = Date.now();
    await sendCancel(proxy.port, key.processId, key.secretKey);
    const msgs = await victim.readUntil("Z", QUICK_MS);
    const error = msgs.find((m) => m.type === "E");
    assert.ok(error, `no ErrorResponse in ${msgs.map((m) => m.type)}`);
    assert.match(new TextDecoder().decode(error.body), /C57014\0/);
    assert.ok(Date.now() - started < QUICK_MS, `cancel took ${Date.now() - started} ms`);
    assert.equal(await cancelRequests("forwarded"), forwarded + 1);
    // Only the victim was cancelled: the bystander's query still runs.
    await running("cancel-raw-bystander");
    await sendCancel(proxy.port, other.processId, other.secretKey);
    await bystander.readUntil("Z", QUICK_MS);
    assert.deepEqual((await victim.query("SELECT 'still usable'")).rows, [["still usable"]]);
  });

  await t.step("a wrong secret or an unknown process id cancels nothing", async () => {
    await using raw = await RawPgClient.connect(proxy.port);
    const key = await raw.startup();
    const unknown = await cancelRequests("unknown");
    const started = Date.now();
    await raw.send(query("SELECT pg_sleep(1.5) -- cancel-wrong-key"));
    await running("cancel-wrong-key");
    await sendCancel(proxy.port, key.processId, key.secretKey ^ 1);
    await sendCancel(proxy.port, key.processId ^ 0x1000, key.secretKey);
    const msgs = await raw.readUntil("Z", QUICK_MS);
    assert.deepEqual(msgs.filter((m) => m.type === "E"), [], "the query was cancelled");
    assert.ok(msgs.some((m) => m.type === "D"), "the query returned no row");
    assert.ok(Date.now() - started >= 1_400, "the query ended early");
    assert.equal(await cancelRequests("unknown"), unknown + 2);
  });

  await t.step("BackendKeyData carries the proxy's key, not the database's", async () => {
    await using raw = await RawPgClient.connect(proxy.port);
    const key = await raw.startup();
    assert.ok(key.processId > 0, "no BackendKeyData");
    const [[dbPid]] = (await raw.query("SELECT pg_backend_pid()")).rows;
    assert.notEqual(key.processId, Number(dbPid));
    const direct = await RawPgClient.connect(cluster.port);
    try {
      const directKey = await direct.startup();
      const [[directPid]] = (await direct.query("SELECT pg_backend_pid()")).rows;
      // Sanity check of the comparison: without the proxy, the key is the pid.
      assert.equal(directKey.processId, Number(directPid));
    } finally {
      await direct.close();
    }
  });
});
