/**
 * Immediate cutover while shadowing in `sync` and `strict-sync`: the proxies
 * write every statement to both databases, so no replication is set up; after
 * switching the source of truth under load, both databases must hold every
 * acknowledged write exactly once.
 */

import assert from "node:assert/strict";
import { cli, eventually, startFleet, waitForProxies } from "../helpers/fleet.ts";
import { startWorkload } from "../helpers/workload.ts";

/** Without a primary key, so a write applied twice would show as a duplicate. */
const SCHEMA = "CREATE TABLE acked (id bigint NOT NULL, client int NOT NULL, tx text NOT NULL)";

for (const mode of ["sync", "strict-sync"]) {
  Deno.test(`immediate cutover under load in ${mode} mode loses and doubles nothing`, async () => {
    await using fleet = await startFleet({
      proxies: 2,
      schema: SCHEMA,
      replicate: [],
      proxyEnv: { LMS_SHADOW_MODE: mode },
    });
    await waitForProxies(fleet.orchestrator.url, 2);
    const workload = await startWorkload(fleet.proxies.map((p) => p.port), 8);
    try {
      await eventually("writes flow", () => workload.acked.size > 200);
      const res = await cli(fleet.orchestrator.url, ["cutover", "immediate", "--to", "target"]);
      assert.equal(res.code, 0, `${res.stderr}${res.stdout}`);
      const switched = workload.acked.size;
      await eventually(
        "writes continue after the switch",
        () => workload.acked.size > switched + 200,
      );
    } finally {
      await workload.stop();
    }
    assert.deepEqual(workload.errors, []);
    for (const db of [fleet.source, fleet.target]) {
      const [rows, distinct] = (await db.psql("SELECT count(*), count(DISTINCT id) FROM acked"))
        .split("|").map(Number);
      assert.equal(rows, distinct, `no doubled write on ${db.name}`);
      const ids = new Set((await db.psql("SELECT id FROM acked")).split("\n").map(Number));
      const missing = [...workload.acked].filter((id) => !ids.has(id));
      assert.deepEqual(missing, [], `every acknowledged write on ${db.name}`);
    }
  });
}
