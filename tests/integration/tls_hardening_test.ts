/**
 * TLS on every listener, against the real processes: the proxy's SQL
 * listener on both wires and the orchestrator's API/WebSocket listener take
 * TLS 1.2 and 1.3 with AEAD suites, and refuse TLS 1.1 and CBC suites
 * (checked with `openssl s_client`). Certificates mounted the way Kubernetes
 * mounts a Secret (files behind a `..data` symlink that is swapped in one
 * rename) are reloaded without a restart: new connections get the new
 * certificate, open ones carry on, and a broken rotation keeps the old
 * certificate and logs why.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import pg from "pg";
import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { makeCerts } from "../helpers/certs.ts";
import { eventually, spawnOrchestrator } from "../helpers/fleet.ts";
import { spawnProxy } from "../helpers/proxy.ts";
import { secretDir } from "../helpers/secret_dir.ts";

type StartTls = "postgres" | "mysql" | undefined;

/** What `openssl s_client` negotiated, and the certificate the server presented. */
async function handshake(
  port: number,
  startTls: StartTls,
  extra: string[],
): Promise<{ protocol?: string; cipher?: string; cert?: string; output: string }> {
  const args = ["s_client", "-connect", `127.0.0.1:${port}`, ...extra];
  if (startTls) args.push("-starttls", startTls);
  const out = await new Deno.Command("openssl", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const negotiated = /New, (TLSv1\.[0-3]), Cipher is (\S+)/.exec(output);
  const cert = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(output)?.[0];
  return negotiated && negotiated[2] !== "(NONE)"
    ? { protocol: negotiated[1], cipher: negotiated[2], cert, output }
    : { output };
}

const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, "");

