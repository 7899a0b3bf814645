/**
 * The fleet of the fault matrix: source and target clusters with logical
 * replication of `acked` (and the marker) from source to target, one
 * orchestrator on a fixed port, three proxies whose control channel runs
 * through a {@linkcode StallRelay}, each proxy a {@linkcode WatchedProxy}
 * logging at `info` so its epoch changes can be read back. Everything can be
 * killed and brought back.
 *
 * @module
 */

import pg from "pg";
import { type PgCluster, startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort } from "../../shared/local/ports.ts";
import { type OrchestratorProcess, spawnOrchestrator } from "../helpers/fleet.ts";
import { startWatchedProxy, type WatchedProxy } from "../helpers/watched_proxy.ts";
import { WORKLOAD_SCHEMA } from "../helpers/workload.ts";
import { type StallRelay, startStallRelay } from "./stall_relay.ts";

/** The API token the chaos orchestrator and proxies share. */
export const CHAOS_API_TOKEN = "chaos-api-token-0123456789abcdef";

/** The maximum pause the proxies run with, in ms. */
export const MAX_PAUSE_MS = 6_000;

/** A chaos fleet. */
export interface ChaosFleet extends AsyncDisposable {
  /** Source cluster. */
  source: PgCluster;
  /** Target cluster (also the state store). */
  target: PgCluster;
  /** The control-channel relay every proxy connects through. */
  relay: StallRelay;
  /** The orchestrator process now. */
  orchestrator(): OrchestratorProcess;
  /** Proxy `i` now. */
  proxy(i: number): WatchedProxy;
  /** Current proxy SQL ports. */
  ports(): number[];
  /** Every incarnation's log of proxy `i`, oldest first. */
  proxyLogs(i: number): string[];
  /** SIGKILLs proxy `i`. */
  killProxy(i: number): Promise<void>;
  /** Starts proxy `i` again with the same id (new port). */
  restartProxy(i: number): Promise<void>;
  /** SIGKILLs the orchestrator. */
  killOrchestrator(): Promise<void>;
  /** Starts the orchestrator again on its port. */
  restartOrchestrator(): Promise<void>;
  /** Calls the API; `undefined` when the orchestrator does not answer. */
  api(method: "GET" | "POST", path: string, body?: unknown): Promise<ApiAnswer | undefined>;
  /** The stored state, read from the target directly; `undefined` when it is down. */
  storedState(): Promise<{ sourceOfTruth: string; epoch: number; phase: string } | undefined>;
}

/** An API answer. */
export interface ApiAnswer {
  /** HTTP status. */
  status: number;
  /** Parsed JSON body. */
  body: Record<string, unknown>;
}

/**
 * Starts the fleet with `proxies` proxies (extra proxy settings in `proxyExtra`)
 * and waits until they are all connected.
 */
export async function startChaosFleet(
  proxies = 3,
  proxyExtra: Record<string, string> = {},
): Promise<ChaosFleet> {
  const source = await startPgCluster({ name: "chaos-source" });
  const target = await startPgCluster({ name: "chaos-target" });
  const relay = startStallRelay();
  const all: WatchedProxy[] = [];
  const logs: string[][] = [];
  let orchestrator: OrchestratorProcess | undefined;
  let storeClient: pg.Client | undefined;
  const dispose = async () => {
    await relay.close();
    await Promise.allSettled(all.map((p) => p.stop()));
    await orchestrator?.stop();
    await storeClient?.end().catch(() => {});
    await target.psql("DROP SUBSCRIPTION IF EXISTS lms_sub").catch(() => {});
    await Promise.allSettled([source.destroy(), target.destroy()]);
  };
  try {
    await source.psql(WORKLOAD_SCHEMA);
    await target.psql(WORKLOAD_SCHEMA);
    const dbEnv = { INIT_SOURCE: source.url(), INIT_TARGET: target.url() };
    const orchEnv = { ...dbEnv, LMS_API_TOKEN: CHAOS_API_TOKEN };
    const orchPort = await freePort();
    relay.upstream = orchPort;
    orchestrator = await spawnOrchestrator(orchEnv, orchPort);
    const api = async (method: "GET" | "POST", path: string, body?: unknown) => {
      try {
        const res = await fetch(`http://127.0.0.1:${orchPort}${path}`, {
          method,
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${CHAOS_API_TOKEN}`,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        return { status: res.status, body: await res.json() as Record<string, unknown> };
      } catch {
        return undefined;
      }
    };
    const init = await api("POST", "/api/v1/initialize", {});
    if (init?.status !== 200) throw new Error(`initialize failed: ${JSON.stringify(init)}`);
    await source.psql("CREATE PUBLICATION lms_pub FOR TABLE acked, _molt_lms.marker");
    await target.psql(
      `CREATE SUBSCRIPTION lms_sub CONNECTION 'host=127.0.0.1 port=${source.port} ` +
        `user=postgres dbname=postgres' PUBLICATION lms_pub`,
    );
    const proxyEnv = (i: number) => ({
      ...dbEnv,
      LMS_ORCHESTRATOR_URL: `http://127.0.0.1:${relay.port}`,
      LMS_API_TOKEN: CHAOS_API_TOKEN,
      LMS_MAX_PAUSE: `${MAX_PAUSE_MS}ms`,
      LMS_SHUTDOWN_GRACE: "2s",
      LMS_LOG_LEVEL: "info",
      LMS_PROXY_ID: `proxy-${i + 1}`,
      ...proxyExtra,
    });
    for (let i = 0; i < proxies; i++) {
      all.push(await startWatchedProxy(proxyEnv(i)));
      logs.push([]);
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await api("GET", "/api/v1/status");
      const list = (s?.body.proxies ?? []) as { connected: boolean }[];
      if (list.filter((p) => p.connected).length === proxies) break;
      if (Date.now() > deadline) throw new Error("proxies did not connect to the orchestrator");
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      source,
      target,
      relay,
      orchestrator: () => orchestrator!,
      proxy: (i) => all[i],
      ports: () => all.map((p) => p.port),
      proxyLogs: (i) => [...logs[i], all[i].log()],
      async killProxy(i) {
        await all[i].kill();
      },
      async restartProxy(i) {
        logs[i].push(all[i].log());
        all[i] = await startWatchedProxy(proxyEnv(i), { waitReady: false });
      },
      async killOrchestrator() {
        await orchestrator!.kill();
      },
      async restartOrchestrator() {
        await orchestrator!.kill();
        orchestrator = await spawnOrchestrator(orchEnv, orchPort);
      },
      api,
      async storedState() {
        try {
          if (!storeClient) {
            const c = new pg.Client({
              host: "127.0.0.1",
              port: target.port,
              user: "postgres",
              database: "postgres",
              query_timeout: 3_000,
              connectionTimeoutMillis: 3_000,
            });
            c.on("error", () => {});
            await c.connect();
            storeClient = c;
          }
          const res = await storeClient.query(
            "SELECT source_of_truth, epoch::int AS epoch, phase FROM _molt_lms.state WHERE id = 1",
          );
          const row = res.rows[0];
          return { sourceOfTruth: row.source_of_truth, epoch: row.epoch, phase: row.phase };
        } catch {
          await storeClient?.end().catch(() => {});
          storeClient = undefined;
          return undefined;
        }
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}
