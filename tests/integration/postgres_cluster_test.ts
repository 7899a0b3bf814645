import assert from "node:assert/strict";
import { LmsError } from "../../shared/errors.ts";
import { pgBinDir } from "../../shared/local/pg_binaries.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort, waitForPort } from "../../shared/local/ports.ts";
import { makeCerts } from "../helpers/certs.ts";
import { AUTH_PROBE_TABLE, AUTH_USERS, startAuthCluster } from "../helpers/pg_auth.ts";

interface PsqlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the machine's psql against a conninfo string, as a client would. */
async function clientPsql(conninfo: string, sql: string, password?: string): Promise<PsqlResult> {
  const env: Record<string, string> = { PATH: "/usr/bin:/bin", PGCONNECT_TIMEOUT: "10" };
  if (password !== undefined) env.PGPASSWORD = password;
  const out = await new Deno.Command(`${pgBinDir()}/psql`, {
    args: [conninfo, "-X", "-w", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
    clearEnv: true,
    env,
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return {
    code: out.code,
    stdout: text.decode(out.stdout).trim(),
    stderr: text.decode(out.stderr).trim(),
  };
}

/** Awaits `fn`, which must reject with an LmsError, and returns that error. */
async function lmsRejection(fn: () => Promise<unknown>): Promise<LmsError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof LmsError, `expected an LmsError, got ${err}`);
    return err;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

function includes(text: string, part: string): void {
  assert.ok(
    text.includes(part),
    `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await Deno.readTextFile(`${dataDir}/postmaster.pid`)).split("\n")[0]);
}

async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/^Z|^X/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

Deno.test("ports: freePort gives a bindable port, waitForPort times out clearly", async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    await waitForPort("127.0.0.1", port, 2000);
  } finally {
    listener.close();
  }
  const err = await lmsRejection(() => waitForPort("127.0.0.1", port, 150));
  assert.equal(err.code, "TIMEOUT");
  includes(err.message, `127.0.0.1:${port}`);
});

Deno.test("startPgCluster: lifecycle of a throwaway cluster", async (t) => {
  const cluster = await startPgCluster({ name: "lifecycle", settings: { work_mem: "8MB" } });
  try {
    await t.step("runs with the throwaway defaults and extra settings", async () => {
      assert.equal(await cluster.psql("SHOW wal_level"), "logical");
      assert.equal(await cluster.psql("SHOW max_connections"), "1200");
      assert.equal(await cluster.psql("SHOW fsync"), "off");
      assert.equal(await cluster.psql("SHOW work_mem"), "8MB");
      assert.equal(await cluster.psql("SHOW port"), String(cluster.port));
      assert.equal(cluster.host, "127.0.0.1");
    });

    await t.step("url() reaches the server over TCP", async () => {
      const res = await clientPsql(
        cluster.url({ params: { sslmode: "disable", application_name: "url test" } }),
        "SELECT current_user || '/' || current_database() || '/' || " +
          "current_setting('application_name')",
      );
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, "postgres/postgres/url test");
      assert.equal(
        cluster.url({ user: "a b", password: "p@ss:/", database: "d" }),
        `postgres://a%20b:p%40ss%3A%2F@127.0.0.1:${cluster.port}/d`,
      );
    });

    await t.step("psql round trip, several statements, errors without secrets", async () => {
      await cluster.psql(
        "CREATE DATABASE other; CREATE TABLE kept (id int PRIMARY KEY, v text);" +
          "INSERT INTO kept VALUES (1, 'one'), (2, 'two');",
      );
      assert.equal(await cluster.psql("SELECT v FROM kept ORDER BY id"), "one\ntwo");
      assert.equal(await cluster.psql("SELECT current_database()", { database: "other" }), "other");
      const err = await lmsRejection(() =>
        cluster.psql("CREATE ROLE r LOGIN PASSWORD 'Very-Secret-9' NOSUCHOPTION")
      );
      assert.equal(err.code, "LOCAL_DATABASE_FAILED");
      includes(err.message, "NOSUCHOPTION".toLowerCase());
      assert.ok(!err.message.includes("Very-Secret-9"), err.message);
    });

    await t.step("stop refuses connections, start brings the data back", async () => {
      await cluster.stop();
      assert.ok(!(await exists(`${cluster.dataDir}/postmaster.pid`)));
      await lmsRejection(() => waitForPort("127.0.0.1", cluster.port, 100));
      await cluster.stop();
      await cluster.start();
      assert.equal(await cluster.psql("SELECT count(*) FROM kept"), "2");
    });

    await t.step("kill takes the server down at once; start recovers", async () => {
      const pid = await postmasterPid(cluster.dataDir);
      assert.ok(await alive(pid));
      await cluster.kill();
      assert.ok(!(await alive(pid)), "postmaster still alive after kill()");
      await lmsRejection(() => waitForPort("127.0.0.1", cluster.port, 100));
      await cluster.start();
      assert.equal(await cluster.psql("SELECT v FROM kept WHERE id = 2"), "two");
      assert.ok((await postmasterPid(cluster.dataDir)) !== pid);
      const log = await Deno.readTextFile(cluster.logFile);
      assert.match(log, /was not properly shut down|automatic recovery/);
    });
  } finally {
    await cluster.destroy();
  }

  await t.step("destroy removes the directory and is idempotent", async () => {
    assert.ok(!(await exists(cluster.dataDir)));
    assert.ok(!(await exists(cluster.logFile)));
    await cluster.destroy();
    await lmsRejection(() => waitForPort("127.0.0.1", cluster.port, 100));
  });
});

