/**
 * Logging in when MySQL is gone: `initialize` records the MariaDB source's
 * accounts in the state store (a PostgreSQL cluster standing in for
 * CockroachDB), a proxy records an account created later, the target becomes
 * the source of truth, MariaDB is stopped, and a proxy then verifies logins
 * itself, through mysql2 and the `mariadb` client: the right password is
 * accepted (and then refused with 1105 naming the CockroachDB role the
 * session cannot run as: the target here has none of those roles), a wrong one gets
 * MySQL's 1045, for `mysql_native_password`, `ed25519`, and
 * `caching_sha2_password` (MySQL 8's stored form as a fixture, since MariaDB
 * has no such plugin) by full authentication over TLS, by the RSA exchange,
 * and by the fast path afterwards.
 */

import assert from "node:assert/strict";

/**
 * What a verified login gets here: the proxy accepted the password and tried to open the target
 * as the mapped role, which this target does not have (1105 naming it), never 1045.
 */
const VERIFIED = 1105;
import { generateKeyPairSync } from "node:crypto";
import mysql from "mysql2/promise";
import mysqlCallbacks from "mysql2";
import { parseConnectionString } from "../../shared/connstring.ts";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { MySqlAccountStore } from "../../shared/mysql_account_store.ts";
import { MySqlAccount } from "../../shared/mysql_accounts.ts";
import { StateStore } from "../../shared/state_store.ts";
import { makeCerts } from "../helpers/certs.ts";
import { mariadbCli } from "../helpers/mariadb_cli.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import type { ProxyServer } from "../../proxy/server.ts";
import {
  MYSQL8_STORED_FOOBAR,
  MYSQL8_STORED_PASSWORD,
} from "../unit/fixtures/mysql8_caching_sha2_stored.ts";
import { waitFor } from "../helpers/wait.ts";

/** mysql2's own caching_sha2_password plugin, which its typings do not export. */
const cachingSha2Plugin = (mysqlCallbacks as unknown as {
  authPlugins: {
    caching_sha2_password(options: { serverPublicKey: string }): mysql.AuthPlugin;
  };
}).authPlugins.caching_sha2_password;

type MySqlError = { errno: number; sqlState: string; message: string };

const failure = (p: Promise<unknown>) =>
  p.then((c) => {
    void (c as mysql.Connection).end();
    return undefined;
  }, (e: MySqlError) => e);

/** How many logins `proxy` counted per `plugin/method/outcome`. */
async function logins(proxy: ProxyServer): Promise<Record<string, number>> {
  const { values } = await proxy.metrics.mysqlLocalLogins.get();
  return Object.fromEntries(
    values.filter((v) => v.value > 0).map((
      v,
    ) => [`${v.labels.plugin}/${v.labels.method}/${v.labels.outcome}`, v.value]),
  );
}

