/**
 * Rebuilds the fuzz corpus: runs real clients (psql, pgbench in its three
 * `-M` modes, node-postgres, postgres.js with COPY and pipelining) through a
 * recording relay in front of a real proxy in front of a throwaway
 * PostgreSQL, and writes each client connection's bytes to
 * `tests/fuzz/corpus/<client>-<n>.json`.
 *
 * Usage: `deno run --allow-all tests/fuzz/capture.ts`
 *
 * @module
 */

import pg from "pg";
import postgres from "postgres";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { run, spawnProxy } from "../helpers/proxy.ts";
import { type CaptureStep, captureSteps, CORPUS_DIR } from "./corpus.ts";
import { startRecordingRelay } from "./recording_relay.ts";
import { FUZZ_SCHEMA } from "./schema.ts";

const PSQL_SCRIPT = `
SELECT 1 AS one, 'two' AS two, now() IS NOT NULL AS ts;
SET application_name = 'fuzz-capture';
BEGIN;
INSERT INTO fuzz_items (id, name, body) VALUES (1, 'a', 'alpha'), (2, 'b', NULL);
UPDATE fuzz_items SET body = 'beta' WHERE id = 2;
COMMIT;
\\copy fuzz_items (id, name, body) FROM STDIN
3	c	gamma
4	d	\\N
\\.
\\copy fuzz_items TO STDOUT
PREPARE q(int) AS SELECT name FROM fuzz_items WHERE id = $1;
EXECUTE q(3);
DEALLOCATE q;
SELECT 1/0;
SELECT count(*) FROM fuzz_items; SELECT max(id) FROM fuzz_items;
DO $$ BEGIN RAISE NOTICE 'hello'; END $$;
DELETE FROM fuzz_items;
`;

async function must(what: string, p: Promise<{ code: number; stderr: string }>): Promise<void> {
  const out = await p;
  if (out.code !== 0) throw new Error(`${what} failed: ${out.stderr}`);
}

async function nodePostgres(port: number): Promise<void> {
  const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
  await c.connect();
  await c.query("SELECT $1::int + $2::int AS sum, $3::text AS t", [1, 2, "x"]);
  await c.query({ name: "by_id", text: "SELECT * FROM fuzz_items WHERE id = $1", values: [1] });
  await c.query({ name: "by_id", text: "SELECT * FROM fuzz_items WHERE id = $1", values: [2] });
  await c.query("BEGIN");
  await c.query("INSERT INTO fuzz_items (id, name, body) VALUES ($1, $2, $3)", [10, "n", "pg"]);
  await c.query("SAVEPOINT s1");
  await c.query("SELECT no_such_column FROM fuzz_items").catch(() => {});
  await c.query("ROLLBACK TO SAVEPOINT s1");
  await c.query("COMMIT");
  await c.query("SELECT $1::bytea AS b, $2::jsonb AS j", [new Uint8Array([0, 1, 255]), {
    a: [1, 2],
  }]);
  await c.query("SELECT generate_series(1, 50) AS n");
  await c.query("DELETE FROM fuzz_items WHERE id = $1", [10]);
  await c.end();
}

async function postgresJs(port: number): Promise<void> {
  const sql = postgres({ host: "127.0.0.1", port, user: "postgres", database: "postgres", max: 1 });
  // Pipelining: postgres.js sends these back to back on its one connection.
  await Promise.all([
    sql`SELECT ${1}::int AS a`,
    sql`SELECT ${"two"}::text AS b`,
    sql`SELECT count(*) FROM fuzz_items`,
    sql`SELECT ${3}::int / 0 AS boom`.catch(() => {}),
    sql`SELECT ${4}::int AS d`,
  ]);
  const writable = await sql`COPY fuzz_items (id, name, body) FROM STDIN`.writable();
  await new Promise<void>((resolve, reject) => {
    writable.on("error", reject);
    writable.write("20\tcopy\tone\n21\tcopy\t\\N\n");
    writable.end("22\tcopy\tthree\n", () => resolve());
  });
  await new Promise((r) => setTimeout(r, 100));
  const readable = await sql`COPY fuzz_items TO STDOUT`.readable();
  for await (const _ of readable) {
    // drain
  }
  await sql.begin(async (tx) => {
    await tx`UPDATE fuzz_items SET body = ${"tx"} WHERE id = ${20}`;
    await tx`SELECT * FROM fuzz_items WHERE id = ANY(${[20, 21]}::int[])`;
  });
  await sql.unsafe("SELECT 1; SELECT 2");
  await sql`DELETE FROM fuzz_items WHERE id >= 20`;
  await sql.end();
}

/** Runs the clients and writes the corpus. */
async function main(): Promise<void> {
  await using cluster = await startPgCluster({ name: "fuzz-capture" });
  await cluster.psql(FUZZ_SCHEMA);
  await using proxy = await spawnProxy({ INIT_SOURCE: cluster.url() });
  await using relay = startRecordingRelay(proxy.port);
  const url = `postgres://postgres@127.0.0.1:${relay.port}/postgres`;
  for await (const e of Deno.readDir(CORPUS_DIR)) {
    if (e.name.endsWith(".json")) await Deno.remove(`${CORPUS_DIR}${e.name}`);
  }
  const steps: CaptureStep[] = [
    {
      client: "psql",
      note: "psql script: DML in a transaction, \\copy in and out, PREPARE, an error, NOTICE",
      go: () => must("psql", run("psql", [url, "-X", "-q", "-f", "-"], { stdin: PSQL_SCRIPT })),
    },
    {
      client: "pgbench-init",
      note: "pgbench -i with server-side data generation",
      go: () => must("pgbench -i", run("pgbench", ["-i", "-I", "dtGvp", "-s", "1", url])),
    },
    ...(["simple", "extended", "prepared"] as const).map((mode) => ({
      client: `pgbench-${mode}`,
      note: `pgbench -M ${mode}, 8 TPC-B transactions`,
      go: () => must(`pgbench ${mode}`, run("pgbench", ["-n", "-M", mode, "-t", "8", url])),
    })),
    {
      client: "node-postgres",
      note: "node-postgres: parameters, named statements, savepoint after an error, bytea, jsonb",
      go: () => nodePostgres(relay.port),
    },
    {
      client: "postgres-js",
      note:
        "postgres.js: pipelined queries, COPY FROM STDIN and TO STDOUT, sql.begin, multi-statement",
      go: () => postgresJs(relay.port),
    },
  ];
  await captureSteps(relay, steps, CORPUS_DIR);
}

if (import.meta.main) await main();
