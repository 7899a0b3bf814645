/**
 * TCP port helpers for local runs and tests: pick a free port, wait for a
 * listener to come up.
 *
 * @module
 */

import { LmsError } from "../errors.ts";

/**
 * Returns a TCP port that was free on `hostname` a moment ago.
 *
 * The kernel picks the port (bind to port 0); it is released before this
 * returns, so another process may still take it — callers that bind later
 * should be ready to retry on "address in use".
 */
export function freePort(hostname = "127.0.0.1"): Promise<number> {
  const listener = Deno.listen({ hostname, port: 0, transport: "tcp" });
  try {
    return Promise.resolve((listener.addr as Deno.NetAddr).port);
  } finally {
    listener.close();
  }
}

/**
 * Resolves once a TCP connection to `hostname:port` succeeds.
 *
 * @throws {LmsError} `TIMEOUT` when nothing accepts a connection within `timeoutMs`.
 */
export async function waitForPort(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (true) {
    try {
      const conn = await Deno.connect({ hostname, port, transport: "tcp" });
      conn.close();
      return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, left)));
  }
  throw new LmsError(
    "TIMEOUT",
    `nothing accepted a TCP connection on ${hostname}:${port} within ${timeoutMs} ms ` +
      `(last error: ${lastError})`,
    "check that the process meant to listen there started, and look at its log",
  );
}

/** A port a local run is about to listen on, and what for (named in errors). */
export interface PortUse {
  /** Interface to bind. */
  hostname: string;
  /** Port; 0 is always free. */
  port: number;
  /** What would listen there, e.g. "orchestrator API (--orchestrator-port)". */
  what: string;
}

/**
 * Checks that every port in `uses` can be bound now, so a local run fails
 * before starting anything instead of half-starting.
 *
 * @throws {LmsError} `CONFIG_INVALID` naming every busy port.
 */
export function assertPortsFree(uses: PortUse[]): void {
  const busy: string[] = [];
  for (const use of uses) {
    if (use.port === 0) continue;
    try {
      Deno.listen({ hostname: use.hostname, port: use.port, transport: "tcp" }).close();
    } catch (err) {
      const why = err instanceof Deno.errors.AddrInUse
        ? "is in use"
        : `cannot be bound (${err instanceof Error ? err.message : String(err)})`;
      busy.push(`port ${use.port} on ${use.hostname} for the ${use.what} ${why}`);
    }
  }
  if (busy.length > 0) {
    throw new LmsError(
      "CONFIG_INVALID",
      busy.join("; "),
      "stop what listens there (another `deno task start`?) or choose other ports with " +
        "--listen, --metrics-listen and --orchestrator-port",
    );
  }
}
