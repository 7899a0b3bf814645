import assert from "node:assert/strict";
import { PacketScanner, PacketSplitter } from "../../proxy/mysql/framing.ts";
import { packet } from "../../proxy/mysql/packets.ts";
import { MAX_PACKET_PAYLOAD } from "../../proxy/mysql/constants.ts";
import { LmsError } from "../../shared/errors.ts";

Deno.test("packet() splits at 16 MiB - 1 with consecutive sequence ids, and an empty tail", () => {
  const payload = new Uint8Array(MAX_PACKET_PAYLOAD * 2);
  payload[0] = 7;
  payload[payload.length - 1] = 9;
  const bytes = packet(3, payload);
  assert.equal(bytes.length, payload.length + 3 * 4);
  const splitter = new PacketSplitter("client", 1 << 30);
  const packets = [];
  for (let i = 0; i < bytes.length; i += 65536) {
    packets.push(...splitter.push(bytes.subarray(i, i + 65536)));
  }
  assert.deepEqual(packets.map((p) => [p.seq, p.payload.length, p.continuation, p.continues]), [
    [3, MAX_PACKET_PAYLOAD, false, true],
    [4, MAX_PACKET_PAYLOAD, true, true],
    [5, 0, true, false],
  ]);
  assert.equal(packets[0].payload[0], 7);
  assert.equal(packets[1].payload[MAX_PACKET_PAYLOAD - 1], 9);
  assert.ok(splitter.atBoundary);
});

Deno.test("a split packet whose continuation carries the wrong sequence id is refused", () => {
  const first = new Uint8Array(4 + MAX_PACKET_PAYLOAD);
  first.set([0xff, 0xff, 0xff, 0]);
  const splitter = new PacketSplitter("client", 1 << 30);
  splitter.push(first);
  assert.equal(splitter.atBoundary, false);
  assert.throws(
    () => splitter.push(packet(5, new Uint8Array([1]))),
    (e: unknown) =>
      e instanceof LmsError && /sequence id 5 in a split packet where 1 belongs/.test(e.message),
  );
});

Deno.test("the logical size limit counts every part and answers on the header", () => {
  const splitter = new PacketSplitter("client", 100);
  assert.throws(
    () => splitter.push(new Uint8Array([101, 0, 0, 0])),
    (e: unknown) => e instanceof LmsError && e.code === "MESSAGE_TOO_LARGE",
  );
  const scanner = new PacketScanner("database", MAX_PACKET_PAYLOAD + 10, 8, () => {});
  scanner.scan(new Uint8Array([0xff, 0xff, 0xff, 0]));
  scanner.scan(new Uint8Array(MAX_PACKET_PAYLOAD));
  assert.throws(
    () => scanner.scan(new Uint8Array([11, 0, 0, 1])),
    (e: unknown) => e instanceof LmsError && e.code === "MESSAGE_TOO_LARGE",
  );
});

Deno.test("the scanner reports packets byte by byte with their prefix", () => {
  const seen: [number, number, string][] = [];
  const scanner = new PacketScanner(
    "database",
    1 << 20,
    3,
    (seq, length, bytes, start, end) =>
      seen.push([seq, length, Array.from(bytes.subarray(start, end)).join(",")]),
  );
  const bytes = new Uint8Array([
    ...packet(1, new Uint8Array([1, 2, 3, 4, 5])),
    ...packet(2, new Uint8Array()),
  ]);
  for (const b of bytes) scanner.scan(new Uint8Array([b]));
  assert.deepEqual(seen, [[1, 5, "1,2,3"], [2, 0, ""]]);
  assert.ok(scanner.atBoundary);
});

Deno.test("the scanner reports whole packets in a chunk, and packets split anywhere, alike", () => {
  const payloads = [
    new Uint8Array([1, 2, 3, 4, 5]),
    new Uint8Array(),
    new Uint8Array([0xfe, 0, 0, 2, 0]),
    new Uint8Array([9]),
  ];
  const bytes = new Uint8Array(payloads.flatMap((p, i) => [...packet(i + 1, p)]));
  const expected = [[1, 5, "1,2,3"], [2, 0, ""], [3, 5, "254,0,0"], [4, 1, "9"]];
  for (let cut = 0; cut <= bytes.length; cut++) {
    const seen: [number, number, string][] = [];
    const ends: number[] = [];
    const scanner = new PacketScanner("database", 1 << 20, 3, (seq, length, b, start, end) => {
      seen.push([seq, length, Array.from(b.subarray(start, end)).join(",")]);
      ends.push(scanner.packetEnd);
    });
    scanner.scan(bytes.subarray(0, cut));
    scanner.scan(bytes.subarray(cut));
    assert.deepEqual(seen, expected, `cut at ${cut}`);
    assert.ok(scanner.atBoundary);
    if (cut === 0) assert.deepEqual(ends, [9, 13, 22, 27]);
  }
});
