import assert from "node:assert/strict";
import { MessageWalker } from "../../proxy/translate/pg_messages.ts";
import { concatBytes } from "../../shared/bytes.ts";

function message(type: string, body: number[]): Uint8Array {
  const length = body.length + 4;
  return new Uint8Array([
    type.charCodeAt(0),
    length >>> 24,
    (length >> 16) & 0xff,
    (length >> 8) & 0xff,
    length & 0xff,
    ...body,
  ]);
}

function stream(): Uint8Array {
  const big = Array.from({ length: 300 }, (_, i) => i & 0xff);
  const parts = [message("2", []), message("D", [0, 1, 0, 0, 0, 2, 65, 66]), message("D", big)];
  parts.push(message("C", [83, 69, 76, 0]), message("Z", [73]));
  return concatBytes(parts);
}

function walk(chunks: Uint8Array[]): string[] {
  const w = new MessageWalker(1 << 20);
  const seen: string[] = [];
  for (const c of chunks) {
    w.push(c, (type, body) => seen.push(`${String.fromCharCode(type)}:${body.join(",")}`));
  }
  return seen;
}

Deno.test("MessageWalker: the same messages however the stream is cut", () => {
  const all = stream();
  const whole = walk([all]);
  assert.equal(whole.length, 5);
  assert.equal(whole[1], "D:0,1,0,0,0,2,65,66");
  for (const size of [1, 2, 3, 4, 5, 6, 7, 11, 64, 299, 301]) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < all.length; at += size) chunks.push(all.subarray(at, at + size));
    assert.deepEqual(walk(chunks), whole, `chunks of ${size} bytes`);
  }
});

Deno.test("MessageWalker: a length word out of range is a protocol violation", () => {
  const w = new MessageWalker(100);
  assert.throws(() => w.push(message("D", new Array(200).fill(0)), () => {}), /invalid length 204/);
  assert.throws(
    () => new MessageWalker(100).push(new Uint8Array([0x44, 0, 0, 0, 2]), () => {}),
    /invalid length 2/,
  );
});
