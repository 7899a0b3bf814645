/**
 * The proxy answers exactly what PostgreSQL would: a session the database
 * ends with a FATAL error reaches the client as that error and the close,
 * nothing added; a first packet PostgreSQL cannot read is closed without a
 * word; a CancelRequest connection is counted as a cancel, not as an
 * accepted connection.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { int32 } from "../../proxy/pg/messages.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { errorFields, type RawMessage, RawPgClient, sendCancel } from "../helpers/raw_pg.ts";

const ADMIN_TERMINATED = "terminating connection due to administrator command";

/** Every ErrorResponse in `msgs` as [severity, SQLSTATE, message]. */
function errors(msgs: RawMessage[]): [string, string, string][] {
  return msgs.filter((m) => m.type === "E").map((m) => {
    const f = errorFields(m);
    return [f.get("S") ?? "", f.get("C") ?? "", f.get("M") ?? ""];
  });
}

Deno.test("PostgreSQL protocol fidelity", async (t) => {
  await using cluster = await startPgCluster({ name: "fidelity" });
  await using proxy = await startTestProxy({
    INIT_SOURCE: cluster.url({ params: { sslmode: "disable" } }),
  });
  const metric = async (name: string, outcome: string): Promise<number> => {
    const text = await proxy.metrics.registry.metrics();
    const m = new RegExp(`^${name}\\{outcome="${outcome}"\\} (\\d+)$`, "m").exec(text);
    return m ? Number(m[1]) : 0;
  };
  const terminate = (tag: string) =>
    cluster.psql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity " +
        `WHERE application_name = '${tag}'`,
    );

  await t.step("pg_terminate_backend: exactly the database's FATAL, then the close", async () => {
    await using raw = await RawPgClient.connect(proxy.port);
    await raw.startup();
    assert.equal((await raw.query("SET application_name = 'fidelity-raw'")).error, undefined);
    assert.equal(await terminate("fidelity-raw"), "t");
    assert.deepEqual(errors(await raw.expectClose(5_000)), [["FATAL", "57P01", ADMIN_TERMINATED]]);
  });

  await t.step("node-postgres reports the database's error for a queued query", async () => {
    const client = new pg.Client({
      host: "127.0.0.1",
      port: proxy.port,
      user: "postgres",
      application_name: "fidelity-node",
    });
    const events: Error[] = [];
    client.on("error", (err: Error) => events.push(err));
    await client.connect();
    try {
      const sleeping = client.query("SELECT pg_sleep(30)").catch((e: Error) => e);
      const queued = client.query("SELECT 1").catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 300));
      await terminate("fidelity-node");
      const err = await sleeping as Error & { code?: string };
      assert.equal(err.code, "57P01", err.message);
      assert.equal(err.message, ADMIN_TERMINATED);
      const next = await queued as Error;
      assert.ok(next instanceof Error, "the queued query succeeded");
      assert.doesNotMatch(next.message, /LMS/);
      assert.ok(events.every((e) => !/LMS/.test(e.message)), events.map((e) => e.message).join());
    } finally {
      await client.end().catch(() => {});
    }
  });

  await t.step("idle_session_timeout: the client gets 57P05 alone", async () => {
    await using raw = await RawPgClient.connect(proxy.port);
    await raw.startup();
    assert.equal((await raw.query("SET idle_session_timeout = '300ms'")).error, undefined);
    const got = errors(await raw.expectClose(5_000));
    assert.deepEqual(got.map(([s, c]) => [s, c]), [["FATAL", "57P05"]], JSON.stringify(got));
  });

  await t.step("a Terminate before the StartupMessage: closed without a message", async () => {
    const rejected = await metric("lms_connections_total", "rejected");
    await using raw = await RawPgClient.connect(proxy.port);
    await raw.sendIgnoringReset(new Uint8Array([0x58, ...int32(4)]));
    assert.deepEqual(await raw.expectClose(5_000), []);
    assert.equal(await metric("lms_connections_total", "rejected"), rejected + 1);
  });

  await t.step("node-postgres ended while connecting: what PostgreSQL itself gives", async () => {
    /** What a client ended at once sees: errors, rejections, and whether end() resolved. */
    const endWhileConnecting = async (port: number): Promise<string[]> => {
      const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres" });
      const seen: string[] = [];
      client.on("error", (err: Error) => seen.push(`error event: ${err.message}`));
      client.connect().then(
        () => seen.push("connected"),
        (err: Error) => seen.push(`connect rejected: ${err.message}`),
      );
      await client.end();
      seen.push("ended");
      await new Promise((r) => setTimeout(r, 300));
      return seen;
    };
    const direct = await endWhileConnecting(cluster.port);
    for (let i = 0; i < 3; i++) assert.deepEqual(await endWhileConnecting(proxy.port), direct);
  });

  await t.step("a CancelRequest counts as a cancel, not as an accepted connection", async () => {
    const accepted = await metric("lms_connections_total", "accepted");
    const cancels = await metric("lms_connections_total", "cancel");
    await sendCancel(proxy.port, 12345, 67890);
    assert.equal(await metric("lms_connections_total", "cancel"), cancels + 1);
    assert.equal(await metric("lms_connections_total", "accepted"), accepted);
  });
});
