/**
 * The standard `process_*` series (CPU, resident memory, open file
 * descriptors, start time) and prom-client's runtime series (`nodejs_*`: heap,
 * event-loop lag) on a registry. prom-client reads them from `/proc` and the
 * Node compatibility layer, which Deno provides.
 *
 * @module
 */

import client, { type Registry } from "prom-client";

/** Registers the default process and runtime metrics on `registry`. */
export function registerProcessMetrics(registry: Registry): void {
  client.collectDefaultMetrics({ register: registry });
}
