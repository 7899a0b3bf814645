/**
 * TLS on both legs of the PostgreSQL proxy: the listener with `SSL_CERT` /
 * `SSL_KEY` (and client certificates checked against `SSL_CA`), and the
 * connection to the database honouring `sslmode`, `sslrootcert`, `sslcert`
 * and `sslkey`. Also records what SCRAM with channel binding does when both
 * legs are encrypted.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { type CertFiles, makeCerts } from "../helpers/certs.ts";
import { AUTH_PROBE_TABLE, AUTH_USERS, startAuthCluster } from "../helpers/pg_auth.ts";
import { psql, startTestProxy } from "../helpers/proxy.ts";

/** A libpq keyword/value connection string. */
function conninfo(params: Record<string, string | number>): string {
  return Object.entries(params).map(([k, v]) => `${k}='${String(v).replace(/'/g, "\\'")}'`).join(
    " ",
  );
}

/** psql with a short connect timeout and no password prompt. */
function tryPsql(info: string, sql: string, env: Record<string, string> = {}) {
  return psql(info, ["-w", "-c", sql], { env: { PGCONNECT_TIMEOUT: "10", ...env } });
}

/** Connects with node-postgres and returns the query's first value, or the error. */
async function pgValue(
  config: pg.ClientConfig,
  sql: string,
): Promise<{ value?: unknown; code?: string; message?: string }> {
  const client = new pg.Client(config);
  client.on("error", () => {});
  try {
    await client.connect();
    const res = await client.query({ text: sql, rowMode: "array" });
    return { value: res.rows[0][0] };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code, message: e.message };
  } finally {
    await client.end().catch(() => {});
  }
}

const SSL_IN_USE = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

