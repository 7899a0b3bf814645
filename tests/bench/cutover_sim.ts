/**
 * The orchestrator beyond what one machine's proxies can show: `--sim-proxies`
 * control-channel clients against one orchestrator process. Each client is the
 * proxy's real control client (`proxy/control/client.ts`: the protocol of
 * `shared/control.ts` over WSS with a client certificate) in front of a core
 * without SQL that holds no sessions, so it is drained at once and applies
 * every epoch it is sent. They run in a few workers
 * (`cutover_sim_worker.ts`), each with its own event loop.
 *
 * Measured per consistent cutover (directions alternating, commit with
 * `skipReplicationCheck`, since nothing replicates here): begin sent -> status
 * shows `drained` (every drain acknowledged), and commit sent -> every client
 * applied the new epoch; and the orchestrator process's RSS and CPU time
 * (`/proc`) per connected proxy.
 *
 * @module
 */

import { API_PATHS, type StatusResponse } from "../../shared/api.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import { createLogger } from "../../shared/log.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import type { SimWorkerEvent, SimWorkerStart } from "./cutover_sim_worker.ts";
import { makeCerts } from "../helpers/certs.ts";
import { apiHeaders, spawnOrchestrator } from "../helpers/fleet.ts";
import { CleanupStack } from "./cleanup.ts";
import { percentile } from "./cutover_report.ts";
import { readCpuMs, readRssKiB } from "./proc_stats.ts";

const log = createLogger("bench-cutover-sim");

/** What the simulation measured. Times in ms. */
export interface SimulationReport {
  proxies: number;
  cutovers: number;
  /** Event loops the simulated proxies ran on. */
  workers: number;
  /** begin sent -> the last simulated proxy received the pause. */
  pauseFanOutP50Ms: number;
  /** begin sent -> the metrics first show `drained`. */
  drainP50Ms: number;
  drainP99Ms: number;
  drainMaxMs: number;
  /** commit sent -> the last client applied the new epoch. */
  epochP50Ms: number;
  epochP99Ms: number;
  epochMaxMs: number;
  /** Duration of the commit call (includes the fresh drain confirmation round). */
  commitApiP50Ms: number;
  orchestrator: {
    /** Before any proxy connected. */
    rssBeforeMiB: number;
    /** With every proxy connected, after the cutovers. */
    rssConnectedMiB: number;
    rssPerProxyKiB: number;
    /** CPU while connected and idle (heartbeats): ms of CPU per second per proxy. */
    idleCpuMsPerSecondPerProxy: number;
    /** CPU of the whole cutover loop, per cutover and proxy (begin + drain + commit + resume). */
    cpuUsPerCutoverPerProxy: number;
  };
  goals: {
    drainP99UnderMs: number;
    epochP99UnderMs: number;
    met: { drain: boolean; epoch: boolean };
  };
  errors: string[];
}

/** Options of {@linkcode runSimulation}. */
export interface SimulationOptions {
  proxies: number;
  cutovers: number;
}

const GOAL_MS = 100;
const WORKERS = 4;
const STEP_TIMEOUT_MS = 15_000;
const IDLE_WINDOW_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number) => Math.round(v * 10) / 10;

/** Runs the simulation; cleans up everything it started. */
export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const cleanup = new CleanupStack(log);
  cleanup.exitOnSignals();
  try {
    return await simulate(options, cleanup);
  } finally {
    await cleanup.runAll();
  }
}

