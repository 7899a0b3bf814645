/**
 * The soak chart's PNG writer: a valid signature, CRC-checked chunks, and
 * pixel data that inflates back to what was painted.
 */

import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { Canvas, crc32, lineCharts } from "../soak/png.ts";

Deno.test("crc32 matches the PNG reference value", () => {
  assert.equal(crc32(new TextEncoder().encode("IEND")), 0xae426082);
});

Deno.test("a painted canvas encodes to a PNG whose pixels read back", () => {
  const c = new Canvas(4, 3);
  c.set(1, 2, [10, 20, 30]);
  const png = c.png();
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(png.buffer, png.byteOffset);
  let at = 8;
  const chunks: { type: string; data: Uint8Array }[] = [];
  while (at < png.length) {
    const len = v.getUint32(at);
    const typed = png.subarray(at + 4, at + 8 + len);
    assert.equal(v.getUint32(at + 8 + len), crc32(typed), "chunk CRC");
    chunks.push({ type: new TextDecoder().decode(typed.subarray(0, 4)), data: typed.subarray(4) });
    at += 12 + len;
  }
  assert.deepEqual(chunks.map((x) => x.type), ["IHDR", "IDAT", "IEND"]);
  const raw = inflateSync(chunks[1].data);
  assert.equal(raw.length, 3 * (4 * 3 + 1));
  const row2 = raw.subarray(2 * 13 + 1, 3 * 13);
  assert.deepEqual([...row2.subarray(3, 6)], [10, 20, 30]);
  assert.deepEqual([...row2.subarray(0, 3)], [255, 255, 255]);
});

Deno.test("line charts paint their series", () => {
  const canvas = lineCharts(
    [{
      title: "RSS",
      series: [{ color: [255, 0, 0], points: [[0, 1], [10, 2]] }],
    }],
    5,
    200,
    100,
  );
  assert.ok(canvas.png().length > 100);
});