Deno.test("TLS between clients, the proxy and the database", async (t) => {
  const certs: CertFiles = await makeCerts();
  try {
    await using plain = await startPgCluster({ name: "tls-plain" });
    await using secure = await startAuthCluster({
      name: "tls-secure",
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caCert },
    });
    const clientCert = await certs.client("postgres");
    const foreign = await certs.otherCa("postgres");

    await t.step("listener TLS: verify-full connects, plain still works", async () => {
      await using proxy = await startTestProxy({
        INIT_SOURCE: plain.url(),
        SSL_CERT: certs.serverCert,
        SSL_KEY: certs.serverKey,
      });
      const base = { host: "localhost", port: proxy.port, user: "postgres", dbname: "postgres" };
      const verified = await psql(
        conninfo({ ...base, sslmode: "verify-full", sslrootcert: certs.caCert }),
        ["-w", "-c", "\\conninfo", "-c", "SELECT 'over tls'"],
      );
      assert.equal(verified.code, 0, verified.stderr);
      assert.match(verified.stdout, /SSL connection \(protocol: TLSv1\.[23]/);
      assert.match(verified.stdout, /over tls/);
      const viaPg = await pgValue(
        { ...base, database: "postgres", ssl: { ca: Deno.readTextFileSync(certs.caCert) } },
        "SELECT 'pg over tls'",
      );
      assert.deepEqual(viaPg, { value: "pg over tls" });
      // Multi-megabyte traffic both ways survives the encrypted leg intact.
      const big = "0123456789abcdef".repeat(256 * 1024);
      const copied = await psql(
        conninfo({ ...base, sslmode: "verify-full", sslrootcert: certs.caCert }),
        [
          "-q",
          "-c",
          "CREATE TEMP TABLE big (v text)",
          "-c",
          "\\copy big FROM STDIN",
          "-c",
          "SELECT length(v), md5(v) = md5(repeat('0123456789abcdef', 262144)) FROM big",
          "-c",
          "SELECT repeat('xyz', 3000000)",
        ],
        { stdin: big + "\n" },
      );
      assert.equal(copied.code, 0, copied.stderr);
      const lines = copied.stdout.split("\n");
      assert.equal(lines[0], `${big.length}|t`);
      assert.equal(lines[1], "xyz".repeat(3_000_000));
      // The proxy's certificate is not the one a client trusting another CA expects.
      const wrongCa = await tryPsql(
        conninfo({ ...base, sslmode: "verify-full", sslrootcert: foreign.caCert }),
        "SELECT 1",
      );
      assert.equal(wrongCa.code, 2);
      assert.match(wrongCa.stderr, /certificate verify failed/);
      const cleartext = await psql(conninfo({ ...base, sslmode: "disable" }), [
        "-w",
        "-c",
        "\\conninfo",
      ]);
      assert.equal(cleartext.code, 0, cleartext.stderr);
      assert.doesNotMatch(cleartext.stdout, /SSL connection/);
    });

    await t.step("listener TLS with SSL_CA: only client certificates from the CA", async () => {
      await using proxy = await startTestProxy({
        INIT_SOURCE: plain.url(),
        SSL_CERT: certs.serverCert,
        SSL_KEY: certs.serverKey,
        SSL_CA: certs.caCert,
      });
      const base = {
        host: "localhost",
        port: proxy.port,
        user: "postgres",
        dbname: "postgres",
        sslrootcert: certs.caCert,
        sslmode: "verify-full",
      };
      const good = await tryPsql(
        conninfo({ ...base, sslcert: clientCert.cert, sslkey: clientCert.key }),
        "SELECT 'client cert ok'",
      );
      assert.equal(good.code, 0, good.stderr);
      assert.equal(good.stdout.trim(), "client cert ok");

      const none = await tryPsql(conninfo(base), "SELECT 1");
      assert.equal(none.code, 2);
      assert.match(
        none.stderr,
        /FATAL: {2}client certificate rejected: the client presented no certificate/,
      );

      const other = await tryPsql(
        conninfo({ ...base, sslcert: foreign.clientCert, sslkey: foreign.clientKey }),
        "SELECT 1",
      );
      assert.equal(other.code, 2);
      assert.match(other.stderr, /FATAL: {2}client certificate rejected: not signed by SSL_CA/);
      const otherPg = await pgValue({
        host: "localhost",
        port: proxy.port,
        user: "postgres",
        database: "postgres",
        ssl: {
          ca: Deno.readTextFileSync(certs.caCert),
          cert: Deno.readTextFileSync(foreign.clientCert),
          key: Deno.readTextFileSync(foreign.clientKey),
        },
      }, "SELECT 1");
      assert.equal(otherPg.code, "28000");

      const cleartext = await tryPsql(
        conninfo({ host: "127.0.0.1", port: proxy.port, user: "postgres", sslmode: "disable" }),
        "SELECT 1",
      );
      assert.equal(cleartext.code, 2);
      assert.match(cleartext.stderr, /requires TLS with a client certificate/);
      assert.equal(proxy.sessions.size, 0);
      // After the refusals the proxy still serves a good client.
      const again = await pgValue({
        host: "localhost",
        port: proxy.port,
        user: "postgres",
        database: "postgres",
        ssl: {
          ca: Deno.readTextFileSync(certs.caCert),
          cert: Deno.readTextFileSync(clientCert.cert),
          key: Deno.readTextFileSync(clientCert.key),
        },
      }, "SELECT 2");
      assert.deepEqual(again, { value: 2 });
    });

    for (const sslmode of ["require", "verify-ca", "verify-full"]) {
      await t.step(`backend TLS: sslmode=${sslmode} reaches the database encrypted`, async () => {
        await using proxy = await startTestProxy({
          INIT_SOURCE: secure.url({ params: { sslmode, sslrootcert: certs.caCert } }),
        });
        const out = await tryPsql(
          conninfo({ host: "127.0.0.1", port: proxy.port, user: "postgres", sslmode: "disable" }),
          SSL_IN_USE,
        );
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stdout.trim(), "t");
      });
    }

    await t.step("backend TLS: verify-full with the wrong CA fails with 08006", async () => {
      await using proxy = await startTestProxy({
        INIT_SOURCE: secure.url({
          params: { sslmode: "verify-full", sslrootcert: foreign.caCert },
        }),
      });
      const out = await pgValue(
        { host: "127.0.0.1", port: proxy.port, user: "postgres", database: "postgres" },
        "SELECT 1",
      );
      assert.equal(out.code, "08006");
      assert.match(out.message ?? "", /TLS handshake with 127\.0\.0\.1:\d+ failed/);
      const viaPsql = await tryPsql(
        conninfo({ host: "127.0.0.1", port: proxy.port, user: "postgres" }),
        "SELECT 1",
      );
      assert.equal(viaPsql.code, 2);
      assert.match(viaPsql.stderr, /TLS handshake/);
    });

    await t.step("backend TLS: require against a database without TLS says so", async () => {
      await using proxy = await startTestProxy({
        INIT_SOURCE: plain.url({ params: { sslmode: "require" } }),
      });
      const out = await pgValue(
        { host: "127.0.0.1", port: proxy.port, user: "postgres", database: "postgres" },
        "SELECT 1",
      );
      assert.equal(out.code, "08006");
      assert.match(out.message ?? "", /does not support TLS, but sslmode=require/);
    });

    await t.step("backend TLS: prefer against a database without TLS goes plain", async () => {
      await using proxy = await startTestProxy({
        INIT_SOURCE: plain.url({ params: { sslmode: "prefer" } }),
      });
      const out = await pgValue(
        { host: "127.0.0.1", port: proxy.port, user: "postgres", database: "postgres" },
        SSL_IN_USE,
      );
      assert.deepEqual(out, { value: false });
      await using preferTls = await startTestProxy({
        INIT_SOURCE: secure.url({ params: { sslmode: "prefer" } }),
      });
      const encrypted = await pgValue(
        { host: "127.0.0.1", port: preferTls.port, user: "postgres", database: "postgres" },
        SSL_IN_USE,
      );
      assert.deepEqual(encrypted, { value: true });
    });

    await t.step("backend TLS: sslcert/sslkey log in to a cert-auth role", async () => {
      const certUser = AUTH_USERS.cert.user;
      const mine = await certs.client(certUser);
      await using proxy = await startTestProxy({
        INIT_SOURCE: secure.url({
          params: {
            sslmode: "verify-full",
            sslrootcert: certs.caCert,
            sslcert: mine.cert,
            sslkey: mine.key,
          },
        }),
      });
      const out = await tryPsql(
        conninfo({ host: "127.0.0.1", port: proxy.port, user: certUser, dbname: certUser }),
        `SELECT who FROM ${AUTH_PROBE_TABLE}`,
      );
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout.trim(), certUser);
      const log = await Deno.readTextFile(secure.logFile);
      assert.match(log, new RegExp(`identity="CN=${certUser}" method=cert`));
      // Without a client certificate the same role is refused by the database.
      await using noCert = await startTestProxy({
        INIT_SOURCE: secure.url({ params: { sslmode: "verify-full", sslrootcert: certs.caCert } }),
      });
      const refused = await pgValue(
        { host: "127.0.0.1", port: noCert.port, user: certUser, database: certUser },
        "SELECT 1",
      );
      assert.equal(refused.code, "28000");
    });

    await t.step("SCRAM with TLS on both legs", async () => {
      const scram = AUTH_USERS.scram;
      await using proxy = await startTestProxy({
        INIT_SOURCE: secure.url({ params: { sslmode: "verify-full", sslrootcert: certs.caCert } }),
        SSL_CERT: certs.serverCert,
        SSL_KEY: certs.serverKey,
      });
      const base = {
        host: "localhost",
        port: proxy.port,
        user: scram.user,
        dbname: scram.user,
        sslmode: "verify-full",
        sslrootcert: certs.caCert,
      };
      const env = { PGPASSWORD: scram.password };
      const byDefault = await tryPsql(conninfo(base), "SELECT 1", env);
      const disabled = await tryPsql(
        conninfo({ ...base, channel_binding: "disable" }),
        `SELECT who FROM ${AUTH_PROBE_TABLE}`,
        env,
      );
      const required = await tryPsql(
        conninfo({ ...base, channel_binding: "require" }),
        "SELECT 1",
        env,
      );
      const plainClient = await tryPsql(
        conninfo({ ...base, host: "127.0.0.1", sslmode: "disable" }),
        `SELECT who FROM ${AUTH_PROBE_TABLE}`,
        env,
      );
      const viaPg = await pgValue({
        host: "localhost",
        port: proxy.port,
        user: scram.user,
        database: scram.user,
        password: scram.password,
        ssl: { ca: Deno.readTextFileSync(certs.caCert) },
      }, `SELECT who FROM ${AUTH_PROBE_TABLE}`);
      // libpq on TLS with channel_binding=prefer sends GS2 flag "y", since LMS hides the
      // database's SCRAM-SHA-256-PLUS; the proxy refuses that clearly instead of
      // letting the database fail the login with a misleading downgrade error.
      assert.equal(byDefault.code, 2);
      assert.match(byDefault.stderr, /FATAL: {2}SCRAM channel binding cannot pass through LMS/);
      assert.match(byDefault.stderr, /HINT: {2}set channel_binding=disable/);
      assert.equal(disabled.code, 0, disabled.stderr);
      assert.equal(disabled.stdout.trim(), scram.user);
      assert.equal(required.code, 2);
      assert.match(required.stderr, /server did not offer an authentication method that supports/);
      assert.equal(plainClient.code, 0, plainClient.stderr);
      assert.equal(plainClient.stdout.trim(), scram.user);
      assert.deepEqual(viaPg, { value: scram.user });
      assert.equal(proxy.sessions.size, 0);
      // With a plain leg to the database, the database offers no PLUS and accepts "y".
      await using plainBackend = await startTestProxy({
        INIT_SOURCE: secure.url({ params: { sslmode: "disable" } }),
        SSL_CERT: certs.serverCert,
        SSL_KEY: certs.serverKey,
      });
      const mixed = await tryPsql(
        conninfo({ ...base, port: plainBackend.port }),
        `SELECT who FROM ${AUTH_PROBE_TABLE}`,
        env,
      );
      assert.equal(mixed.code, 0, mixed.stderr);
      assert.equal(mixed.stdout.trim(), scram.user);
    });
  } finally {
    await certs.cleanup();
  }
});