async function simulate(o: SimulationOptions, cleanup: CleanupStack): Promise<SimulationReport> {
  log.info("starting the simulation", { proxies: o.proxies });
  const certs = await makeCerts();
  cleanup.push("remove the certificates", () => certs.cleanup());
  const source = await startPgCluster({ name: "sim-source" });
  cleanup.push("stop the source", () => source.destroy());
  const target = await startPgCluster({ name: "sim-target" });
  cleanup.push("stop the target", () => target.destroy());
  const orchestrator = await spawnOrchestrator({
    INIT_SOURCE: source.url(),
    INIT_TARGET: target.url(),
    TLS_CERT: certs.serverCert,
    TLS_KEY: certs.serverKey,
    CA_TLS_CERT: certs.caCert,
  });
  cleanup.push("stop the orchestrator", () => orchestrator.stop());
  const pid = orchestrator.child.pid;
  const base = `https://localhost:${orchestrator.port}`;
  const read = (path: string) => Deno.readTextFileSync(path);
  const ca = read(certs.caCert);
  const cliCert = await certs.client("lms-cli");
  const http = Deno.createHttpClient({
    caCerts: [ca],
    cert: read(cliCert.cert),
    key: read(cliCert.key),
  });
  cleanup.push("close the API client", () => http.close());
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(base + path, {
      method,
      client: http,
      headers: apiHeaders(),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      throw new LmsError(
        "ORCHESTRATOR_REFUSED",
        `${method} ${path} answered ${res.status}: ${text}`,
        "the orchestrator refused a simulation step; see its message",
      );
    }
    return JSON.parse(text) as T;
  };
  const status = () => api<StatusResponse>("GET", API_PATHS.status);
  await api("POST", API_PATHS.initialize);
  await sleep(1_000);
  const rssBefore = await readRssKiB(pid);

  const proxyCert = await certs.client("lms-proxy");
  const tls = { cert: read(proxyCert.cert), key: read(proxyCert.key), ca };
  const workers = Array.from(
    { length: Math.min(WORKERS, o.proxies) },
    () => new Worker(new URL("./cutover_sim_worker.ts", import.meta.url), { type: "module" }),
  );
  const waiting = new Map<Worker, ((e: SimWorkerEvent) => void)[]>();
  for (const w of workers) {
    waiting.set(w, []);
    w.onmessage = (e: MessageEvent) => {
      for (const f of waiting.get(w)!.splice(0)) f(e.data as SimWorkerEvent);
    };
  }
  const next = <T extends SimWorkerEvent["type"]>(w: Worker, type: T, timeoutMs: number) =>
    new Promise<Extract<SimWorkerEvent, { type: T }> | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      const listen = (e: SimWorkerEvent) => {
        if (e.type !== type) return void waiting.get(w)!.push(listen);
        clearTimeout(timer);
        resolve(e as Extract<SimWorkerEvent, { type: T }>);
      };
      waiting.get(w)!.push(listen);
    });
  let closed = false;
  const closeWorkers = async () => {
    if (closed) return [];
    closed = true;
    const done = await Promise.all(workers.map((w) => {
      const c = next(w, "closed", 10_000);
      w.postMessage({ type: "close" });
      return c;
    }));
    for (const w of workers) w.terminate();
    return done;
  };
  cleanup.push("stop the simulation workers", async () => void await closeWorkers());
  const connected = workers.map((w) => next(w, "connected", 120_000));
  workers.forEach((w, i) => {
    const proxyIds = Array.from({ length: o.proxies }, (_, n) => n)
      .filter((n) => n % workers.length === i)
      .map((n) => `sim-${String(n + 1).padStart(3, "0")}`);
    w.postMessage({ type: "start", url: base, proxyIds, tls } satisfies SimWorkerStart);
  });
  if ((await Promise.all(connected)).some((c) => c === undefined)) {
    throw new LmsError(
      "TIMEOUT",
      "the simulated proxies did not all connect within 120 s",
      "look at the orchestrator's log",
    );
  }
  await until(
    status,
    `${o.proxies} proxies connected`,
    (s) => s.proxies.filter((p) => p.connected).length === o.proxies,
  );

  const idleCpu0 = await readCpuMs(pid);
  const idleT0 = performance.now();
  await sleep(IDLE_WINDOW_MS);
  const idleCpuMsPerSecond = (await readCpuMs(pid) - idleCpu0) /
    ((performance.now() - idleT0) / 1000);

  const drains: number[] = [];
  const fanOuts: number[] = [];
  const epochs: number[] = [];
  const commits: number[] = [];
  const errors: string[] = [];
  let side: DatabaseSide = (await status()).sourceOfTruth;
  const cpu0 = await readCpuMs(pid);
  const now = () => performance.timeOrigin + performance.now();
  let awaitedEpoch = (await status()).epoch;
  for (let n = 0; n < o.cutovers; n++) {
    const pauses = workers.map((w) => next(w, "paused", STEP_TIMEOUT_MS));
    const begun = now();
    await api("POST", API_PATHS.consistentBegin, { from: side });
    await untilDrained(orchestrator.metricsPort);
    drains.push(now() - begun);
    const paused = await Promise.all(pauses);
    if (paused.every((p) => p !== undefined)) {
      fanOuts.push(Math.max(...paused.map((p) => p!.at)) - begun);
    }
    awaitedEpoch++;
    for (const w of workers) w.postMessage({ type: "await", epoch: awaitedEpoch });
    const applied = workers.map((w) => next(w, "applied", STEP_TIMEOUT_MS));
    const sent = now();
    await api("POST", API_PATHS.consistentCommit, { from: side, skipReplicationCheck: true });
    commits.push(now() - sent);
    const arrivals = await Promise.all(applied);
    if (arrivals.some((a) => a === undefined)) {
      errors.push(
        `cutover ${n + 1}: not every simulated proxy applied epoch ${awaitedEpoch} within ` +
          `${STEP_TIMEOUT_MS} ms`,
      );
    } else {
      epochs.push(Math.max(...arrivals.map((a) => a!.at)) - sent);
    }
    side = side === "source" ? "target" : "source";
    log.info("simulated cutover", {
      n: n + 1,
      drainMs: round(drains[drains.length - 1]),
      epochMs: round(epochs[epochs.length - 1] ?? -1),
    });
  }
  const cutoverCpuMs = await readCpuMs(pid) - cpu0;
  const rssConnected = await readRssKiB(pid);
  const stale = (await closeWorkers()).reduce((n, c) => n + (c?.stale ?? 0), 0);
  if (stale > 0) errors.push(`${stale} simulated proxies did not end on epoch ${awaitedEpoch}`);

  const drainP99 = percentile(drains, 99);
  const epochP99 = percentile(epochs, 99);
  return {
    proxies: o.proxies,
    cutovers: o.cutovers,
    workers: workers.length,
    pauseFanOutP50Ms: round(percentile(fanOuts, 50)),
    drainP50Ms: round(percentile(drains, 50)),
    drainP99Ms: round(drainP99),
    drainMaxMs: round(Math.max(...drains)),
    epochP50Ms: round(percentile(epochs, 50)),
    epochP99Ms: round(epochP99),
    epochMaxMs: round(Math.max(0, ...epochs)),
    commitApiP50Ms: round(percentile(commits, 50)),
    orchestrator: {
      rssBeforeMiB: round(rssBefore / 1024),
      rssConnectedMiB: round(rssConnected / 1024),
      rssPerProxyKiB: round((rssConnected - rssBefore) / o.proxies),
      idleCpuMsPerSecondPerProxy: Math.round(idleCpuMsPerSecond / o.proxies * 1000) / 1000,
      cpuUsPerCutoverPerProxy: Math.round(cutoverCpuMs * 1000 / (o.cutovers * o.proxies)),
    },
    goals: {
      drainP99UnderMs: GOAL_MS,
      epochP99UnderMs: GOAL_MS,
      met: {
        drain: drains.length === o.cutovers && drainP99 < GOAL_MS,
        epoch: epochs.length === o.cutovers && epochP99 < GOAL_MS,
      },
    },
    errors,
  };
}

