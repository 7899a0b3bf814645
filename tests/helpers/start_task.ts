/**
 * The arguments that run the README's `deno task start` from a test, on
 * ports of the test's choosing, so each test names only what it varies.
 *
 * @module
 */

import { freePort } from "../../shared/local/ports.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Where a test's `deno task start` listens. */
export interface StartPorts {
  /** The proxy's SQL port. */
  listen: number;
  /** The proxy's metrics port. */
  metrics: number;
  /** The orchestrator's API port. */
  orchestrator: number;
}

/**
 * Arguments for `Deno.execPath()` that run `deno task start` of this
 * checkout on `ports`, followed by `extra`.
 */
export function startTaskArgs(ports: StartPorts, extra: string[] = []): string[] {
  return [
    "task",
    "--config",
    `${ROOT}deno.json`,
    "start",
    "--listen",
    `127.0.0.1:${ports.listen}`,
    "--metrics-listen",
    `127.0.0.1:${ports.metrics}`,
    "--orchestrator-port",
    String(ports.orchestrator),
    ...extra,
  ];
}

/**
 * Ports for a test's `deno task start`, picked by the kernel. The
 * orchestrator's metrics listen on its port + 1, so the orchestrator's port
 * is one whose next port was free too: a lone free port's neighbour is often
 * another test's listener or connection.
 */
export async function freeStartPorts(): Promise<StartPorts> {
  const listen = await freePort();
  const metrics = await freePort();
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (first.addr as Deno.NetAddr).port;
    try {
      if (port + 1 === listen || port + 1 === metrics || port === listen || port === metrics) {
        continue;
      }
      Deno.listen({ hostname: "127.0.0.1", port: port + 1 }).close();
      return { listen, metrics, orchestrator: port };
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    } finally {
      first.close();
    }
  }
  throw new Error("found no two free consecutive ports for the orchestrator in 100 tries");
}
