/**
 * The MySQL front's fixed-seed fuzz round (the long one is
 * `deno task fuzz --wire mysql --minutes N`): mutated mysql2 and sysbench
 * sessions against a real proxy process in front of a real MariaDB must
 * never crash the proxy, leave a connection open after the client
 * half-closed, leak a database session or grow its memory past the bound,
 * and the well-behaved mysql2 client beside them must get every answer right.
 * First, the unmutated corpus must still log in and run, or the round would
 * only fuzz the handshake.
 */

import assert from "node:assert/strict";
import { loadCorpus } from "../fuzz/corpus.ts";
import { startFuzzDatabase } from "../fuzz/databases.ts";
import { replay } from "../fuzz/replay.ts";
import { runFuzzRound } from "../fuzz/round.ts";
import { assertCleanRound } from "../helpers/fuzz_checks.ts";
import { startWatchedProxy } from "../helpers/watched_proxy.ts";

const SEED = 20261202;

Deno.test("the MySQL corpus replays past the handshake", async () => {
  await using db = await startFuzzDatabase("mysql");
  const corpus = await loadCorpus(db.corpusDir);
  assert.deepEqual(
    [...new Set(corpus.map((s) => s.client.replace(/-.*/, "")))].sort(),
    ["mysql2", "sysbench"],
  );
  const proxy = await startWatchedProxy({ ...db.proxyEnv, LMS_PROXY_ID: "fuzz-replay" });
  try {
    const text = corpus.find((s) => s.client === "mysql2-text")!;
    const result = await replay(proxy.port, text.chunks, { quietMs: 300, endBoundMs: 10_000 });
    assert.equal(result.outcome, "closed");
    // The 70 kB REPEAT row comes back only after a successful login.
    assert.ok(result.received > 70_000, `only ${result.received} bytes came back`);
  } finally {
    await proxy.stop();
  }
});

Deno.test("fuzzed MySQL sessions: no crash, no hang, witness undisturbed", async () => {
  const report = await runFuzzRound({ wire: "mysql", seconds: 20, seed: SEED, concurrency: 4 });
  assert.equal(report.wire, "mysql");
  const summary = assertCleanRound(report);
  console.log(summary);
});