/**
 * Polls the orchestrator's phase gauge until it shows `drained`. The metrics
 * endpoint, not `status`: status reads the history from the store, and polling
 * it every few ms would load the very process measured.
 */
async function untilDrained(metricsPort: number): Promise<void> {
  const deadline = performance.now() + STEP_TIMEOUT_MS;
  const drained = /^lms_orchestrator_phase\{phase="drained"\} 1$/m;
  while (performance.now() < deadline) {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    if (drained.test(await res.text())) return;
    await sleep(2);
  }
  throw new LmsError(
    "TIMEOUT",
    `the fleet did not drain within ${STEP_TIMEOUT_MS} ms`,
    "look at the orchestrator's log",
  );
}

async function until(
  status: () => Promise<StatusResponse>,
  what: string,
  done: (s: StatusResponse) => boolean,
): Promise<StatusResponse> {
  const deadline = performance.now() + STEP_TIMEOUT_MS;
  for (;;) {
    let s: StatusResponse;
    try {
      s = await status();
    } catch (err) {
      throw new LmsError("TIMEOUT", `status failed while waiting for ${what}`, errorMessage(err));
    }
    if (done(s)) return s;
    if (performance.now() > deadline) {
      throw new LmsError(
        "TIMEOUT",
        `${what} did not happen within ${STEP_TIMEOUT_MS} ms (phase ${s.phase})`,
        "look at the orchestrator's log",
      );
    }
    await sleep(2);
  }
}
