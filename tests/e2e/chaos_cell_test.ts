/**
 * One fixed cell of the fault matrix (`deno task test:chaos` runs them all):
 * a proxy killed with SIGKILL while the fleet is drained for a consistent
 * cutover under the 16-writer workload. No acknowledged write may be lost, no
 * write served by the old source of truth after its proxy moved on, the
 * fleet must converge on the stored epoch in time, and every client error
 * must be one a driver can retry.
 */

import assert from "node:assert/strict";
import { runCell } from "../chaos/cell.ts";

Deno.test("chaos: proxy kill -9 while drained", async () => {
  const r = await runCell("proxy-kill", "drained");
  const summary = JSON.stringify(r);
  assert.ok(r.acked > 0, summary);
  assert.equal(r.cutover, "committed", summary);
  assert.equal(r.lost, 0, summary);
  assert.equal(r.stale, 0, summary);
  assert.notEqual(r.convergeMs, null, summary);
  assert.ok(r.convergeMs! <= r.convergeBoundMs, summary);
  assert.deepEqual(r.nonRetryable, [], summary);
  assert.ok(r.pass, summary);
});
