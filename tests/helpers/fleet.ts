/**
 * A whole LMS fleet for end-to-end tests: source and target clusters with
 * logical replication from source to target (standing in for the customer's
 * CDC), one orchestrator and N proxies as real processes, and the real CLI.
 *
 * @module
 */

import { type PgCluster, startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort, waitForPort } from "../../shared/local/ports.ts";
import { collectText, type ProxyProcess, run, spawnProxy } from "./proxy.ts";
import { runArgs } from "../../shared/local/compile.ts";
import { waitFor } from "./wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The `LMS_API_TOKEN` test orchestrators and proxies share unless a test sets its own. */
export const TEST_API_TOKEN = "test-api-token-0123456789abcdef";

/** Headers of an API request that changes something: JSON and the test token. */
export function apiHeaders(token = TEST_API_TOKEN): Record<string, string> {
  return { "content-type": "application/json", authorization: `Bearer ${token}` };
}

/** `POST`s `body` to `url` with the test token; the status and the JSON answer. */
export async function apiPost(
  url: string,
  body: unknown,
  token = TEST_API_TOKEN,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    headers: apiHeaders(token),
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** An orchestrator running as its own process. */
export interface OrchestratorProcess {
  /** API base URL. */
  url: string;
  /** API port. */
  port: number;
  /** Metrics port. */
  metricsPort: number;
  /** The child process. */
  child: Deno.ChildProcess;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** What it logged so far, when started with `captureLog`. */
  log(): string;
}

/** Starts `orchestrator/main.ts` and waits until `/readyz` answers 200. */
export async function spawnOrchestrator(
  env: Record<string, string>,
  port?: number,
  options: { captureLog?: boolean } = {},
): Promise<OrchestratorProcess> {
  const apiPort = port ?? await freePort();
  const metricsPort = await freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: runArgs("molt-lms-orchestrator", ROOT),
    env: {
      LMS_SOURCE_DIALECT: "postgres",
      LMS_LISTEN: `127.0.0.1:${apiPort}`,
      LMS_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      LMS_LOG_LEVEL: Deno.env.get("LMS_TEST_LOG_LEVEL") ?? "warn",
      LMS_PROXY_ID: "test-orchestrator",
      LMS_API_TOKEN: TEST_API_TOKEN,
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: options.captureLog ? "piped" : "inherit",
  }).spawn();
  const log = options.captureLog ? collectText(child.stderr) : () => "";
  await waitForPort("127.0.0.1", apiPort, 20_000);
  const end = async (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    await child.status;
  };
  return {
    url: `http://127.0.0.1:${apiPort}`,
    port: apiPort,
    metricsPort,
    child,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
    log,
  };
}

/**
 * Runs the real `molt-lms-cli` with `args` (plus `--orchestrator-url` and
 * `--output`, JSON unless told otherwise), with the test token in
 * `CLI_API_TOKEN` unless `env` says otherwise.
 */
export async function cli(
  url: string,
  args: string[],
  env: Record<string, string> = {},
  output: "json" | "table" = "json",
): Promise<{ code: number; stdout: string; stderr: string; json: unknown }> {
  const out = await run(Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    `${ROOT}cli/main.ts`,
    ...args,
    "--orchestrator-url",
    url,
    "--output",
    output,
  ], { env: { ...Deno.env.toObject(), CLI_API_TOKEN: TEST_API_TOKEN, ...env } });
  let json: unknown;
  try {
    json = JSON.parse(out.stdout);
  } catch {
    json = undefined;
  }
  return { ...out, json };
}

/** The fleet and its databases. */
export interface Fleet extends AsyncDisposable {
  /** Source cluster. */
  source: PgCluster;
  /** Target cluster. */
  target: PgCluster;
  /** The orchestrator process. */
  orchestrator: OrchestratorProcess;
  /** The proxy processes. */
  proxies: ProxyProcess[];
  /** Environment every proxy was started with. */
  proxyEnv: Record<string, string>;
  /** Starts one more proxy (or restarts one) with the fleet's environment. */
  spawnProxy(id: string): Promise<ProxyProcess>;
  /** Replaces the orchestrator with a fresh process on the same port, with `env` added. */
  restartOrchestrator(env?: Record<string, string>): Promise<void>;
}