Deno.test("startPgCluster: a start failure reports the server log and leaves nothing", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: await freePort() });
  const port = (blocker.addr as Deno.NetAddr).port;
  const before = new Set<string>();
  for await (const e of Deno.readDir(Deno.env.get("TMPDIR") ?? "/tmp")) before.add(e.name);
  try {
    const err = await lmsRejection(() => startPgCluster({ name: "collide", port }));
    assert.equal(err.code, "LOCAL_DATABASE_FAILED");
    includes(err.message, "Address already in use");
    includes(err.message, String(port));
  } finally {
    blocker.close();
  }
  for await (const e of Deno.readDir(Deno.env.get("TMPDIR") ?? "/tmp")) {
    assert.ok(before.has(e.name) || !e.name.startsWith("lms-pg-collide-"), `left over: ${e.name}`);
  }
});

Deno.test("startAuthCluster: every method is enforced, TLS and client certificates work", async (t) => {
  const certs = await makeCerts();
  try {
    const cluster = await startAuthCluster({
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caCert },
    });
    try {
      const tcp = (user: string, extra = "sslmode=disable") =>
        `host=127.0.0.1 port=${cluster.port} user=${user} dbname=${user} ${extra}`;
      const probe = `SELECT who FROM ${AUTH_PROBE_TABLE}`;

      await t.step("passwords are stored as md5 and SCRAM as required", async () => {
        const stored = await cluster.psql(
          "SELECT rolname || ' ' || left(rolpassword, 14) FROM pg_authid " +
            "WHERE rolname IN ('lms_md5', 'lms_scram') ORDER BY rolname",
        );
        assert.deepEqual(stored.split("\n").map((l) => l.split(" ")[1].slice(0, 3)), [
          "md5",
          "SCR",
        ]);
        assert.match(stored, /lms_scram SCRAM-SHA-256/);
      });

      await t.step("trust user connects with no password", async () => {
        const res = await clientPsql(tcp(AUTH_USERS.trust.user), probe);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stdout, AUTH_USERS.trust.user);
      });

      for (const method of ["cleartext", "md5", "scram"] as const) {
        const { user, password } = AUTH_USERS[method];
        await t.step(`${method}: right password accepted, wrong and none refused`, async () => {
          const ok = await clientPsql(tcp(user), probe, password);
          assert.equal(ok.code, 0, ok.stderr);
          assert.equal(ok.stdout, user);
          const wrong = await clientPsql(tcp(user), probe, `${password}x`);
          assert.equal(wrong.code, 2);
          includes(wrong.stderr, `password authentication failed for user "${user}"`);
          const none = await clientPsql(tcp(user), probe);
          assert.equal(none.code, 2);
          includes(none.stderr, "no password supplied");
        });
      }

      await t.step("the server log names the method that authenticated each user", async () => {
        const log = await Deno.readTextFile(cluster.logFile);
        for (
          const [user, method] of [["lms_clear", "password"], ["lms_md5", "md5"], [
            "lms_scram",
            "scram-sha-256",
          ]]
        ) {
          includes(log, `connection authenticated: identity="${user}" method=${method}`);
        }
      });

      await t.step("verify-full TLS connection is really encrypted", async () => {
        for (const host of ["host=localhost hostaddr=127.0.0.1", "host=127.0.0.1"]) {
          const res = await clientPsql(
            `${host} port=${cluster.port} user=postgres dbname=postgres ` +
              `sslmode=verify-full sslrootcert=${certs.caCert}`,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
          );
          assert.equal(res.code, 0, res.stderr);
          assert.equal(res.stdout, "t");
        }
        const plain = await clientPsql(
          tcp("postgres"),
          "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        );
        assert.equal(plain.stdout, "f");
      });

      await t.step(
        "certificate user: only a certificate from the cluster's CA gets in",
        async () => {
          const user = AUTH_USERS.cert.user;
          const [good, other, wrongCn] = await Promise.all([
            certs.client(user),
            certs.otherCa(user),
            certs.client("someone_else"),
          ]);
          const tls = (cert: string, key: string) =>
            tcp(
              user,
              `sslmode=verify-full sslrootcert=${certs.caCert} sslcert=${cert} sslkey=${key}`,
            )
              .replace("host=127.0.0.1", "host=localhost hostaddr=127.0.0.1");
          const ok = await clientPsql(tls(good.cert, good.key), probe);
          assert.equal(ok.code, 0, ok.stderr);
          assert.equal(ok.stdout, user);

          const foreign = await clientPsql(tls(other.clientCert, other.clientKey), probe);
          assert.equal(foreign.code, 2);
          assert.match(foreign.stderr, /certificate|SSL/i);

          const mismatch = await clientPsql(tls(wrongCn.cert, wrongCn.key), probe);
          assert.equal(mismatch.code, 2);
          includes(mismatch.stderr, "certificate authentication failed");

          const noCert = await clientPsql(
            tcp(user, `sslmode=require sslcert=/nonexistent sslkey=/nonexistent`),
            probe,
          );
          assert.equal(noCert.code, 2);
          const plain = await clientPsql(tcp(user), probe);
          assert.equal(plain.code, 2);
          includes(plain.stderr, "pg_hba.conf rejects connection");
        },
      );
    } finally {
      await cluster.destroy();
    }
  } finally {
    await certs.cleanup();
  }
});
