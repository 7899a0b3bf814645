import { deepStrictEqual as assertEquals, notStrictEqual } from "node:assert/strict";
import {
  fingerprint,
  fingerprintFallbacks,
  fingerprintParserLoaded,
  initFingerprints,
} from "../../proxy/shadow/fingerprint.ts";

await initFingerprints();

Deno.test("literals become placeholders, stable across values, case and whitespace", () => {
  const fp = fingerprint("SELECT * FROM t WHERE id = 42 AND name = 'x'");
  assertEquals(fp, "SELECT * FROM t WHERE id = $1 AND NAME = $2");
  assertEquals(fingerprint("select *\n  from t where id=7 and name = E'it''s' -- note"), fp);
  notStrictEqual(fingerprint("SELECT * FROM u WHERE id = 42 AND name = 'x'"), fp);
});

Deno.test("every literal form PostgreSQL knows is replaced", () => {
  assertEquals(
    fingerprint(
      "UPDATE t SET a = -5.5e3, b = $$dollar 'quoted'$$, c = x'1F', d = DATE '2024-01-01'",
    ),
    "UPDATE t SET a = $1, b = $2, c = $3, d = DATE $4",
  );
});

Deno.test("lists of literals collapse so their length does not matter", () => {
  const fp = fingerprint("SELECT a FROM t WHERE b IN (1, 2, 3) AND c = 'z'");
  assertEquals(fp, "SELECT a FROM t WHERE b IN ($1 /*, ... */) AND c = $2");
  assertEquals(
    fingerprint("SELECT a FROM t WHERE b IN (9) AND c = 'y'"),
    fp.replace(" /*, ... */", ""),
  );
  assertEquals(fingerprint("select a from t where b in (4,5) and c = 'q'"), fp);
  assertEquals(
    fingerprint("INSERT INTO t (a, b) VALUES (1, 'a'), (2, 'b'), (3, 'c')"),
    fingerprint("INSERT INTO t (a, b) VALUES (7, 'x'), (8, 'y')"),
  );
});

Deno.test("parameters of the extended protocol stay; literals number after them", () => {
  assertEquals(
    fingerprint("SELECT $1::int, 'x' FROM t WHERE a = $2"),
    "SELECT $1::INT, $3 FROM t WHERE a = $2",
  );
});

Deno.test("CockroachDB-only syntax falls back to redaction, counted", () => {
  const before = fingerprintFallbacks();
  const fp = fingerprint("UPSERT INTO t VALUES (1, 'secret')");
  assertEquals(fp, "UPSERT INTO T VALUES(?, ?)");
  assertEquals(fingerprintFallbacks(), before + 1);
  assertEquals(fingerprint("upsert  into t values (2, 'other')"), fp);
  assertEquals(fingerprint("UPSERT INTO t VALUES (1, 'secret')"), fp, "cached");
  assertEquals(fingerprintFallbacks(), before + 2);
});

Deno.test("the parser loaded under Deno", () => {
  assertEquals(fingerprintParserLoaded(), true);
});

Deno.test("huge statements give bounded fingerprints that still tell shapes apart", () => {
  const cols = (prefix: string) =>
    Array.from({ length: 600 }, (_, i) => `${prefix}column_${i}`).join(", ");
  const a = fingerprint(`SELECT ${cols("a_")} FROM t WHERE x = 1`);
  const b = fingerprint(`SELECT ${cols("a_")} FROM u WHERE x = 1`);
  assertEquals(a.length < 2100, true);
  notStrictEqual(a, b);
  assertEquals(fingerprint(`SELECT ${cols("a_")} FROM t WHERE x = 2`), a);
});
