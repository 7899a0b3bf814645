/**
 * `deno task test:chaos [--faults a,b] [--phases x,y] [--json FILE]`: runs the
 * fault matrix (every fault × every phase, one fresh fleet per cell), prints
 * the table faults × phases × outcomes and writes the JSON (default
 * `tests/reliability/chaos.json`). Exits 1 when a cell failed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type CellResult, type Phase, PHASES, runCell } from "./cell.ts";
import { type Fault, FAULTS } from "./faults.ts";
import { RETRYABLE } from "./writers.ts";

/** A cell as one table entry. */
function entry(r: CellResult): string {
  const errs = Object.entries(r.errors).map(([c, n]) => `${c}×${n}`).join(" ") || "none";
  return `${r.pass ? "PASS" : "FAIL"} lost ${r.lost}, stale ${r.stale}, converge ${
    r.convergeMs === null ? "never" : `${(r.convergeMs / 1000).toFixed(1)} s`
  }, ${r.cutover} (${r.endedOn}), errors ${errs}`;
}

/** The markdown table of `results`. */
export function table(results: CellResult[]): string {
  const phases = PHASES.filter((p) => results.some((r) => r.phase === p));
  const faults = FAULTS.filter((f) => results.some((r) => r.fault === f));
  const lines = [
    `| fault | ${phases.join(" | ")} |`,
    `| --- | ${phases.map(() => "---").join(" | ")} |`,
  ];
  for (const f of faults) {
    const cells = phases.map((p) => {
      const r = results.find((x) => x.fault === f && x.phase === p);
      return r ? entry(r) : "—";
    });
    lines.push(`| ${f} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      faults: { type: "string" },
      phases: { type: "string" },
      json: {
        type: "string",
        default: new URL("../reliability/chaos.json", import.meta.url).pathname,
      },
    },
  });
  const faults = (values.faults?.split(",") ?? [...FAULTS]) as Fault[];
  const phases = (values.phases?.split(",") ?? [...PHASES]) as Phase[];
  for (const f of faults) {
    if (!FAULTS.includes(f)) throw new Error(`unknown fault ${f}; one of ${FAULTS.join(", ")}`);
  }
  for (const p of phases) {
    if (!PHASES.includes(p)) throw new Error(`unknown phase ${p}; one of ${PHASES.join(", ")}`);
  }
  const results: CellResult[] = [];
  for (const fault of faults) {
    for (const phase of phases) {
      let r: CellResult;
      try {
        r = await runCell(fault, phase);
      } catch (err) {
        r = {
          fault,
          phase,
          cutover: "not committed",
          attempts: 0,
          endedOn: "unknown",
          acked: 0,
          lost: 0,
          stale: 0,
          convergeMs: null,
          convergeBoundMs: 0,
          errors: {},
          nonRetryable: [],
          pass: false,
          seconds: 0,
          notes: [`the cell failed to run: ${(err as Error).stack ?? err}`],
        };
      }
      results.push(r);
      console.error(`${fault} × ${phase}: ${entry(r)} [${r.seconds} s]`);
      for (const n of r.notes) console.error(`  ${n}`);
      await Deno.writeTextFile(
        values.json,
        JSON.stringify({ retryable: RETRYABLE.map(String), results }, null, 2) + "\n",
      );
    }
  }
  console.log(table(results));
  const failed = results.filter((r) => !r.pass).length;
  console.log(`\n${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
