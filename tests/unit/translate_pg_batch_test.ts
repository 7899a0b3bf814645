import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { serialize } from "pg-protocol";
import { encodeBatch } from "../../proxy/translate/pg_batch.ts";
import type { PgStep } from "../../proxy/translate/target_connection.ts";

/** The same batch as pg-protocol's serializer encodes it, message by message. */
function reference(steps: PgStep[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const step of steps) {
    if (step.sql !== undefined) {
      parts.push(serialize.parse({ text: step.sql, types: step.paramTypes ?? [] }));
    }
    parts.push(serialize.bind({
      statement: step.statement ?? "",
      values: step.params.map((v) => v === null || typeof v === "string" ? v : Buffer.from(v)),
      valueMapper: (v: unknown) => v,
      binary: false,
    }));
    if (step.fields === undefined) parts.push(serialize.describe({ type: "P", name: "" }));
    parts.push(serialize.execute({ portal: "", rows: 0 }));
  }
  parts.push(serialize.sync());
  return Buffer.concat(parts);
}

Deno.test("encodeBatch: the bytes pg-protocol's serializer gives for the same steps", () => {
  const cases: PgStep[][] = [
    [{ sql: "SELECT 1", params: [] }],
    [{ statement: "lms_7", params: ["42", null, "ünïcødé ✓", ""], fields: [] }],
    [{ statement: "lms_1", params: [new Uint8Array([0, 255, 7])], fields: null }],
    [
      { sql: "BEGIN", params: [] },
      { sql: "SELECT $1::int, $2", params: ["1", "x".repeat(1000)], paramTypes: [23, 0] },
      { sql: "COMMIT", params: [] },
    ],
  ];
  for (const steps of cases) {
    assert.deepEqual(
      Array.from(encodeBatch(steps)),
      Array.from(reference(steps)),
      JSON.stringify(steps),
    );
  }
});
