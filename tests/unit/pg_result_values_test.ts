import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
} from "node:assert/strict";
import { decodeValue, neutralColumn, OID } from "../../proxy/pg/result_values.ts";
import { canonicalDecimal } from "../../proxy/shadow/values.ts";

const enc = new TextEncoder();
const text = (oid: number, s: string) => decodeValue(oid, 0, enc.encode(s));
const bin = (oid: number, bytes: number[] | Uint8Array) =>
  decodeValue(oid, 1, bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));

function be(size: number, write: (v: DataView) => void): Uint8Array {
  const out = new Uint8Array(size);
  write(new DataView(out.buffer));
  return out;
}

Deno.test("integers: INT4 text equals CockroachDB INT8 text and binary", () => {
  assertEquals(text(OID.int4, "1"), 1n);
  assertEquals(text(OID.int4, "-42"), -42n);
  assertEquals(bin(OID.int8, be(8, (v) => v.setBigInt64(0, 1n))), 1n);
  assertEquals(bin(OID.int4, be(4, (v) => v.setInt32(0, -7))), -7n);
  assertEquals(bin(OID.int2, be(2, (v) => v.setInt16(0, -300))), -300n);
  assertEquals(
    bin(OID.int8, be(8, (v) => v.setBigInt64(0, 9007199254740993n))),
    9007199254740993n,
  );
  assertEquals(text(OID.int8, "9223372036854775807"), 9223372036854775807n);
  assertEquals(text(OID.int8, "not a number"), "not a number");
});

Deno.test("numeric: scale does not matter, meaning does", async (t) => {
  await t.step("text forms", () => {
    assertEquals(text(OID.numeric, "1.50"), text(OID.numeric, "1.5"));
    assertEquals(text(OID.numeric, "-0.00"), "0");
    assertEquals(text(OID.numeric, "NaN"), "NaN");
    assertEquals(text(OID.numeric, "1E+2"), "100");
    assertEquals(text(OID.numeric, "1.25E-3"), "0.00125");
    assertEquals(text(OID.numeric, "0012.3400"), "12.34");
    assertNotEquals(text(OID.numeric, "1.5"), text(OID.numeric, "1.05"));
    assertEquals(canonicalDecimal("Infinity"), "Infinity");
  });
  await t.step("binary form", () => {
    // 12345.678 = digits [1, 2345, 6780], weight 1, dscale 3
    const b = be(14, (v) => {
      v.setInt16(0, 3);
      v.setInt16(2, 1);
      v.setUint16(4, 0);
      v.setUint16(6, 3);
      v.setUint16(8, 1);
      v.setUint16(10, 2345);
      v.setUint16(12, 6780);
    });
    assertEquals(bin(OID.numeric, b), "12345.678");
    // -0.0005 = digits [5], weight -1... 0.0005 is 5 * 10000^-1
    const small = be(10, (v) => {
      v.setInt16(0, 1);
      v.setInt16(2, -1);
      v.setUint16(4, 0x4000);
      v.setUint16(6, 4);
      v.setUint16(8, 5);
    });
    assertEquals(bin(OID.numeric, small), "-0.0005");
    // 20000 = digits [2], weight 1
    const big = be(10, (v) => {
      v.setInt16(0, 1);
      v.setInt16(2, 1);
      v.setUint16(4, 0);
      v.setUint16(6, 0);
      v.setUint16(8, 2);
    });
    assertEquals(bin(OID.numeric, big), "20000");
    assertEquals(bin(OID.numeric, be(8, (v) => v.setUint16(4, 0xc000))), "NaN");
  });
});

Deno.test("floats: text renderings and binary agree", () => {
  assertEquals(text(OID.float8, "1e+20"), text(OID.float8, "100000000000000000000"));
  assertEquals(text(OID.float8, "0.30000000000000004"), text(OID.float8, "0.3"));
  assertEquals(text(OID.float8, "-0"), text(OID.float8, "0"));
  assertEquals(text(OID.float8, "0.1"), 0.1);
  assertEquals(text(OID.float8, "Infinity"), Infinity);
  assertEquals(text(OID.float8, "-Infinity"), -Infinity);
  assertEquals(text(OID.float8, "NaN"), NaN);
  assertEquals(bin(OID.float8, be(8, (v) => v.setFloat64(0, 2.5))), text(OID.float8, "2.5"));
  assertEquals(bin(OID.float4, be(4, (v) => v.setFloat32(0, 1.1))), text(OID.float4, "1.1"));
  assertNotEquals(text(OID.float8, "1.5"), text(OID.float8, "1.50001"));
});

Deno.test("bool: every spelling", () => {
  for (const s of ["t", "true", "TRUE", "1", "on"]) assertEquals(text(OID.bool, s), true);
  for (const s of ["f", "false", "0", "off"]) assertEquals(text(OID.bool, s), false);
  assertEquals(bin(OID.bool, [1]), true);
  assertEquals(bin(OID.bool, [0]), false);
});

