/**
 * Secrets never reach logs, metrics or CLI output. Real processes at debug
 * level run the e2e paths — initialize, proxies registering, PostgreSQL and
 * MySQL clients logging in (and failing to), shadowing, a consistent
 * cutover, connection listings, the shadow report, configuration errors —
 * with distinctive passwords for the source, the target, the API token and
 * the clients; then every captured log line, every metrics page and every
 * CLI output (JSON and table) is scanned for each of them.
 */

import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import pg from "pg";
import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { runArgs } from "../../shared/local/compile.ts";
import { cli, eventually, spawnOrchestrator } from "../helpers/fleet.ts";
import { type ProxyProcess, run, spawnProxy } from "../helpers/proxy.ts";

const SECRETS = {
  sourcePassword: "SrcPw-7f3c9a1e58",
  targetPassword: "TgtPw-2b8d4e6f91",
  apiToken: "ApiTok-5e1a9c3b7d2f4a6e",
  pgClientPassword: "PgCliPw-9d4b2c7a33",
  wrongPassword: "WrongPw-4411aa77cc",
  mysqlSourcePassword: "MySrcPw-3a7e1f9b20",
  mysqlClientPassword: "MyCliPw-6c2f8b4d55",
} as const;

const ROOT = new URL("../../", import.meta.url).pathname;

/** Everything a process or command printed, by where it came from. */
const captured: { where: string; text: () => string }[] = [];
const keep = (where: string, text: string) => captured.push({ where, text: () => text });

async function metricsOf(where: string, port: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  assert.equal(res.status, 200);
  keep(`${where} /metrics`, text);
}

async function command(url: string, args: string[]): Promise<unknown> {
  let json: unknown;
  for (const output of ["json", "table"] as const) {
    const out = await cli(url, args, { CLI_API_TOKEN: SECRETS.apiToken }, output);
    keep(`cli ${args.join(" ")} (${output})`, out.stdout + out.stderr);
    assert.equal(out.code, 0, `${args.join(" ")}: ${out.stderr}${out.stdout}`);
    if (output === "json") json = out.json;
    // Begin and commit change the state: run them once.
    if (args[0] === "cutover" || args[0] === "initialize") break;
  }
  return json;
}

