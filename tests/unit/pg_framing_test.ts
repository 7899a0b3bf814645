import assert from "node:assert/strict";
import { FrameScanner, FramingError, MessageBuffer, typeSet } from "../../proxy/pg/framing.ts";
import { concat, message, query, SYNC } from "../../proxy/pg/messages.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function framingError(f: () => void): FramingError {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof FramingError, `expected a FramingError, got ${err}`);
    return err;
  }
  throw new assert.AssertionError({ message: "expected a FramingError, nothing was thrown" });
}

Deno.test("FrameScanner delivers watched messages whole at every chunk split", () => {
  const stream = concat(
    query("select 1"),
    message("D", new Uint8Array(300).fill(7)),
    query("select 'a long one'"),
    SYNC,
  );
  for (let size = 1; size <= stream.length; size++) {
    const seen: string[] = [];
    const scanner = new FrameScanner(typeSet("QS"), undefined, 1 << 20, (type, body) => {
      seen.push(`${String.fromCharCode(type)}:${text(body).replace(/\0$/, "")}`);
    });
    for (let at = 0; at < stream.length; at += size) {
      scanner.scan(stream.subarray(at, at + size));
    }
    assert.deepEqual(seen, ["Q:select 1", "Q:select 'a long one'", "S:"], `chunk size ${size}`);
    assert.deepEqual(scanner.atBoundary, true);
  }
});

Deno.test("FrameScanner reports where a malformed header starts", () => {
  const good = query("select 1");
  const bad = new Uint8Array([0x51, 0, 0, 0, 2]);
  const scanner = new FrameScanner(typeSet(""), undefined, 1 << 20, () => {});
  const err = framingError(() => scanner.scan(concat(good, bad)));
  assert.deepEqual(err.validBytes, good.length);
  assert.deepEqual(err.code, "PROTOCOL_VIOLATION");
});

Deno.test("FrameScanner refuses types outside the allowed set and lengths over the limit", () => {
  const allowed = typeSet("Q");
  const unknown = new FrameScanner(typeSet(""), allowed, 1 << 20, () => {});
  const e1 = framingError(() => unknown.scan(message("!", new Uint8Array(2))));
  assert.deepEqual(e1.message, "invalid frontend message type '!'");
  const limited = new FrameScanner(typeSet(""), allowed, 100, () => {});
  const e2 = framingError(() => limited.scan(query("x".repeat(200))));
  assert.deepEqual(e2.code, "MESSAGE_TOO_LARGE");
  const exact = new FrameScanner(typeSet(""), allowed, 100, () => {});
  exact.scan(query("x".repeat(95)));
  assert.deepEqual(exact.atBoundary, true);
});

Deno.test("FrameScanner is not at a boundary inside a message", () => {
  const scanner = new FrameScanner(typeSet(""), undefined, 1 << 20, () => {});
  const msg = query("select 1");
  scanner.scan(msg.subarray(0, 3));
  assert.deepEqual(scanner.atBoundary, false);
  scanner.scan(msg.subarray(3, 7));
  assert.deepEqual(scanner.atBoundary, false);
  scanner.scan(msg.subarray(7));
  assert.deepEqual(scanner.atBoundary, true);
});

Deno.test("MessageBuffer yields startup packets and typed messages across pushes", () => {
  const buf = new MessageBuffer(1 << 20);
  const startup = new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47]);
  const q = query("select 1");
  const all = concat(startup, q);
  buf.push(all.subarray(0, 5));
  assert.deepEqual(buf.nextStartup()?.body.length, undefined);
  buf.push(all.subarray(5, 10));
  assert.deepEqual(buf.nextStartup()?.body, new Uint8Array([4, 210, 22, 47]));
  assert.deepEqual(buf.next(), undefined);
  buf.push(all.subarray(10));
  const m = buf.next();
  assert.deepEqual(m?.type, 0x51);
  assert.deepEqual(buf.pending, 0);
});

Deno.test("MessageBuffer rejects absurd startup lengths", () => {
  const buf = new MessageBuffer(1 << 20);
  buf.push(new Uint8Array([0, 0, 0, 3, 0, 0, 0, 0]));
  assert.equal(framingError(() => buf.nextStartup()).message, "invalid startup packet length 3");
  const huge = new MessageBuffer(1 << 20);
  huge.push(new Uint8Array([0x7f, 0, 0, 0]));
  framingError(() => huge.nextStartup());
});

Deno.test("FrameScanner tells where each watched message ends in the chunk", () => {
  const a = query("select 1");
  const b = SYNC;
  const stream = concat(a, message("D", new Uint8Array(10)), b);
  for (const split of [stream.length, 7]) {
    const ends: number[] = [];
    const scanner = new FrameScanner(typeSet("QS"), undefined, 1 << 20, () => {
      ends.push(scanner.messageEnd);
    });
    scanner.scan(stream.subarray(0, split));
    scanner.scan(stream.subarray(split));
    const expected = split === stream.length
      ? [a.length, stream.length]
      : [a.length - split, stream.length - split];
    assert.deepEqual(ends, expected, `split at ${split}`);
  }
});
