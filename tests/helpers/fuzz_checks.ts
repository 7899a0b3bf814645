/**
 * What a short fixed-seed fuzz round must show for the proxy to pass, the
 * same for either wire protocol.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { FuzzReport } from "../fuzz/round.ts";

/**
 * Asserts the round tried inputs and found no crash, hang, leaked backend,
 * witness error or memory past the bound that the proxy is to blame for;
 * returns the report as one JSON line (findings counted, not listed).
 */
export function assertCleanRound(report: FuzzReport): string {
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
  return summary;
}
