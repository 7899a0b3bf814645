/**
 * `deno task fuzz --minutes N [--wire postgres|mysql] [--seconds S] [--seed S] [--concurrency C] [--set KEY=VALUE]... [--json] [--out DIR]`:
 * fuzzes the PostgreSQL front (or, with `--wire mysql`, the MySQL front in
 * front of MariaDB) with mutated captured sessions and prints the
 * figures (inputs tried, crashes, hangs, max RSS, witness errors). Exits 1
 * when the round did not pass. Inputs behind crashes and hangs are written to
 * `--out` (default `tests/fuzz/findings/`) as replayable JSON. `--set` passes a
 * proxy setting (e.g. `--set LMS_MAX_MESSAGE_SIZE=1KiB` to fuzz the size limit).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runFuzzRound } from "./round.ts";

const MIB = 1024 * 1024;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string" },
      seconds: { type: "string" },
      seed: { type: "string" },
      wire: { type: "string", default: "postgres" },
      concurrency: { type: "string", default: "4" },
      json: { type: "boolean", default: false },
      set: { type: "string", multiple: true, default: [] },
      out: { type: "string", default: new URL("./findings/", import.meta.url).pathname },
    },
  });
  const seconds = values.seconds !== undefined
    ? Number(values.seconds)
    : Number(values.minutes ?? "1") * 60;
  const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
  const concurrency = Number(values.concurrency);
  for (const [name, v] of [["duration", seconds], ["seed", seed], ["concurrency", concurrency]]) {
    if (!Number.isFinite(v as number) || (v as number) < 0) {
      console.error(`fuzz: --${name} must be a non-negative number`);
      return 2;
    }
  }
  if (values.wire !== "postgres" && values.wire !== "mysql") {
    console.error(`fuzz: --wire must be postgres or mysql, not "${values.wire}"`);
    return 2;
  }
  const wire = values.wire;
  const proxyEnv: Record<string, string> = {};
  for (const kv of values.set) {
    const at = kv.indexOf("=");
    if (at < 1) {
      console.error(`fuzz: --set takes KEY=VALUE, not "${kv}"`);
      return 2;
    }
    proxyEnv[kv.slice(0, at)] = kv.slice(at + 1);
  }
  const report = await runFuzzRound({
    wire,
    seconds,
    seed,
    concurrency,
    proxyEnv,
    progress: values.json ? undefined : (n) => console.error(`… ${n} inputs`),
  });
  if (report.findings.length > 0) {
    await Deno.mkdir(values.out, { recursive: true });
    for (const f of report.findings) {
      const file = `${values.out}/seed${seed}-${f.kind}-${f.index}.json`;
      await Deno.writeTextFile(file, JSON.stringify(f, null, 1) + "\n");
      if (!values.json) console.error(`finding written to ${file}`);
    }
  }
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const o = report.outcomes;
    console.log(
      [
        `wire                 ${report.wire}`,
        `seed                 ${report.seed}`,
        `duration             ${report.seconds} s, ${concurrency} connections at once`,
        `inputs tried         ${report.inputs}`,
        `  closed/reset/refused ${o.closed}/${o.reset}/${o.refused}`,
        `crashes              ${report.crashes}`,
        `hangs                ${report.hangs} (${report.hangsInDatabaseStalls} while the database itself stalled)`,
        `proxy RSS            start ${(report.startRssBytes / MIB).toFixed(1)} MiB, max ${
          (report.maxRssBytes / MIB).toFixed(1)
        } MiB (bound ${(report.rssLimitBytes / MIB).toFixed(0)} MiB)`,
        `proxy open fds       start ${report.fds.start}, end ${report.fds.end}`,
        `leaked DB sessions   ${report.leakedBackends}`,
        `witness              ${report.witness.queries} queries, ${report.witness.errorCount} errors, max ${
          report.witness.maxLatencyMs.toFixed(0)
        } ms`,
        `  of which timeouts while the database itself stalled: ${report.witnessTimeoutsInDatabaseStalls}`,
        ...report.witness.errors.map((e) => `  witness error: ${e}`),
        ...report.witness.slow.map((e) => `  witness slow answer ${e}`),
        `direct witness       ${report.directWitness.queries} queries, ${report.directWitness.errorCount} errors, max ${
          report.directWitness.maxLatencyMs.toFixed(0)
        } ms (straight to the database)`,
        ...report.directWitness.errors.map((e) => `  direct witness error: ${e}`),
        ...report.directWitness.slow.map((e) => `  direct witness slow answer ${e}`),
        ...report.directWitness.stalls.map((s) => `  database stall ${s.fromS}–${s.toS} s`),
        ...report.findings.map((f) => `  ${f.kind} at ${f.atSeconds} s: input ${f.index}`),
        `result               ${report.pass ? "PASS" : "FAIL"}`,
      ].join("\n"),
    );
  }
  return report.pass ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
