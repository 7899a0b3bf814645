/**
 * The proxy process: the SQL listener, its sessions and the side port.
 *
 * @module
 */

import net from "node:net";
import type { LmsConfig } from "../shared/config.ts";
import { LmsError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { serveHealth } from "./health.ts";
import { createProxyMetrics, type ProxyMetrics } from "./metrics.ts";
import { Router } from "./router.ts";
import { CancelRegistry } from "./pg/cancel.ts";
import { type PgSession, PgSession as Session, type SessionContext } from "./pg/session.ts";
import { ClientTlsUpgrader } from "./pg/tls.ts";

/** A running proxy. */
export interface ProxyServer {
  /** The port the SQL listener is bound to (useful with port 0). */
  port: number;
  /** The port of the metrics/health listener. */
  metricsPort: number;
  /** Live sessions. */
  sessions: Set<PgSession>;
  /** Routing state holder. */
  router: Router;
  /** The proxy's metrics. */
  metrics: ProxyMetrics;
  /** Stops listening and closes every session. */
  close(): Promise<void>;
}

/** Starts the SQL listener and the metrics/health listener for `config`. */
export async function startProxy(config: LmsConfig, log: Logger): Promise<ProxyServer> {
  if (config.sourceDialect === "mysql") {
    throw new LmsError(
      "CONFIG_INVALID",
      "LMS_SOURCE_DIALECT=mysql is not supported by this version of the proxy yet",
      "use postgres or crdb",
    );
  }
  if (!config.source) {
    throw new LmsError("CONFIG_INVALID", "INIT_SOURCE is required by the proxy");
  }
  const metrics = createProxyMetrics();
  const router = new Router(config.source, config.target);
  router.apply({ sourceOfTruth: "source", epoch: 0, phase: "idle" });
  const ctx: SessionContext = {
    maxMessageSize: config.maxMessageSize,
    tls: config.proxyTls ? new ClientTlsUpgrader(config.proxyTls) : undefined,
    router,
    cancels: new CancelRegistry(config.proxyId),
    metrics,
    log,
    sessions: new Set(),
  };
  const listener = net.createServer({ pauseOnConnect: false }, (socket) => {
    new Session(socket, ctx).run();
  });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", (err: Error) =>
      reject(
        new LmsError(
          "CONFIG_INVALID",
          `cannot listen on ${config.listen.hostname}:${config.listen.port}: ${err.message}`,
          "choose another address with --listen / LMS_LISTEN",
        ),
      ));
    listener.listen(config.listen.port, config.listen.hostname, 1024, () => resolve());
  });
  listener.on("error", (err: Error) => log.error("listener error", { error: err.message }));
  metrics.ready.set(1);
  const health = serveHealth(config.metricsListen, metrics.registry, {
    ready: () => router.state !== undefined,
    notReadyReason: () => "cutover state not known yet",
  });
  const port = (listener.address() as net.AddressInfo).port;
  log.info("proxy listening", {
    listen: `${config.listen.hostname}:${port}`,
    metrics: `${config.metricsListen.hostname}:${health.addr.port}`,
    dialect: config.sourceDialect,
    shadowMode: config.shadowMode,
    tls: config.proxyTls ? (config.proxyTls.ca ? "client certificates required" : "offered") : "off",
  });
  return {
    port,
    metricsPort: health.addr.port,
    sessions: ctx.sessions,
    router,
    metrics,
    async close() {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const s of [...ctx.sessions]) s.close();
      await health.shutdown();
    },
  };
}
