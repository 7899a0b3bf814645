import assert from "node:assert/strict";
import { LmsError } from "../../shared/errors.ts";
import { parseCutoverArgs } from "../bench/args.ts";
import {
  type CutoverSample,
  heldBreakdown,
  judgeGoals,
  percentile,
  summarizeCutovers,
} from "../bench/cutover_report.ts";

function sample(over: Partial<CutoverSample>): CutoverSample {
  return {
    index: 1,
    kind: "consistent",
    from: "source",
    to: "target",
    apiMs: 5,
    propagationMs: 10,
    perProxyMs: [10],
    heldMs: 100,
    beginApiMs: 8,
    drainMs: 40,
    catchUpMs: 20,
    drainedToCaughtUpMs: 25,
    heldExcessMs: 40,
    errors: 0,
    lostWrites: 0,
    ...over,
  };
}

Deno.test("percentile is nearest-rank", () => {
  assert.equal(percentile([], 99), 0);
  assert.equal(percentile([5, 1, 3], 50), 3);
  const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
  assert.equal(percentile(twenty, 99), 20);
  assert.equal(percentile(twenty, 50), 10);
});

Deno.test("summarizeCutovers groups by kind and direction and adds an all row", () => {
  const samples = [
    sample({ propagationMs: 10, heldExcessMs: 30 }),
    sample({ from: "target", to: "source", propagationMs: 120, catchUpMs: null, lostWrites: null }),
    sample({
      kind: "immediate",
      propagationMs: 7,
      drainMs: null,
      catchUpMs: null,
      heldExcessMs: null,
      lostWrites: null,
      errors: 2,
    }),
  ];
  const rows = summarizeCutovers(samples);
  assert.deepEqual(
    rows.map((r) => `${r.kind} ${r.direction} ${r.n}`),
    [
      "consistent source->target 1",
      "consistent target->source 1",
      "consistent all 2",
      "immediate source->target 1",
      "immediate all 1",
    ],
  );
  const consistent = rows[2];
  assert.equal(consistent.propagationMaxMs, 120);
  assert.equal(consistent.heldExcessMaxMs, 40);
  assert.equal(consistent.drainCatchUpP50Ms, 40);
  assert.equal(consistent.lostWrites, 0);
  assert.equal(rows[4].drainCatchUpP50Ms, null);
  assert.equal(rows[4].lostWrites, null);

  const goals = judgeGoals(rows);
  assert.equal(goals.met.propagation, false, "120 ms is over the 100 ms goal");
  assert.equal(goals.met.held, true);
  assert.equal(goals.met.noErrors, false);
  assert.equal(goals.met.noLostWrites, true);
});

Deno.test("heldBreakdown takes medians of source->target consistent cutovers only", () => {
  assert.equal(heldBreakdown([sample({ kind: "immediate" })]), null);
  const b = heldBreakdown([
    sample({ drainMs: 10 }),
    sample({ drainMs: 30 }),
    sample({ drainMs: 20 }),
    sample({ from: "target", to: "source", drainMs: 500 }),
  ]);
  assert.equal(b?.n, 3);
  assert.equal(b?.drainMs, 20);
});

Deno.test("parseCutoverArgs reads its flags and rejects bad values", () => {
  assert.deepEqual(parseCutoverArgs([]), {
    help: false,
    cutovers: 20,
    fleets: [3, 10],
    sessionsPerProxy: 100,
    simProxies: 200,
    simCutovers: 20,
    jsonPath: undefined,
  });
  assert.deepEqual(
    parseCutoverArgs([
      "--cutovers",
      "3",
      "--fleets",
      "2, 4",
      "--sessions",
      "10",
      "--sim-proxies",
      "0",
      "--json",
      "/tmp/x.json",
    ]),
    {
      help: false,
      cutovers: 3,
      fleets: [2, 4],
      sessionsPerProxy: 10,
      simProxies: 0,
      simCutovers: 20,
      jsonPath: "/tmp/x.json",
    },
  );
  assert.deepEqual(parseCutoverArgs(["--fleets", "none"]).fleets, []);
  assert.throws(() => parseCutoverArgs(["--cutovers", "0"]), LmsError);
  assert.throws(() => parseCutoverArgs(["--fleets", "3,x"]), /--fleets must be an integer/);
  assert.throws(() => parseCutoverArgs(["--sim-proxies", "-1"]), LmsError);
  assert.throws(() => parseCutoverArgs(["--rounds", "2"]), LmsError);
});

Deno.test("judgeGoals takes the fleet-scale propagation bound", () => {
  const rows = summarizeCutovers([sample({ propagationMs: 60 })]);
  assert.equal(judgeGoals(rows).met.propagation, true);
  assert.equal(judgeGoals(rows, 50).met.propagation, false);
  assert.equal(judgeGoals(rows, 50).propagationP99UnderMs, 50);
});
