/**
 * Sessions keep their identity: a client that authenticated as an
 * application user runs as that user on both databases — its own traffic,
 * its shadow, after a consistent and an immediate cutover — with the same
 * grants and row-level security, for SCRAM-SHA-256, MD5, cleartext and trust.
 * A user whose verifier differs on the other database is never moved under
 * another name: it blocks the drain with the reason, or is told to reconnect.
 */

import assert from "node:assert/strict";
import pg from "pg";
import type { ClusterState } from "../../shared/control.ts";
import type { ProxyServer } from "../../proxy/server.ts";
import { eventually } from "../helpers/fleet.ts";
import {
  APP_USERS,
  type AppUser,
  DRIFT_TARGET_PASSWORD,
  type IdentityClusters,
  startIdentityClusters,
} from "../helpers/pg_identity.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { makeCerts } from "../helpers/certs.ts";
import { type LogLevel, setLogLevel } from "../../shared/log.ts";
import { b64, keysFromPassword, parseScramVerifier } from "../../proxy/pg/scram_passthrough.ts";

/** Metrics, drain statuses and errors the proxies showed, checked for secrets at the end. */
const exposed: string[] = [];

const MOVABLE = [APP_USERS.scram, APP_USERS.md5, APP_USERS.cleartext, APP_USERS.trust];

/** Every client connected and not yet ended, so a failed step leaves none behind. */
const open = new Set<pg.Client>();

/** Ends every client still open (a proxy's close waits for its client connections). */
async function endAll(): Promise<void> {
  const clients = [...open];
  open.clear();
  await Promise.all(
    clients.map((c) =>
      Promise.race([c.end().catch(() => {}), new Promise((r) => setTimeout(r, 2_000))])
    ),
  );
}

/** A node-postgres client that keeps the first error the server pushed. */
type Client = pg.Client & { pushed: Promise<Error> };

/** A node-postgres client of `user` through `port`, over TLS when `ca` is given. */
async function connect(
  port: number,
  user: AppUser,
  password = user.password,
  ca?: string,
): Promise<Client> {
  const client = new pg.Client({
    host: "127.0.0.1",
    port,
    user: user.user,
    password,
    database: "postgres",
    application_name: `lms-identity-${user.user}`,
    ssl: ca === undefined ? false : { ca, servername: "localhost" },
  });
  const pushed = new Promise<Error>((resolve, reject) => {
    client.on("error", resolve);
    setTimeout(() => reject(new Error(`the server never ended ${user.user}'s session`)), 15_000)
      .unref?.();
  });
  pushed.catch(() => {});
  open.add(client);
  client.on("end", () => open.delete(client));
  await client.connect();
  return Object.assign(client, { pushed });
}

interface Seen {
  currentUser: string;
  sessionUser: string;
  port: number;
  visibleOwners: string;
}

/** Who the database says the session is, and what row-level security lets it see. */
async function whoAmI(client: pg.Client): Promise<Seen> {
  const res = await client.query(
    `SELECT current_user::text AS cu, session_user::text AS su, inet_server_port() AS port,
            (SELECT string_agg(owner, ',' ORDER BY id) FROM docs) AS owners`,
  );
  const row = res.rows[0];
  return {
    currentUser: row.cu,
    sessionUser: row.su,
    port: Number(row.port),
    visibleOwners: row.owners,
  };
}

/** Asserts `client` runs as `user` on the database at `port`, with the user's grants. */
async function assertRunsAs(client: pg.Client, user: AppUser, port: number): Promise<void> {
  assert.deepEqual(await whoAmI(client), {
    currentUser: user.user,
    sessionUser: user.user,
    port,
    visibleOwners: user.user,
  });
  await assert.rejects(client.query("SELECT * FROM secrets"), { code: "42501" });
}

async function refusedCount(proxy: ProxyServer, database: string, use: string): Promise<number> {
  const metric = await proxy.metrics.identityRefused.get();
  return metric.values.find((v) => v.labels.database === database && v.labels.use === use)
    ?.value ?? 0;
}

const state = (sourceOfTruth: "source" | "target", epoch: number): ClusterState => ({
  sourceOfTruth,
  epoch,
  phase: "idle",
});

/** Opens the gate a failed step left closed, so its clients can leave. */
function reopen(proxy: ProxyServer): void {
  if (proxy.cutover.paused()) proxy.cutover.resume(proxy.router.state!);
}