/** Asserts the TLS policy on one listener. */
async function assertPolicy(port: number, startTls: StartTls): Promise<void> {
  const v11 = await handshake(port, startTls, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
  assert.equal(v11.protocol, undefined, `TLS 1.1 was accepted:\n${v11.output}`);
  const v12 = await handshake(port, startTls, ["-tls1_2"]);
  assert.equal(v12.protocol, "TLSv1.2", v12.output);
  assert.match(v12.cipher!, /GCM|CHACHA20/);
  const v13 = await handshake(port, startTls, ["-tls1_3"]);
  assert.equal(v13.protocol, "TLSv1.3", v13.output);
  for (const weak of ["AES128-SHA", "ECDHE-RSA-AES128-SHA", "DES-CBC3-SHA"]) {
    const r = await handshake(port, startTls, [
      "-tls1_2",
      "-cipher",
      `${weak}@SECLEVEL=0`,
    ]);
    assert.equal(r.protocol, undefined, `${weak} was accepted:\n${r.output}`);
  }
}

/** A Secret-style directory holding `cert` and `key` (file paths) as tls.crt and tls.key. */
async function certSecret(root: string, name: string, cert: string, key: string): Promise<{
  dir: string;
  rotate(cert: string, key: string): Promise<void>;
}> {
  const secret = await secretDir(root, name, {
    "tls.crt": await Deno.readTextFile(cert),
    "tls.key": await Deno.readTextFile(key),
  });
  return {
    dir: secret.dir,
    rotate: (c, k) => secret.rotate({ "tls.crt": c, "tls.key": k }),
  };
}

/** Rotates the secret and checks what new and open connections see. */
async function assertReload(opts: {
  port: number;
  startTls: StartTls;
  secret: Awaited<ReturnType<typeof certSecret>>;
  next: { cert: string; key: string };
  log: () => string;
  openConnection: () => Promise<{ stillWorks: () => Promise<void>; close: () => Promise<void> }>;
}): Promise<void> {
  const open = await opts.openConnection();
  try {
    await rotateAndCheck(opts, open.stillWorks);
  } finally {
    await open.close();
  }
}

async function rotateAndCheck(
  opts: Parameters<typeof assertReload>[0],
  stillWorks: () => Promise<void>,
): Promise<void> {
  const { port, startTls, secret, next } = opts;
  const nextCert = await Deno.readTextFile(next.cert);
  const nextKey = await Deno.readTextFile(next.key);
  await secret.rotate(nextCert, nextKey);
  await eventually("the rotated certificate is presented", async () => {
    const r = await handshake(port, startTls, []);
    return r.cert !== undefined && pemBody(r.cert) === pemBody(nextCert);
  }, 15_000);
  await stillWorks();
  assert.match(opts.log(), /reloaded the TLS certificate/);

  await secret.rotate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", nextKey);
  await eventually(
    "the broken rotation is logged",
    () => Promise.resolve(/unusable; still serving the previous certificate/.test(opts.log())),
    15_000,
  );
  const after = await handshake(port, startTls, []);
  assert.ok(after.cert && pemBody(after.cert) === pemBody(nextCert), after.output);
  assert.match(opts.log(), /SSL_CERT: the certificate cannot be parsed|TLS_CERT: the certificate/);
  await stillWorks();
}

Deno.test("TLS 1.2+ only, strong ciphers, and certificates reloaded on rotation", async (t) => {
  const first = await makeCerts();
  const second = await makeCerts();
  const root = await Deno.makeTempDir({ prefix: "lms-tls-hardening-" });
  try {
    await using db = await startPgCluster({ name: "tls-hardening" });

    await t.step("PostgreSQL wire: policy, then a rotation", async () => {
      const secret = await certSecret(root, "secret", first.serverCert, first.serverKey);
      await using proxy = await spawnProxy(
        { INIT_SOURCE: db.url(), SSL_CERT: secret.dir, SSL_KEY: secret.dir, LMS_LOG_LEVEL: "info" },
        [],
        { captureLog: true },
      );
      await assertPolicy(proxy.port, "postgres");
      await assertReload({
        port: proxy.port,
        startTls: "postgres",
        secret,
        next: { cert: second.serverCert, key: second.serverKey },
        log: proxy.log,
        openConnection: async () => {
          const client = new pg.Client({
            host: "127.0.0.1",
            port: proxy.port,
            user: "postgres",
            database: "postgres",
            ssl: { rejectUnauthorized: false },
          });
          client.on("error", () => {});
          await client.connect();
          return {
            stillWorks: async () => {
              const res = await client.query("SELECT 41 + 1 AS answer");
              assert.equal(res.rows[0].answer, 42);
            },
            close: () => client.end().catch(() => {}),
          };
        },
      });
    });

    await t.step("MySQL wire: policy", async () => {
      const mariadb = await startMariaDbServer({ initSql: ["CREATE DATABASE app"] });
      try {
        await using proxy = await spawnProxy({
          LMS_SOURCE_DIALECT: "mysql",
          INIT_SOURCE: mariadb.url({ database: "app" }),
          SSL_CERT: first.serverCert,
          SSL_KEY: first.serverKey,
        });
        await assertPolicy(proxy.port, "mysql");
      } finally {
        await mariadb.stop();
      }
    });

    await t.step("orchestrator API and WebSocket: policy, then a rotation", async () => {
      await Deno.mkdir(join(root, "orch"));
      const secret = await certSecret(
        join(root, "orch"),
        "secret",
        first.serverCert,
        first.serverKey,
      );
      const orchestrator = await spawnOrchestrator(
        { INIT_TARGET: db.url(), TLS_CERT: secret.dir, TLS_KEY: secret.dir, LMS_LOG_LEVEL: "info" },
        undefined,
        { captureLog: true },
      );
      try {
        await assertPolicy(orchestrator.port, undefined);
        await assertReload({
          port: orchestrator.port,
          startTls: undefined,
          secret,
          next: { cert: second.serverCert, key: second.serverKey },
          log: orchestrator.log,
          openConnection: async () => {
            const { default: https } = await import("node:https");
            const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
            const get = () =>
              new Promise<number>((resolve, reject) => {
                https.get(
                  `https://127.0.0.1:${orchestrator.port}/api/v1/status`,
                  { agent },
                  (res) => {
                    res.resume();
                    res.on("end", () => resolve(res.statusCode ?? 0));
                  },
                ).on("error", reject);
              });
            assert.ok(await get() > 0);
            return {
              stillWorks: async () => assert.ok(await get() > 0, "the API still answers"),
              close: () => Promise.resolve(agent.destroy()),
            };
          },
        });
      } finally {
        await orchestrator.stop();
      }
    });
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
    await first.cleanup();
    await second.cleanup();
  }
});
