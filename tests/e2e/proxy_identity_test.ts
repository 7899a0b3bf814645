/**
 * Proxy ids on the control channel: the default id is unique per process, so
 * two proxies on one host both show in `status`; a second proxy given the id
 * of a live one is refused, the refusal names the id on both sides, the first
 * keeps its connection, and the second joins once the first is gone.
 */

import assert from "node:assert/strict";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { cli, eventually, spawnOrchestrator, TEST_API_TOKEN } from "../helpers/fleet.ts";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy.ts";

interface Status {
  proxies: { id: string; connected: boolean }[];
}

async function status(url: string): Promise<Status> {
  return await (await fetch(`${url}/api/v1/status`)).json() as Status;
}

async function readyz(proxy: ProxyProcess): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${proxy.metricsPort}/readyz`);
  return { status: res.status, text: await res.text() };
}

function count(text: string, pattern: RegExp): number {
  return text.split("\n").filter((line) => pattern.test(line)).length;
}

Deno.test("proxy ids are unique by default and a duplicate is refused", async (t) => {
  await using cluster = await startPgCluster({ name: "identity" });
  const db = cluster.url({ params: { sslmode: "disable" } });
  const dbEnv = { INIT_SOURCE: db, INIT_TARGET: db };
  const orchestrator = await spawnOrchestrator({ ...dbEnv, LMS_LOG_LEVEL: "info" }, undefined, {
    captureLog: true,
  });
  const proxies: ProxyProcess[] = [];
  try {
    const init = await cli(orchestrator.url, ["initialize"]);
    assert.equal(init.code, 0, init.stderr);
    const proxyEnv = {
      ...dbEnv,
      LMS_ORCHESTRATOR_URL: orchestrator.url,
      LMS_API_TOKEN: TEST_API_TOKEN,
    };

    await t.step("two proxies on one host without LMS_PROXY_ID both register", async () => {
      proxies.push(await spawnProxy(proxyEnv), await spawnProxy(proxyEnv));
      await eventually("two connected proxies", async () => {
        const s = await status(orchestrator.url);
        return s.proxies.filter((p) => p.connected).length === 2;
      });
      const ids = (await status(orchestrator.url)).proxies.map((p) => p.id);
      assert.notEqual(ids[0], ids[1]);
      await Promise.all(proxies.splice(0).map((p) => p.stop()));
    });

    await t.step("a second proxy with a live proxy's id is refused on both sides", async () => {
      const env = { ...proxyEnv, LMS_PROXY_ID: "twin", LMS_LOG_LEVEL: "info" };
      const first = await spawnProxy(env, [], { captureLog: true });
      proxies.push(first);
      await eventually(
        "twin registered",
        () => /"proxy registered".*"twin"/.test(orchestrator.log()),
      );
      const second = await spawnProxy(env, [], { captureLog: true, waitReady: false });
      proxies.push(second);

      await eventually(
        "the orchestrator to refuse the twin",
        () =>
          /refused a proxy whose id is already connected.*"proxyId":"twin"/.test(
            orchestrator.log(),
          ),
      );
      await eventually(
        "the refused proxy to log why",
        () => /refused this proxy.*proxy id twin is already connected/.test(second.log()),
      );
      const ready = await readyz(second);
      assert.equal(ready.status, 503);
      assert.match(ready.text, /not ready: proxy id twin is already connected to the orchestrator/);
      assert.equal((await readyz(first)).status, 200);

      // No taking turns: the first keeps its one connection.
      await new Promise((r) => setTimeout(r, 2_000));
      const log = orchestrator.log();
      assert.equal(count(log, /"proxy registered".*"twin"/), 1, "the twins took turns");
      assert.equal(count(log, /"proxy disconnected".*"twin"/), 0, "the first twin was knocked off");
      const twins = (await status(orchestrator.url)).proxies.filter((p) => p.id === "twin");
      assert.deepEqual(twins.map((p) => p.connected), [true]);

      // Once the first is gone, the second joins and turns ready.
      await first.stop();
      await eventually(
        "the second twin ready",
        async () => (await readyz(second)).status === 200,
      );
      assert.match(second.log(), /accepted this proxy id now/);
    });
  } finally {
    await Promise.allSettled(proxies.map((p) => p.stop()));
    await orchestrator.stop();
  }
});
