/**
 * The proxy's HTTP side port: `/metrics` (Prometheus), `/healthz` (the
 * process is alive) and `/readyz` (the proxy knows the cutover state and
 * accepts clients).
 *
 * @module
 */

import type { Registry } from "prom-client";
import type { ListenAddress } from "../shared/config.ts";

/** What the health endpoints report on. */
export interface HealthSource {
  /** Whether the proxy accepts clients now. */
  ready(): boolean;
  /** A short reason when not ready. */
  notReadyReason(): string;
  /** Shown after "ready" when the proxy serves in a mode worth knowing (standalone). */
  readyNote?(): string | undefined;
}

/** Serves metrics and health on `address`; resolves once listening. */
export function serveHealth(
  address: ListenAddress,
  registry: Registry,
  health: HealthSource,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: address.hostname, port: address.port, onListen: () => {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") {
        return new Response(await registry.metrics(), {
          headers: { "content-type": registry.contentType },
        });
      }
      if (path === "/healthz") return new Response("ok\n");
      if (path === "/readyz") {
        const note = health.readyNote?.();
        return health.ready()
          ? new Response(note ? `ready (${note})\n` : "ready\n")
          : new Response(`not ready: ${health.notReadyReason()}\n`, { status: 503 });
      }
      return new Response("not found; try /metrics, /healthz or /readyz\n", { status: 404 });
    },
  );
}
