/**
 * A proxy process under observation, for the fuzzer, the fault matrix and the
 * soak: a real `proxy/main.ts` process whose stderr (JSON log lines) is kept,
 * with its RSS and open descriptors read from `/proc`.
 *
 * @module
 */

import { freePort, waitForPort } from "../../shared/local/ports.ts";
import { runArgs } from "../../shared/local/compile.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const LOG_KEEP = 4 * 1024 * 1024;

/** A proxy process under test. */
export interface WatchedProxy {
  /** SQL port. */
  port: number;
  /** Metrics and health port. */
  metricsPort: number;
  /** Process id. */
  pid: number;
  /** Resolves with the exit status when the process ends. */
  exited: Promise<Deno.CommandStatus>;
  /** Whether it is still running. */
  alive(): boolean;
  /** Resident set size in bytes, 0 once gone. */
  rss(): number;
  /** Open file descriptors, 0 once gone. */
  fds(): number;
  /** What it wrote to stderr (the last 4 MiB). */
  log(): string;
  /** The last 16 KiB of {@linkcode WatchedProxy.log}. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** SIGKILL, like a crashed host. */
  kill(): Promise<void>;
}

/** Resident set size of `pid` in bytes (0 when the process is gone). */
export function rssOf(pid: number): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Open file descriptors of `pid` (0 when the process is gone). */
export function fdsOf(pid: number): number {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
    return n;
  } catch {
    return 0;
  }
}

/**
 * Starts a proxy with `env` (standalone unless it names `LMS_ORCHESTRATOR_URL`)
 * and waits for `/readyz`, or only for the metrics port when `waitReady` is false.
 */
export async function startWatchedProxy(
  env: Record<string, string>,
  opts: { waitReady?: boolean } = {},
): Promise<WatchedProxy> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: runArgs("molt-lms", ROOT),
    env: {
      LMS_SOURCE_DIALECT: "postgres",
      ...(env.LMS_ORCHESTRATOR_URL ? {} : { LMS_STANDALONE: "true" }),
      LMS_LISTEN: `127.0.0.1:${port}`,
      LMS_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      LMS_LOG_LEVEL: "error",
      LMS_PROXY_ID: "watched-proxy",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let tail = "";
  (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      tail = (tail + text).slice(-LOG_KEEP);
    }
  })().catch(() => {});
  let running = true;
  const exited = child.status.then((s) => {
    running = false;
    return s;
  });
  await waitForPort("127.0.0.1", metricsPort, 30_000);
  for (let i = 0; i < 600 && running && opts.waitReady !== false; i++) {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
    await res?.body?.cancel();
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!running) throw new Error(`the proxy exited while starting:\n${tail}`);
  return {
    port,
    metricsPort,
    pid: child.pid,
    exited,
    alive: () => running,
    rss: () => rssOf(child.pid),
    fds: () => fdsOf(child.pid),
    log: () => tail,
    logTail: () => tail.slice(-16 * 1024),
    async stop() {
      if (!running) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => running && child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(t);
    },
    async kill() {
      if (running) child.kill("SIGKILL");
      await exited;
    },
  };
}