/** A consistent cutover as the orchestrator drives it, once the proxy has drained. */
async function consistentCutover(proxy: ProxyServer, to: ClusterState): Promise<void> {
  await eventually("the proxy drained", () => proxy.cutover.drainStatus().drained);
  proxy.cutover.resume(to);
}

async function acrossCutovers(dbs: IdentityClusters, t: Deno.TestContext): Promise<void> {
  await using proxy = await startTestProxy({
    INIT_SOURCE: dbs.source.url(),
    INIT_TARGET: dbs.target.url(),
  });
  const clients: Client[] = await Promise.all(MOVABLE.map((u) => connect(proxy.port, u)));
  try {
    await t.step("before: each session runs as its user on the source", async () => {
      for (const [i, user] of MOVABLE.entries()) {
        await assertRunsAs(clients[i], user, dbs.source.port);
      }
    });

    await t.step(
      "consistent cutover: a differing verifier blocks the drain, says why",
      async () => {
        const drift = await connect(proxy.port, APP_USERS.drift);
        await assertRunsAs(drift, APP_USERS.drift, dbs.source.port);
        proxy.cutover.pause("identity-1");
        let reason = "";
        await eventually("only app_drift blocks the drain", () => {
          const status = proxy.cutover.drainStatus();
          reason = status.blocking[0]?.reason ?? "";
          return status.blocking.length === 1 && /verifier/.test(reason);
        });
        exposed.push(JSON.stringify(proxy.cutover.drainStatus()));
        const blocking = proxy.cutover.drainStatus().blocking[0];
        assert.equal(blocking.user, APP_USERS.drift.user);
        assert.match(
          reason,
          /the SCRAM verifier of app_drift on the target database differs from the one the session authenticated against/,
        );
        assert.equal(await refusedCount(proxy, "target", "move"), 1);
        // It stays blocked: the operator's way out is to end it.
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(proxy.cutover.drainStatus().drained, false);
        assert.deepEqual(await proxy.cutover.cancelBlocking(true), [blocking.sessionId]);
        await drift.pushed;
        await drift.end().catch(() => {});
        await consistentCutover(proxy, state("target", 1));
        for (const [i, user] of MOVABLE.entries()) {
          await assertRunsAs(clients[i], user, dbs.target.port);
        }
      },
    );

    await t.step("immediate cutover: moved as its user, or told to reconnect", async () => {
      const drift = await connect(proxy.port, APP_USERS.drift, DRIFT_TARGET_PASSWORD);
      await assertRunsAs(drift, APP_USERS.drift, dbs.target.port);
      proxy.cutover.applyState(state("source", 2));
      const fatal = await drift.pushed as Error & { code?: string; hint?: string };
      exposed.push(`${fatal.message} ${fatal.hint}`);
      assert.equal(fatal.code, "08006");
      assert.match(
        fatal.message,
        /^LMS cannot move this session to the source database as its own user: .*app_drift/,
      );
      assert.match(fatal.hint ?? "", /reconnect/);
      await drift.end().catch(() => {});
      for (const [i, user] of MOVABLE.entries()) {
        await eventually(
          `${user.user} on the source`,
          async () => (await whoAmI(clients[i])).port === dbs.source.port,
        );
        await assertRunsAs(clients[i], user, dbs.source.port);
      }
      const again = await connect(proxy.port, APP_USERS.drift);
      await assertRunsAs(again, APP_USERS.drift, dbs.source.port);
      await again.end();
    });
    exposed.push(await proxy.metrics.registry.metrics());
  } finally {
    reopen(proxy);
    await endAll();
  }
}

/** The `audit` rows written with `what` on `cluster`, as `who` values. */
async function auditedBy(cluster: IdentityClusters["target"], what: string): Promise<string> {
  return await cluster.psql(`SELECT who FROM audit WHERE what = '${what}'`);
}