function pgUrl(port: number, user: string, password: string): string {
  return `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
}

Deno.test("no secret reaches a log line, a metrics page or CLI output", async (t) => {
  const hba = [
    "host all lms_admin 127.0.0.1/32 scram-sha-256",
    "host all app 127.0.0.1/32 scram-sha-256",
  ];
  await using source = await startPgCluster({ name: "secrets-source", hba });
  await using target = await startPgCluster({ name: "secrets-target", hba });
  const schema = "CREATE TABLE items (id INT PRIMARY KEY, note TEXT)";
  const admins = [[source, SECRETS.sourcePassword], [target, SECRETS.targetPassword]] as const;
  for (const [db, password] of admins) {
    await db.psql(`CREATE ROLE lms_admin LOGIN SUPERUSER PASSWORD '${password}'; ${schema}`);
  }
  // The same SCRAM verifier on both sides, as a migration copies it: a relayed SCRAM login then
  // also opens the session's connection on the target.
  await source.psql(`CREATE ROLE app LOGIN PASSWORD '${SECRETS.pgClientPassword}'`);
  const verifier = await source.psql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'");
  await target.psql(`CREATE ROLE app LOGIN PASSWORD '${verifier}'`);
  for (const db of [source, target]) await db.psql("GRANT ALL ON items TO app");
  const dbEnv = {
    INIT_SOURCE: pgUrl(source.port, "lms_admin", SECRETS.sourcePassword),
    INIT_TARGET: pgUrl(target.port, "lms_admin", SECRETS.targetPassword),
  };
  const orchestrator = await spawnOrchestrator(
    { ...dbEnv, LMS_API_TOKEN: SECRETS.apiToken, LMS_LOG_LEVEL: "debug" },
    undefined,
    { captureLog: true },
  );
  captured.push({ where: "orchestrator log", text: orchestrator.log });
  const proxies: ProxyProcess[] = [];
  try {
    await t.step(
      "PostgreSQL fleet: initialize, log in, shadow, cut over, list, report",
      async () => {
        await command(orchestrator.url, ["initialize"]);
        await source.psql("CREATE PUBLICATION lms_pub FOR TABLE items, _molt_lms.marker");
        const proxy = await spawnProxy(
          {
            ...dbEnv,
            LMS_ORCHESTRATOR_URL: orchestrator.url,
            LMS_API_TOKEN: SECRETS.apiToken,
            LMS_SHADOW_MODE: "async",
            LMS_LOG_LEVEL: "debug",
            LMS_PROXY_ID: "proxy-secrets",
            LMS_SHUTDOWN_GRACE: "2s",
          },
          [],
          { captureLog: true },
        );
        proxies.push(proxy);
        captured.push({ where: "pg proxy log", text: proxy.log });
        await eventually("the proxy registered", async () => {
          const status = await command(orchestrator.url, ["status"]) as {
            proxies: { connected: boolean }[];
          };
          return status.proxies.length === 1 && status.proxies[0].connected;
        });

        const app = new pg.Client(pgUrl(proxy.port, "app", SECRETS.pgClientPassword));
        app.on("error", () => {});
        await app.connect();
        await app.query("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
        await app.query("SELECT * FROM items WHERE id = $1", [1]);
        await app.query("BEGIN");
        await app.query("UPDATE items SET note = 'uno' WHERE id = 1");
        await app.query("COMMIT");
        const refused = new pg.Client(pgUrl(proxy.port, "app", SECRETS.wrongPassword));
        refused.on("error", () => {});
        await assert.rejects(refused.connect(), /password authentication failed/);

        await command(orchestrator.url, ["connections", "list"]);
        await command(orchestrator.url, ["shadow", "report"]);
        // Replication starts only now, without the initial copy: the shadowed writes above
        // already put the same rows on the target, and replaying them there would stop the
        // subscription on a duplicate key (and the marker with it).
        await target.psql(
          `CREATE SUBSCRIPTION lms_sub CONNECTION 'host=127.0.0.1 port=${source.port} ` +
            "user=postgres dbname=postgres' PUBLICATION lms_pub WITH (copy_data = false)",
        );
        await command(orchestrator.url, [
          "cutover",
          "consistent",
          "begin",
          "--drain-timeout",
          "60s",
        ]);
        await command(orchestrator.url, ["cutover", "consistent", "commit", "--to", "target"]);
        await eventually("the session moved to the target", async () => {
          const res = await app.query("SELECT inet_server_port() AS port");
          return Number(res.rows[0].port) === target.port;
        });
        await app.query("INSERT INTO items VALUES (3, 'three')");
        await command(orchestrator.url, ["status"]);
        await command(orchestrator.url, ["connections", "list"]);
        await app.end();
        await metricsOf("pg proxy", proxy.metricsPort);
        await metricsOf("orchestrator", orchestrator.metricsPort);
        // A CLI without the token, or with a wrong one, is refused without echoing either.
        const wrong = await cli(orchestrator.url, ["cutover", "consistent", "abort"], {
          CLI_API_TOKEN: `${SECRETS.apiToken}-not`,
        });
        keep("cli with a wrong token", wrong.stdout + wrong.stderr);
        assert.notEqual(wrong.code, 0);
      },
    );

    await t.step("MySQL proxy: log in, fail to, query", async () => {
      const mariadb = await startMariaDbServer({
        initSql: [
          "CREATE DATABASE app",
          `CREATE USER 'lms_src'@'%' IDENTIFIED BY '${SECRETS.mysqlSourcePassword}'`,
          "GRANT ALL ON *.* TO 'lms_src'@'%' WITH GRANT OPTION",
          `CREATE USER 'appmy'@'%' IDENTIFIED BY '${SECRETS.mysqlClientPassword}'`,
          "GRANT ALL ON app.* TO 'appmy'@'%'",
          "CREATE TABLE app.items (id INT PRIMARY KEY, note TEXT)",
        ],
      });
      try {
        const proxy = await spawnProxy(
          {
            LMS_SOURCE_DIALECT: "mysql",
            INIT_SOURCE:
              `mysql://lms_src:${SECRETS.mysqlSourcePassword}@127.0.0.1:${mariadb.port}/app`,
            LMS_LOG_LEVEL: "debug",
            LMS_PROXY_ID: "proxy-secrets-mysql",
          },
          [],
          { captureLog: true },
        );
        proxies.push(proxy);
        captured.push({ where: "mysql proxy log", text: proxy.log });
        const options = {
          host: "127.0.0.1",
          port: proxy.port,
          user: "appmy",
          database: "app",
        };
        const conn = await mysql.createConnection({
          ...options,
          password: SECRETS.mysqlClientPassword,
        });
        await conn.query("INSERT INTO items VALUES (1, 'one')");
        await conn.execute("SELECT * FROM items WHERE id = ?", [1]);
        await conn.query("SELECT nosuchcolumn FROM items").catch(() => {});
        await conn.end();
        const refused = await mysql.createConnection({
          ...options,
          password: SECRETS.wrongPassword,
        })
          .then(() => undefined, (e: { errno: number }) => e);
        assert.equal(refused?.errno, 1045);
        await metricsOf("mysql proxy", proxy.metricsPort);
      } finally {
        for (const p of proxies.splice(1)) await p.stop();
        await mariadb.stop();
      }
    });

    await t.step("configuration errors name the problem, not the password", async () => {
      const bad = await run(Deno.execPath(), runArgs("molt-lms", ROOT).slice(0), {
        env: {
          ...Deno.env.toObject(),
          LMS_SOURCE_DIALECT: "postgres",
          LMS_STANDALONE: "true",
          INIT_SOURCE: `${pgUrl(source.port, "lms_admin", SECRETS.sourcePassword)}?sslmode=bogus`,
          INIT_TARGET: `postgres://lms_admin:${SECRETS.targetPassword}@[::1`,
          LMS_API_TOKEN: `${SECRETS.apiToken} with spaces`,
        },
      });
      keep("proxy with a bad configuration", bad.stdout + bad.stderr);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /INIT_SOURCE/);
    });
  } finally {
    for (const p of proxies) await p.stop();
    await orchestrator.stop();
    await target.psql("DROP SUBSCRIPTION IF EXISTS lms_sub").catch(() => {});
  }

  await t.step("the scan: every capture, every secret", () => {
    const logs = captured.filter((c) => c.where.endsWith("log")).map((c) => c.text()).join("\n");
    // The captures are real: the debug lines of each process are there.
    assert.match(logs, /"level":"debug"/);
    assert.match(logs, /proxy listening/);
    assert.match(logs, /session started/);
    assert.ok(captured.length >= 20, `${captured.length} captures`);
    const leaks: string[] = [];
    for (const { where, text } of captured) {
      const body = text();
      for (const [name, secret] of Object.entries(SECRETS)) {
        for (const form of new Set([secret, encodeURIComponent(secret), btoa(secret)])) {
          if (body.includes(form)) {
            const at = body.indexOf(form);
            leaks.push(`${name} in ${where}: …${body.slice(Math.max(0, at - 80), at + 40)}…`);
          }
        }
      }
    }
    assert.deepEqual(leaks, []);
  });
});
