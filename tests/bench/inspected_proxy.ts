/**
 * The LMS proxy as a subprocess with the V8 inspector on, so the idle-memory
 * measurement can force a full garbage collection from outside
 * (`HeapProfiler.collectGarbage`) and tell memory the sessions hold from
 * garbage V8 has not returned yet. Otherwise started like
 * `tests/helpers/proxy.ts`'s `spawnProxy`.
 *
 * @module
 */

import { terminate } from "./cleanup.ts";
import { proxyProcessEnv } from "../helpers/proxy.ts";
import { runArgs } from "../../shared/local/compile.ts";
import { LmsError } from "../../shared/errors.ts";
import { freePort, waitForPort } from "../../shared/local/ports.ts";

/** A proxy subprocess with an inspector port. */
export interface InspectedProxy extends AsyncDisposable {
  /** SQL port. */
  port: number;
  /** Process id of the proxy (the `deno` process itself). */
  pid: number;
  /** Loopback port of its V8 inspector (for `cpu_profile.ts` or a heap snapshot). */
  inspectPort: number;
  /** Runs V8's most thorough collection in the proxy and waits for it. */
  collectGarbage(): Promise<void>;
  /** SIGTERM, SIGKILL after 5 s; idempotent. */
  stop(): Promise<void>;
}

const ROOT = new URL("../../", import.meta.url).pathname;
const READY_TIMEOUT_MS = 20_000;
const INSPECTOR_TIMEOUT_MS = 30_000;

/**
 * Starts `proxy/main.ts` with `--inspect` on a free loopback port and waits
 * until `/readyz` answers 200.
 *
 * @throws {LmsError} `TIMEOUT` when it does not become ready.
 */
export async function spawnInspectedProxy(env: Record<string, string>): Promise<InspectedProxy> {
  const [port, metricsPort, inspectPort] = [await freePort(), await freePort(), await freePort()];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", `--inspect=127.0.0.1:${inspectPort}`, ...runArgs("molt-lms", ROOT).slice(1)],
    env: proxyProcessEnv(port, metricsPort, env),
    stdin: "null",
    stdout: "null",
    // The inspector announces itself on stderr; the proxy logs only warnings.
    stderr: "null",
  }).spawn();
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= terminate(child);
    return stopping;
  };
  try {
    await waitForPort("127.0.0.1", metricsPort, READY_TIMEOUT_MS);
    await waitReady(metricsPort);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    pid: child.pid,
    inspectPort,
    collectGarbage: () => collectGarbageAt(inspectPort),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function waitReady(metricsPort: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
    const ok = res?.status === 200;
    await res?.body?.cancel();
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new LmsError(
    "TIMEOUT",
    `the proxy did not report ready on 127.0.0.1:${metricsPort}/readyz within ${READY_TIMEOUT_MS} ms`,
    "run deno task proxy by hand with the same settings and read its log",
  );
}

/**
 * Runs V8's most thorough collection in the process whose inspector listens
 * on 127.0.0.1:`inspectPort` and waits for it.
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` / `TIMEOUT` when the inspector does not serve it.
 */
export async function collectGarbageAt(inspectPort: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${inspectPort}/json/list`);
  const targets = await res.json() as { webSocketDebuggerUrl?: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `the proxy's inspector on port ${inspectPort} lists no debugging target`,
      "check that this Deno supports --inspect",
    );
  }
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new LmsError("TIMEOUT", "the proxy's inspector did not answer in time")),
        INSPECTOR_TIMEOUT_MS,
      );
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new LmsError("TOOL_UNAVAILABLE", "the proxy's inspector connection failed"));
      };
      ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: "HeapProfiler.collectGarbage" }));
      ws.onmessage = (event) => {
        if (JSON.parse(String(event.data)).id === 1) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  } finally {
    ws.close();
  }
}
