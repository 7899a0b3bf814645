/**
 * Bad input from a MySQL client ends that client's session with an ERR
 * packet naming the problem (or a clean close when the client is gone), and
 * never disturbs another session: each case runs next to a second client
 * that keeps working.
 */

import assert from "node:assert/strict";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { Com } from "../../proxy/mysql/constants.ts";
import { packet, PayloadWriter } from "../../proxy/mysql/packets.ts";
import { RawMySql } from "../helpers/raw_mysql.ts";
import { startMySqlFixture } from "../helpers/mysql_fixture.ts";
import { waitFor } from "../helpers/wait.ts";

const LIMIT = 1024 * 1024;

Deno.test("bad input ends only the offending MySQL session", async (t) => {
  await using fx = await startMySqlFixture({ proxyEnv: { LMS_MAX_MESSAGE_SIZE: String(LIMIT) } });
  const { user, password } = MARIADB_AUTH_USERS.native;
  const bystander = await fx.connect("proxy");
  let round = 0;
  const bystanderWorks = async () => {
    round++;
    const [rows] = await bystander.query("SELECT ? AS round", [round]);
    assert.deepEqual(rows, [{ round }]);
  };
  const login = () => RawMySql.login(fx.proxy.port, user, password);

  try {
    await t.step("a working raw session, for reference", async () => {
      const raw = await login();
      raw.command(new PayloadWriter().u8(Com.PING).build());
      assert.equal((await raw.next()).payload[0], 0x00);
      raw.close();
      await bystanderWorks();
    });

    await t.step("malformed packet: COM_STMT_EXECUTE without its fields", async () => {
      const raw = await login();
      raw.command(new Uint8Array([Com.STMT_EXECUTE, 1, 0]));
      const err = await raw.nextError();
      assert.equal(err.code, 1835);
      assert.match(err.message, /malformed COM_STMT_EXECUTE packet/);
      assert.equal(err.seq, 1);
      await raw.closedWithin();
      await bystanderWorks();
    });

    await t.step("wrong sequence id on a new command", async () => {
      const raw = await login();
      raw.command(new PayloadWriter().u8(Com.QUERY).str("SELECT 1").build(), 5);
      const err = await raw.nextError();
      assert.equal(err.code, 1156);
      assert.match(err.message, /sequence id 5 where a new command \(sequence id 0\) belongs/);
      await raw.closedWithin();
      await bystanderWorks();
    });

    await t.step("wrong sequence id inside a command (LOAD DATA LOCAL file data)", async () => {
      await fx.db.sql("CREATE TABLE app.loaded (v TEXT)");
      const raw = await login();
      raw.command(
        new PayloadWriter().u8(Com.QUERY).str("LOAD DATA LOCAL INFILE 'f' INTO TABLE app.loaded")
          .build(),
      );
      const request = await raw.next();
      assert.equal(request.payload[0], 0xfb, "the database asks for the file");
      raw.write(packet(request.seq + 3, new TextEncoder().encode("a\n")));
      const err = await raw.nextError();
      assert.equal(err.code, 1156);
      assert.match(
        err.message,
        new RegExp(`sequence id ${request.seq + 3} where ${request.seq + 1} belongs`),
      );
      await raw.closedWithin();
      await bystanderWorks();
    });

    await t.step("unknown command byte", async () => {
      const raw = await login();
      raw.command(new Uint8Array([0x55, 1, 2, 3]));
      const err = await raw.nextError();
      assert.equal(err.code, 1047);
      assert.match(err.message, /unknown or unsupported command byte 0x55/);
      await raw.closedWithin();
      await bystanderWorks();
    });

    await t.step(
      "a packet above LMS_MAX_MESSAGE_SIZE is refused before it is buffered",
      async () => {
        const raw = await login();
        const size = LIMIT + 10;
        raw.write(new Uint8Array([size & 0xff, (size >> 8) & 0xff, size >> 16, 0, Com.QUERY]));
        const err = await raw.nextError();
        assert.equal(err.code, 1153);
        assert.match(
          err.message,
          new RegExp(`at least ${size} bytes.*limit of ${LIMIT}.*LMS_MAX_MESSAGE_SIZE`),
        );
        await raw.closedWithin();
        await bystanderWorks();
      },
    );

    await t.step("a client closing in the middle of a packet", async () => {
      const before = fx.proxy.sessions.size;
      const raw = await login();
      await waitFor("the session", () => fx.proxy.sessions.size === before + 1);
      raw.write(new Uint8Array([100, 0, 0, 0, Com.QUERY, 0x53, 0x45]));
      await new Promise((r) => setTimeout(r, 100));
      raw.close();
      await waitFor("the session to end", () => fx.proxy.sessions.size === before);
      await bystanderWorks();
    });

    await t.step("a garbage handshake response", async () => {
      const { raw } = await RawMySql.open(fx.proxy.port);
      raw.write(packet(1, new Uint8Array([1, 2, 3])));
      const err = await raw.nextError();
      assert.equal(err.code, 1043);
      assert.match(err.message, /bad handshake/);
      await raw.closedWithin();
      await bystanderWorks();
    });

    await t.step("a pre-4.1 client is refused with a reason", async () => {
      const { raw } = await RawMySql.open(fx.proxy.port);
      raw.write(packet(1, new PayloadWriter().u32(1).u32(0).u8(8).zeros(23).cstr(user).build()));
      const err = await raw.nextError();
      assert.equal(err.code, 1043);
      assert.match(err.message, /CLIENT_PROTOCOL_41/);
      await raw.closedWithin();
      await bystanderWorks();
    });

    await t.step("the protocol errors are counted", async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${fx.proxy.metricsPort}/metrics`))
        .text();
      const count = (kind: string) =>
        Number(
          new RegExp(`lms_protocol_errors_total\\{kind="${kind}"\\} (\\d+)`).exec(metrics)?.[1] ??
            0,
        );
      assert.ok(count("PROTOCOL_VIOLATION") >= 5, metrics);
      assert.ok(count("MESSAGE_TOO_LARGE") >= 1, metrics);
    });
  } finally {
    await bystander.end();
  }
});
