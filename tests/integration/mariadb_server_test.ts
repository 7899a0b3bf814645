import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { makeCerts } from "../helpers/certs.ts";
import { mariadbCli } from "../helpers/mariadb_cli.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("throwaway MariaDB: starts on a free port with every auth plugin, TLS, and leaves nothing behind", async (t) => {
  const certs = await makeCerts();
  const server = await startMariaDbServer({
    name: "selftest",
    authUsers: true,
    tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caCert },
    initSql: [
      "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (7)",
    ],
  });
  const dir = server.dataDir.replace(/\/data$/, "");
  try {
    assert.notEqual(server.port, 3306);
    assert.equal(await server.sql("SELECT id FROM t", { database: "app" }), "7");
    assert.equal(server.cleartextAvailable, true, "tests run as root, so PAM must be set up");

    await t.step("mysql_native_password through mysql2", async () => {
      const { user, password } = MARIADB_AUTH_USERS.native;
      const conn = await mysql.createConnection({
        host: server.host,
        port: server.port,
        user,
        password,
      });
      try {
        const [rows] = await conn.query("SELECT CURRENT_USER() AS u, id FROM app.t");
        assert.deepEqual(rows, [{ u: `${user}@%`, id: 7 }]);
      } finally {
        await conn.end();
      }
    });

    await t.step("ed25519 through the mariadb client", async () => {
      const { user, password } = MARIADB_AUTH_USERS.ed25519;
      const ok = await mariadbCli({ port: server.port, user, password }, "SELECT CURRENT_USER()");
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, `${user}@%`);
      const bad = await mariadbCli({ port: server.port, user, password: "wrong" }, "SELECT 1");
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /ERROR 1045/);
    });

    await t.step("cleartext (PAM) over TLS with the CA checked", async () => {
      const { user, password } = MARIADB_AUTH_USERS.cleartext;
      const opts = {
        port: server.port,
        user,
        caFile: certs.caCert,
        args: ["--default-auth=mysql_clear_password"],
      };
      const ok = await mariadbCli(
        { ...opts, password },
        "SELECT CURRENT_USER(); SHOW SESSION STATUS LIKE 'Ssl_version'",
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, new RegExp(`^${user}@%\nSsl_version\tTLSv1\\.[23]$`));
      const bad = await mariadbCli({ ...opts, password: "wrong" }, "SELECT 1");
      assert.match(bad.stderr, /ERROR 1045/);
    });

    await t.step("server TLS: mysql2 with the CA and a client certificate", async () => {
      const client = await certs.client("root");
      const conn = await mysql.createConnection({
        host: server.host,
        port: server.port,
        user: "root",
        ssl: {
          ca: await Deno.readTextFile(certs.caCert),
          cert: await Deno.readTextFile(client.cert),
          key: await Deno.readTextFile(client.key),
        },
      });
      try {
        const [rows] = await conn.query("SHOW SESSION STATUS LIKE 'Ssl_version'");
        assert.match((rows as { Value: string }[])[0].Value, /^TLSv1\.[23]$/);
      } finally {
        await conn.end();
      }
    });
  } finally {
    await server.stop();
    await certs.cleanup();
  }
  assert.equal(await exists(dir), false, "the temporary directory is removed");
  assert.equal(await exists(server.socket), false);
  const pam = [...Deno.readDirSync("/etc/pam.d")].filter((e) =>
    e.name === `lms-mdb-${dir.split("-").pop()}`
  );
  assert.deepEqual(pam, [], "the PAM service file is removed");
  await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port: server.port }));
});
