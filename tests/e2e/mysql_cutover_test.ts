/**
 * A MySQL source end to end with real processes: MariaDB as the source, a
 * PostgreSQL cluster standing in for the CockroachDB target (it holds the
 * state store), an orchestrator, three proxies with `sourceDialect: mysql`,
 * the real CLI, and sysbench `oltp_read_write` through every proxy. A
 * consistent cutover begins and is aborted under that load with zero client
 * errors; a commit without the replication marker on the target is refused
 * (nothing replicates here); `KILL QUERY` sent through one proxy reaches a
 * session of another. Cutovers that commit are in
 * `mysql_translated_cutover_test.ts`.
 */

import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { processIdFor } from "../../shared/cancel_key.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import {
  cli,
  eventually,
  spawnOrchestrator,
  TEST_API_TOKEN,
  waitForProxies,
} from "../helpers/fleet.ts";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy.ts";
import { sysbenchConnectArgs } from "../bench/sysbench.ts";

interface Status {
  sourceOfTruth: "source" | "target";
  phase: string;
  proxies: { id: string; connected: boolean; paused: boolean }[];
  cutover: { drained: number; total: number } | null;
}

function sysbench(port: number, args: string[]): Deno.ChildProcess {
  const { user, password } = MARIADB_AUTH_USERS.native;
  return new Deno.Command("sysbench", {
    args: [
      "oltp_read_write",
      ...sysbenchConnectArgs({ port, user, password, database: "app" }),
      "--tables=3",
      "--table-size=2000",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function finished(child: Deno.ChildProcess): Promise<{ code: number; out: string }> {
  const out = await child.output();
  const text = new TextDecoder();
  return { code: out.code, out: text.decode(out.stdout) + text.decode(out.stderr) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("MySQL source: consistent cutover begin/abort under sysbench through 3 proxies", async (t) => {
  const source = await startMariaDbServer({
    name: "e2e-mysql",
    authUsers: true,
    initSql: ["CREATE DATABASE app"],
  });
  const target = await startPgCluster({ name: "e2e-mysql-target" });
  const proxies: ProxyProcess[] = [];
  const env = {
    LMS_SOURCE_DIALECT: "mysql",
    INIT_SOURCE: source.url({ database: "app" }),
    INIT_TARGET: target.url(),
  };
  const orchestrator = await spawnOrchestrator(env);
  try {
    const init = await cli(orchestrator.url, ["initialize"]);
    assert.equal(init.code, 0, init.stderr + init.stdout);
    for (let i = 1; i <= 3; i++) {
      proxies.push(
        await spawnProxy({
          ...env,
          LMS_PROXY_ID: `mysql-proxy-${i}`,
          LMS_ORCHESTRATOR_URL: orchestrator.url,
          LMS_API_TOKEN: TEST_API_TOKEN,
          LMS_SHUTDOWN_GRACE: "2s",
        }),
      );
    }
    await waitForProxies(orchestrator.url, 3);
    const status = async () =>
      await (await fetch(`${orchestrator.url}/api/v1/status`)).json() as Status;
    const ports = proxies.map((p) => p.port);
    const prepare = await finished(sysbench(ports[0], ["prepare"]));
    assert.equal(prepare.code, 0, prepare.out);

    await t.step("begin and abort twice while sysbench runs: no client error", async () => {
      const runs = ports.map((port, i) =>
        sysbench(port, [
          "--threads=2",
          "--time=14",
          `--db-ps-mode=${i === 1 ? "disable" : "auto"}`,
          "--report-interval=0",
          "run",
        ])
      );
      const results = Promise.all(runs.map(finished));
      await sleep(2_000);
      for (let round = 0; round < 2; round++) {
        const begin = await cli(orchestrator.url, ["cutover", "consistent", "begin", "--no-wait"]);
        assert.equal(begin.code, 0, begin.stderr);
        await eventually("every proxy drained", async () => {
          const s = await status();
          return s.phase === "drained" || (s.cutover?.drained === 3 && s.cutover.total === 3);
        });
        if (round === 1) {
          const commit = await cli(orchestrator.url, ["cutover", "consistent", "commit"]);
          assert.notEqual(commit.code, 0, "no replication carried the marker to the target");
          assert.match(commit.stderr + commit.stdout, /marker/);
        }
        await sleep(500);
        const abort = await cli(orchestrator.url, ["cutover", "consistent", "abort"]);
        assert.equal(abort.code, 0, abort.stderr);
        const s = await status();
        assert.equal(s.sourceOfTruth, "source");
        assert.equal(s.phase, "idle");
        await sleep(2_000);
      }
      for (const r of await results) {
        assert.equal(r.code, 0, r.out);
        const transactions = Number(/transactions:\s+(\d+)/.exec(r.out)?.[1] ?? 0);
        assert.ok(transactions > 0, r.out);
        assert.match(r.out, /reconnects:\s+0\s/, r.out);
      }
    });

    await t.step("KILL QUERY through another proxy reaches the right session", async () => {
      const { user, password } = MARIADB_AUTH_USERS.native;
      const open = (port: number) =>
        mysql.createConnection({ host: "127.0.0.1", port, user, password, database: "app" });
      const sleeper = await open(ports[0]);
      const killer = await open(ports[2]);
      try {
        const started = Date.now();
        const sleeping = sleeper.query("SELECT SLEEP(20) AS s").then(
          () => "not interrupted",
          (e: { errno: number }) => e.errno,
        );
        await sleep(500);
        // threadId is the connection id from the handshake: the proxy's, naming proxy 1.
        await killer.query(`KILL QUERY ${sleeper.threadId}`);
        assert.equal(await sleeping, 1317, "MariaDB's ER_QUERY_INTERRUPTED");
        assert.ok(Date.now() - started < 10_000);
        const [after] = await sleeper.query("SELECT 'alive' AS a");
        assert.deepEqual(after, [{ a: "alive" }], "KILL QUERY leaves the connection");
        // An id of the killer's own proxy that no session holds: the database's own answer.
        const unused = processIdFor("mysql-proxy-3", 2_000_000);
        const unknown = await killer.query(`KILL QUERY ${unused}`).then(
          () => "no error",
          (e: { errno: number }) => e.errno,
        );
        assert.equal(unknown, 1094);
      } finally {
        await sleeper.end();
        await killer.end();
      }
    });
  } finally {
    await Promise.allSettled(proxies.map((p) => p.stop()));
    await orchestrator.stop();
    await Promise.allSettled([source.stop(), target.destroy()]);
  }
});
