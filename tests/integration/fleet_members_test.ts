/**
 * Cutover steps wait for proxies that may still be serving: the fault matrix
 * found an orchestrator restarted in steady state accepting begin and commit
 * before its proxies had reconnected, so they kept writing to the source after
 * the commit was stored (`orchestrator-kill × steady`, 15,918 stale writes).
 *
 * In-process orchestrator with its real mTLS WebSocket and a state store in a
 * throwaway PostgreSQL target; each proxy is the real control client over a
 * sessionless core.
 */
import assert from "node:assert/strict";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort } from "../../shared/local/ports.ts";
import { API_PATHS, type ApiErrorBody } from "../../shared/api.ts";
import { makeCerts } from "../helpers/certs.ts";
import { mtlsApi, mtlsOrchestratorConfig } from "../helpers/mtls_orchestrator.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Orchestrator, startOrchestrator } from "../../orchestrator/main.ts";
import { type ControlClient, startControlClient } from "../../proxy/control/client.ts";
import { ExpiringCore } from "../helpers/control_core.ts";
import { startStallRelay } from "../chaos/stall_relay.ts";

Deno.test({
  name: "orchestrator: cutover steps wait for fleet members that are not connected",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const certs = await makeCerts();
    await using _removeCerts = { [Symbol.asyncDispose]: () => certs.cleanup() };
    await using target = await startPgCluster({ name: "members-target" });
    const port = await freePort();
    const config = mtlsOrchestratorConfig({
      certs,
      port,
      source: target.url(),
      target: target.url(),
      proxyId: "members-test",
      env: { LMS_MISSING_PROXY_GRACE: "6s" },
    });
    using http = await mtlsApi(certs, port, { retryOnce: true });
    const { base, api, status } = http;
    // Heartbeats every 200 ms; a channel silent for 4 s is dropped (generous for a loaded machine).
    const options = { reconnectGraceMs: 300, idleTimeoutMs: 4_000 };
    await using relay = startStallRelay(port);
    let orchestrator: Orchestrator = await startOrchestrator(config, options);
    const clients = new Map<string, ControlClient>();
    const connect = async (id: string, backoffMs: number, url = base) => {
      const client = startControlClient({
        url,
        proxyId: id,
        version: "test",
        shadowMode: "none",
        tls: http.proxyTls,
        handler: new ExpiringCore(null),
        heartbeatMs: 200,
        drainProgressMs: 50,
        backoffInitialMs: backoffMs,
        backoffMaxMs: backoffMs,
      });
      clients.set(id, client);
      await client.whenConnected();
    };
    const connectedIds = async () =>
      (await status()).proxies.filter((p) => p.connected).map((p) => p.id).sort();
    const begin = async (extra: Record<string, unknown> = {}) =>
      api("POST", API_PATHS.consistentBegin, { from: (await status()).sourceOfTruth, ...extra });
    const abort = async () => {
      assert.equal((await api("POST", API_PATHS.consistentAbort)).status, 200);
    };
    const refusal = (r: { status: number; body: unknown }) => {
      assert.equal(r.status, 409, JSON.stringify(r.body));
      return (r.body as ApiErrorBody).error;
    };

    try {
      assert.equal((await api("POST", API_PATHS.initialize)).status, 200);

      await t.step("a restarted orchestrator waits for the proxies its last run had", async () => {
        // They retry 1.5-3 s after losing the channel, so the new orchestrator is up first.
        await connect("member-1", 3_000);
        await connect("member-2", 3_000);
        await new Promise((r) => setTimeout(r, 300));
        await orchestrator.close();
        orchestrator = await startOrchestrator(config, options);
        const error = refusal(await begin());
        assert.equal(error.code, "PROXIES_MISSING");
        assert.match(error.message, /member-1 \(last seen \d+ s ago\), member-2 \(last seen/);
        assert.match(error.hint, /--allow-missing-proxies/);
        await waitFor("both proxies back", async () => (await connectedIds()).length === 2);
        const begun = await begin();
        assert.equal(begun.status, 200, JSON.stringify(begun.body));
        await abort();
      });

      await t.step("a proxy that closes its channel leaves the fleet at once", async () => {
        await clients.get("member-1")!.close();
        clients.delete("member-1");
        await waitFor("member-1 gone", async () => (await connectedIds()).length === 1);
        const begun = await begin();
        assert.equal(begun.status, 200, JSON.stringify(begun.body));
        await abort();
      });

      await t.step("a proxy whose channel broke is waited for until the grace ends", async () => {
        await connect("member-3", 200, `https://localhost:${relay.port}`);
        relay.stall();
        // The orchestrator drops the silent channel: no goodbye, so member-3 may still serve.
        await waitFor("member-3 dropped", async () => (await connectedIds()).length === 1);
        const error = refusal(await begin());
        assert.equal(error.code, "PROXIES_MISSING");
        assert.match(error.message, /^refusing to begin: member-3 \(last seen/);
        const forced = await begin({ allowMissingProxies: true });
        assert.equal(forced.status, 200, JSON.stringify(forced.body));
        await waitFor(
          "the override in the history",
          async () => (await status()).history.some((h) => h.step === "missing_proxies_overridden"),
        );
        await abort();
        await waitFor("the grace to end", async () => (await begin()).status === 200, 10_000);
        await abort();
      });
    } finally {
      relay.resume();
      for (const c of clients.values()) await c.close();
      await orchestrator.close();
    }
  },
});
