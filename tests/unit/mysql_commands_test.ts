import assert from "node:assert/strict";
import { ResponseTracker } from "../../proxy/mysql/commands.ts";
import { Com, Status } from "../../proxy/mysql/constants.ts";
import { decodeServerHandshake, encodeClientHandshake } from "../../proxy/mysql/handshake.ts";
import { errPayload, okPayload, packet, PayloadWriter } from "../../proxy/mysql/packets.ts";
import { PacketScanner } from "../../proxy/mysql/framing.ts";

const eof = (status: number) => new PayloadWriter().u8(0xfe).u16(0).u16(status).build();
const okEof = (status: number) =>
  new PayloadWriter().u8(0xfe).lenenc(0).lenenc(0).u16(status).u16(0).build();
const column = () => new PayloadWriter().lenenc(3).str("def").zeros(20).build();
const row = () => new PayloadWriter().lenenc(1).str("1").build();

function tracker(deprecateEof: boolean) {
  const log: string[] = [];
  const t = new ResponseTracker(deprecateEof, false, {
    status: (s) => log.push(`status ${s}`),
    succeeded: () => log.push("succeeded"),
    failed: (_c, e) => log.push(`failed ${e.code}`),
    prepared: (_c, id) => log.push(`prepared ${id}`),
    reset: () => log.push("reset"),
    done: (c) => log.push(`done ${c.command}`),
    sendSynthetic: () => log.push("synthetic"),
  });
  const feed = (...payloads: Uint8Array[]) => {
    let seq = 1;
    for (const p of payloads) t.onPacket(seq++, p.length, p, 0, Math.min(p.length, 1024), false);
  };
  return { t, log, feed };
}

Deno.test("result sets end at the EOF or OK terminator, also across multiple results", () => {
  for (const deprecate of [false, true]) {
    const { t, log, feed } = tracker(deprecate);
    t.begin(Com.QUERY);
    const more = Status.AUTOCOMMIT | Status.MORE_RESULTS_EXISTS;
    const end = (s: number) => deprecate ? okEof(s) : eof(s);
    feed(
      new Uint8Array([1]),
      column(),
      ...(deprecate ? [] : [eof(2)]),
      row(),
      row(),
      end(more),
      okPayload(Status.AUTOCOMMIT | Status.IN_TRANS),
    );
    assert.ok(t.idle, `deprecateEof=${deprecate}: ${log.join("; ")}`);
    assert.deepEqual(log.filter((l) => !l.startsWith("status")), [
      "succeeded",
      "succeeded",
      "done 3",
    ]);
  }
});

Deno.test("a cursor ends the execute response; prepare skips its definitions; errors end it", () => {
  const { t, log, feed } = tracker(false);
  t.begin(Com.STMT_PREPARE, { sql: "SELECT ?" });
  feed(
    new PayloadWriter().u8(0).u32(7).u16(1).u16(1).u8(0).u16(0).build(),
    column(),
    eof(2),
    column(),
    eof(2),
  );
  assert.ok(t.idle);
  t.begin(Com.STMT_EXECUTE);
  feed(new Uint8Array([1]), column(), eof(Status.AUTOCOMMIT | Status.CURSOR_EXISTS));
  assert.ok(t.idle, "no rows until COM_STMT_FETCH");
  t.begin(Com.STMT_FETCH);
  feed(new Uint8Array([0, 0, 1]), eof(Status.AUTOCOMMIT | Status.LAST_ROW_SENT));
  assert.ok(t.idle);
  t.begin(Com.QUERY);
  feed(
    new Uint8Array([1]),
    column(),
    eof(2),
    row(),
    new PayloadWriter().u8(0xff).u16(1317).str("#70100x").build(),
  );
  assert.ok(t.idle);
  assert.ok(log.includes("prepared 7") && log.includes("failed 1317"), log.join("; "));
});

Deno.test("LOAD DATA LOCAL waits for the client's file, and pipelined commands queue", () => {
  const { t, feed } = tracker(true);
  t.begin(Com.QUERY);
  feed(new PayloadWriter().u8(0xfb).str("f.csv").build());
  assert.ok(t.awaitingClient);
  assert.equal(t.expectedClientSeq, 2);
  t.clientPacket(2, 10);
  t.clientPacket(3, 0);
  assert.equal(t.awaitingClient, false);
  t.begin(Com.PING);
  feed(okPayload(2));
  assert.equal(t.pending, 1, "the ping's answer is still to come");
  feed(okPayload(2));
  assert.ok(t.idle);
});

Deno.test("the client's handshake carries the database's scramble and the proxy's connection id", () => {
  const server = {
    serverVersion: "10.11.19-MariaDB",
    connectionId: 5,
    scramble: new TextEncoder().encode("abcdefghijklmnopqrst"),
    capabilities: 0xf7fe | (0x81bf << 16),
    mariadbCapabilities: 0x1f,
    charset: 45,
    status: 2,
    authPlugin: "mysql_native_password",
  };
  const decoded = decodeServerHandshake(encodeClientHandshake(server, 123456, false));
  assert.equal(decoded.connectionId, 123456);
  assert.deepEqual(decoded.scramble, server.scramble);
  assert.equal(decoded.authPlugin, "mysql_native_password");
  assert.equal(decoded.capabilities & (1 << 5), 0, "no compression");
  assert.equal(decoded.capabilities & (1 << 27), 0, "no query attributes");
  assert.equal(decoded.capabilities & (1 << 11), 0, "no TLS when the listener has none");
  assert.equal(decoded.mariadbCapabilities, 1 << 3, "only extended type info");
});

Deno.test("the scanner skips ordinary rows for the tracker and still finds the end and the error", () => {
  for (const deprecate of [false, true]) {
    const { t, log } = tracker(deprecate);
    const scanner = new PacketScanner("database", 1 << 20, 1024, t.onPacket, t);
    const end = (s: number) => deprecate ? okEof(s) : eof(s);
    const bigRow = new PayloadWriter().lenenc(300).str("x".repeat(300)).build();
    assert.equal(bigRow[0], 0xfc);
    // With classic EOFs, a row may start with 0xFE (an 8-byte length) and must not end the rows.
    const rows = deprecate
      ? [row(), bigRow, row()]
      : [row(), bigRow, new Uint8Array([0xfe, ...new Uint8Array(8), 0x41])];
    const answer = (...payloads: Uint8Array[]) =>
      new Uint8Array(payloads.flatMap((p, i) => [...packet(i + 1, p)]));
    t.begin(Com.QUERY);
    assert.ok(!t.inRows);
    const head = [new Uint8Array([1]), column(), ...(deprecate ? [] : [eof(2)])];
    scanner.scan(answer(...head, ...rows, end(Status.AUTOCOMMIT)));
    assert.ok(t.idle && !t.inRows, `deprecateEof=${deprecate}: ${log.join("; ")}`);
    assert.equal(t.lastSeq, head.length + 4);
    assert.deepEqual(log.filter((l) => !l.startsWith("status")), ["succeeded", "done 3"]);
    t.begin(Com.QUERY);
    const bytes = answer(...head, row(), row());
    scanner.scan(bytes);
    assert.ok(t.inRows && !t.idle);
    assert.equal(t.lastSeq, head.length + 2, "skipped rows still count for the sequence");
    scanner.scan(packet(head.length + 3, errPayload({ code: 1317, state: "70100" }, "killed")));
    assert.ok(t.idle && !t.inRows);
    assert.ok(log.includes("failed 1317"), log.join("; "));
  }
});
