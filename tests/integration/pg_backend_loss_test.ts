/**
 * Losing one side of a session: the database backend is terminated or the
 * whole cluster dies (clients get an error promptly, never a hang, and the
 * proxy stays up), the database is down when a client arrives, and a client
 * vanishes mid-query (its backend is released).
 */

import assert from "node:assert/strict";
import pg from "pg";
import { pgBinDir } from "../../shared/local/pg_binaries.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { concat, cstring, int32, message, parse, query } from "../../proxy/pg/messages.ts";
import { encodeStartupMessage } from "../../proxy/pg/startup.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { errorFields, type RawMessage, RawPgClient } from "../helpers/raw_pg.ts";
import { waitFor } from "../helpers/wait.ts";

const PROMPT_MS = 5_000;

function fatalCodes(msgs: RawMessage[]): string[] {
  return msgs.filter((m) => m.type === "E").map((m) => {
    const f = errorFields(m);
    assert.equal(f.get("S"), "FATAL", f.get("M") ?? "");
    return f.get("C") ?? "";
  });
}

Deno.test("losing the database or the client mid-session", async (t) => {
  await using cluster = await startPgCluster({ name: "loss" });
  await using proxy = await startTestProxy({
    INIT_SOURCE: cluster.url({ params: { sslmode: "disable" } }),
  });
  const clientConfig = { host: "127.0.0.1", port: proxy.port, user: "postgres" };
  const sessionsOf = (tag: string) =>
    cluster.psql(
      `SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%${tag}%' ` +
        `AND pid <> pg_backend_pid()`,
    );
  const running = (tag: string) =>
    waitFor(`a running query tagged ${tag}`, async () => (await sessionsOf(tag)) === "1");
  const clientBackends = () =>
    cluster.psql(
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' " +
        "AND pid <> pg_backend_pid()",
    );

  await t.step("the backend is terminated while the client waits on pg_sleep", async (t) => {
    await t.step("node-postgres", async () => {
      const client = new pg.Client(clientConfig);
      await client.connect();
      const lost = new Promise<void>((resolve) => client.on("error", () => resolve()));
      try {
        const q = client.query("SELECT pg_sleep(30) -- loss-terminate-pg").then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        );
        await running("loss-terminate-pg");
        const started = Date.now();
        await cluster.psql(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity " +
            "WHERE query LIKE '%loss-terminate-pg%' AND pid <> pg_backend_pid()",
        );
        const err = await q;
        assert.ok(err, "the query succeeded");
        assert.ok(["57P01", "08006"].includes(err.code ?? ""), `${err.code} ${err.message}`);
        assert.ok(Date.now() - started < PROMPT_MS);
        await lost;
      } finally {
        await client.end().catch(() => {});
      }
    });

    await t.step("raw client sees FATAL 57P01, then the connection closes", async () => {
      await using raw = await RawPgClient.connect(proxy.port);
      await raw.startup();
      await raw.send(query("SELECT pg_sleep(30) -- loss-terminate-raw"));
      await running("loss-terminate-raw");
      await cluster.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity " +
          "WHERE query LIKE '%loss-terminate-raw%' AND pid <> pg_backend_pid()",
      );
      const codes = fatalCodes(await raw.expectClose(PROMPT_MS));
      assert.deepEqual(codes, ["57P01"], "the database's FATAL and nothing else");
      await waitFor("the session to end", () => proxy.sessions.size === 0);
    });
  });

  await t.step("the cluster dies mid-query; the proxy stays up and recovers", async (t) => {
    const busy = new pg.Client(clientConfig);
    await busy.connect();
    busy.on("error", () => {});
    await using idle = await RawPgClient.connect(proxy.port);
    await idle.startup();
    const q = busy.query("SELECT pg_sleep(30) -- loss-kill").then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    try {
      await running("loss-kill");
      assert.equal(proxy.sessions.size, 2);
      const started = Date.now();
      await cluster.kill();
      const err = await q;
      assert.ok(Date.now() - started < PROMPT_MS, `error after ${Date.now() - started} ms`);
      assert.ok(err, "the query succeeded");
      assert.equal(err.code, "08006", err.message);
      assert.match(err.message, /lost the connection to the source database/);
      // An idle backend may notice the postmaster's death before its own SIGKILL
      // and say so (57P01): then that is all the client gets. Only a database that
      // vanished without a word gets the proxy's own 08006.
      const idleCodes = fatalCodes(await idle.expectClose(PROMPT_MS));
      assert.ok(["57P01", "08006"].includes(idleCodes.join()), `got ${idleCodes}`);
      assert.ok(Date.now() - started < PROMPT_MS, `closed after ${Date.now() - started} ms`);
      await waitFor("the sessions to end", () => proxy.sessions.size === 0);
    } finally {
      await busy.end().catch(() => {});
    }

    await t.step("the source is down when a client connects", async () => {
      const started = Date.now();
      await using raw = await RawPgClient.connect(proxy.port);
      await raw.sendIgnoringReset(encodeStartupMessage(new Map([["user", "postgres"]])));
      const msgs = await raw.expectClose(PROMPT_MS);
      assert.deepEqual(fatalCodes(msgs), ["08006"]);
      const message = errorFields(msgs[0]).get("M") ?? "";
      assert.match(message, /source database/);
      assert.ok(message.includes(`127.0.0.1:${cluster.port}`), message);
      assert.ok(Date.now() - started < PROMPT_MS);

      const psql = await new Deno.Command(`${pgBinDir()}/psql`, {
        args: [`postgres://postgres@127.0.0.1:${proxy.port}/postgres`, "-X", "-c", "SELECT 1"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { PGCONNECT_TIMEOUT: "10" },
      }).output();
      const stderr = new TextDecoder().decode(psql.stderr);
      assert.equal(psql.code, 2, stderr);
      assert.ok(stderr.includes(`127.0.0.1:${cluster.port}`), stderr);
      assert.equal(proxy.sessions.size, 0);
    });

    await cluster.start();
    const fresh = new pg.Client(clientConfig);
    await fresh.connect();
    try {
      assert.equal((await fresh.query("SELECT 'back' AS v")).rows[0].v, "back");
    } finally {
      await fresh.end();
    }
  });

  await t.step("the database hangs up during startup", async () => {
    // A stand-in database that reads the StartupMessage and closes.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const served = (async () => {
      for await (const conn of listener) {
        await conn.read(new Uint8Array(1024)).catch(() => null);
        conn.close();
      }
    })();
    try {
      await using hangUp = await startTestProxy({
        INIT_SOURCE: `postgres://postgres@127.0.0.1:${listener.addr.port}/postgres?sslmode=disable`,
      });
      await using raw = await RawPgClient.connect(hangUp.port);
      await raw.send(encodeStartupMessage(new Map([["user", "postgres"]])));
      const msgs = await raw.expectClose(PROMPT_MS);
      assert.deepEqual(fatalCodes(msgs), ["08006"]);
      assert.match(errorFields(msgs[0]).get("M") ?? "", /source database/);
      await waitFor("the session to end", () => hangUp.sessions.size === 0);
    } finally {
      listener.close();
      await served;
    }
  });

  await t.step("a client that disconnects mid-query releases its backend", async (t) => {
    await cluster.start(); // a no-op unless the previous step failed with the cluster down
    await waitFor("no client backends", async () => (await clientBackends()) === "0");

    await t.step("raw socket closed during pg_sleep", async () => {
      const raw = await RawPgClient.connect(proxy.port);
      await raw.startup();
      await raw.send(query("SELECT pg_sleep(30) -- loss-client-raw"));
      await running("loss-client-raw");
      await raw.close();
      await waitFor(
        "the sleeping query to go",
        async () => (await sessionsOf("loss-client-raw")) === "0",
        PROMPT_MS,
      );
      await waitFor("the backend to exit", async () => (await clientBackends()) === "0", PROMPT_MS);
      assert.equal(proxy.sessions.size, 0);
    });

    await t.step("extended protocol: Execute and Flush, no Sync yet", async () => {
      const raw = await RawPgClient.connect(proxy.port);
      await raw.startup();
      await raw.send(
        concat(
          parse("", "SELECT pg_sleep(30) -- loss-client-flush", []),
          message("B", cstring(""), cstring(""), new Uint8Array(6)),
          message("E", cstring(""), int32(0)),
          message("H"),
        ),
      );
      await running("loss-client-flush");
      await raw.close();
      await waitFor(
        "the sleeping query to go",
        async () => (await sessionsOf("loss-client-flush")) === "0",
        PROMPT_MS,
      );
      await waitFor("the backend to exit", async () => (await clientBackends()) === "0", PROMPT_MS);
    });

    await t.step("psql killed with SIGKILL inside a transaction", async () => {
      const child = new Deno.Command(`${pgBinDir()}/psql`, {
        args: [
          `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
          "-X",
          "-c",
          "BEGIN",
          "-c",
          "SELECT pg_sleep(30) -- loss-client-psql",
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      await running("loss-client-psql");
      child.kill("SIGKILL");
      await child.status;
      await waitFor(
        "the sleeping query to go",
        async () => (await sessionsOf("loss-client-psql")) === "0",
        PROMPT_MS,
      );
      await waitFor("the backend to exit", async () => (await clientBackends()) === "0", PROMPT_MS);
    });
  });
});
