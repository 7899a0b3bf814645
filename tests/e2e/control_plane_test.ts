/**
 * Control-plane behaviour with real processes: losing the orchestrator in
 * the middle of a drain, drain timeouts with cancellation, cancel requests
 * that land on another proxy, connection listings, and mutual TLS between
 * proxies, CLI and orchestrator.
 */

import assert from "node:assert/strict";
import { pgClient } from "../helpers/pg_client.ts";
import {
  cli,
  eventually,
  type Fleet,
  spawnOrchestrator,
  startFleet,
  waitForProxies,
} from "../helpers/fleet.ts";
import { makeCerts } from "../helpers/certs.ts";
import { RawPgClient, sendCancel } from "../helpers/raw_pg.ts";
import { spawnProxy } from "../helpers/proxy.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { WORKLOAD_SCHEMA } from "../helpers/workload.ts";
import type { StatusResponse } from "../../shared/api.ts";

async function statusOf(fleet: Fleet): Promise<StatusResponse> {
  const res = await fetch(`${fleet.orchestrator.url}/api/v1/status`);
  return await res.json() as StatusResponse;
}

async function phase(fleet: Fleet): Promise<string> {
  return (await statusOf(fleet)).phase;
}

Deno.test("control plane faults and operations", async (t) => {
  await using fleet = await startFleet({
    proxies: 2,
    schema: WORKLOAD_SCHEMA,
    replicate: ["acked"],
    proxyEnv: { LMS_MAX_PAUSE: "2s" },
  });
  await waitForProxies(fleet.orchestrator.url, 2);
  const [p1, p2] = fleet.proxies.map((p) => p.port);

  await t.step("a cancel request sent to the other proxy still cancels", async () => {
    await using raw = await RawPgClient.connect(p1);
    const session = await raw.startup();
    const running = raw.query("SELECT pg_sleep(30)", 15_000);
    await new Promise((r) => setTimeout(r, 300));
    await sendCancel(p2, session.processId, session.secretKey);
    const result = await running;
    assert.equal(result.error?.get("C"), "57014");
  });

  await t.step("connections list shows every session, redacted on request", async () => {
    const c = pgClient(p2);
    await c.connect();
    await c.query("SELECT 'secret-value' AS v");
    const list = await cli(fleet.orchestrator.url, ["connections", "list", "--redact"]);
    assert.equal(list.code, 0, list.stderr);
    const rows =
      (list.json as { connections: { proxyId: string; lastQuery: string; state: string }[] })
        .connections;
    const mine = rows.find((r) => r.proxyId === "proxy-2" && r.lastQuery.includes("AS v"));
    assert.ok(mine, JSON.stringify(rows));
    assert.equal(mine.lastQuery, "SELECT ? AS v");
    assert.equal(mine.state, "idle");
    const plain = await cli(fleet.orchestrator.url, ["connections", "list"]);
    assert.ok(plain.stdout.includes("secret-value"));
    await c.end();
  });

  await t.step("drain timeout reports the blocker; --cancel-after ends it", async () => {
    const blocker = pgClient(p1);
    await blocker.connect();
    await blocker.query("BEGIN");
    const sleeping = blocker.query("SELECT pg_sleep(60)").then(
      () => "finished",
      (e: { code?: string }) => e.code,
    );
    const begin = await cli(fleet.orchestrator.url, [
      "cutover",
      "consistent",
      "begin",
      "--drain-timeout",
      "1s",
      "--cancel-after",
      "1s",
    ]);
    assert.equal(await sleeping, "57014", "the blocking query was cancelled");
    await blocker.query("ROLLBACK");
    await eventually("drained after the cancel", async () => (await phase(fleet)) === "drained");
    assert.ok([0, 5].includes(begin.code), begin.stderr);
    const abort = await cli(fleet.orchestrator.url, ["cutover", "consistent", "abort"]);
    assert.equal(abort.code, 0, abort.stderr);
    await blocker.end();
  });

  await t.step(
    "a pause that outlives the maximum pause resumes and blocks the commit",
    async () => {
      const begin = await cli(fleet.orchestrator.url, [
        "cutover",
        "consistent",
        "begin",
        "--no-wait",
      ]);
      assert.equal(begin.code, 0, begin.stderr);
      await eventually("drained", async () => (await phase(fleet)) === "drained");
      const c = pgClient(p1);
      const t0 = Date.now();
      await c.connect();
      assert.equal((await c.query("SELECT 1 AS one")).rows[0].one, 1);
      assert.ok(Date.now() - t0 >= 1000, "held until the maximum pause ran out");
      // Both proxies' pauses ran out: status must stop saying drained and name them.
      await eventually("status names the proxies that resumed", async () => {
        const s = await statusOf(fleet);
        return s.phase === "draining" && s.cutover?.resumedProxies.length === 2;
      });
      assert.deepEqual((await statusOf(fleet)).cutover?.resumedProxies, ["proxy-1", "proxy-2"]);
      const table = await cli(fleet.orchestrator.url, ["status"], {}, "table");
      assert.match(table.stdout, /Resumed by themselves\s+proxy-1, proxy-2/);
      const commit = await cli(fleet.orchestrator.url, [
        "cutover",
        "consistent",
        "commit",
        "--skip-replication-check",
      ]);
      assert.equal(commit.code, 1, "commit refused: the proxies no longer hold anything");
      const refusal = (commit.json as { error: { code: string; message: string; hint: string } })
        .error;
      assert.equal(refusal.code, "NOT_DRAINED");
      assert.match(refusal.message, /proxy-1, proxy-2 resumed traffic on the source/);
      assert.match(refusal.hint, /abort`, then `cutover consistent begin` again/);
      assert.doesNotMatch(refusal.hint, /wait for open transactions/);
      const abort = await cli(fleet.orchestrator.url, ["cutover", "consistent", "abort"]);
      assert.equal(abort.code, 0, abort.stderr);
      await c.end();
    },
  );

  await t.step("losing the orchestrator mid-drain: the fleet resumes by the store", async () => {
    const blocker = pgClient(p1);
    await blocker.connect();
    await blocker.query("BEGIN");
    const begin = await cli(fleet.orchestrator.url, [
      "cutover",
      "consistent",
      "begin",
      "--no-wait",
    ]);
    assert.equal(begin.code, 0, begin.stderr);
    await eventually("draining", async () => (await phase(fleet)) === "draining");
    const t0 = Date.now();
    const waiting = pgClient(p2);
    const held = waiting.connect().then(() => waiting.query("SELECT 1 AS one"));
    await new Promise((r) => setTimeout(r, 300));
    await fleet.orchestrator.kill();
    const res = await held;
    const waited = Date.now() - t0;
    assert.equal(res.rows[0].one, 1);
    assert.ok(waited >= 1000, `the new client was held until the pause expired (${waited} ms)`);
    await blocker.query("COMMIT");
    await fleet.restartOrchestrator();
    await waitForProxies(fleet.orchestrator.url, 2);
    const abort = await cli(fleet.orchestrator.url, ["cutover", "consistent", "abort"]);
    assert.equal(abort.code, 0, abort.stderr);
    assert.equal(await phase(fleet), "idle");
    assert.equal(
      (await waiting.query("SELECT inet_server_port() AS p")).rows[0].p,
      fleet.source.port,
    );
    await blocker.end();
    await waiting.end();
  });
});

Deno.test("mutual TLS between proxies, CLI and orchestrator", async (t) => {
  const certs = await makeCerts();
  await using source = await startPgCluster({ name: "mtls-source" });
  await using target = await startPgCluster({ name: "mtls-target" });
  const proxyCert = await certs.client("proxy");
  const cliCert = await certs.client("operator");
  const stranger = await certs.otherCa("proxy");
  const orchestrator = await spawnOrchestrator({
    INIT_SOURCE: source.url(),
    INIT_TARGET: target.url(),
    TLS_CERT: certs.serverCert,
    TLS_KEY: certs.serverKey,
    CA_TLS_CERT: certs.caCert,
  });
  const url = `https://localhost:${orchestrator.port}`;
  const tlsArgs = (cert: string, key: string) => [
    "--tls-ca-cert",
    certs.caCert,
    "--tls-client-cert",
    cert,
    "--tls-client-key",
    key,
  ];
  const base = { INIT_SOURCE: source.url(), INIT_TARGET: target.url(), LMS_ORCHESTRATOR_URL: url };
  try {
    await using good = await spawnProxy({
      ...base,
      LMS_PROXY_ID: "trusted",
      TLS_CERT: proxyCert.cert,
      TLS_KEY: proxyCert.key,
      CA_TLS_CERT: certs.caCert,
    });
    await using bad = await spawnProxy({
      ...base,
      LMS_PROXY_ID: "stranger",
      TLS_CERT: stranger.clientCert,
      TLS_KEY: stranger.clientKey,
      CA_TLS_CERT: certs.caCert,
    });

    await t.step("the CLI with a client certificate sees only the trusted proxy", async () => {
      await eventually("trusted proxy registered", async () => {
        const s = await cli(url, ["status", ...tlsArgs(cliCert.cert, cliCert.key)]);
        const ids = (s.json as { proxies?: { id: string; connected: boolean }[] })?.proxies
          ?.filter((p) => p.connected).map((p) => p.id);
        return JSON.stringify(ids) === JSON.stringify(["trusted"]);
      });
      await new Promise((r) => setTimeout(r, 1500));
      const s = await cli(url, ["status", ...tlsArgs(cliCert.cert, cliCert.key)]);
      const ids = (s.json as { proxies: { id: string }[] }).proxies.map((p) => p.id);
      assert.deepEqual(ids, ["trusted"], "the proxy with a foreign certificate was refused");
    });

    await t.step("both proxies still serve clients by the last known state", async () => {
      for (const port of [good.port, bad.port]) {
        const c = pgClient(port);
        await c.connect();
        assert.equal((await c.query("SELECT 1 AS one")).rows[0].one, 1);
        await c.end();
      }
    });

    await t.step("the CLI without a client certificate is refused", async () => {
      const res = await cli(url, ["status", "--tls-ca-cert", certs.caCert]);
      assert.equal(res.code, 4, res.stderr);
    });
  } finally {
    await orchestrator.stop();
    await certs.cleanup();
  }
});
