/**
 * Starting LMS proxies for tests: in-process (access to sessions and router)
 * or as a real `deno run proxy/main.ts` subprocess.
 *
 * @module
 */

import { loadConfig } from "../../shared/config.ts";
import { createLogger } from "../../shared/log.ts";
import { freePort, waitForPort } from "../../shared/local/ports.ts";
import { type ProxyHooks, type ProxyServer, startProxy } from "../../proxy/server.ts";
import { runArgs } from "../../shared/local/compile.ts";

/** Settings for a test proxy, as config keys (`INIT_SOURCE`, `LMS_*`, …). */
export type ProxyEnv = Record<string, string>;

/**
 * `env` plus `LMS_STANDALONE=true` when it names no orchestrator: the proxy
 * refuses to start without one unless told it runs standalone on purpose.
 */
export function standaloneUnlessOrchestrated(env: ProxyEnv): ProxyEnv {
  return env.LMS_ORCHESTRATOR_URL ? env : { LMS_STANDALONE: "true", ...env };
}

/**
 * The environment of a proxy subprocess: PostgreSQL, listening on `port`
 * with metrics on `metricsPort`, warnings only, then `env` (standalone unless
 * it names an orchestrator).
 */
export function proxyProcessEnv(port: number, metricsPort: number, env: ProxyEnv): ProxyEnv {
  return {
    LMS_SOURCE_DIALECT: "postgres",
    LMS_LISTEN: `127.0.0.1:${port}`,
    LMS_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    LMS_LOG_LEVEL: "warn",
    ...standaloneUnlessOrchestrated(env),
  };
}

/** Starts a proxy in this process on free ports. */
export async function startTestProxy(
  env: ProxyEnv,
  hooks?: ProxyHooks,
): Promise<ProxyServer & AsyncDisposable> {
  const config = loadConfig("proxy", {
    args: [],
    env: {
      LMS_SOURCE_DIALECT: "postgres",
      LMS_LISTEN: "127.0.0.1:0",
      LMS_METRICS_LISTEN: "127.0.0.1:0",
      LMS_PROXY_ID: "test-proxy",
      ...standaloneUnlessOrchestrated(env),
    },
  });
  const proxy = await startProxy(config, createLogger("proxy", { test: true }), hooks);
  await proxy.ready;
  return Object.assign(proxy, { [Symbol.asyncDispose]: () => proxy.close() });
}

/** A proxy running as its own process. */
export interface ProxyProcess extends AsyncDisposable {
  /** SQL port. */
  port: number;
  /** Metrics/health port. */
  metricsPort: number;
  /** The child process. */
  child: Deno.ChildProcess;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<void>;
  /** What the proxy logged so far, when started with `captureLog`. */
  log(): string;
}

/** Options of {@linkcode spawnProxy}. */
export interface SpawnProxyOptions {
  /** Keep stderr for {@linkcode ProxyProcess.log} instead of passing it through. */
  captureLog?: boolean;
  /** Wait for `/readyz` to answer 200 (default); false returns once the metrics port is up. */
  waitReady?: boolean;
  /** Start with the V8 inspector on this loopback port (to record a CPU profile). */
  inspectPort?: number;
}

/** Collects a child's stderr as text; returns a function reading what arrived so far. */
export function collectText(stream: ReadableStream<Uint8Array>): () => string {
  let text = "";
  (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  })().catch(() => {});
  return () => text;
}

const ROOT = new URL("../../", import.meta.url).pathname;

/** Starts `proxy/main.ts` as a subprocess and waits until `/readyz` answers 200. */
export async function spawnProxy(
  env: ProxyEnv,
  args: string[] = [],
  options: SpawnProxyOptions = {},
): Promise<ProxyProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: withInspector(runArgs("molt-lms", ROOT), options.inspectPort).concat(args),
    env: proxyProcessEnv(port, metricsPort, env),
    stdin: "null",
    stdout: "null",
    stderr: options.captureLog ? "piped" : "inherit",
  }).spawn();
  const log = options.captureLog ? collectText(child.stderr) : () => "";
  try {
    await waitForPort("127.0.0.1", metricsPort, 20_000);
    for (let i = 0; i < 200 && options.waitReady !== false; i++) {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
      const ok = res?.status === 200;
      await res?.body?.cancel();
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    child.kill("SIGKILL");
    await child.status;
    throw err;
  }
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  };
  return { port, metricsPort, child, stop, log, [Symbol.asyncDispose]: stop };
}

/** `deno run` arguments with `--inspect` right after `run`, when a port is given. */
function withInspector(args: string[], port: number | undefined): string[] {
  if (port === undefined) return args;
  return [args[0], `--inspect=127.0.0.1:${port}`, ...args.slice(1)];
}

/** Runs a command and returns its exit code, stdout and stderr. */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(cmd, {
    args,
    env: opts.env,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs psql against `url` with `-X -At -v ON_ERROR_STOP=1` and extra args. */
export function psql(
  url: string,
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return run("psql", [url, "-X", "-At", "-v", "ON_ERROR_STOP=1", ...args], opts);
}
