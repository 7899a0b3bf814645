/**
 * A short fixed-seed fuzz round against a real proxy process in front of a
 * real PostgreSQL (the long one is `deno task fuzz --minutes N`): mutated
 * captured sessions must never crash the proxy, leave a connection open after
 * the client half-closed, leak a database session or grow its memory past the
 * bound, and the well-behaved client beside them must get every answer right.
 */

import { runFuzzRound } from "../fuzz/round.ts";
import { assertCleanRound } from "../helpers/fuzz_checks.ts";

const SEED = 20261201;

Deno.test("fuzzed PostgreSQL sessions: no crash, no hang, witness undisturbed", async () => {
  const report = await runFuzzRound({ seconds: 20, seed: SEED, concurrency: 4 });
  assertCleanRound(report);
});
