/**
 * Shadowing against real clusters: a source and a target made deliberately
 * different, each difference producing exactly its mismatch kind; the three
 * modes' promises to the client; a target that goes away and comes back.
 */

import assert from "node:assert/strict";
import { pgClient } from "../helpers/pg_client.ts";
import postgres from "postgres";
import { type PgCluster, startPgCluster } from "../../shared/local/postgres_cluster.ts";
import type { ProxyShadowReport } from "../../shared/shadow.ts";
import { run, startTestProxy } from "../helpers/proxy.ts";

const SCHEMA = `
CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int NOT NULL, price numeric(10,2));
INSERT INTO items SELECT g, 'item ' || g, g * 10, g * 1.5 FROM generate_series(1, 50) g;
CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL);
INSERT INTO counters VALUES (1, 0);
CREATE TABLE emails (id serial PRIMARY KEY, email text NOT NULL);
CREATE TABLE only_on_source (id int);
`;

/** What the target does differently from the source (CockroachDB-like and plain drift). */
const TARGET_DRIFT = `
UPDATE items SET name = 'drifted' WHERE id = 7;
ALTER TABLE counters ALTER COLUMN n TYPE int8;
DROP TABLE only_on_source;
CREATE UNIQUE INDEX emails_email_key ON emails (email);
CREATE FUNCTION retry_now_and_then() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.n % 3 = 0 THEN
    RAISE EXCEPTION 'restart transaction' USING ERRCODE = '40001';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER retry_now_and_then BEFORE UPDATE ON counters
  FOR EACH ROW EXECUTE FUNCTION retry_now_and_then();
`;

async function settle<T>(f: () => T | Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function kinds(report: ProxyShadowReport): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of report.samples) (out[s.kind] ??= []).push(s.fingerprint);
  return out;
}

async function clusters(): Promise<{ source: PgCluster; target: PgCluster }> {
  const [source, target] = await Promise.all([
    startPgCluster({ name: "shadow-source" }),
    startPgCluster({ name: "shadow-target" }),
  ]);
  await source.psql(SCHEMA);
  await target.psql(SCHEMA);
  return { source, target };
}

Deno.test("shadowing classifies each difference and nothing else", async (t) => {
  const { source, target } = await clusters();
  try {
    await using proxy = await startTestProxy({
      INIT_SOURCE: source.url(),
      INIT_TARGET: target.url(),
      LMS_SHADOW_MODE: "sync",
    });
    const report = () => proxy.cutover.shadowReport!();

    await t.step("identical databases: pgbench and drivers produce no mismatch", async () => {
      await run("pgbench", [
        "-i",
        "-s",
        "1",
        "-q",
        "-h",
        "127.0.0.1",
        "-p",
        String(proxy.port),
        "-U",
        "postgres",
        "postgres",
      ]);
      for (const mode of ["simple", "extended", "prepared"]) {
        const res = await run("pgbench", [
          "-M",
          mode,
          "-c",
          "4",
          "-t",
          "50",
          "-h",
          "127.0.0.1",
          "-p",
          String(proxy.port),
          "-U",
          "postgres",
          "postgres",
        ]);
        assert.equal(res.code, 0, res.stderr);
      }
      const c = pgClient(proxy.port);
      await c.connect();
      await c.query({
        name: "one",
        text: "SELECT id, name, qty, price FROM items WHERE id = $1",
        values: [3],
      });
      await c.query("SELECT id, price FROM items ORDER BY id");
      await c.query("SELECT count(*), sum(qty) FROM items");
      await c.end();
      const sql = postgres({ host: "127.0.0.1", port: proxy.port, user: "postgres", max: 1 });
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => sql`SELECT id, name FROM items WHERE id = ${i + 1}`),
      );
      await sql.end();
      const r = await settle(report, (x) => x.statements > 1000);
      assert.ok(r.statements > 1000, `compared ${r.statements} statements`);
      assert.equal(r.mismatches, 0, JSON.stringify(r.samples, null, 1));
    });

    await target.psql(TARGET_DRIFT);

    await t.step("each drift gives exactly its kind", async () => {
      const c = pgClient(proxy.port);
      await c.connect();
      await c.query("SELECT id, name FROM items WHERE id BETWEEN 5 AND 9");
      await c.query("SELECT n FROM counters WHERE id = 1");
      await c.query("SELECT count(*) FROM only_on_source");
      await c.query("INSERT INTO emails (email) VALUES ('a@example.com')");
      await c.query("INSERT INTO emails (email) VALUES ('a@example.com')");
      for (let i = 0; i < 3; i++) await c.query("UPDATE counters SET n = n + 1 WHERE id = 1");
      await c.end();
      const r = await settle(report, (x) => x.mismatches >= 3);
      const found = kinds(r);
      assert.deepEqual(
        Object.keys(found).sort(),
        ["error_vs_success", "values"],
        JSON.stringify(found),
      );
      assert.ok(found.values.some((f) => f.includes("items")), "the changed row");
      assert.equal(found.error_vs_success.length, 2, "missing table and unique index");
      assert.ok(found.error_vs_success.some((f) => f.includes("only_on_source")));
      assert.ok(found.error_vs_success.some((f) => f.includes("emails")));
      assert.ok(r.transient >= 1, "the 40001 retry is transient");
      assert.ok(!JSON.stringify(found).includes("counters WHERE"), "INT8 vs INT4 is no mismatch");
    });
  } finally {
    await Promise.allSettled([source.destroy(), target.destroy()]);
  }
});

