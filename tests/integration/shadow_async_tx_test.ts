/**
 * `async` shadowing inside transactions: the client never waits for the
 * shadow. With the shadow database stalled on a lock, whole transactions
 * (BEGIN, statements, COMMIT) complete on the source of truth; once the lock
 * goes, every statement the shadow then runs is compared, none mismatches,
 * and the shadow executed the transactions' writes in order.
 */

import assert from "node:assert/strict";
import { pgClient } from "../helpers/pg_client.ts";
import { type PgCluster, startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { startTestProxy } from "../helpers/proxy.ts";

const SCHEMA = `
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g;
CREATE TABLE log (n int PRIMARY KEY);
`;

/** Transactions the client runs while the shadow is stalled. */
const TRANSACTIONS = 30;
/** Compared statements per transaction: BEGIN, SELECT, INSERT, COMMIT. */
const STATEMENTS_PER_TRANSACTION = 4;

async function settle<T>(f: () => T | Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("async shadowing: transactions commit while the shadow is stalled, and are compared after", async () => {
  const [source, target]: PgCluster[] = await Promise.all([
    startPgCluster({ name: "async-tx-source" }),
    startPgCluster({ name: "async-tx-target" }),
  ]);
  try {
    await source.psql(SCHEMA);
    await target.psql(SCHEMA);
    await using proxy = await startTestProxy({
      INIT_SOURCE: source.url(),
      INIT_TARGET: target.url(),
      LMS_SHADOW_MODE: "async",
    });
    const report = () => proxy.cutover.shadowReport!();

    // The stall: a transaction on the target holds a lock every shadowed SELECT waits for.
    const locker = pgClient(target.port);
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE items IN ACCESS EXCLUSIVE MODE");

    const client = pgClient(proxy.port);
    await client.connect();
    const before = report();
    for (let n = 1; n <= TRANSACTIONS; n++) {
      await client.query("BEGIN");
      const res = await client.query("SELECT name FROM items WHERE id = $1", [n % 20 + 1]);
      assert.equal(res.rows[0].name, `item ${n % 20 + 1}`);
      await client.query("INSERT INTO log VALUES ($1)", [n]);
      await client.query("COMMIT");
    }
    assert.equal(await source.psql("SELECT count(*) FROM log"), String(TRANSACTIONS));

    // Every COMMIT above returned while the shadow still waits for the lock.
    const waiting = await settle(
      () =>
        target.psql(
          "SELECT count(*) FROM pg_stat_activity " +
            "WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT name FROM items%'",
        ),
      (n) => n === "1",
    );
    assert.equal(waiting, "1", "the shadow's first SELECT is blocked on the lock");
    assert.equal(
      await target.psql("SELECT count(*) FROM log"),
      "0",
      "the shadow wrote nothing yet",
    );
    const expected = TRANSACTIONS * STATEMENTS_PER_TRANSACTION;
    assert.ok(
      report().statements - before.statements < expected,
      "the stalled statements are not compared yet",
    );

    await locker.query("ROLLBACK");
    await locker.end();
    const after = await settle(report, (r) => r.statements - before.statements >= expected);
    await client.end();
    assert.equal(after.statements - before.statements, expected, "every statement was compared");
    assert.equal(after.mismatches, before.mismatches, "the paired results all match");
    assert.equal(after.droppedSessions, before.droppedSessions, "the session kept shadowing");
    assert.equal(
      await target.psql("SELECT string_agg(n::text, ',' ORDER BY n) FROM log"),
      Array.from({ length: TRANSACTIONS }, (_, i) => i + 1).join(","),
      "the shadow ran every transaction",
    );
  } finally {
    await Promise.allSettled([source.destroy(), target.destroy()]);
  }
});
