/**
 * `deno task bench cutover`: how long a cutover takes to reach every proxy's
 * data path, and how long a consistent cutover holds client requests beyond
 * the drain and replication catch-up it has to wait for.
 *
 * For each fleet size, a real fleet (source and target clusters with logical
 * replication from source to target, an orchestrator, N proxies) carries
 * `--sessions` client sessions per proxy: 16 of them in all run the writer
 * workload, one per proxy is a probe, the rest are idle sessions that must move
 * with every cutover and still work at the end. Fleet sizes run one after the
 * other in one run, so their figures compare (`cutover_sim.ts` adds the
 * orchestrator-only simulation). Consistent cutovers run back to back with alternating directions,
 * then immediate ones. Nothing replicates from the target back to the source,
 * so a target→source consistent cutover commits as soon as the fleet drained
 * (with `skipReplicationCheck`, no catch-up time), and the lost-write check
 * runs only after source→target consistent cutovers. Shadowing is off, so the
 * immediate cutovers are forced past the shadow-mode guard.
 *
 * @module
 */

import pg from "pg";
import { API_PATHS, type StatusResponse } from "../../shared/api.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import { createLogger } from "../../shared/log.ts";
import { apiHeaders, type Fleet, startFleet, waitForProxies } from "../helpers/fleet.ts";
import { startWorkload, type Workload, WORKLOAD_SCHEMA } from "../helpers/workload.ts";
import { type IdleSessions, openIdleSessions } from "./cutover_idle.ts";
import { runSimulation } from "./cutover_sim.ts";
import type { CutoverBenchArgs } from "./args.ts";
import { CleanupStack } from "./cleanup.ts";
import { type Probe, startProbe } from "./cutover_probe.ts";
import {
  type CutoverKind,
  type CutoverReport,
  type CutoverSample,
  type FleetReport,
  heldBreakdown,
  judgeGoals,
  summarizeCutovers,
} from "./cutover_report.ts";

const log = createLogger("bench-cutover");

const WRITERS = 16;
/** The goal for commit -> every proxy on the new epoch, from this fleet size up. */
const FLEET_SCALE_PROXIES = 10;
const DRAIN_TIMEOUT_MS = 30_000;
const CATCH_UP_TIMEOUT_MS = 30_000;
const PROPAGATION_TIMEOUT_MS = 60_000;
const STATUS_POLL_MS = 2;
/** After a cutover: this long, and this many new acknowledged writes, before the next one. */
const SETTLE_MS = 200;
const SETTLE_WRITES = 100;
const SETTLE_TIMEOUT_MS = 60_000;

