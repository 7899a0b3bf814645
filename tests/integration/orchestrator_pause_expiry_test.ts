/**
 * A consistent commit must never rest on a drain that no longer holds, and
 * `status` must say so: regression tests for the three control-plane bugs the
 * fault matrix found (tests/reliability/README.md, "Found and not fixed").
 *
 * The orchestrator runs in-process with its real mTLS WebSocket and a state
 * store in a throwaway PostgreSQL target; each proxy is the real control
 * client over an in-test core whose pause can run out like `LMS_MAX_PAUSE`,
 * some behind a TCP relay that can stall the channel.
 */
import assert from "node:assert/strict";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort } from "../../shared/local/ports.ts";
import { API_PATHS, type ApiErrorBody } from "../../shared/api.ts";
import type { ClusterState } from "../../shared/control.ts";
import { makeCerts } from "../helpers/certs.ts";
import { mtlsApi, mtlsOrchestratorConfig } from "../helpers/mtls_orchestrator.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Orchestrator, startOrchestrator } from "../../orchestrator/main.ts";
import { type ControlClient, startControlClient } from "../../proxy/control/client.ts";
import { ExpiringCore } from "../helpers/control_core.ts";
import { startStallRelay } from "../chaos/stall_relay.ts";

Deno.test({
  name: "orchestrator: commit and status follow a pause that ran out",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const certs = await makeCerts();
    await using _removeCerts = { [Symbol.asyncDispose]: () => certs.cleanup() };
    await using source = await startPgCluster({ name: "expiry-source" });
    await using target = await startPgCluster({ name: "expiry-target" });
    const port = await freePort();
    const config = mtlsOrchestratorConfig({
      certs,
      port,
      source: source.url(),
      target: target.url(),
      proxyId: "expiry-test",
    });
    using http = await mtlsApi(certs, port);
    const { base, api, status } = http;
    await using relay = startStallRelay(port);
    let orchestrator: Orchestrator = await startOrchestrator(config, { reconnectGraceMs: 300 });
    const clients: ControlClient[] = [];

    /** One proxy; heartbeats are rare so that only the immediate reports can be what counted. */
    const connect = async (id: string, core: ExpiringCore, viaRelay = false) => {
      const client = startControlClient({
        url: viaRelay ? `https://localhost:${relay.port}` : base,
        proxyId: id,
        version: "test",
        shadowMode: "async",
        tls: http.proxyTls,
        handler: core,
        heartbeatMs: 60_000,
        drainProgressMs: 50,
        backoffInitialMs: 50,
        backoffMaxMs: 200,
      });
      clients.push(client);
      await client.whenConnected();
      return client;
    };
    const disconnectAll = async () => {
      for (const c of clients.splice(0)) await c.close();
      await waitFor("fleet gone", async () => (await status()).proxies.every((p) => !p.connected));
    };
    const beginDrained = async () => {
      const begin = await api<{ cutoverId: string }>("POST", API_PATHS.consistentBegin, {
        from: (await status()).sourceOfTruth,
      });
      assert.equal(begin.status, 200);
      const s = await waitFor("drained", async () => {
        const s = await status();
        return s.phase === "drained" && s;
      });
      return { cutoverId: begin.body.cutoverId, epoch: s.epoch };
    };
    // Each step starts from the side the previous one left, so that on a build without the
    // fixes every step fails on its own check (a refused commit there goes through).
    const commit = async () =>
      api<ApiErrorBody & { state?: ClusterState }>("POST", API_PATHS.consistentCommit, {
        from: (await status()).sourceOfTruth,
        skipReplicationCheck: true,
      });
    const abort = async () => {
      assert.equal((await api("POST", API_PATHS.consistentAbort)).status, 200);
    };

    try {
      assert.equal((await api("POST", API_PATHS.initialize)).status, 200);

      await t.step("an orchestrator restarted while drained writes a fresh marker", async () => {
        const core = new ExpiringCore(null);
        await connect("marker-1", core);
        const { cutoverId } = await beginDrained();
        const markers = async () =>
          (await source.psql(`SELECT id FROM _molt_lms.marker WHERE id LIKE '${cutoverId}%'`))
            .split("\n").filter((l) => l !== "");
        const [first] = await waitFor("the first marker", async () => {
          const m = await markers();
          return m.length === 1 && m;
        });
        // Replication delivers it (no real replication here: the test copies the row).
        await target.psql(`INSERT INTO _molt_lms.marker (id) VALUES ('${first}')`);
        await waitFor("caught up", async () => (await status()).cutover?.replication.caughtUp);

        await orchestrator.close();
        orchestrator = await startOrchestrator(config, { reconnectGraceMs: 300 });
        const second = await waitFor("a second marker", async () => {
          const m = await markers();
          return m.length === 2 && m.find((id) => id !== first);
        });
        await waitFor("drained again", async () => (await status()).phase === "drained");
        await new Promise((r) => setTimeout(r, 500));
        const s = await status();
        assert.equal(s.cutover?.replication.caughtUp, false, "a marker from before counted");
        const checked = () =>
          api<ApiErrorBody>("POST", API_PATHS.consistentCommit, { from: "source" });
        assert.equal((await checked()).body.error?.code, "NOT_CAUGHT_UP");
        await target.psql(`INSERT INTO _molt_lms.marker (id) VALUES ('${second}')`);
        await waitFor(
          "caught up again",
          async () => (await status()).cutover?.replication.caughtUp,
        );
        assert.equal((await checked()).status, 200);
        assert.equal((await status()).sourceOfTruth, "target");
        await disconnectAll();
      });

      await t.step("a proxy that resumed unannounced fails the commit's fresh check", async () => {
        const core = new ExpiringCore(null);
        await connect("quiet-1", core);
        const { epoch } = await beginDrained();
        // The window of the bug: the proxy runs traffic again, the orchestrator still holds its ack.
        core.resumeQuietly();
        const refused = await commit();
        assert.equal(refused.status, 409, JSON.stringify(refused.body));
        assert.equal(refused.body.error.code, "NOT_DRAINED");
        assert.match(refused.body.error.message, /quiet-1 no longer holds its pause/);
        const s = await status();
        assert.equal(s.epoch, epoch);
        assert.deepEqual(s.cutover?.resumedProxies, ["quiet-1"]);
        await waitFor("back to draining", async () => (await status()).phase === "draining");
        await abort();
        await disconnectAll();
      });

      await t.step(
        "a pause about to run out refuses the commit; its end is reported at once",
        async () => {
          const core = new ExpiringCore(3_000);
          await connect("short-1", core);
          const { epoch } = await beginDrained();
          await waitFor("under 2 s of pause left", () => (core.pauseRemainingMs() ?? 0) < 1_800);
          const refused = await commit();
          assert.equal(refused.body.error?.code, "NOT_DRAINED", JSON.stringify(refused.body));
          // On a loaded machine the pause may run out while the commit is on its way; refused either way.
          assert.match(
            refused.body.error.message,
            /pause of short-1 ends within 2000 ms|short-1 no longer holds its pause/,
          );
          assert.equal((await status()).epoch, epoch);
          // No heartbeat comes for a minute: only the proxy's own report can tell the orchestrator.
          await waitFor("the proxy resumed", () => !core.paused(), 10_000);
          const s = await waitFor("resume reported", async () => {
            const s = await status();
            return s.cutover?.resumedProxies.includes("short-1") && s;
          }, 5_000);
          assert.equal(s.cutover?.drained, 0);
          assert.ok(s.history.some((e) => e.step === "pause_expired"));
          await abort();
          await disconnectAll();
        },
      );

      await t.step(
        "a stalled channel: status stops saying drained once the pause ran out",
        async () => {
          const core = new ExpiringCore(2_500);
          await connect("stalled-1", core, true);
          const { epoch } = await beginDrained();
          relay.stall();
          try {
            await waitFor("the proxy resumed", () => !core.paused(), 10_000);
            // Nothing the proxy sends gets through; the orchestrator knows when its pause ends.
            const s = await waitFor("status follows", async () => {
              const s = await status();
              return s.phase === "draining" && s;
            }, 10_000);
            assert.deepEqual(s.cutover?.resumedProxies, ["stalled-1"]);
            assert.equal(s.cutover?.drained, 0);
            assert.equal(s.proxies.find((p) => p.id === "stalled-1")?.drained, false);
            const refused = await commit();
            assert.equal(refused.body.error?.code, "NOT_DRAINED");
            assert.match(refused.body.error.message, /stalled-1 resumed traffic/);
            assert.equal((await status()).epoch, epoch);
          } finally {
            relay.resume();
          }
          await abort();
          await disconnectAll();
        },
      );
    } finally {
      for (const c of clients) await c.close();
      await orchestrator.close();
    }
  },
});
