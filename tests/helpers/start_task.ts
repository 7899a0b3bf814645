/**
 * The arguments that run the README's `deno task start` from a test, on
 * ports of the test's choosing, so each test names only what it varies.
 *
 * @module
 */

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