Deno.test("MySQL logins verified by the proxy once the source is gone", async (t) => {
  const certs = await makeCerts();
  const source = await startMariaDbServer({
    name: "local-auth",
    authUsers: true,
    initSql: ["CREATE DATABASE app"],
  });
  const target = await startPgCluster({ name: "local-auth-target" });
  const targetSpec = parseConnectionString(target.url(), "INIT_TARGET");
  const sourceUrl = source.url({ database: "app" });
  const accountStore = new MySqlAccountStore(targetSpec);
  const { native, ed25519, cleartext } = MARIADB_AUTH_USERS;
  const env = {
    LMS_SOURCE_DIALECT: "mysql",
    INIT_SOURCE: sourceUrl,
    INIT_TARGET: target.url(),
    SSL_CERT: certs.serverCert,
    SSL_KEY: certs.serverKey,
  };
  try {
    await t.step("initialize records the source's accounts, never a password", async () => {
      const store = new StateStore({
        target: targetSpec,
        source: parseConnectionString(sourceUrl, "INIT_SOURCE"),
      });
      const result = await store.initialize("test").finally(() => store.close());
      assert.equal(result.mysqlAccounts?.error, undefined);
      assert.ok(result.mysqlAccounts!.recorded >= 2, JSON.stringify(result.mysqlAccounts));
      const recorded = await accountStore.load();
      const nativeRow = recorded.find((a) => a.user === native.user)!;
      assert.equal(nativeRow.host, "%");
      assert.equal(nativeRow.plugin, "mysql_native_password");
      assert.match(new TextDecoder().decode(nativeRow.auth), /^\*[0-9A-F]{40}$/);
      assert.equal(recorded.find((a) => a.user === ed25519.user)?.plugin, "ed25519");
      assert.equal(await accountStore.record(recorded, "test"), "unchanged", "not rewritten");
      const text = JSON.stringify(recorded) + Deno.inspect(recorded);
      assert.ok(!text.includes(new TextDecoder().decode(nativeRow.auth)), "hash kept out of logs");
      assert.ok(!text.includes(native.password));
    });

    await t.step("a proxy records accounts created later, while the source is up", async () => {
      await using proxy = await startTestProxy({ ...env, LMS_MYSQL_ACCOUNTS_REFRESH: "500ms" });
      const relayed = await mysql.createConnection({
        host: "127.0.0.1",
        port: proxy.port,
        user: native.user,
        password: native.password,
      });
      await relayed.end();
      await source.sql(
        "CREATE USER 'late'@'127.0.0.%' IDENTIFIED BY 'late-secret';" +
          "CREATE USER 'late'@'10.%' IDENTIFIED BY 'other-host-secret';",
      );
      await waitFor("the proxy recorded 'late'", async () => {
        const rows = await accountStore.load();
        return rows.filter((a) => a.user === "late").length === 2;
      }, { timeoutMs: 30_000, intervalMs: 200 });
    });

    // The cutover to the target, standing in for `cutover ... commit`.
    const state = new StateStore({ target: targetSpec });
    const flipped = await state.compareAndSet(
      { epoch: 0, phase: "idle" },
      { sourceOfTruth: "target", epoch: 1, phase: "idle" },
      "test",
      "immediate",
    ).finally(() => state.close());
    assert.ok(flipped);
    // MySQL 8's stored form of 'foobar' (MariaDB has no caching_sha2_password).
    const recorded = await accountStore.load();
    await accountStore.record(
      [...recorded, new MySqlAccount("sha2", "%", "caching_sha2_password", MYSQL8_STORED_FOOBAR)],
      "test",
    );
    await source.stop();

    await using proxy = await startTestProxy({
      ...env,
      LMS_MYSQL_TARGET_USERS: "lms_native=app_crdb",
    });
    const ca = await Deno.readTextFile(certs.caCert);
    const login = (user: string, password: string, extra: mysql.ConnectionOptions = {}) =>
      mysql.createConnection({ host: "127.0.0.1", port: proxy.port, user, password, ...extra });

    await t.step(
      "mysql_native_password through mysql2: accepted, wrong password 1045",
      async () => {
        const ok = await failure(login(native.user, native.password));
        assert.equal(ok?.errno, VERIFIED, String(ok?.message));
        assert.match(
          ok!.message,
          /cannot run as app_crdb on the target database/,
          "LMS_MYSQL_TARGET_USERS maps the user",
        );
        const bad = await failure(login(native.user, "wrong"));
        assert.equal(bad?.errno, 1045);
        assert.equal(bad?.sqlState, "28000");
        assert.equal(
          bad?.message,
          "Access denied for user 'lms_native'@'127.0.0.1' (using password: YES)",
        );
        const nobody = await failure(login("nobody", "x"));
        assert.equal(nobody?.errno, 1045);
        const tls = await failure(login(native.user, native.password, { ssl: { ca } }));
        assert.equal(tls?.errno, VERIFIED, "over TLS too");
      },
    );

    await t.step("host patterns: the most specific matching account decides", async () => {
      // 'late'@'127.0.0.%' matches 127.0.0.1; 'late'@'10.%' does not.
      const ok = await failure(login("late", "late-secret"));
      assert.equal(ok?.errno, VERIFIED, String(ok?.message));
      const other = await failure(login("late", "other-host-secret"));
      assert.equal(other?.errno, 1045, "the 10.% account's password is not this host's");
    });

    await t.step("the mariadb client: native and ed25519", async () => {
      const run = (user: string, password: string) =>
        mariadbCli({ port: proxy.port, user, password }, "SELECT 1");
      const nativeOk = await run(native.user, native.password);
      assert.match(nativeOk.stderr, /ERROR 1105 .*cannot run as \S+ on the target database/);
      const nativeBad = await run(native.user, "wrong");
      assert.match(
        nativeBad.stderr,
        /ERROR 1045 \(28000\).*Access denied for user 'lms_native'@'127\.0\.0\.1' \(using password: YES\)/,
      );
      const edOk = await run(ed25519.user, ed25519.password);
      assert.match(edOk.stderr, /ERROR 1105 .*cannot run as lms_ed25519 on the target database/);
      assert.match(
        edOk.stderr,
        /cannot run as lms_ed25519 on the target database/,
        "unmapped: the same name",
      );
      const edBad = await run(ed25519.user, "wrong");
      assert.match(edBad.stderr, /ERROR 1045 \(28000\)/);
      const counted = await logins(proxy);
      assert.equal(counted["ed25519/signature/accepted"], 1);
      assert.equal(counted["ed25519/signature/denied"], 1);
    });

    await t.step(
      "an account whose plugin needs the source is refused with the reason",
      async () => {
        if (!recorded.some((a) => a.user === cleartext.user)) return;
        const r = await mariadbCli(
          {
            port: proxy.port,
            user: cleartext.user,
            password: cleartext.password,
            caFile: certs.caCert,
          },
          "SELECT 1",
        );
        assert.match(r.stderr, /ERROR 1235 .*authenticates with pam, which only the MySQL source/);
      },
    );

    await t.step("caching_sha2_password: RSA exchange, fast path, TLS, 1045", async () => {
      const rsa = await failure(login("sha2", MYSQL8_STORED_PASSWORD));
      assert.equal(rsa?.errno, VERIFIED, `full authentication with the RSA key: ${rsa?.message}`);
      const fast = await failure(login("sha2", MYSQL8_STORED_PASSWORD));
      assert.equal(
        fast?.errno,
        VERIFIED,
        `the fast path after a full authentication: ${fast?.message}`,
      );
      const fastBad = await failure(login("sha2", "wrong"));
      assert.equal(fastBad?.errno, 1045);
      const counted = await logins(proxy);
      assert.equal(counted["caching_sha2_password/full-rsa/accepted"], 1);
      assert.equal(counted["caching_sha2_password/fast/accepted"], 1);
      assert.equal(counted["caching_sha2_password/fast/denied"], 1);
      await using fresh = await startTestProxy(env);
      const overTls = await failure(
        mysql.createConnection({
          host: "127.0.0.1",
          port: fresh.port,
          user: "sha2",
          password: MYSQL8_STORED_PASSWORD,
          ssl: { ca },
        }),
      );
      assert.equal(overTls?.errno, VERIFIED, `full authentication over TLS: ${overTls?.message}`);
      const badRsa = await failure(
        mysql.createConnection({
          host: "127.0.0.1",
          port: fresh.port,
          user: "sha2",
          password: "x",
        }),
      );
      assert.equal(badRsa?.errno, 1045);
      assert.deepEqual(await logins(fresh), {
        "caching_sha2_password/full-tls/accepted": 1,
        "caching_sha2_password/fast/denied": 1,
      });
    });

    await t.step("LMS_MYSQL_RSA_KEY: a client that pins the proxy's public key", async () => {
      const dir = await Deno.makeTempDir({ prefix: "lms-rsa-" });
      try {
        const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const keyFile = `${dir}/mysql_rsa.pem`;
        await Deno.writeTextFile(
          keyFile,
          privateKey.export({ type: "pkcs8", format: "pem" }) as string,
        );
        await using pinned = await startTestProxy({ ...env, LMS_MYSQL_RSA_KEY: keyFile });
        const pin = (password: string) =>
          failure(mysql.createConnection({
            host: "127.0.0.1",
            port: pinned.port,
            user: "sha2",
            password,
            authPlugins: {
              caching_sha2_password: cachingSha2Plugin({
                serverPublicKey: publicKey.export({ type: "spki", format: "pem" }) as string,
              }),
            },
          }));
        const ok = await pin(MYSQL8_STORED_PASSWORD);
        assert.equal(ok?.errno, VERIFIED, String(ok?.message));
        assert.deepEqual(await logins(pinned), { "caching_sha2_password/full-rsa/accepted": 1 });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  } finally {
    await accountStore.close();
    await source.stop();
    await target.destroy();
    await certs.cleanup();
  }
});