const NOTES = [
  "the source runs with synchronous_commit = on (PostgreSQL's default; the throwaway clusters " +
  "turn it off, which delays logical replication by the WAL writer's 200 ms cycle)",
  "propagation: commit/immediate API call returned -> first answer from the new database on " +
  "every proxy's probe session (SELECT inet_server_port() in a loop), clamped at 0",
  "held: longest single workload request during the cutover (reset before begin)",
  "drain: begin sent -> status first shows phase drained (status polled every ~2 ms)",
  "catch-up: the orchestrator's replication lagMs (marker written -> seen on the target); " +
  "source->target only, target->source has no replication back and commits with " +
  "skipReplicationCheck",
  "lost writes: acknowledged ids missing on the target, checked after every source->target " +
  "consistent cutover",
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const other = (side: DatabaseSide): DatabaseSide => side === "source" ? "target" : "source";

/** Runs the cutover benchmark with `args`; returns the report (not printed). */
export async function runCutoverBenchmark(args: CutoverBenchArgs): Promise<CutoverReport> {
  const startedAt = new Date().toISOString();
  const loadBefore = await loadAverage();
  const fleets: FleetReport[] = [];
  for (const proxies of args.fleets) {
    const cleanup = new CleanupStack(log);
    cleanup.exitOnSignals();
    const samples: CutoverSample[] = [];
    try {
      const fleet = await benchmark(args, proxies, cleanup, samples);
      fleets.push(fleet);
      log.info("fleet measured", { proxies, rows: fleet.rows, errors: fleet.errors.length });
    } catch (err) {
      // A fleet that cannot finish is a result too: what it measured, and why it stopped.
      log.error("fleet failed", { proxies, error: errorMessage(err) });
      fleets.push(failedFleet(proxies, args, samples, errorMessage(err)));
    } finally {
      await cleanup.runAll();
    }
  }
  const simulation = args.simProxies > 0
    ? await runSimulation({ proxies: args.simProxies, cutovers: args.simCutovers })
    : null;
  return {
    startedAt,
    settings: {
      cutoversPerKind: args.cutovers,
      sessionsPerProxy: args.sessionsPerProxy,
      writers: WRITERS,
      cpus: navigator.hardwareConcurrency,
      deno: Deno.version.deno,
      loadAverage: { before: loadBefore, after: await loadAverage() },
      notes: NOTES,
    },
    fleets,
    simulation,
  };
}

function failedFleet(
  proxies: number,
  args: CutoverBenchArgs,
  samples: CutoverSample[],
  error: string,
): FleetReport {
  const rows = summarizeCutovers(samples);
  const goals = judgeGoals(rows, proxies >= FLEET_SCALE_PROXIES ? 50 : 100);
  goals.met.noErrors = false;
  return {
    proxies,
    clients: proxies * args.sessionsPerProxy,
    idleSessions: 0,
    rows,
    breakdown: heldBreakdown(samples),
    goals,
    samples,
    errors: [`the run stopped: ${error}`],
  };
}

/** The 1-, 5- and 15-minute load averages (`/proc/loadavg`): the machine is shared. */
async function loadAverage(): Promise<number[]> {
  const text = await Deno.readTextFile("/proc/loadavg");
  return text.split(" ").slice(0, 3).map(Number);
}

interface Bench {
  fleet: Fleet;
  workload: Workload;
  probes: Probe[];
  verifier: pg.Client;
  idle: IdleSessions;
  /** How many of `workload.acked` (in insertion order) were already found on the target. */
  verified: number;
  side: DatabaseSide;
  samples: CutoverSample[];
}

async function benchmark(
  args: CutoverBenchArgs,
  proxies: number,
  cleanup: CleanupStack,
  samples: CutoverSample[],
): Promise<FleetReport> {
  log.info("starting the fleet", { proxies });
  const fleet = await startFleet({
    proxies,
    schema: WORKLOAD_SCHEMA,
    replicate: ["acked"],
    proxyEnv: { LMS_MAX_PAUSE: "30s" },
  });
  cleanup.push("dispose the fleet", async () => await fleet[Symbol.asyncDispose]());
  // The throwaway clusters turn synchronous_commit off; then a commit reaches the WAL sender only
  // when the WAL writer flushes (every 200 ms), which would add ~400 ms to every catch-up that
  // a production source with the default setting does not have.
  await fleet.source.psql("ALTER SYSTEM SET synchronous_commit = on");
  await fleet.source.psql("SELECT pg_reload_conf()");
  await waitForProxies(fleet.orchestrator.url, proxies);
  const ports = fleet.proxies.map((p) => p.port);

  const idlePerProxy = ports.map((_, i) =>
    Math.max(0, args.sessionsPerProxy - 1 - Math.ceil((WRITERS - i) / proxies))
  );
  const idle = await openIdleSessions(ports, idlePerProxy);
  cleanup.push("close the idle sessions", () => idle.close());
  const workload = await startWorkload(ports, WRITERS);
  cleanup.push("stop the workload", () => workload.stop());
  const probes: Probe[] = [];
  for (const port of ports) {
    const probe = await startProbe(port);
    probes.push(probe);
    cleanup.push("stop a probe", () => probe.stop());
  }
  const verifier = new pg.Client({ host: "127.0.0.1", port: fleet.target.port, user: "postgres" });
  await verifier.connect();
  cleanup.push("close the verifier", () => verifier.end());

  const bench: Bench = {
    fleet,
    workload,
    probes,
    verifier,
    idle,
    verified: 0,
    side: "source",
    samples,
  };
  // Runs before the workload and probes stop: their requests held by a paused fleet would
  // otherwise wait out the proxies' maximum pause.
  cleanup.push("abort an unfinished consistent cutover", () => abortUnfinished(bench));
  await settle(bench);
  for (const kind of ["consistent", "immediate"] as const) {
    for (let i = 0; i < args.cutovers; i++) {
      const sample = await cutover(bench, kind);
      bench.samples.push(sample);
      log.info("cutover", {
        n: sample.index,
        kind,
        to: sample.to,
        propagationMs: round(sample.propagationMs),
        heldMs: round(sample.heldMs),
        heldExcessMs: sample.heldExcessMs === null ? null : round(sample.heldExcessMs),
      });
    }
  }

  const idleBroken = await idle.check();
  const rows = summarizeCutovers(bench.samples);
  return {
    proxies,
    clients: proxies + WRITERS + idle.count,
    idleSessions: idle.count,
    rows,
    breakdown: heldBreakdown(bench.samples),
    goals: judgeGoals(rows, proxies >= FLEET_SCALE_PROXIES ? 50 : 100),
    samples: bench.samples,
    errors: [
      ...workload.errors,
      ...probes.flatMap((p) => p.errors),
      ...idle.errors,
      ...idleBroken,
    ],
  };
}

/** Runs one cutover of `kind` to the other side and measures it. */
async function cutover(b: Bench, kind: CutoverKind): Promise<CutoverSample> {
  const from = b.side;
  const to = other(from);
  const newPort = to === "target" ? b.fleet.target.port : b.fleet.source.port;
  const errorsBefore = b.workload.errors.length + b.idle.errors.length;
  b.workload.resetLatency();
  const answers = b.probes.map((p) => p.nextAnswerFrom(newPort, PROPAGATION_TIMEOUT_MS));

  let beginApiMs: number | null = null;
  let drainMs: number | null = null;
  let catchUpMs: number | null = null;
  let drainedToCaughtUpMs: number | null = null;
  let apiPath: string = API_PATHS.immediate;
  let body: Record<string, unknown> = { from, force: true };
  if (kind === "consistent") {
    const begun = performance.now();
    await post(b, API_PATHS.consistentBegin, { from, drainTimeoutMs: DRAIN_TIMEOUT_MS });
    beginApiMs = performance.now() - begun;
    await until(b, "the fleet drained", DRAIN_TIMEOUT_MS, (s) => s.phase === "drained");
    const drained = performance.now();
    drainMs = drained - begun;
    if (to === "target") {
      const s = await until(
        b,
        "replication caught up",
        CATCH_UP_TIMEOUT_MS,
        (s) => s.cutover?.replication.caughtUp === true,
      );
      drainedToCaughtUpMs = performance.now() - drained;
      catchUpMs = s.cutover?.replication.lagMs ?? null;
    }
    apiPath = API_PATHS.consistentCommit;
    body = to === "target" ? { from } : { from, skipReplicationCheck: true };
  }
  const sent = performance.now();
  await post(b, apiPath, body);
  const returned = performance.now();
  b.side = to;

  const seen = await Promise.all(answers);
  const perProxyMs = seen.map((at, i) => {
    if (at === undefined) {
      throw new LmsError(
        "TIMEOUT",
        `the probe through proxy port ${b.probes[i].proxyPort} got no answer from the ${to} ` +
          `database within ${PROPAGATION_TIMEOUT_MS} ms of the ${kind} cutover`,
        "look at the proxies' logs (LMS_TEST_LOG_LEVEL=info) for the session move",
      );
    }
    return at - returned;
  });
  await settle(b);
  const heldMs = b.workload.maxLatencyMs();
  const lostWrites = kind === "consistent" && to === "target" ? await lostWritesOnTarget(b) : null;
  return {
    index: b.samples.length + 1,
    kind,
    from,
    to,
    apiMs: returned - sent,
    propagationMs: Math.max(0, ...perProxyMs),
    perProxyMs: perProxyMs.map(round),
    heldMs,
    beginApiMs,
    drainMs,
    catchUpMs,
    drainedToCaughtUpMs,
    heldExcessMs: drainMs === null ? null : heldMs - (drainMs + (catchUpMs ?? 0)),
    errors: b.workload.errors.length + b.idle.errors.length - errorsBefore,
    lostWrites,
  };
}

/** Waits until the writers have moved on after a cutover (and held requests have returned). */
async function settle(b: Bench): Promise<void> {
  const started = performance.now();
  const acked = b.workload.acked.size;
  await sleep(SETTLE_MS);
  while (b.workload.acked.size < acked + SETTLE_WRITES) {
    if (performance.now() - started > SETTLE_TIMEOUT_MS) {
      throw new LmsError(
        "TIMEOUT",
        `the workload acknowledged only ${b.workload.acked.size - acked} writes in ` +
          `${SETTLE_TIMEOUT_MS} ms after a cutover`,
        "writers are stuck; look at the proxies' logs and the workload errors",
      );
    }
    await sleep(10);
  }
}

/**
 * Counts acknowledged writes not yet verified that are missing on the target.
 * Every write acknowledged so far was made either on the target or on the
 * source before a drain whose replication caught up, so all must be there.
 */
async function lostWritesOnTarget(b: Bench): Promise<number> {
  const ids = [...b.workload.acked].slice(b.verified);
  const res = await b.verifier.query<{ missing: string }>(
    "SELECT count(*) AS missing FROM unnest($1::bigint[]) AS x(id) " +
      "WHERE NOT EXISTS (SELECT 1 FROM acked a WHERE a.id = x.id)",
    [ids],
  );
  const missing = Number(res.rows[0].missing);
  if (missing === 0) b.verified += ids.length;
  return missing;
}

async function abortUnfinished(b: Bench): Promise<void> {
  const s = await status(b);
  if (s.phase !== "idle") await post(b, API_PATHS.consistentAbort, {});
}

async function post(b: Bench, path: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${b.fleet.orchestrator.url}${path}`, {
    method: "POST",
    headers: apiHeaders(),
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    throw new LmsError(
      "ORCHESTRATOR_REFUSED",
      `POST ${path} answered ${res.status}: ${text}`,
      "the orchestrator refused a cutover step; see its message",
    );
  }
}

async function status(b: Bench): Promise<StatusResponse> {
  const res = await fetch(`${b.fleet.orchestrator.url}${API_PATHS.status}`);
  if (!res.ok) {
    throw new LmsError(
      "ORCHESTRATOR_BAD_RESPONSE",
      `GET ${API_PATHS.status} answered ${res.status}: ${await res.text()}`,
      "look at the orchestrator's log",
    );
  }
  return await res.json() as StatusResponse;
}

async function until(
  b: Bench,
  what: string,
  timeoutMs: number,
  done: (s: StatusResponse) => boolean,
): Promise<StatusResponse> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const s = await status(b);
    if (done(s)) return s;
    if (s.cutover?.drainTimedOut || s.cutover?.replication.error) {
      throw new LmsError(
        "CUTOVER_INTERRUPTED",
        `waiting for ${what}: ${s.cutover.replication.error ?? "the drain timed out"} (blocking: ${
          JSON.stringify(s.cutover.blocking)
        })`,
        "look at the orchestrator's and proxies' logs",
      );
    }
    if (performance.now() > deadline) {
      throw new LmsError(
        "TIMEOUT",
        `${what} did not happen within ${timeoutMs} ms (phase ${s.phase})`,
        "look at the orchestrator's and proxies' logs",
      );
    }
    await sleep(STATUS_POLL_MS);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
