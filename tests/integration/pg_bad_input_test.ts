/**
 * Malformed client input against a real proxy in front of a real cluster:
 * every case ends in an ErrorResponse or a clean close, never a hang; it
 * releases its database connection; and a client connected before it, as
 * well as one connecting after, keep working.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { concat, cstring, int32, message } from "../../proxy/pg/messages.ts";
import { encodeSslRequest, encodeStartupMessage, PROTOCOL_3_0 } from "../../proxy/pg/startup.ts";
import { makeCerts } from "../helpers/certs.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { errorFields, type RawMessage, RawPgClient } from "../helpers/raw_pg.ts";
import { waitFor } from "../helpers/wait.ts";

const LIMIT = 64 * 1024;
const CLIENT_BACKENDS =
  "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' " +
  "AND pid <> pg_backend_pid()";

/** The one ErrorResponse among `msgs`, asserting its severity, SQLSTATE and message. */
function assertError(msgs: RawMessage[], code: string, messagePart: string): Map<string, string> {
  const errors = msgs.filter((m) => m.type === "E");
  assert.equal(errors.length, 1, `expected one ErrorResponse, got ${msgs.map((m) => m.type)}`);
  const f = errorFields(errors[0]);
  assert.equal(f.get("S"), "FATAL");
  assert.equal(f.get("C"), code, f.get("M") ?? "");
  assert.ok(f.get("M")?.includes(messagePart), `${f.get("M")} lacks ${messagePart}`);
  return f;
}

/** An untyped packet: length word, then `body`. */
function untyped(body: Uint8Array, length = body.length + 4): Uint8Array {
  const out = new Uint8Array(body.length + 4);
  new DataView(out.buffer).setInt32(0, length);
  out.set(body, 4);
  return out;
}