async function shadows(dbs: IdentityClusters, t: Deno.TestContext): Promise<void> {
  await using proxy = await startTestProxy({
    INIT_SOURCE: dbs.source.url(),
    INIT_TARGET: dbs.target.url(),
    LMS_SHADOW_MODE: "sync",
  });

  for (const user of MOVABLE) {
    await t.step(`${user.method}: the shadow runs as ${user.user}`, async () => {
      const client = await connect(proxy.port, user);
      try {
        const what = `shadowed ${user.user}`;
        await client.query("INSERT INTO audit (what) VALUES ($1)", [what]);
        assert.equal(await auditedBy(dbs.source, what), user.user);
        assert.equal(await auditedBy(dbs.target, what), user.user);
        const onTarget = await dbs.target.psql(
          `SELECT usename FROM pg_stat_activity WHERE application_name = 'lms-identity-${user.user}'`,
        );
        assert.equal(onTarget, user.user);
        assert.equal(
          (await client.query("SELECT string_agg(owner, ',') AS o FROM docs")).rows[0].o,
          user.user,
        );
      } finally {
        await endAll();
      }
    });
  }

  await t.step("a differing verifier: no shadow, counted, the session goes on", async () => {
    const client = await connect(proxy.port, APP_USERS.drift);
    try {
      await client.query("INSERT INTO audit (what) VALUES ('shadowed app_drift')");
      assert.equal(await auditedBy(dbs.source, "shadowed app_drift"), APP_USERS.drift.user);
      assert.equal(await auditedBy(dbs.target, "shadowed app_drift"), "");
      assert.equal(await refusedCount(proxy, "target", "shadow"), 1);
      assert.equal(
        await dbs.target.psql(
          "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lms-identity-app_drift'",
        ),
        "0",
      );
    } finally {
      await endAll();
    }
  });
}

async function authQueryAccess(dbs: IdentityClusters, t: Deno.TestContext): Promise<void> {
  const env = {
    INIT_SOURCE: dbs.source.url({ user: "lms_svc" }),
    INIT_TARGET: dbs.target.url(),
  };

  await t.step("without access: not moved, and the drain says why", async () => {
    await using proxy = await startTestProxy(env);
    const client = await connect(proxy.port, APP_USERS.scram);
    try {
      proxy.cutover.pause("identity-svc");
      await eventually("the session blocks", () => {
        const blocking = proxy.cutover.drainStatus().blocking;
        return blocking.length === 1 && /pg_shadow/.test(blocking[0].reason ?? "");
      });
      const reason = proxy.cutover.drainStatus().blocking[0].reason ?? "";
      assert.match(reason, /the auth query failed on the source database: permission denied/);
      assert.doesNotMatch(reason, new RegExp(APP_USERS.scram.password));
      proxy.cutover.resume(state("source", 0));
      await assertRunsAs(client, APP_USERS.scram, dbs.source.port);
    } finally {
      reopen(proxy);
      await endAll();
    }
  });

  await t.step("with a SECURITY DEFINER function: moved as its user", async () => {
    await using proxy = await startTestProxy({
      ...env,
      LMS_AUTH_QUERY: "SELECT usename, passwd FROM lms_auth_lookup($1)",
    });
    const client = await connect(proxy.port, APP_USERS.scram);
    try {
      proxy.cutover.pause("identity-fn");
      await consistentCutover(proxy, state("target", 1));
      await assertRunsAs(client, APP_USERS.scram, dbs.target.port);
    } finally {
      reopen(proxy);
      await endAll();
    }
  });
}

async function cleartext(dbs: IdentityClusters, t: Deno.TestContext): Promise<void> {
  const certs = await makeCerts();
  try {
    const ca = await Deno.readTextFile(certs.caCert);
    await using proxy = await startTestProxy({
      INIT_SOURCE: dbs.source.url(),
      INIT_TARGET: dbs.target.url(),
      SSL_CERT: certs.serverCert,
      SSL_KEY: certs.serverKey,
      LMS_CLIENT_AUTH: "cleartext",
    });
    const user = APP_USERS.samePassword;

    await t.step("a client without TLS is refused before it sends a password", async () => {
      await assert.rejects(connect(proxy.port, user), {
        code: "28000",
        message: "this proxy asks for the password in clear text, and only over TLS",
      });
    });

    await t.step("a wrong password gets the database's own error", async () => {
      await assert.rejects(connect(proxy.port, user, "wrong", ca), {
        code: "28P01",
        message: `password authentication failed for user "${user.user}"`,
      });
    });

    await t.step("the password works on both databases, verifiers or not", async () => {
      const users = [user, APP_USERS.scram, APP_USERS.md5, APP_USERS.cleartext];
      const clients: Client[] = await Promise.all(
        users.map((u) => connect(proxy.port, u, u.password, ca)),
      );
      try {
        for (const [i, u] of users.entries()) await assertRunsAs(clients[i], u, dbs.source.port);
        proxy.cutover.pause("identity-cleartext");
        await consistentCutover(proxy, state("target", 1));
        for (const [i, u] of users.entries()) await assertRunsAs(clients[i], u, dbs.target.port);
      } finally {
        reopen(proxy);
        await endAll();
      }
    });
  } finally {
    await certs.cleanup();
  }
}