/** Options of {@linkcode startFleet}. */
export interface FleetOptions {
  /** How many proxies. */
  proxies: number;
  /** SQL run on both databases before replication starts (the application's schema). */
  schema: string;
  /** Tables of the schema to replicate from source to target; none sets up no replication. */
  replicate: string[];
  /** Extra proxy environment (e.g. `LMS_MAX_PAUSE`). */
  proxyEnv?: Record<string, string>;
  /** `pg_hba.conf` lines for both clusters, before the default ones (which trust everything). */
  hba?: string[];
}

/**
 * Starts the clusters, the orchestrator, runs `initialize`, sets up logical
 * replication of `replicate` plus the marker table, then starts the proxies.
 */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const source = await startPgCluster({ name: "e2e-source", hba: opts.hba });
  const target = await startPgCluster({ name: "e2e-target", hba: opts.hba });
  const proxies: ProxyProcess[] = [];
  let orchestrator: OrchestratorProcess | undefined;
  const dispose = async () => {
    await Promise.allSettled(proxies.map((p) => p.stop()));
    await orchestrator?.stop();
    await target.psql("DROP SUBSCRIPTION IF EXISTS lms_sub").catch(() => {});
    await Promise.allSettled([source.destroy(), target.destroy()]);
  };
  try {
    await source.psql(opts.schema);
    await target.psql(opts.schema);
    const dbEnv = { INIT_SOURCE: source.url(), INIT_TARGET: target.url() };
    orchestrator = await spawnOrchestrator(dbEnv);
    const init = await cli(orchestrator.url, ["initialize"]);
    if (init.code !== 0) throw new Error(`initialize failed: ${init.stderr}${init.stdout}`);
    if (opts.replicate.length > 0) {
      await source.psql(
        `CREATE PUBLICATION lms_pub FOR TABLE ${opts.replicate.join(", ")}, _molt_lms.marker`,
      );
      await target.psql(
        `CREATE SUBSCRIPTION lms_sub CONNECTION 'host=127.0.0.1 port=${source.port} ` +
          `user=postgres dbname=postgres' PUBLICATION lms_pub`,
      );
    }
    const proxyEnv = {
      ...dbEnv,
      LMS_ORCHESTRATOR_URL: orchestrator.url,
      LMS_API_TOKEN: TEST_API_TOKEN,
      LMS_LOG_LEVEL: Deno.env.get("LMS_TEST_LOG_LEVEL") ?? "warn",
      LMS_SHUTDOWN_GRACE: "2s",
      ...opts.proxyEnv,
    };
    const spawn = (id: string) => spawnProxy({ ...proxyEnv, LMS_PROXY_ID: id });
    for (let i = 0; i < opts.proxies; i++) proxies.push(await spawn(`proxy-${i + 1}`));
    const fleet: Fleet = {
      source,
      target,
      get orchestrator() {
        return orchestrator!;
      },
      proxies,
      proxyEnv,
      spawnProxy: spawn,
      async restartOrchestrator(env = {}) {
        const port = orchestrator!.port;
        await orchestrator!.kill();
        orchestrator = await spawnOrchestrator({ ...dbEnv, ...env }, port);
      },
      [Symbol.asyncDispose]: dispose,
    };
    return fleet;
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Polls `fn` every 50 ms until it returns true or `timeoutMs` passes. */
export async function eventually(
  what: string,
  fn: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
): Promise<void> {
  await waitFor(what, fn, { timeoutMs, intervalMs: 50 });
}

/** Waits until every proxy of the fleet is registered and connected. */
export async function waitForProxies(url: string, count: number): Promise<void> {
  await eventually(`${count} proxies connected`, async () => {
    const res = await fetch(`${url}/api/v1/status`);
    const body = await res.json() as { proxies: { connected: boolean }[] };
    return body.proxies.filter((p) => p.connected).length === count;
  });
}
