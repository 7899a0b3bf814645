/**
 * One cell of the fault matrix: a fresh fleet under the 16-writer workload,
 * a consistent cutover source → target, one fault injected at one phase of
 * it, the fleet brought back, the cutover finished the way an operator would
 * (commit when drained; abort and begin again when a drain is stuck), and the
 * checks:
 *
 * - lost: acknowledged writes missing from the source of truth the fleet ends on;
 * - stale: writes a proxy sent to the source after it had adopted epoch 1
 *   (from its log), or to the old source of truth after the commit was stored;
 * - converge: ms from the end of the fault and the cutover until every proxy
 *   runs the stored epoch unpaused (bound: LMS_MAX_PAUSE + 5 s);
 * - errors: every client error has a SQLSTATE a driver can retry.
 *
 * @module
 */

import pg from "pg";
import { type ChaosFleet, MAX_PAUSE_MS, startChaosFleet } from "./chaos_fleet.ts";
import { epochAt, lastState, routingEvents, settledOn } from "./epochs.ts";
import { type Fault, inject } from "./faults.ts";
import { retryable, startWriters } from "./writers.ts";

/** The phases of the cutover a fault is injected at, in table order. */
export const PHASES = ["steady", "draining", "drained", "committing", "after-commit"] as const;

/** One phase. */
export type Phase = typeof PHASES[number];

/** Slack on top of LMS_MAX_PAUSE for the fleet to converge. */
export const CONVERGE_SLACK_MS = 5_000;

/** The outcome of one cell. */
export interface CellResult {
  /** The fault. */
  fault: Fault;
  /** The phase it hit. */
  phase: Phase;
  /** How the cutover ended. */
  cutover: "committed" | "not committed";
  /** Begin attempts the operator needed. */
  attempts: number;
  /** Source of truth and epoch the fleet ended on (stored). */
  endedOn: string;
  /** Acknowledged writes. */
  acked: number;
  /** Acknowledged writes missing from the final source of truth. */
  lost: number;
  /** Writes served under an epoch older than one their proxy had adopted, or by the old SoT after commit. */
  stale: number;
  /** Ms to converge, or null when it did not within the bound + 20 s. */
  convergeMs: number | null;
  /** The convergence bound. */
  convergeBoundMs: number;
  /** Client errors by SQLSTATE (`connection`: broken socket). */
  errors: Record<string, number>;
  /** Errors a driver cannot retry (first 5 messages). */
  nonRetryable: string[];
  /** Whether every check held. */
  pass: boolean;
  /** Seconds the cell took. */
  seconds: number;
  /** What went wrong, when something did. */
  notes: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(fn: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(100);
  }
  return false;
}

async function phaseOf(fleet: ChaosFleet): Promise<string | undefined> {
  const s = await fleet.api("GET", "/api/v1/status");
  return s?.status === 200 ? String(s.body.phase) : undefined;
}

const BEGIN = { from: "source", drainTimeoutMs: 30_000 };
const COMMIT = { from: "source" };

/**
 * Drives the cutover to a commit as an operator would, for up to 60 s:
 * begin when idle on the source, commit when drained, abort a drain that
 * has not finished in 15 s. Returns the begin attempts made.
 */
async function finishCutover(fleet: ChaosFleet, begun: number, notes: string[]): Promise<number> {
  let attempts = begun;
  let drainingSince = 0;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const s = await fleet.api("GET", "/api/v1/status");
    if (s?.status !== 200) {
      await sleep(200);
      continue;
    }
    const { phase, sourceOfTruth } = s.body as { phase: string; sourceOfTruth: string };
    if (phase === "idle" && sourceOfTruth === "target") return attempts;
    if (phase === "idle") {
      attempts++;
      const r = await fleet.api("POST", "/api/v1/cutover/consistent/begin", BEGIN);
      if (r?.status !== 200) notes.push(`begin: ${JSON.stringify(r?.body)}`);
      drainingSince = Date.now();
    } else {
      drainingSince ||= Date.now();
      if (phase === "drained") {
        const r = await fleet.api("POST", "/api/v1/cutover/consistent/commit", COMMIT);
        const refusal = r && r.status !== 200 ? `commit refused: ${JSON.stringify(r.body)}` : "";
        if (refusal && !notes.includes(refusal)) notes.push(refusal);
      }
      if (Date.now() - drainingSince > 15_000) {
        notes.push(`${phase} for 15 s without a commit: aborted and begun again`);
        await fleet.api("POST", "/api/v1/cutover/consistent/abort", {});
        drainingSince = 0;
      }
    }
    await sleep(200);
  }
  notes.push("the cutover did not finish within 60 s");
  return attempts;
}

