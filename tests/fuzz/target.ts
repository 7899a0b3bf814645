/**
 * The proxy under fuzz: a real `proxy/main.ts` process whose stderr is kept
 * (the tail of it explains a crash), with its RSS and open descriptors read
 * from `/proc`.
 *
 * @module
 */

import { freePort, waitForPort } from "../../shared/local/ports.ts";
import { runArgs } from "../../shared/local/compile.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const LOG_TAIL = 16 * 1024;

/** A proxy process under test. */
export interface FuzzTarget {
  /** SQL port. */
  port: number;
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
  /** The last 16 KiB it wrote to stderr. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
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

/** Starts a standalone proxy in front of `sourceUrl` and waits for `/readyz`. */
export async function startFuzzTarget(
  sourceUrl: string,
  env: Record<string, string> = {},
): Promise<FuzzTarget> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: runArgs("molt-lms", ROOT),
    env: {
      INIT_SOURCE: sourceUrl,
      LMS_SOURCE_DIALECT: "postgres",
      LMS_STANDALONE: "true",
      LMS_LISTEN: `127.0.0.1:${port}`,
      LMS_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      LMS_LOG_LEVEL: "error",
      LMS_PROXY_ID: "fuzz-target",
      ...env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let tail = "";
  (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      tail = (tail + text).slice(-LOG_TAIL);
    }
  })().catch(() => {});
  let running = true;
  const exited = child.status.then((s) => {
    running = false;
    return s;
  });
  await waitForPort("127.0.0.1", metricsPort, 30_000);
  for (let i = 0; i < 600 && running; i++) {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
    await res?.body?.cancel();
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!running) throw new Error(`the proxy exited while starting:\n${tail}`);
  return {
    port,
    pid: child.pid,
    exited,
    alive: () => running,
    rss: () => rssOf(child.pid),
    fds: () => fdsOf(child.pid),
    logTail: () => tail,
    async stop() {
      if (!running) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => running && child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}