Deno.test("timestamps: zones, fractions and binary compare as instants", () => {
  const tz = (s: string) => text(OID.timestamptz, s);
  assertEquals(tz("2024-01-02 03:04:05+00"), "2024-01-02 03:04:05+00");
  assertEquals(tz("2024-01-02 04:04:05+01"), tz("2024-01-02 03:04:05+00"));
  assertEquals(tz("2024-01-02 03:04:05.120000+00:00"), tz("2024-01-02 03:04:05.12+00"));
  assertEquals(tz("2024-01-01 22:34:05-04:30"), tz("2024-01-02T03:04:05Z"));
  assertNotEquals(tz("2024-01-02 03:04:05.1+00"), tz("2024-01-02 03:04:05.2+00"));
  const ts = (s: string) => text(OID.timestamp, s);
  assertEquals(ts("2024-01-02 03:04:05.500"), ts("2024-01-02 03:04:05.5"));
  assertEquals(ts("2024-01-02 03:04:05+00:00"), ts("2024-01-02 03:04:05"));
  assertEquals(ts("infinity"), "infinity");
  // 2024-01-02 03:04:05.5 UTC is 757_479_845.5 s after 2000-01-01.
  const us = 757_479_845_500_000n;
  assertEquals(bin(OID.timestamp, be(8, (v) => v.setBigInt64(0, us))), ts("2024-01-02 03:04:05.5"));
  assertEquals(
    bin(OID.timestamptz, be(8, (v) => v.setBigInt64(0, us))),
    tz("2024-01-02 04:04:05.5+01"),
  );
  assertEquals(
    bin(OID.timestamp, be(8, (v) => v.setBigInt64(0, -1n))),
    "1999-12-31 23:59:59.999999",
  );
  assertEquals(ts("0044-03-15 12:00:00 BC"), "0044-03-15 12:00:00 BC");
});

Deno.test("date: text and binary", () => {
  assertEquals(text(OID.date, "2024-02-29"), "2024-02-29");
  assertEquals(bin(OID.date, be(4, (v) => v.setInt32(0, 8825))), "2024-02-29");
  assertEquals(bin(OID.date, be(4, (v) => v.setInt32(0, -1))), "1999-12-31");
});

Deno.test("bytea: hex, escape and binary formats agree", () => {
  const hex = text(OID.bytea, "\\x00ff5c41");
  assertEquals(hex, new Uint8Array([0, 255, 0x5c, 0x41]));
  assertEquals(text(OID.bytea, "\\x00FF5C41"), hex);
  assertEquals(text(OID.bytea, "\\000\\377\\\\A"), hex);
  assertEquals(bin(OID.bytea, [0, 255, 0x5c, 0x41]), hex);
});

Deno.test("json, uuid, text and unknown types", () => {
  assertEquals(
    text(OID.jsonb, '{"b": 1, "a": [1, {"d": 2, "c": 3}]}'),
    text(OID.json, '{"a":[1,{"c":3,"d":2}],"b":1}'),
  );
  assertEquals(bin(OID.jsonb, [1, ...enc.encode('{"a": 1}')]), '{"a":1}');
  assertEquals(
    text(OID.uuid, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
  );
  assertEquals(
    bin(OID.uuid, [
      0xa0,
      0xee,
      0xbc,
      0x99,
      0x9c,
      0x0b,
      0x4e,
      0xf8,
      0xbb,
      0x6d,
      0x6b,
      0xb9,
      0xbd,
      0x38,
      0x0a,
      0x11,
    ]),
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
  );
  assertEquals(text(OID.text, "  Abc "), "  Abc ");
  assertEquals(text(OID.bpchar, "ab   "), "ab");
  assertEquals(bin(OID.text, enc.encode("héllo")), "héllo");
  assertEquals(bin(99999, [1, 2]), "\\x0102");
  assertEquals(text(99999, "as is"), "as is");
});

Deno.test("columns: type families, names for messages, numeric scale from the typmod", () => {
  assertEquals(neutralColumn("id", OID.int8, -1), { name: "id", type: "int", nativeType: "int8" });
  // numeric(10,2): typmod = (10 << 16 | 2) + 4
  assertEquals(neutralColumn("amount", OID.numeric, ((10 << 16) | 2) + 4), {
    name: "amount",
    type: "decimal",
    nativeType: "numeric(10,2)",
    scale: 2,
  });
  assertEquals(neutralColumn("tags", 1009, -1).type, "array");
  assertEquals(neutralColumn("x", 424242, -1), {
    name: "x",
    type: "unknown",
    nativeType: "oid 424242",
  });
});
