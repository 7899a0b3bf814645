import assert from "node:assert/strict";
import { PacketOut } from "../../proxy/translate/packet_out.ts";
import { mysqlColumn } from "../../proxy/translate/result_columns.ts";
import {
  mysqlValue,
  writeBinaryRow,
  writeBinaryRowFrom,
  writeTextRow,
  writeTextRowFrom,
} from "../../proxy/translate/result_values.ts";

const OIDS = {
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  float8: 701,
  bool: 16,
  bytea: 17,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  time: 1083,
  numeric: 1700,
  jsonb: 3802,
  uuid: 2950,
};

/** A DataRow body: column count, then length (-1 for NULL) and bytes per value. */
function dataRow(values: (string | null)[]): Uint8Array {
  const enc = values.map((v) => v === null ? null : new TextEncoder().encode(v));
  const size = 2 + enc.reduce((n, v) => n + 4 + (v?.length ?? 0), 0);
  const body = new Uint8Array(size);
  const view = new DataView(body.buffer);
  view.setInt16(0, values.length);
  let at = 2;
  for (const v of enc) {
    view.setInt32(at, v === null ? -1 : v.length);
    at += 4;
    if (v) body.set(v, at);
    at += v?.length ?? 0;
  }
  return body;
}

const COLUMNS: [keyof typeof OIDS, number, (string | null)[]][] = [
  ["int8", -1, ["0", "-1", "9007199254740993", "-9223372036854775808", "123456789012345"]],
  ["int4", -1, ["-2147483648", "2147483647", "7"]],
  ["int2", -1, ["-32768", "12"]],
  ["text", -1, ["", "plain", "ünïcødé ✓", "x".repeat(300)]],
  ["float8", -1, ["1.5", "-0", "1e+300", "NaN"]],
  ["bool", -1, ["t", "f"]],
  ["bytea", -1, ["\\x00ff10", "\\x"]],
  ["date", -1, ["2024-02-29", "0001-01-01"]],
  ["timestamp", 3, ["2024-02-29 12:34:56.5", "2024-02-29 00:00:00"]],
  ["timestamptz", 0, ["2024-02-29 12:34:56+00", "2024-02-29 12:34:56.123+05:30"]],
  ["time", 6, ["12:34:56.000001", "00:00:00"]],
  ["numeric", (10 << 16) + 2 + 4, ["-12.50", "0.00"]],
  ["jsonb", -1, ['{"a": [1, 2]}']],
  ["uuid", -1, ["6ba7b810-9dad-11d1-80b4-00c04fd430c8"]],
];

Deno.test("rows written from DataRow bytes equal rows written from converted values", () => {
  const columns = COLUMNS.map(([type, typmod], i) =>
    mysqlColumn({ name: `c${i}`, typeOid: OIDS[type], typmod, tableOid: 0 })
  );
  const longest = Math.max(...COLUMNS.map(([, , vs]) => vs.length));
  for (let r = 0; r <= longest; r++) {
    // Every value once, and a row of NULLs where a column has run out.
    const texts = COLUMNS.map(([, , vs]) => vs[r] ?? null);
    const values = texts.map((t, i) => mysqlValue(columns[i], t));
    const body = dataRow(texts);
    for (const binary of [true, false]) {
      const a = new PacketOut(1);
      const b = new PacketOut(1);
      if (binary) {
        writeBinaryRow(a, columns, values);
        writeBinaryRowFrom(b, columns, body);
      } else {
        writeTextRow(a, values);
        writeTextRowFrom(b, columns, body);
      }
      assert.deepEqual(Array.from(b.take()), Array.from(a.take()), `row ${r}, binary ${binary}`);
    }
  }
});

Deno.test("a binary row from bytes: a BIGINT beyond 2^53 keeps every digit", () => {
  const [column] = [mysqlColumn({ name: "n", typeOid: OIDS.int8, typmod: -1, tableOid: 0 })];
  const out = new PacketOut(1);
  writeBinaryRowFrom(out, [column], dataRow(["9007199254740993"]));
  const bytes = out.take();
  const value = new DataView(bytes.buffer, bytes.byteOffset + 4 + 2).getBigInt64(0, true);
  assert.equal(value, 9007199254740993n);
});
