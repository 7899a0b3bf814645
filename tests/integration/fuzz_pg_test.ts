/**
 * A short fixed-seed fuzz round against a real proxy process in front of a
 * real PostgreSQL (the long one is `deno task fuzz --minutes N`): mutated
 * captured sessions must never crash the proxy, leave a connection open after
 * the client half-closed, leak a database session or grow its memory past the
 * bound, and the well-behaved client beside them must get every answer right.
 */

import assert from "node:assert/strict";
import { runFuzzRound } from "../fuzz/round.ts";

const SEED = 20261201;

Deno.test("fuzzed PostgreSQL sessions: no crash, no hang, witness undisturbed", async () => {
  const report = await runFuzzRound({ seconds: 20, seed: SEED, concurrency: 4 });
  const summary = JSON.stringify({ ...report, findings: report.findings.length });
  assert.ok(report.inputs > 0, `no input was tried: ${summary}`);
  assert.equal(report.crashes, 0, `crashes: ${JSON.stringify(report.findings)}`);
  // A hang or witness timeout counts against the proxy unless the database itself stalled then.
  assert.equal(
    report.hangs - report.hangsInDatabaseStalls,
    0,
    `hangs: ${JSON.stringify(report.findings)}`,
  );
  assert.equal(report.leakedBackends, 0, summary);
  assert.ok(report.witness.queries > 0, summary);
  assert.equal(report.witness.errorCount, report.witnessTimeoutsInDatabaseStalls, summary);
  assert.ok(report.maxRssBytes <= report.rssLimitBytes, summary);
  assert.ok(report.pass, summary);
});
