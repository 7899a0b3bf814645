/**
 * MySQL's named locks as row locks held by open transactions
 * (proxy/translate/answer/named_locks.ts) on a throwaway PostgreSQL standing
 * in for CockroachDB (which has no advisory locks; row locks, NOWAIT and
 * lock_timeout behave the same there): two sessions exclude each other,
 * names are case-insensitive, acquisitions count, a timeout waits, a
 * release wakes a waiter, and a holder whose connection is lost frees the
 * lock.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import {
  answerStatement,
  type LockConnection,
  RowNamedLocks,
} from "../../proxy/translate/answer/mod.ts";
import { initParser } from "../../proxy/translate/parse.ts";
import { answerContext } from "../helpers/answer_context.ts";

await initParser();

Deno.test("GET_LOCK / RELEASE_LOCK / IS_FREE_LOCK across sessions", async () => {
  const cluster = await startPgCluster({ name: "answer-locks" });
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  const opened: pg.Client[] = [];
  const open = async (): Promise<LockConnection> => {
    const client = new pg.Client({ connectionString: cluster.url() });
    client.on("error", () => {});
    await client.connect();
    opened.push(client);
    return {
      query: (sql, params) => client.query(sql, params),
      close: () => client.end(),
    };
  };
  const a = answerContext({ connectionId: 1, locks: new RowNamedLocks(open) });
  const b = answerContext({ connectionId: 2, locks: new RowNamedLocks(open) });
  const one = async (sql: string, ctx = a) => {
    const answer = await answerStatement(sql, ctx);
    assert.ok(answer?.kind === "rows", `${sql}: ${JSON.stringify(answer)}`);
    return answer.rows[0][0];
  };
  try {
    assert.equal(await one("SELECT GET_LOCK('Migrate', 0)"), "1");
    assert.equal(await one("SELECT GET_LOCK('migrate', 0)", b), "0", "names are case-insensitive");
    assert.equal(await one("SELECT IS_FREE_LOCK('MIGRATE')", b), "0");
    assert.equal(await one("SELECT IS_FREE_LOCK('other')", b), "1");
    const started = Date.now();
    assert.equal(await one("SELECT GET_LOCK('migrate', 1) AS got", b), "0");
    assert.ok(Date.now() - started >= 900, "the timeout waited");

    assert.equal(await one("SELECT GET_LOCK('migrate', 0)"), "1", "again: counted");
    assert.equal(await one("SELECT RELEASE_LOCK('migrate')"), "1");
    assert.equal(await one("SELECT GET_LOCK('migrate', 0)", b), "0", "still held once");
    const waiting = one("SELECT GET_LOCK('migrate', 30)", b);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await one("SELECT RELEASE_LOCK('migrate')"), "1");
    assert.equal(await waiting, "1", "the release woke the waiter");

    assert.equal(await one("SELECT RELEASE_LOCK('migrate')"), "0", "held by the other session");
    assert.equal(await one("SELECT RELEASE_LOCK('nobody')"), null, "held by none");

    // The holder's connection is lost (a proxy dying): the lock goes with it.
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'",
    );
    assert.equal(await one("SELECT GET_LOCK('migrate', 10)"), "1");
    assert.equal(await one("SELECT GET_LOCK('second', 0)"), "1");
    assert.equal(await one("SELECT RELEASE_ALL_LOCKS()"), "2");
    const c = answerContext({ connectionId: 3, locks: new RowNamedLocks(open) });
    assert.equal(await one("SELECT IS_FREE_LOCK('migrate')", c), "1");

    const wrong = await answerStatement(`SELECT GET_LOCK('${"x".repeat(65)}', 0)`, a);
    assert.ok(wrong?.kind === "error" && wrong.code === 3057, JSON.stringify(wrong));
    const used = await answerStatement("SELECT IS_USED_LOCK('migrate')", a);
    assert.ok(used?.kind === "error" && used.code === 1235, JSON.stringify(used));
    assert.equal(await answerStatement("SELECT GET_LOCK('x', 0), NOW()", a), null);
    assert.equal(await one("SELECT IS_FREE_LOCK('x')", b), "1", "no lock for an unanswered select");
  } finally {
    await a.locks!.releaseAll().catch(() => {});
    await b.locks!.releaseAll().catch(() => {});
    for (const c of opened) await c.end().catch(() => {});
    await admin.end().catch(() => {});
    await cluster.destroy();
  }
});
