/**
 * A consistent cutover as an operator runs it against a {@linkcode ChaosFleet}:
 * begin, wait for `drained`, commit (retrying while the replication check
 * catches up; the reverse direction skips it with `skipReplicationCheck`,
 * since nothing replicates back).
 *
 * @module
 */

import type { ChaosFleet } from "./chaos_fleet.ts";

/** Runs one cutover from `from`; null when it committed, else what went wrong. */
export async function consistentCutover(
  fleet: ChaosFleet,
  from: "source" | "target",
): Promise<string | null> {
  const begin = await fleet.api("POST", "/api/v1/cutover/consistent/begin", { from });
  if (begin?.status !== 200) return `begin: ${JSON.stringify(begin?.body)}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const s = await fleet.api("GET", "/api/v1/status");
    if (s?.body.phase === "drained") {
      const commit = await fleet.api(
        "POST",
        "/api/v1/cutover/consistent/commit",
        from === "source" ? { from } : { from, skipReplicationCheck: true },
      );
      if (commit?.status === 200) return null;
      const code = (commit?.body.error as { code?: string } | undefined)?.code;
      if (code !== "NOT_CAUGHT_UP") return `commit: ${JSON.stringify(commit?.body)}`;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await fleet.api("POST", "/api/v1/cutover/consistent/abort", {});
  return "not drained within 30 s: aborted";
}