async function trustOnSourceOnly(dbs: IdentityClusters, t: Deno.TestContext): Promise<void> {
  await using proxy = await startTestProxy({
    INIT_SOURCE: dbs.source.url(),
    INIT_TARGET: dbs.target.url(),
  });
  const user = APP_USERS.trustOnSource;
  const client = await connect(proxy.port, user, "");
  try {
    await assertRunsAs(client, user, dbs.source.port);
    await t.step("consistent cutover: blocks the drain, says why", async () => {
      proxy.cutover.pause("identity-trust");
      await eventually("app_trusted blocks", () => {
        const blocking = proxy.cutover.drainStatus().blocking;
        return blocking.length === 1 && blocking[0].reason !== undefined;
      });
      assert.equal(
        proxy.cutover.drainStatus().blocking[0].reason,
        "the target database asks app_trusted for SCRAM-SHA-256, and the session holds no password",
      );
      proxy.cutover.resume(state("source", 0));
      await assertRunsAs(client, user, dbs.source.port);
    });
    await t.step("immediate cutover: told to reconnect, never moved as anyone else", async () => {
      proxy.cutover.applyState(state("target", 1));
      const fatal = await client.pushed as Error & { code?: string };
      assert.equal(fatal.code, "08006");
      assert.match(fatal.message, /as its own user: the target database asks app_trusted for/);
      await client.end().catch(() => {});
      const again = await connect(proxy.port, user, user.password);
      await assertRunsAs(again, user, dbs.target.port);
      await again.end();
    });
  } finally {
    reopen(proxy);
    await endAll();
  }
}

/** Every secret the clusters hold: passwords, stored hashes and verifiers, and their keys. */
async function secrets(dbs: IdentityClusters): Promise<string[]> {
  const out = [...Object.values(APP_USERS).map((u) => u.password), DRIFT_TARGET_PASSWORD]
    .filter((p) => p !== "");
  for (const cluster of [dbs.source, dbs.target]) {
    const stored = await cluster.psql(
      "SELECT rolpassword FROM pg_authid WHERE rolname LIKE 'app\\_%' AND rolpassword IS NOT NULL",
    );
    for (const line of stored.split("\n")) {
      out.push(line);
      const v = parseScramVerifier(line);
      if (!v) continue;
      out.push(b64(v.storedKey), b64(v.serverKey));
      for (const u of Object.values(APP_USERS)) {
        if (u.password) out.push(b64(keysFromPassword(u.password, v.salt, v.iterations).clientKey));
      }
    }
  }
  return out;
}

Deno.test("sessions keep their identity", async (t) => {
  await using dbs: IdentityClusters = await startIdentityClusters();
  // Everything the proxies log, at debug level, is checked for secrets at the end.
  const logged: string[] = [];
  const stderr = Deno.stderr;
  const writeSync = stderr.writeSync.bind(stderr);
  const dec = new TextDecoder();
  stderr.writeSync = (p: Uint8Array) => {
    logged.push(dec.decode(p));
    return writeSync(p);
  };
  setLogLevel("debug");
  try {
    await t.step("across consistent and immediate cutovers", (t) => acrossCutovers(dbs, t));
    await t.step("shadows run as the client's user, or are not opened", (t) => shadows(dbs, t));
    await t.step(
      "the auth query needs access to pg_shadow or a SECURITY DEFINER function",
      (t) => authQueryAccess(dbs, t),
    );
    await t.step(
      "LMS_CLIENT_AUTH=cleartext: the proxy asks for the password over TLS",
      (t) => cleartext(dbs, t),
    );
    await t.step(
      "trust on the source only: no credential for the target",
      (t) => trustOnSourceOnly(dbs, t),
    );
  } finally {
    stderr.writeSync = writeSync;
    setLogLevel((Deno.env.get("LMS_LOG_LEVEL") as LogLevel | undefined) ?? "info");
  }
  await t.step("no password, hash or key reached logs, metrics or errors", async () => {
    const text = logged.join("") + exposed.join("");
    assert.ok(text.includes("cannot run as its own user"), "the refusals were logged");
    for (const secret of await secrets(dbs)) {
      assert.ok(!text.includes(secret), `a secret of ${secret.length} characters was shown`);
    }
  });
});
