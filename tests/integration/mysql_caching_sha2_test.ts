/**
 * MySQL 8's `caching_sha2_password` relayed through the proxy, against the
 * MySQL 8.0 fixture server (MySQL 8 cannot be installed here; see
 * `tests/unit/fixtures/mysql8_caching_sha2.ts`), with mysql2 as the client:
 * the fast path, full authentication over TLS on both legs, full
 * authentication with the RSA public-key exchange without TLS, and a wrong
 * password getting the server's own 1045.
 */

import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { makeCerts } from "../helpers/certs.ts";
import { startFakeMySql8 } from "../helpers/fake_mysql8.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { MYSQL8_PASSWORD, MYSQL8_USER } from "../unit/fixtures/mysql8_caching_sha2.ts";

Deno.test("caching_sha2_password (MySQL 8 fixture) through the proxy", async (t) => {
  const certs = await makeCerts();
  const pem = {
    cert: await Deno.readTextFile(certs.serverCert),
    key: await Deno.readTextFile(certs.serverKey),
  };
  try {
    await t.step("fast path, and full authentication with the RSA key exchange", async () => {
      await using server = await startFakeMySql8();
      await using proxy = await startTestProxy({
        LMS_SOURCE_DIALECT: "mysql",
        INIT_SOURCE: `mysql://root@127.0.0.1:${server.port}/app?sslmode=disable`,
      });
      const login = (password: string) =>
        mysql.createConnection({
          host: "127.0.0.1",
          port: proxy.port,
          user: MYSQL8_USER,
          password,
        });
      const fast = await login(MYSQL8_PASSWORD);
      await fast.query("DO 1");
      await fast.end();
      server.cached = false;
      const full = await login(MYSQL8_PASSWORD);
      await full.query("DO 1");
      await full.end();
      const denied = await login("wrong").then(() => undefined, (e: { errno: number }) => e);
      assert.equal(denied?.errno, 1045);
      assert.deepEqual(server.logins, ["fast", "full-rsa", "denied"]);
    });

    await t.step("full authentication over TLS on both legs", async () => {
      await using server = await startFakeMySql8(pem);
      await using proxy = await startTestProxy({
        LMS_SOURCE_DIALECT: "mysql",
        INIT_SOURCE: `mysql://root@127.0.0.1:${server.port}/app?sslmode=require`,
        SSL_CERT: certs.serverCert,
        SSL_KEY: certs.serverKey,
      });
      server.cached = false;
      const c = await mysql.createConnection({
        host: "127.0.0.1",
        port: proxy.port,
        user: MYSQL8_USER,
        password: MYSQL8_PASSWORD,
        ssl: { ca: await Deno.readTextFile(certs.caCert) },
      });
      await c.query("DO 1");
      await c.end();
      assert.deepEqual(server.logins, ["full-tls"]);
    });
  } finally {
    await certs.cleanup();
  }
});
