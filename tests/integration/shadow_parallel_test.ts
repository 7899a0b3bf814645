/**
 * `sync` shadowing sends a request that takes no locks, on a session that
 * holds nothing, to both databases at once; everything else (inside a
 * transaction, a locking read) still reaches the shadow only once the source
 * of truth answered it.
 */

import assert from "node:assert/strict";
import { pgClient } from "../helpers/pg_client.ts";
import { type PgCluster, startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { startTestProxy } from "../helpers/proxy.ts";

/** Whether `sql` is running on `cluster` right now. */
async function running(cluster: PgCluster, sql: string): Promise<boolean> {
  const n = await cluster.psql(
    `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = '${sql}'`,
  );
  return n !== "0";
}

/**
 * Runs `sql` through `run` and watches both databases meanwhile; true when
 * it was seen running on both at the same moment. The target is read first:
 * sent in order, the statement starts there only after it ended on the
 * source, so a later read of the source cannot still see it running.
 */
async function seenOnBoth(
  source: PgCluster,
  target: PgCluster,
  sql: string,
  run: () => Promise<unknown>,
): Promise<boolean> {
  let done = false;
  const query = run().finally(() => (done = true));
  let both = false;
  while (!done) {
    if (await running(target, sql) && await running(source, sql)) both = true;
    await new Promise((r) => setTimeout(r, 50));
  }
  await query;
  return both;
}

Deno.test("sync shadowing runs lock-free requests on both databases at once", async (t) => {
  const [source, target] = await Promise.all([
    startPgCluster({ name: "parallel-source" }),
    startPgCluster({ name: "parallel-target" }),
  ]);
  try {
    for (const cluster of [source, target]) {
      await cluster.psql("CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1)");
    }
    await using proxy = await startTestProxy({
      INIT_SOURCE: source.url(),
      INIT_TARGET: target.url(),
      LMS_SHADOW_MODE: "sync",
    });
    const c = pgClient(proxy.port);
    await c.connect();
    try {
      await t.step("a plain SELECT outside a transaction goes to both at once", async () => {
        const sql = "SELECT pg_sleep(2.5)";
        assert.equal(await seenOnBoth(source, target, sql, () => c.query(sql)), true);
      });
      await t.step("inside a transaction the shadow gets it after the source", async () => {
        const sql = "SELECT pg_sleep(2.1)";
        await c.query("BEGIN");
        assert.equal(await seenOnBoth(source, target, sql, () => c.query(sql)), false);
        await c.query("COMMIT");
      });
      await t.step("a locking read outside a transaction keeps the order", async () => {
        const sql = "SELECT pg_sleep(2.2) FROM items WHERE id = 1 FOR UPDATE";
        assert.equal(await seenOnBoth(source, target, sql, () => c.query(sql)), false);
      });
      await t.step("the session goes on, every request compared", async () => {
        const r = await c.query("SELECT id FROM items");
        assert.deepEqual(r.rows, [{ id: 1 }]);
        const report = proxy.cutover.shadowReport!();
        assert.equal(report.mismatches, 0);
        assert.ok(report.statements >= 6, `${report.statements} statements compared`);
      });
    } finally {
      await c.end();
    }
  } finally {
    await Promise.all([source.destroy(), target.destroy()]);
  }
});
