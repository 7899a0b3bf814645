/**
 * Authentication through the MySQL proxy, relayed to MariaDB: every plugin
 * MariaDB offers for passwords (`mysql_native_password`, `ed25519`,
 * cleartext via PAM) with the right password and with a wrong one (the
 * database's own 1045), TLS on the listener (`SSL_CERT`/`SSL_KEY`, and with
 * `SSL_CA` client certificates required), TLS towards MariaDB from the
 * connection string's `sslmode`, and the refusal to relay a cleartext
 * password over an unencrypted client connection.
 */

import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { makeCerts } from "../helpers/certs.ts";
import { mariadbCli } from "../helpers/mariadb_cli.ts";
import { startMySqlFixture } from "../helpers/mysql_fixture.ts";
import { startTestProxy } from "../helpers/proxy.ts";

Deno.test("MySQL authentication relayed through the proxy", async (t) => {
  const certs = await makeCerts();
  await using fx = await startMySqlFixture({
    server: { tls: { certFile: certs.serverCert, keyFile: certs.serverKey } },
    proxyEnv: { SSL_CERT: certs.serverCert, SSL_KEY: certs.serverKey },
  });
  const { native, ed25519, cleartext } = MARIADB_AUTH_USERS;
  const tlsCli = { caFile: certs.caCert };
  try {
    await t.step(
      "mysql_native_password: mysql2 and the mariadb client; wrong password 1045",
      async () => {
        const c = await fx.connect("proxy");
        const [rows] = await c.query("SELECT CURRENT_USER() AS u");
        assert.deepEqual(rows, [{ u: `${native.user}@%` }]);
        await c.end();
        const err = await fx.connect("proxy", { password: "wrong" }).then(
          () => undefined,
          (e: { errno: number; sqlState: string; message: string }) => e,
        );
        assert.equal(err?.errno, 1045);
        assert.equal(err?.sqlState, "28000");
        assert.match(err!.message, /Access denied for user 'lms_native'/);
        const cli = await mariadbCli(
          { port: fx.proxy.port, user: native.user, password: native.password },
          "SELECT CURRENT_USER()",
        );
        assert.equal(cli.stdout, `${native.user}@%`, cli.stderr);
      },
    );

    await t.step(
      "ed25519 (AuthSwitchRequest to client_ed25519) through the mariadb client",
      async () => {
        const opts = { port: fx.proxy.port, user: ed25519.user };
        const ok = await mariadbCli(
          { ...opts, password: ed25519.password },
          "SELECT CURRENT_USER()",
        );
        assert.equal(ok.stdout, `${ed25519.user}@%`, ok.stderr);
        const bad = await mariadbCli({ ...opts, password: "wrong" }, "SELECT 1");
        assert.match(bad.stderr, /ERROR 1045 \(28000\)/);
      },
    );

    await t.step("cleartext (PAM) over TLS to the proxy; refused without TLS", async () => {
      const opts = {
        port: fx.proxy.port,
        user: cleartext.user,
        args: ["--default-auth=mysql_clear_password"],
      };
      const ok = await mariadbCli(
        { ...opts, ...tlsCli, password: cleartext.password },
        "SELECT CURRENT_USER(); SHOW SESSION STATUS LIKE 'Ssl_version'",
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, new RegExp(`^${cleartext.user}@%\\nSsl_version\\tTLSv1\\.[23]$`));
      const bad = await mariadbCli({ ...opts, ...tlsCli, password: "wrong" }, "SELECT 1");
      assert.match(bad.stderr, /ERROR 1045 \(28000\)/);
      const plain = await mariadbCli(
        { ...opts, password: cleartext.password, args: [...opts.args, "--skip-ssl"] },
        "SELECT 1",
      );
      assert.notEqual(plain.code, 0);
      assert.match(plain.stderr, /ERROR 3159.*cleartext password.*TLS/);
    });

    await t.step("COM_CHANGE_USER to the cleartext (PAM) user: over TLS only", async () => {
      const ca = await Deno.readTextFile(certs.caCert);
      const to = { user: cleartext.user, password: cleartext.password };
      // mysql2 would send the password in clear when asked: the proxy must not ask it to.
      const plain = await fx.connect("proxy", { enableCleartextPlugin: true });
      const refused = await plain.changeUser(to).then(
        () => undefined,
        (e: { errno: number; message: string }) => e,
      );
      assert.equal(refused?.errno, 3159, "the database's cleartext switch is not passed on");
      assert.match(refused!.message, /cleartext password \(mysql_clear_password\).*TLS/);
      plain.destroy();
      const direct = await fx.connect("proxy", { enableCleartextPlugin: true, ssl: { ca } });
      await direct.changeUser(to);
      const [rows] = await direct.query("SELECT CURRENT_USER() AS u");
      assert.deepEqual(rows, [{ u: `${cleartext.user}@%` }]);
      const wrong = await direct.changeUser({ ...to, password: "wrong" }).then(
        () => undefined,
        (e: { errno: number }) => e,
      );
      assert.equal(wrong?.errno, 1045);
      direct.destroy();
      const other = await fx.connect("proxy");
      const [after] = await other.query("SELECT 1 AS one");
      assert.deepEqual(after, [{ one: 1 }], "other sessions keep working");
      await other.end();
    });

    await t.step("mysql2 over TLS to the proxy, verifying the proxy's certificate", async () => {
      const c = await fx.connect("proxy", { ssl: { ca: await Deno.readTextFile(certs.caCert) } });
      const [rows] = await c.query("SELECT 1 AS one");
      assert.deepEqual(rows, [{ one: 1 }]);
      await c.end();
    });

    await t.step("sslmode=require towards MariaDB encrypts the database leg", async () => {
      await using proxy = await startTestProxy({
        LMS_SOURCE_DIALECT: "mysql",
        INIT_SOURCE: `${fx.db.url({ database: "app" })}?sslmode=require`,
      });
      const c = await mysql.createConnection({ ...fx.options("proxy"), port: proxy.port });
      const [rows] = await c.query("SHOW SESSION STATUS LIKE 'Ssl_version'");
      assert.match((rows as { Value: string }[])[0].Value, /^TLSv1\.[23]$/);
      await c.end();
    });

    await t.step("with SSL_CA the proxy requires a client certificate signed by it", async () => {
      await using proxy = await startTestProxy({
        LMS_SOURCE_DIALECT: "mysql",
        INIT_SOURCE: fx.db.url({ database: "app" }),
        SSL_CERT: certs.serverCert,
        SSL_KEY: certs.serverKey,
        SSL_CA: certs.caCert,
      });
      const ca = await Deno.readTextFile(certs.caCert);
      const plain = await mysql.createConnection({ ...fx.options("proxy"), port: proxy.port })
        .then(() => undefined, (e: { errno: number; message: string }) => e);
      assert.equal(plain?.errno, 3159);
      assert.match(plain!.message, /requires TLS with a client certificate/);
      const noCert = await mysql.createConnection({
        ...fx.options("proxy"),
        port: proxy.port,
        ssl: { ca },
      }).then(() => undefined, (e: Error) => e);
      assert.ok(noCert, "a TLS client without a certificate is refused");
      const client = await certs.client(native.user);
      const c = await mysql.createConnection({
        ...fx.options("proxy"),
        port: proxy.port,
        ssl: {
          ca,
          cert: await Deno.readTextFile(client.cert),
          key: await Deno.readTextFile(client.key),
        },
      });
      const [rows] = await c.query("SELECT CURRENT_USER() AS u");
      assert.deepEqual(rows, [{ u: `${native.user}@%` }]);
      await c.end();
    });
  } finally {
    await certs.cleanup();
  }
});