Deno.test("shadow modes keep their promises to the client", async (t) => {
  const { source, target } = await clusters();
  try {
    await target.psql("CREATE UNIQUE INDEX emails_email_key ON emails (email)");

    await t.step(
      "strict-sync returns the target's error, and keeps the transaction honest",
      async () => {
        await using proxy = await startTestProxy({
          INIT_SOURCE: source.url(),
          INIT_TARGET: target.url(),
          LMS_SHADOW_MODE: "strict-sync",
        });
        const c = pgClient(proxy.port);
        await c.connect();
        await c.query("INSERT INTO emails (email) VALUES ('strict@example.com')");
        await assert.rejects(
          c.query("INSERT INTO emails (email) VALUES ('strict@example.com')"),
          (e: { code?: string }) => e.code === "23505",
        );
        await c.query("BEGIN");
        await assert.rejects(
          c.query("INSERT INTO emails (email) VALUES ('strict@example.com')"),
          (e: { code?: string }) => e.code === "23505",
        );
        await assert.rejects(c.query("SELECT 1"), (e: { code?: string }) => e.code === "25P02");
        await c.query("COMMIT");
        await c.end();
        const onSource = await source.psql(
          "SELECT count(*) FROM emails WHERE email = 'strict@example.com'",
        );
        assert.equal(
          onSource,
          "2",
          "the autocommit duplicate stayed on the source; the failed transaction did not commit",
        );
      },
    );

    await t.step("sync returns the source's result even when the target fails", async () => {
      await using proxy = await startTestProxy({
        INIT_SOURCE: source.url(),
        INIT_TARGET: target.url(),
        LMS_SHADOW_MODE: "sync",
      });
      const c = pgClient(proxy.port);
      await c.connect();
      await c.query("INSERT INTO emails (email) VALUES ('sync@example.com')");
      await c.query("INSERT INTO emails (email) VALUES ('sync@example.com')");
      await c.end();
      const r = proxy.cutover.shadowReport!();
      assert.ok(r.mismatches >= 1);
    });

    await t.step(
      "async: a stopped target costs the client nothing; new sessions shadow again",
      async () => {
        await using proxy = await startTestProxy({
          INIT_SOURCE: source.url(),
          INIT_TARGET: target.url(),
          LMS_SHADOW_MODE: "async",
        });
        await target.stop();
        const c = pgClient(proxy.port);
        await c.connect();
        for (let i = 0; i < 20; i++) {
          const res = await c.query("SELECT count(*) AS n FROM items");
          assert.equal(res.rows[0].n, "50");
        }
        await c.end();
        const metrics = await proxy.metrics.registry.metrics();
        assert.match(metrics, /lms_shadow_errors_total\{[^}]*sqlstate="08006"[^}]*\} [1-9]/);
        await target.start();
        const before = proxy.cutover.shadowReport!().statements;
        const d = pgClient(proxy.port);
        await d.connect();
        await d.query("SELECT count(*) FROM items");
        const r = await settle(() => proxy.cutover.shadowReport!(), (x) => x.statements > before);
        await d.end();
        assert.ok(r.statements > before, "the new session shadows again");
      },
    );
  } finally {
    await Promise.allSettled([source.destroy(), target.destroy()]);
  }
});
