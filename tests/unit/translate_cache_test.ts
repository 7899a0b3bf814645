/** The translation cache (LRU by text, per-table invalidation) and prepared statements by id. */

import assert from "node:assert/strict";
import { PreparedStatements, TranslationCache } from "../../proxy/translate/cache.ts";
import type { Translation } from "../../proxy/translate/types.ts";
import { unitTranslator } from "../helpers/translate.ts";

function entry(sql: string, tables: string[] = []) {
  const value: Translation = {
    sql,
    followUp: [],
    params: [],
    clientParamCount: 0,
    kind: "select",
    returnsRows: true,
    generatedKey: null,
    affectedRows: "plain",
    proposedRows: 0,
    foundRowsColumn: null,
    tx: null,
    invalidates: [],
  };
  return { ok: true as const, value, tables };
}

Deno.test("the cache drops the least recently used entry and counts hits and misses", () => {
  const cache = new TranslationCache(2);
  cache.set("a", entry("A"));
  cache.set("b", entry("B"));
  assert.equal(cache.get("a")?.ok, true);
  cache.set("c", entry("C"));
  assert.equal(cache.get("b"), undefined, "b was the least recently used");
  assert.ok(cache.get("a") && cache.get("c"));
  assert.equal(cache.size, 2);
  assert.deepEqual([cache.hits, cache.misses], [3, 1]);
});

Deno.test("invalidating a table drops only the entries that read it", () => {
  const cache = new TranslationCache();
  cache.set("x", entry("X", ["users"]));
  cache.set("y", entry("Y", ["posts"]));
  cache.invalidateTable("users");
  assert.equal(cache.get("x"), undefined);
  assert.ok(cache.get("y"));
});

Deno.test("prepared statements: ids map to text, translated through the shared cache", async () => {
  const translator = await unitTranslator();
  const session = new PreparedStatements();
  session.add(1, "SELECT name FROM users WHERE id = ?");
  session.add(2, "SELECT name FROM users WHERE id = ?");
  const first = await translator.translate(session.text(1)!);
  const second = await translator.translate(session.text(2)!);
  assert.equal(first, second, "one translation for one text");
  assert.equal(first.clientParamCount, 1);
  assert.equal(translator.cache.hits, 1);
  session.remove(1);
  assert.equal(session.text(1), undefined);
  assert.deepEqual(session.entries(), [[2, "SELECT name FROM users WHERE id = ?"]]);
});
