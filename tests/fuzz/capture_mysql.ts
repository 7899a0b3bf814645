/**
 * Rebuilds the MySQL half of the fuzz corpus: runs mysql2 (text and binary
 * protocol) and sysbench (prepare, and runs with and without server-side
 * prepared statements) through a recording relay in front of a real proxy in
 * front of a throwaway MariaDB, and writes each client connection's bytes to
 * `tests/fuzz/corpus/mysql/<client>-<n>.json`. The clients log in as the
 * password-less `fuzz` user, so the captured HandshakeResponse replays
 * against any later scramble.
 *
 * Usage: `deno run --allow-all tests/fuzz/capture_mysql.ts`
 *
 * @module
 */

import mysql from "mysql2/promise";
import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { run, spawnProxy } from "../helpers/proxy.ts";
import { type CaptureStep, captureSteps, CORPUS_DIR } from "./corpus.ts";
import { startRecordingRelay } from "./recording_relay.ts";
import { MYSQL_FUZZ_SETUP } from "./schema.ts";
import { sysbenchConnectArgs } from "../bench/sysbench.ts";

const DIR = `${CORPUS_DIR}mysql/`;

async function mysql2Text(port: number): Promise<void> {
  const c = await mysql.createConnection({
    host: "127.0.0.1",
    port,
    user: "fuzz",
    database: "app",
    multipleStatements: true,
  });
  await c.query("SELECT 1 AS one, 'two' AS two, NOW() IS NOT NULL AS ts");
  await c.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'");
  await c.query("START TRANSACTION");
  await c.query("INSERT INTO fuzz_items (id, name, body) VALUES (1, 'a', 'alpha'), (2, 'b', NULL)");
  await c.query("UPDATE fuzz_items SET body = 'beta' WHERE id = 2");
  await c.query("COMMIT");
  await c.query("SELECT * FROM fuzz_items WHERE id = ?", [1]);
  await c.query("SELECT no_such_column FROM fuzz_items").catch(() => {});
  await c.query("SELECT COUNT(*) FROM fuzz_items; SELECT MAX(id) FROM fuzz_items");
  await c.query("SELECT REPEAT('x', 70000) AS big");
  await c.ping();
  await c.query("DELETE FROM fuzz_items");
  await c.end();
}

async function mysql2Binary(port: number): Promise<void> {
  const c = await mysql.createConnection({
    host: "127.0.0.1",
    port,
    user: "fuzz",
    database: "app",
  });
  await c.execute("INSERT INTO fuzz_items (id, name, body) VALUES (?, ?, ?)", [10, "n", "bin"]);
  await c.execute("SELECT * FROM fuzz_items WHERE id = ?", [10]);
  await c.execute("SELECT ? + ? AS sum, ? AS t, ? AS b", [1, 2.5, "x", Buffer.from([0, 1, 255])]);
  const stmt = await c.prepare("SELECT name FROM fuzz_items WHERE id = ?");
  await stmt.execute([10]);
  await stmt.execute([11]);
  await stmt.close();
  await c.execute("SELECT * FROM no_such_table WHERE id = ?", [1]).catch(() => {});
  await c.execute("DELETE FROM fuzz_items WHERE id = ?", [10]);
  await c.end();
}

async function must(what: string, p: Promise<{ code: number; stderr: string }>): Promise<void> {
  const out = await p;
  if (out.code !== 0) throw new Error(`${what} failed: ${out.stderr}`);
}

function sysbench(port: number, command: string, extra: string[] = []) {
  return run("sysbench", [
    "oltp_read_write",
    ...sysbenchConnectArgs({ port, user: "fuzz", password: "", database: "sbtest" }),
    "--tables=1",
    "--table-size=100",
    "--threads=1",
    ...extra,
    command,
  ]);
}

/** Runs the clients and writes the corpus. */
async function main(): Promise<void> {
  await using server = await startMariaDbServer({
    name: "fuzz-capture",
    initSql: MYSQL_FUZZ_SETUP,
  });
  await using proxy = await spawnProxy({
    LMS_SOURCE_DIALECT: "mysql",
    INIT_SOURCE: server.url({ database: "app" }),
  });
  await using relay = startRecordingRelay(proxy.port);
  await Deno.mkdir(DIR, { recursive: true });
  for await (const e of Deno.readDir(DIR)) {
    if (e.name.endsWith(".json")) await Deno.remove(`${DIR}${e.name}`);
  }
  const events = ["--events=10", "--time=0"];
  const steps: CaptureStep[] = [
    {
      client: "mysql2-text",
      note:
        "mysql2 text protocol: DML in a transaction, an error, multi-statement, 70 kB row, ping",
      go: () => mysql2Text(relay.port),
    },
    {
      client: "mysql2-binary",
      note: "mysql2 binary protocol: execute, prepare/execute/close, an error, blob parameter",
      go: () => mysql2Binary(relay.port),
    },
    {
      client: "sysbench-prepare",
      note: "sysbench oltp_read_write prepare: CREATE TABLE, bulk INSERT, CREATE INDEX",
      go: () => must("sysbench prepare", sysbench(relay.port, "prepare")),
    },
    {
      client: "sysbench-ps",
      note: "sysbench oltp_read_write run, 10 transactions with server-side prepared statements",
      go: () => must("sysbench run", sysbench(relay.port, "run", events)),
    },
    {
      client: "sysbench-text",
      note: "sysbench oltp_read_write run, 10 transactions as text queries (--db-ps-mode=disable)",
      go: () =>
        must("sysbench run", sysbench(relay.port, "run", [...events, "--db-ps-mode=disable"])),
    },
  ];
  await captureSteps(relay, steps, DIR);
}

if (import.meta.main) await main();
