/**
 * `deno task bench cutover`: runs the fleets and the simulation, prints the
 * tables and the goals, and writes the JSON report.
 *
 * @module
 */

import { errorMessage } from "../../shared/errors.ts";
import { createLogger } from "../../shared/log.ts";
import type { CutoverBenchArgs } from "./args.ts";
import { runCutoverBenchmark } from "./cutover.ts";
import {
  type CutoverReport,
  fleetGoalRows,
  formatBreakdownTable,
  formatCutoverTable,
  formatGoalTable,
  formatGrowthTable,
  formatSimulationTable,
  simulationGoalRows,
} from "./cutover_report.ts";

const log = createLogger("bench-cutover");

/** Prints every table of `report` and the goals table. */
export function printCutoverReport(report: CutoverReport): void {
  const s = report.settings;
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(" ");
  const fleets = report.fleets.length === 0 ? "no fleet" : `${s.cutoversPerKind} consistent + ` +
    `${s.cutoversPerKind} immediate cutovers per fleet, directions alternating; ` +
    `${s.sessionsPerProxy} client sessions per proxy (${s.writers} writers in all, one probe ` +
    "per proxy, the rest idle)";
  console.log(
    `${fleets}; ${s.cpus} CPUs; load average ${load(s.loadAverage.before)} before, ` +
      `${load(s.loadAverage.after)} after`,
  );
  for (const f of report.fleets) {
    console.log("");
    console.log(`${f.proxies} proxies, ${f.clients} client sessions (${f.idleSessions} idle)`);
    console.log(formatCutoverTable(f.rows));
    if (f.breakdown) console.log(formatBreakdownTable(f.breakdown));
  }
  if (report.fleets.length > 1) {
    console.log("");
    console.log(formatGrowthTable(report.fleets));
  }
  if (report.simulation) {
    console.log("");
    console.log(formatSimulationTable(report.simulation));
  }
  console.log("");
  console.log(formatGoalTable([
    ...report.fleets.flatMap(fleetGoalRows),
    ...(report.simulation ? simulationGoalRows(report.simulation) : []),
  ]));
  for (const note of s.notes) console.log(`- ${note}`);
  const errors = [
    ...report.fleets.flatMap((f) => f.errors.map((e) => `${f.proxies} proxies: ${e}`)),
    ...(report.simulation?.errors ?? []).map((e) => `simulation: ${e}`),
  ];
  if (errors.length > 0) {
    console.log(`errors (${errors.length}):`);
    for (const e of errors.slice(0, 20)) console.log(`  ${e}`);
  }
}

/** Runs, prints and optionally writes the JSON report; the exit code of `deno task bench cutover`. */
export async function cutoverMain(args: CutoverBenchArgs): Promise<number> {
  try {
    const report = await runCutoverBenchmark(args);
    printCutoverReport(report);
    if (args.jsonPath) {
      await Deno.writeTextFile(args.jsonPath, JSON.stringify(report, null, 2) + "\n");
      log.info("wrote the JSON report", { path: args.jsonPath });
    }
    return 0;
  } catch (err) {
    log.error("cutover benchmark failed", { error: errorMessage(err) });
    return 1;
  }
}
