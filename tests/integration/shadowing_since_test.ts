/**
 * `shadowingSince`, which backs the seven-day readiness verdict, lives in the
 * state store (`_molt_lms.shadowing` on the target): a proxy restart keeps
 * the clock and the mismatches counted before it; a restart after a long
 * gap, or in another mode, starts the clock again; an orchestrator that just
 * restarted names a proxy that was shadowing but is not connected yet
 * instead of judging the fleet without it.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { loadConfig } from "../../shared/config.ts";
import { parseConnectionString as parseSpec } from "../../shared/connstring.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { StateStore } from "../../shared/state_store.ts";
import { startOrchestrator } from "../../orchestrator/main.ts";
import { mergeShadowReports } from "../../orchestrator/shadow_report.ts";
import type { ProxyServer } from "../../proxy/server.ts";
import { eventually, TEST_API_TOKEN } from "../helpers/fleet.ts";
import { startTestProxy } from "../helpers/proxy.ts";

const PROXY_ID = "proxy-clock";

Deno.test("the shadowing clock survives restarts without faking readiness", async (t) => {
  await using source = await startPgCluster({ name: "clock-source" });
  await using target = await startPgCluster({ name: "clock-target" });
  const store = new StateStore({
    target: parseSpec(target.url()),
    source: parseSpec(source.url()),
  });
  await store.initialize("test");
  await store.close();
  await source.psql("CREATE TABLE items (id INT PRIMARY KEY); INSERT INTO items VALUES (1)");
  await target.psql("CREATE TABLE items (id INT PRIMARY KEY)");
  const targetClient = new pg.Client({ connectionString: target.url() });
  await targetClient.connect();
  const row = async () =>
    (await targetClient.query(
      "SELECT mode, since, seen_at, hourly FROM _molt_lms.shadowing WHERE proxy_id = $1",
      [PROXY_ID],
    )).rows[0];

  const start = (mode = "sync") =>
    startTestProxy({
      INIT_SOURCE: source.url(),
      INIT_TARGET: target.url(),
      LMS_SHADOW_MODE: mode,
      LMS_PROXY_ID: PROXY_ID,
    });
  const since = async (proxy: ProxyServer): Promise<string> => {
    await eventually(
      "the clock is resumed",
      () => proxy.cutover.shadowReport().shadowingSince !== null,
    );
    return proxy.cutover.shadowReport().shadowingSince!;
  };
  const mismatchThrough = async (proxy: ProxyServer) => {
    const client = new pg.Client({
      host: "127.0.0.1",
      port: proxy.port,
      user: "postgres",
      database: "postgres",
    });
    await client.connect();
    await client.query("SELECT count(*) FROM items");
    await client.end();
    await eventually("the mismatch is counted", () => proxy.cutover.shadowReport().mismatches > 0);
  };

  try {
    let first = "";
    await t.step("a restart keeps the clock and the mismatches seen before it", async () => {
      {
        await using proxy = await start();
        first = await since(proxy);
        await mismatchThrough(proxy);
        // Saved about a second after the mismatch, so a kill -9 would not lose it.
        await eventually("the mismatch is in the store", async () => {
          const hourly = (await row()).hourly as { mismatches: number }[];
          return hourly.some((b) => b.mismatches > 0);
        }, 10_000);
      }
      // As if it had been shadowing for eight days already.
      await targetClient.query(
        "UPDATE _molt_lms.shadowing SET since = since - INTERVAL '8 days' WHERE proxy_id = $1",
        [PROXY_ID],
      );
      first = new Date((await row()).since).toISOString();
      await using proxy = await start();
      assert.equal(await since(proxy), first, "the clock was reset by the restart");
      const report = proxy.cutover.shadowReport();
      assert.ok(report.mismatches >= 1, "the restart forgot the mismatch");
      // The clock is long enough now, but the mismatch still blocks readiness.
      const judged = mergeShadowReports([report], {
        now: Date.now(),
        limit: 10,
        unreachableProxies: [],
      });
      assert.equal(judged.judgement.readyForImmediateCutover, false);
      assert.ok(
        judged.judgement.reasons.some((r) => /1 mismatch in the last/.test(r)),
        judged.judgement.reasons.join("; "),
      );
      assert.ok(!judged.judgement.reasons.some((r) => /shadowing for/.test(r)));
    });

    await t.step("a proxy away longer than the resume gap starts the clock again", async () => {
      await targetClient.query(
        "UPDATE _molt_lms.shadowing SET seen_at = now() - INTERVAL '11 minutes' WHERE proxy_id = $1",
        [PROXY_ID],
      );
      await using proxy = await start();
      const again = await since(proxy);
      assert.ok(Date.parse(again) > Date.parse(first), `${again} is not after ${first}`);
      first = again;
    });

    await t.step("another mode starts the clock again, and so does coming back", async () => {
      {
        await using proxy = await start("async");
        const inAsync = await since(proxy);
        assert.ok(Date.parse(inAsync) > Date.parse(first));
        assert.equal((await row()).mode, "async");
      }
      {
        await using proxy = await start("none");
        await eventually("mode none is recorded", async () => (await row()).mode === "none");
        assert.equal((await row()).since, null);
        assert.equal(proxy.cutover.shadowReport().shadowingSince, null);
      }
      await using proxy = await start("sync");
      const back = await since(proxy);
      assert.ok(Date.parse(back) > Date.parse(first), "mode none in between kept the clock");
    });

    await t.step(
      "an orchestrator restart does not judge without a proxy that was shadowing",
      async () => {
        const orchestrator = await startOrchestrator(loadConfig("orchestrator", {
          args: [],
          env: {
            INIT_TARGET: target.url(),
            LMS_LISTEN: "127.0.0.1:0",
            LMS_METRICS_LISTEN: "127.0.0.1:0",
            LMS_PROXY_ID: "orchestrator-clock-test",
            LMS_SOURCE_DIALECT: "postgres",
            LMS_LOG_LEVEL: "error",
            LMS_API_TOKEN: TEST_API_TOKEN,
          },
        }));
        try {
          const report = await orchestrator.coordinator.shadowReport(10);
          assert.equal(report.judgement.readyForImmediateCutover, false);
          assert.ok(
            report.judgement.reasons.some((r) =>
              r.includes(`proxy ${PROXY_ID} was shadowing minutes ago but is not connected`)
            ),
            report.judgement.reasons.join("; "),
          );
        } finally {
          await orchestrator.close();
        }
      },
    );
  } finally {
    await targetClient.end();
  }
});
