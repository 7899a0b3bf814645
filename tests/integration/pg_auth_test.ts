/**
 * Authentication relayed by the PostgreSQL proxy: trust, cleartext password,
 * MD5 and SCRAM-SHA-256 each against a cluster configured for it. The right
 * password works with psql and node-postgres, a wrong one gets the database's
 * own error, and the database's log proves the database itself ran the method.
 */

import assert from "node:assert/strict";
import pg from "pg";
import type { PgCluster } from "../../shared/local/postgres_cluster.ts";
import {
  AUTH_PROBE_TABLE,
  AUTH_USERS,
  type AuthUser,
  startAuthCluster,
} from "../helpers/pg_auth.ts";
import { psql, startTestProxy } from "../helpers/proxy.ts";

/** The log line PostgreSQL writes once a method set the session's identity. */
function authenticatedLine(user: string, method: string): string {
  return `connection authenticated: identity="${user}" method=${method}`;
}

async function countInLog(cluster: PgCluster, needle: string): Promise<number> {
  const log = await Deno.readTextFile(cluster.logFile);
  return log.split(needle).length - 1;
}

/** Waits until the server log holds `needle` more often than `before` times. */
async function logGrows(cluster: PgCluster, needle: string, before: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const now = await countInLog(cluster, needle);
    if (now > before) return now;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the server log never showed another "${needle}"`);
}

/** The part of a psql connection error after `failed: `, where host and port no longer appear. */
function serverPart(stderr: string): string {
  const at = stderr.indexOf("failed: ");
  return at < 0 ? stderr.trim() : stderr.slice(at + "failed: ".length).trim();
}

/** Connects with node-postgres and returns the probe row, or the error's code and message. */
async function pgProbe(
  port: number,
  user: AuthUser,
  password: string,
): Promise<{ who?: string; code?: string; message?: string }> {
  const client = new pg.Client({
    host: "127.0.0.1",
    port,
    user: user.user,
    database: user.user,
    password,
  });
  try {
    await client.connect();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code, message: e.message };
  }
  try {
    const res = await client.query(`SELECT who FROM ${AUTH_PROBE_TABLE}`);
    return { who: res.rows[0].who };
  } finally {
    await client.end();
  }
}

Deno.test("the proxy relays trust, cleartext, md5 and scram-sha-256 to the database", async (t) => {
  await using cluster = await startAuthCluster({ name: "auth-relay" });
  await using proxy = await startTestProxy({ INIT_SOURCE: cluster.url() });
  const urlFor = (port: number, user: AuthUser) =>
    `postgres://${user.user}@127.0.0.1:${port}/${user.user}`;
  const cases = [
    { name: "cleartext", user: AUTH_USERS.cleartext, method: "password" },
    { name: "md5", user: AUTH_USERS.md5, method: "md5" },
    { name: "scram-sha-256", user: AUTH_USERS.scram, method: "scram-sha-256" },
  ];

  for (const { name, user, method } of cases) {
    await t.step(`${name}: right password connects, the database ran ${method}`, async () => {
      const needle = authenticatedLine(user.user, method);
      const before = await countInLog(cluster, needle);
      const viaPsql = await psql(urlFor(proxy.port, user), [
        "-w",
        "-c",
        `SELECT who FROM ${AUTH_PROBE_TABLE}`,
      ], {
        env: { PGPASSWORD: user.password },
      });
      assert.equal(viaPsql.code, 0, viaPsql.stderr);
      assert.equal(viaPsql.stdout.trim(), user.user);
      const afterPsql = await logGrows(cluster, needle, before);
      assert.deepEqual(await pgProbe(proxy.port, user, user.password), { who: user.user });
      await logGrows(cluster, needle, afterPsql);
    });

    await t.step(`${name}: a wrong password gets the database's own 28P01`, async () => {
      const failedLine = `password authentication failed for user "${user.user}"`;
      const before = await countInLog(cluster, failedLine);
      const results = [];
      for (const port of [cluster.port, proxy.port]) {
        results.push(
          await psql(urlFor(port, user), ["-w", "-c", "SELECT 1"], {
            env: { PGPASSWORD: "wrong-password" },
          }),
        );
      }
      const [direct, viaProxy] = results;
      assert.equal(viaProxy.code, 2);
      assert.equal(serverPart(viaProxy.stderr), serverPart(direct.stderr));
      assert.match(viaProxy.stderr, new RegExp(`FATAL: {2}${failedLine}`));
      // Both attempts, the direct one and the relayed one, were judged by the database.
      assert.equal(await logGrows(cluster, failedLine, before + 1), before + 2);
      const direct2 = await pgProbe(cluster.port, user, "wrong-password");
      const proxied = await pgProbe(proxy.port, user, "wrong-password");
      assert.equal(proxied.code, "28P01");
      assert.deepEqual(proxied, direct2);
      assert.equal(proxied.message, failedLine);
    });
  }

  await t.step("trust: connects with any password, as it does directly", async () => {
    const user = AUTH_USERS.trust;
    const authorized = `connection authorized: user=${user.user} database=${user.user}`;
    const before = await countInLog(cluster, authorized);
    const viaPsql = await psql(urlFor(proxy.port, user), [
      "-w",
      "-c",
      `SELECT who FROM ${AUTH_PROBE_TABLE}`,
    ], {
      env: { PGPASSWORD: "anything" },
    });
    assert.equal(viaPsql.code, 0, viaPsql.stderr);
    assert.equal(viaPsql.stdout.trim(), user.user);
    await logGrows(cluster, authorized, before);
    assert.deepEqual(await pgProbe(proxy.port, user, "anything"), { who: user.user });
    assert.equal(await countInLog(cluster, `identity="${user.user}"`), 0);
  });

  await t.step("a role the database rejects gets the database's error", async () => {
    const user = AUTH_USERS.cert;
    const [direct, proxied] = [
      await pgProbe(cluster.port, user, ""),
      await pgProbe(proxy.port, user, ""),
    ];
    assert.equal(proxied.code, "28000");
    assert.deepEqual(proxied, direct);
    assert.match(proxied.message ?? "", /pg_hba\.conf rejects connection/);
  });

  await t.step("a session works after a failed attempt on the same proxy", async () => {
    const user = AUTH_USERS.scram;
    assert.equal((await pgProbe(proxy.port, user, "nope")).code, "28P01");
    assert.deepEqual(await pgProbe(proxy.port, user, user.password), { who: user.user });
    assert.equal(proxy.sessions.size, 0);
  });
});