async function pausedMetric(port: number): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(2_000),
    });
    const m = (await res.text()).match(/^lms_proxy_paused(?:\{[^}]*\})? (\d+)/m);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function idsOn(port: number): Promise<Set<number>> {
  const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
  await c.connect();
  try {
    const res = await c.query("SELECT id FROM acked");
    return new Set(res.rows.map((r: { id: string }) => Number(r.id)));
  } finally {
    await c.end();
  }
}

/** Runs one cell on a fresh fleet. */
export async function runCell(fault: Fault, phase: Phase): Promise<CellResult> {
  const t0 = Date.now();
  const notes: string[] = [];
  await using fleet = await startChaosFleet(3);
  const writers = startWriters(() => fleet.ports(), 16);
  let attempts = 0;
  let recoveredAt = 0;
  try {
    await sleep(2_000);
    const recover = async (undo: () => Promise<void>) => {
      await undo();
      recoveredAt = Date.now();
    };
    if (phase === "steady") {
      await recover(await inject(fleet, fault));
    } else {
      // A transaction held open on proxy 2 keeps the fleet draining until released.
      const blocker = new pg.Client({
        host: "127.0.0.1",
        port: fleet.ports()[1],
        user: "postgres",
        database: "postgres",
      });
      blocker.on("error", () => {});
      await blocker.connect();
      await blocker.query("BEGIN");
      await blocker.query("INSERT INTO acked (id, client, tx) VALUES (-1, -1, 'blocker')");
      attempts++;
      const begin = await fleet.api("POST", "/api/v1/cutover/consistent/begin", BEGIN);
      if (begin?.status !== 200) notes.push(`begin: ${JSON.stringify(begin?.body)}`);
      await until(async () => await phaseOf(fleet) === "draining", 10_000);
      let undo: (() => Promise<void>) | undefined;
      if (phase === "draining") {
        await sleep(300);
        undo = await inject(fleet, fault);
      }
      await blocker.query("COMMIT").catch(() => {});
      await blocker.end().catch(() => {});
      if (phase !== "draining") {
        if (!await until(async () => await phaseOf(fleet) === "drained", 15_000)) {
          notes.push("the fleet did not drain within 15 s");
        }
      }
      if (phase === "drained") undo = await inject(fleet, fault);
      if (phase === "committing" || phase === "after-commit") {
        // A commit refused at once (replication check still running) would not be in flight.
        const caughtUp = await until(async () => {
          const s = await fleet.api("GET", "/api/v1/status");
          const cutover = s?.body.cutover as { replication?: { caughtUp?: boolean } } | null;
          return cutover?.replication?.caughtUp === true;
        }, 20_000);
        if (!caughtUp) notes.push("replication did not catch up within 20 s before the commit");
      }
      if (phase === "committing") {
        const commit = fleet.api("POST", "/api/v1/cutover/consistent/commit", COMMIT);
        await sleep(10);
        undo = await inject(fleet, fault);
        await commit;
      }
      if (phase === "after-commit") {
        let committed = false;
        for (let i = 0; i < 50 && !committed; i++) {
          const commit = await fleet.api("POST", "/api/v1/cutover/consistent/commit", COMMIT);
          committed = commit?.status === 200;
          if (!committed) await sleep(200);
        }
        if (!committed) notes.push("the commit did not go through: the fault hit before it");
        undo = await inject(fleet, fault);
      }
      await recover(undo!);
    }
    attempts = await finishCutover(fleet, attempts, notes);
    // Convergence, from the end of the fault and of the operator's commands: every proxy on
    // the stored epoch, not paused.
    const settledAt = Math.max(recoveredAt, Date.now());
    const bound = MAX_PAUSE_MS + CONVERGE_SLACK_MS;
    let convergeMs: number | null = null;
    await until(async () => {
      const stored = await fleet.storedState();
      if (!stored || stored.phase !== "idle") return false;
      // An older proxy build adopted an epoch on resume without a log line: the
      // orchestrator's view of its epoch counts too, timed when it is seen.
      const status = await fleet.api("GET", "/api/v1/status");
      const reported = new Map(
        ((status?.body.proxies ?? []) as { id: string; epoch: number | null }[]).map((
          p,
        ) => [p.id, p.epoch ?? -1]),
      );
      let last = settledAt;
      for (let i = 0; i < 3; i++) {
        const logs = fleet.proxyLogs(i);
        const events = routingEvents(logs[logs.length - 1]);
        const at = settledOn(events, stored.epoch) ??
          (reported.get(`proxy-${i + 1}`) === stored.epoch && !lastState(events).paused
            ? Date.now()
            : null);
        if (at === null) return false;
        last = Math.max(last, at);
      }
      // The gauge confirms what the logs say; it is not timed.
      for (let i = 0; i < 3; i++) {
        if (await pausedMetric(fleet.proxy(i).metricsPort) !== 0) return false;
      }
      convergeMs = last - settledAt;
      return true;
    }, bound + 20_000);
    if (convergeMs === null) {
      const stored = await fleet.storedState();
      const s = await fleet.api("GET", "/api/v1/status");
      notes.push(
        `not converged: stored ${JSON.stringify(stored)}, orchestrator ${
          JSON.stringify(s?.body.phase)
        } ${JSON.stringify(s?.body.proxies)}`,
      );
      for (let i = 0; i < 3; i++) {
        const logs = fleet.proxyLogs(i);
        notes.push(
          `proxy ${i + 1}: ${
            JSON.stringify(lastState(routingEvents(logs[logs.length - 1])))
          }, paused ${await pausedMetric(
            fleet.proxy(i).metricsPort,
          )}, log tail ${
            logs[logs.length - 1].split("\n").filter((l) =>
              l.includes('"warn"') || l.includes("routing") || l.includes("resum") ||
              l.includes("paus")
            ).slice(-6).join(" | ")
          }`,
        );
      }
    }
    await sleep(2_000);
    await writers.stop();
    const stored = await fleet.storedState();
    const endedOn = stored ? `${stored.sourceOfTruth}@${stored.epoch}` : "unknown";
    const sotPort = stored?.sourceOfTruth === "target" ? fleet.target.port : fleet.source.port;
    // Writes acknowledged by the source reach the target through replication: wait for it.
    let missing: number[] = [];
    await until(async () => {
      const have = await idsOn(sotPort);
      missing = writers.acks.filter((a) => !have.has(a.id)).map((a) => a.id);
      return missing.length === 0;
    }, 30_000);
    if (missing.length > 0) notes.push(`lost ids (first 5): ${missing.slice(0, 5).join(", ")}`);
    // Stale routing: by each proxy's own log, and against the stored commit time.
    const commitAt = await fleet.target.psql(
      "SELECT coalesce(floor(extract(epoch FROM min(at)) * 1000)::bigint, 0) " +
        "FROM _molt_lms.events WHERE step = 'commit'",
    ).then(Number);
    let stale = 0;
    const events = [0, 1, 2].map((i) => routingEvents(fleet.proxyLogs(i).join("\n")));
    for (const a of writers.acks) {
      const adopted = epochAt(events[a.proxy], a.sentAt);
      const late = commitAt > 0 && a.sentAt > commitAt + 1;
      if (a.servedBy === fleet.source.port && (adopted >= 1 || late)) {
        stale++;
        if (stale <= 3) {
          notes.push(`stale: id ${a.id} via proxy ${a.proxy + 1} on the source, epoch ${adopted}`);
        }
      }
    }
    const errors: Record<string, number> = {};
    const nonRetryable: string[] = [];
    for (const e of writers.errors) {
      errors[e.code] = (errors[e.code] ?? 0) + 1;
      if (!retryable(e.code) && nonRetryable.length < 5) {
        nonRetryable.push(`${e.code}: ${e.message}`);
      }
    }
    const committed = stored?.sourceOfTruth === "target";
    const result: CellResult = {
      fault,
      phase,
      cutover: committed ? "committed" : "not committed",
      attempts,
      endedOn,
      acked: writers.acks.length,
      lost: missing.length,
      stale,
      convergeMs,
      convergeBoundMs: bound,
      errors,
      nonRetryable,
      pass: false,
      seconds: 0,
      notes,
    };
    result.pass = result.lost === 0 && result.stale === 0 && convergeMs !== null &&
      convergeMs <= bound && nonRetryable.length === 0 && result.acked > 0;
    result.seconds = Math.round((Date.now() - t0) / 1000);
    return result;
  } finally {
    await writers.stop();
  }
}
