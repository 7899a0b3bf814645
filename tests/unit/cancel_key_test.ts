import assert from "node:assert/strict";
import { processIdFor, proxyTag, proxyTagOf } from "../../shared/cancel_key.ts";

Deno.test("cancel key carries the proxy's tag and a positive int32", () => {
  const ids = ["lms-molt-lms-0", "lms-molt-lms-1", "proxy-a", "", "ünïcode-pod"];
  const seqs = [0, 1, 2, 12345, 0x1fffff, 0x200000, 0x200001, 2 ** 31, -5];
  for (const id of ids) {
    const tag = proxyTag(id);
    assert.ok(tag >= 0 && tag < 1024, `tag ${tag} out of range`);
    for (const seq of seqs) {
      const pid = processIdFor(id, seq);
      assert.ok(Number.isInteger(pid) && pid > 0 && pid <= 0x7fffffff, `pid ${pid} for ${seq}`);
      assert.equal(proxyTagOf(pid), tag);
      assert.equal(pid | 0, pid, "fits a signed int32 unchanged");
    }
  }
});

Deno.test("consecutive sessions of one proxy get distinct keys", () => {
  const seen = new Set<number>();
  for (let seq = 1; seq <= 5000; seq++) seen.add(processIdFor("p", seq));
  assert.equal(seen.size, 5000);
});

Deno.test("proxy tags are stable and spread over the 10-bit space", () => {
  assert.equal(proxyTag("lms-0"), proxyTag("lms-0"));
  const tags = new Set<number>();
  for (let i = 0; i < 200; i++) tags.add(proxyTag(`lms-molt-lms-${i}`));
  // 200 ids over 1024 buckets: a working hash leaves few collisions.
  assert.ok(tags.size > 170, `only ${tags.size} distinct tags for 200 ids`);
  assert.notEqual(proxyTag("a"), proxyTag("b"));
});
