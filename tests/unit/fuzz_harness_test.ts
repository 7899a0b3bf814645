/**
 * The fuzz harness's own parts: mutations are deterministic per (seed,
 * index) and actually change the bytes, the framer finds the messages of a
 * captured session, and a replay against a server that never closes after
 * the client's EOF is classified as a hang (so a hang in the proxy would be seen).
 */

import assert from "node:assert/strict";
import { concatBytes } from "../../shared/bytes.ts";
import { CORPUS_DIR, loadCorpus } from "../fuzz/corpus.ts";
import { frames, FRAMINGS, GROWTH_BUDGET_BYTES, makeInput, mysqlFrames } from "../fuzz/mutate.ts";
import { replay } from "../fuzz/replay.ts";
import { overlapsAny, WitnessRecorder } from "../fuzz/witness.ts";

Deno.test("mutations are deterministic and change the session", async () => {
  const corpus = await loadCorpus();
  let changed = 0;
  for (let i = 0; i < 200; i++) {
    const a = makeInput(corpus, 7, i);
    const b = makeInput(corpus, 7, i);
    assert.deepEqual(a, b);
    const base = corpus.find((s) => s.name === a.base)!;
    const before = concatBytes(base.chunks);
    const after = concatBytes(a.chunks);
    if (
      a.chunks.length !== base.chunks.length || before.length !== after.length ||
      before.some((x, j) => x !== after[j])
    ) changed++;
  }
  // resplit/coalesce of a one-chunk session and byteSet of an equal byte can leave it as it was.
  assert.ok(changed >= 180, `only ${changed} of 200 inputs differ from their session`);
  assert.notDeepEqual(makeInput(corpus, 7, 0).chunks, makeInput(corpus, 8, 0).chunks);
});

Deno.test("the framer walks a captured session to its end", async () => {
  for (const s of await loadCorpus()) {
    const buf = concatBytes(s.chunks);
    const fs = frames(buf);
    assert.ok(fs.length >= 2, `${s.name}: ${fs.length} messages`);
    assert.equal(fs[fs.length - 1].end, buf.length, s.name);
  }
});

Deno.test("the MySQL framer walks each captured MySQL session; its mutations are deterministic", async () => {
  const corpus = await loadCorpus(`${CORPUS_DIR}mysql/`);
  for (const s of corpus) {
    const buf = concatBytes(s.chunks);
    const fs = mysqlFrames(buf);
    assert.ok(fs.length >= 3, `${s.name}: ${fs.length} packets`);
    assert.equal(fs[fs.length - 1].end, buf.length, s.name);
    // The first packet is the HandshakeResponse, numbered 1 after the server's greeting.
    assert.equal(buf[3], 1, s.name);
  }
  let lengthEdits = 0;
  for (let i = 0; i < 200; i++) {
    const a = makeInput(corpus, 11, i, FRAMINGS.mysql);
    assert.deepEqual(a, makeInput(corpus, 11, i, FRAMINGS.mysql));
    if (a.mutations.includes("lengthField")) lengthEdits++;
  }
  assert.ok(lengthEdits > 0);
});

Deno.test("no input grows past the growth budget, and the budget is reached", async () => {
  const corpus = await loadCorpus(`${CORPUS_DIR}mysql/`);
  let nearBudget = 0;
  for (let i = 0; i < 800; i++) {
    const a = makeInput(corpus, 42, i, FRAMINGS.mysql);
    const base = corpus.find((s) => s.name === a.base)!;
    const growth = concatBytes(a.chunks).length - concatBytes(base.chunks).length;
    // byteInsert adds at most 16 bytes on top of the budget, once per stacked mutation.
    assert.ok(growth <= GROWTH_BUDGET_BYTES + 4 * 16, `input ${i} grew by ${growth} bytes`);
    if (growth > GROWTH_BUDGET_BYTES / 2) nearBudget++;
  }
  // Input 157 of seed 42 once repeated sysbench's 19 KB INSERT to 2.2 MB; now it and 2 more
  // reach the budget, so duplication is capped rather than gone.
  assert.ok(nearBudget >= 2, `only ${nearBudget} inputs grew by more than half the budget`);
});

Deno.test("the witness recorder keeps stalls and timeouts, and only timeouts can meet a stall", async () => {
  const clock = performance.now();
  const w = new WitnessRecorder(clock, 50);
  await w.time(() => new Promise((r) => setTimeout(r, 80)));
  await w.time(() => Promise.resolve());
  await assert.rejects(w.time(() => Promise.reject(new Error("boom"))));
  w.fail("query 7: Query inactivity timeout");
  w.fail("wrong answer for 8: {}");
  const r = w.report;
  assert.equal(r.queries, 2);
  assert.equal(r.stalls.length, 1);
  assert.ok(r.stalls[0].toS >= r.stalls[0].fromS);
  assert.equal(r.errorCount, 2);
  assert.equal(r.timeoutsAtS.length, 1, "a wrong answer is never a timeout");
  const stalls = [{ fromS: 10, toS: 20 }];
  assert.ok(overlapsAny(stalls, { fromS: 15, toS: 25 }));
  assert.ok(overlapsAny(stalls, { fromS: 5, toS: 11 }));
  assert.ok(!overlapsAny(stalls, { fromS: 20, toS: 30 }));
  assert.ok(!overlapsAny([], { fromS: 0, toS: 100 }));
});

Deno.test("a server that ignores the client's EOF is a hang; one that closes is not", async () => {
  const held: Deno.Conn[] = [];
  const sticky = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closing = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const c of sticky) held.push(c);
  })();
  (async () => {
    for await (const c of closing) {
      (async () => {
        const buf = new Uint8Array(1024);
        while ((await c.read(buf)) !== null) {
          // read to EOF
        }
        c.close();
      })();
    }
  })();
  try {
    const bytes = [new TextEncoder().encode("hello")];
    const bounds = { quietMs: 50, endBoundMs: 500 };
    const hung = await replay((sticky.addr as Deno.NetAddr).port, bytes, bounds);
    assert.equal(hung.outcome, "hang");
    const closed = await replay((closing.addr as Deno.NetAddr).port, bytes, bounds);
    assert.equal(closed.outcome, "closed");
  } finally {
    sticky.close();
    closing.close();
    for (const c of held) c.close();
  }
});