Deno.test("proxy survives bad client input", async (t) => {
  const certs = await makeCerts();
  try {
    await using cluster = await startPgCluster({ name: "badinput" });
    await using proxy = await startTestProxy({
      INIT_SOURCE: cluster.url({ params: { sslmode: "disable" } }),
      LMS_MAX_MESSAGE_SIZE: "64KiB",
      SSL_CERT: certs.serverCert,
      SSL_KEY: certs.serverKey,
    });
    const clientConfig = {
      host: "127.0.0.1",
      port: proxy.port,
      user: "postgres",
      database: "postgres",
    };
    const protocolErrors = async (): Promise<Map<string, number>> => {
      const text = await proxy.metrics.registry.metrics();
      const out = new Map<string, number>();
      for (const m of text.matchAll(/^lms_protocol_errors_total\{kind="(\w+)"\} (\d+)$/gm)) {
        out.set(m[1], Number(m[2]));
      }
      return out;
    };

    /**
     * Runs one bad-input case between a witness client connected before it and
     * a fresh client after it, then checks that nothing leaked and that exactly
     * `errorKind` (if any) was counted once.
     */
    const badInput = (
      name: string,
      errorKind: "PROTOCOL_VIOLATION" | "MESSAGE_TOO_LARGE" | undefined,
      fn: () => Promise<void>,
    ) =>
      t.step(name, async () => {
        const witness = new pg.Client(clientConfig);
        await witness.connect();
        try {
          assert.equal((await witness.query("SELECT 1 AS one")).rows[0].one, 1);
          const before = await protocolErrors();
          await fn();
          assert.equal((await witness.query("SELECT 2 AS two")).rows[0].two, 2);
          const fresh = new pg.Client(clientConfig);
          await fresh.connect();
          assert.equal((await fresh.query("SELECT 3 AS three")).rows[0].three, 3);
          await fresh.end();
          await waitFor("the bad session to end", () => proxy.sessions.size === 1);
          await waitFor(
            "the bad session's database connection to end",
            async () => (await cluster.psql(CLIENT_BACKENDS)) === "1",
          );
          const metrics = await proxy.metrics.registry.metrics();
          assert.match(metrics, /^lms_connections_open 1$/m, "the witness is the only one open");
          const after = await protocolErrors();
          for (const kind of ["PROTOCOL_VIOLATION", "MESSAGE_TOO_LARGE"]) {
            const delta = (after.get(kind) ?? 0) - (before.get(kind) ?? 0);
            assert.equal(delta, kind === errorKind ? 1 : 0, `lms_protocol_errors_total ${kind}`);
          }
        } finally {
          await witness.end();
        }
      });

    await badInput("truncated length field after startup", "PROTOCOL_VIOLATION", async () => {
      await using raw = await RawPgClient.connect(proxy.port);
      await raw.startup();
      await raw.send(new Uint8Array([0x51, 0, 0, 0, 2]));
      assertError(await raw.expectClose(), "08P01", "invalid message length 2");
    });

    await badInput("length field above the limit", "MESSAGE_TOO_LARGE", async () => {
      await using raw = await RawPgClient.connect(proxy.port);
      await raw.startup();
      await raw.send(concat(new Uint8Array([0x51]), int32(100 * 1024 * 1024)));
      const f = assertError(await raw.expectClose(), "54000", `limit of ${LIMIT} bytes`);
      assert.ok(f.get("M")?.includes("LMS_MAX_MESSAGE_SIZE"), f.get("M") ?? "");
    });

    await badInput("a real query just above the limit", "MESSAGE_TOO_LARGE", async () => {
      await using raw = await RawPgClient.connect(proxy.port);
      await raw.startup();
      await raw.sendIgnoringReset(message("Q", cstring(`SELECT '${"x".repeat(65 * 1024)}'`)));
      assertError(await raw.expectClose(), "54000", `limit of ${LIMIT} bytes`);
    });

    await badInput("node-postgres sending 20 MiB gets the error", "MESSAGE_TOO_LARGE", async () => {
      const client = new pg.Client(clientConfig);
      client.on("error", () => {});
      await client.connect();
      try {
        const err = await client.query(`SELECT '${"z".repeat(20 << 20)}'`).then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        );
        assert.equal(err?.code, "54000", err?.message);
        assert.ok(err?.message.includes(`limit of ${LIMIT} bytes`), err?.message);
      } finally {
        await client.end().catch(() => {});
      }
    });

    await badInput("a real query just below the limit succeeds", undefined, async () => {
      const client = new pg.Client(clientConfig);
      await client.connect();
      try {
        const text = "y".repeat(LIMIT - 200);
        const res = await client.query(`SELECT length('${text}') AS n`);
        assert.equal(res.rows[0].n, LIMIT - 200);
      } finally {
        await client.end();
      }
    });

    await badInput("unknown message type after startup", "PROTOCOL_VIOLATION", async () => {
      await using raw = await RawPgClient.connect(proxy.port);
      await raw.startup();
      assert.deepEqual((await raw.query("SELECT 'ok'")).rows, [["ok"]]);
      await raw.send(message("z", cstring("what is this")));
      assertError(await raw.expectClose(), "08P01", "invalid frontend message type 'z'");
    });

    const startupGarbage: [string, Uint8Array][] = [
      [
        "random bytes",
        (() => {
          const body = crypto.getRandomValues(new Uint8Array(60));
          body[0] = 0xab; // keeps the random "version" away from 3.x and the request codes
          return untyped(body);
        })(),
      ],
      ["protocol version 2.0", untyped(concat(int32(2 << 16), cstring("user"), cstring("x")))],
      [
        "no user",
        untyped(concat(int32(PROTOCOL_3_0), cstring("database"), cstring("postgres"), cstring(""))),
      ],
      [
        "not NUL-terminated",
        untyped(concat(int32(PROTOCOL_3_0), cstring("user"), cstring("postgres"))),
      ],
      ["length < 8", untyped(int32(PROTOCOL_3_0), 4)],
      ["length huge", untyped(int32(PROTOCOL_3_0), 0x7fffffff)],
    ];
    for (const [what, bytes] of startupGarbage) {
      await badInput(`startup packet with garbage: ${what}`, "PROTOCOL_VIOLATION", async () => {
        await using raw = await RawPgClient.connect(proxy.port);
        await raw.sendIgnoringReset(bytes);
        const msgs = await raw.expectClose(5_000);
        assert.ok(msgs.length <= 1, `unexpected answer ${msgs.map((m) => m.type)}`);
        if (msgs.length === 1) assertError(msgs, "08P01", "");
      });
    }

    await badInput("half a message, then the client closes", undefined, async () => {
      const raw = await RawPgClient.connect(proxy.port);
      await raw.startup();
      await waitFor(
        "the session's backend",
        async () => (await cluster.psql(CLIENT_BACKENDS)) === "2",
      );
      assert.equal(proxy.sessions.size, 2);
      const body = cstring(`SELECT '${"h".repeat(1000)}'`);
      await raw.send(concat(new Uint8Array([0x51]), int32(body.length + 4), body.subarray(0, 100)));
      await raw.close();
    });

    await badInput("half a startup packet, then the client closes", undefined, async () => {
      const raw = await RawPgClient.connect(proxy.port);
      await raw.send(encodeStartupMessage(new Map([["user", "postgres"]])).subarray(0, 10));
      await waitFor("the half-started session", () => proxy.sessions.size === 2);
      await raw.close();
    });

    await badInput(
      "a whole startup packet, then the client closes at once",
      undefined,
      async () => {
        const raw = await RawPgClient.connect(proxy.port);
        await raw.send(encodeStartupMessage(new Map([["user", "postgres"]])));
        await raw.close();
      },
    );

    await badInput("SSLRequest followed by extra bytes", "PROTOCOL_VIOLATION", async () => {
      await using raw = await RawPgClient.connect(proxy.port);
      const startup = encodeStartupMessage(new Map([["user", "postgres"]]));
      await raw.sendIgnoringReset(concat(encodeSslRequest(), startup));
      assertError(await raw.expectClose(), "08P01", "after SSLRequest");
    });

    await badInput(
      "SSLRequest accepted with S, then garbage instead of TLS",
      undefined,
      async () => {
        await using raw = await RawPgClient.connect(proxy.port);
        await raw.send(encodeSslRequest());
        assert.equal(await raw.readByte(), 0x53);
        await raw.sendIgnoringReset(crypto.getRandomValues(new Uint8Array(300)));
        await raw.expectClose(5_000);
      },
    );
  } finally {
    await certs.cleanup();
  }
});
