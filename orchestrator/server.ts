/**
 * The orchestrator's listeners.
 *
 * One HTTP(S) server carries the CLI's JSON API and the proxies' WebSocket
 * endpoint `/v1/proxies`. With TLS material it is HTTPS/WSS; with a CA it
 * requires a client certificate signed by that CA during the handshake, so an
 * API request and a WebSocket upgrade are refused alike before any HTTP is
 * read. Without a CA, a WebSocket upgrade and every API change must carry the
 * API token (`Authorization: Bearer`), or get 401. The same listener serves
 * the dashboard (`GET /`, see `orchestrator/dashboard/`) under the same rules,
 * and, with `ORCH_ALLOW_ORIGIN`, answers CORS preflights and sends
 * `Access-Control-Allow-Origin`. A second plain listener serves `/metrics`,
 * `/healthz` and `/readyz`.
 *
 * @module
 */

import http from "node:http";
import https from "node:https";
import type { TLSSocket } from "node:tls";
// @ts-types="@types/ws"
import { WebSocketServer } from "ws";
import { ORCHESTRATOR_ID_HEADER } from "../shared/api.ts";
import type { ListenAddress } from "../shared/config.ts";
import type { Logger } from "../shared/log.ts";
import type { ServerTlsMaterial } from "../shared/tls.ts";
import { SERVER_TLS_POLICY } from "../shared/tls_policy.ts";
import { type CertificateWatch, watchCertificates } from "../shared/tls_reload.ts";
import { handleApiRequest } from "./api.ts";
import { authorize } from "./auth.ts";
import { serveProxySocket } from "./channel.ts";
import type { Coordinator } from "./coordinator.ts";
import type { OrchestratorMetrics } from "./metrics.ts";
import { DashboardFeed } from "./dashboard/feed.ts";
import { handleDashboardRequest, isDashboardPath } from "./dashboard/routes.ts";
import { concatBytes } from "../shared/bytes.ts";

/** Path of the proxies' WebSocket endpoint. */
export const PROXY_SOCKET_PATH = "/v1/proxies";

/** Largest control frame accepted, in bytes. */
const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Largest API request body accepted, in bytes. */
const MAX_BODY_BYTES = 64 * 1024;

/** Options of {@linkcode startApiServer}. */
export interface ApiServerOptions {
  /** Where to listen. */
  listen: ListenAddress;
  /** HTTPS/WSS material; with `ca`, client certificates are required. */
  tls?: ServerTlsMaterial;
  /** `LMS_API_TOKEN`: required of changes and proxies unless `tls.ca` enforces mTLS. */
  apiToken?: string;
  /** Serves the API and owns the fleet. */
  coordinator: Coordinator;
  /** Logger. */
  log: Logger;
  /** Metrics. */
  metrics?: OrchestratorMetrics;
  /** Passed to each control channel; see {@linkcode serveProxySocket}. */
  idleTimeoutMs?: number;
  /** Sent in every API answer as {@linkcode ORCHESTRATOR_ID_HEADER}. */
  orchestratorId?: string;
  /** `--dashboard-allow-actions`: the dashboard offers cutover buttons. */
  dashboardAllowActions?: boolean;
  /** `ORCH_ALLOW_ORIGIN`: the CORS origin allowed, if any. */
  allowOrigin?: string;
}

/** Headers of a CORS answer for `origin`. */
function corsHeaders(origin: string | undefined): Record<string, string> {
  if (origin === undefined) return {};
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": "authorization, content-type",
    "access-control-max-age": "600",
    ...(origin === "*" ? {} : { vary: "Origin" }),
  };
}

/** A running listener. */
export interface RunningServer {
  /** The bound port (useful with port 0). */
  port: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

function peerOf(req: http.IncomingMessage): string {
  const socket = req.socket as TLSSocket;
  const address = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
  const subject = typeof socket.getPeerCertificate === "function"
    ? socket.getPeerCertificate()?.subject?.CN
    : undefined;
  return subject ? `${address} (CN=${subject})` : address;
}

/** Starts the API + WebSocket server. */
export async function startApiServer(options: ApiServerOptions): Promise<RunningServer> {
  const { coordinator, log } = options;
  const auth = { mtls: options.tls?.ca !== undefined, token: options.apiToken };
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const feed = new DashboardFeed(coordinator, options.dashboardAllowActions ?? false);
  const dashboard = {
    feed,
    coordinator,
    log,
    auth,
    actions: options.dashboardAllowActions ?? false,
  };
  const common: Record<string, string> = {
    ...corsHeaders(options.allowOrigin),
    ...(options.orchestratorId ? { [ORCHESTRATOR_ID_HEADER]: options.orchestratorId } : {}),
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    req.on("data", (chunk: Uint8Array) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", async () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { ...common, "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method === "OPTIONS") {
        res.writeHead(options.allowOrigin === undefined ? 405 : 204, common);
        res.end();
        return;
      }
      if (size > MAX_BODY_BYTES) {
        return reply(413, {
          error: {
            code: "BAD_REQUEST",
            message: "request body too large",
            hint: "send at most 64 KiB",
          },
        });
      }
      const body = new TextDecoder().decode(concatBytes(chunks));
      if (isDashboardPath(new URL(req.url ?? "/", "http://orchestrator").pathname)) {
        return await handleDashboardRequest(req, res, body, dashboard, common);
      }
      const response = await handleApiRequest(
        {
          method: req.method ?? "GET",
          url: req.url ?? "/",
          body,
          authorization: req.headers.authorization,
        },
        coordinator,
        log,
        auth,
      );
      reply(response.status, response.body);
    });
  };

  const tls = options.tls;
  const server: http.Server = tls
    ? https.createServer({
      ...SERVER_TLS_POLICY,
      cert: tls.cert,
      key: tls.key,
      ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
    }, onRequest)
    : http.createServer(onRequest);

  server.on("upgrade", (req: http.IncomingMessage, socket, head) => {
    const path = new URL(req.url ?? "/", "http://orchestrator").pathname;
    if (path !== PROXY_SOCKET_PATH) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    const allowed = authorize(req.headers.authorization, auth, "LMS_API_TOKEN on the proxy");
    if (!allowed.ok) {
      log.warn("refused a proxy's control connection", {
        peer: peerOf(req),
        reason: allowed.message,
      });
      socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      serveProxySocket(ws, {
        coordinator,
        log,
        metrics: options.metrics,
        idleTimeoutMs: options.idleTimeoutMs,
        peer: peerOf(req),
      });
    });
  });
  server.on("tlsClientError", (err: Error) => {
    log.warn("refused a TLS connection", { error: err });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen.port, options.listen.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const certificates: CertificateWatch | undefined = tls?.files
    ? watchCertificates({
      material: tls,
      listener: "API and control endpoint",
      log,
      apply: (next) =>
        (server as https.Server).setSecureContext({
          ...SERVER_TLS_POLICY,
          cert: next.cert,
          key: next.key,
          ...(next.ca ? { ca: next.ca } : {}),
        }),
    })
    : undefined;
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.listen.port;
  log.info("API and control endpoint listening", {
    hostname: options.listen.hostname,
    port,
    tls: tls ? (tls.ca ? "mtls" : "tls") : "off",
  });

  return {
    port,
    close: async () => {
      feed.close();
      certificates?.close();
      coordinator.registry.closeAll("orchestrator shutting down");
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as http.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}

/** Options of {@linkcode startMetricsServer}. */
export interface MetricsServerOptions {
  /** Where to listen. */
  listen: ListenAddress;
  /** Serves `/metrics`. */
  metrics: OrchestratorMetrics;
  /** `/readyz` answers 200 once this returns true. */
  ready: () => boolean;
  /** Logger. */
  log: Logger;
}

/** Starts the metrics/health listener. */
export function startMetricsServer(options: MetricsServerOptions): RunningServer {
  const server = Deno.serve({
    hostname: options.listen.hostname,
    port: options.listen.port,
    onListen: () => {},
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics") {
      return new Response(await options.metrics.registry.metrics(), {
        headers: { "content-type": options.metrics.registry.contentType },
      });
    }
    if (path === "/healthz") return new Response("ok\n");
    if (path === "/readyz") {
      return options.ready()
        ? new Response("ready\n")
        : new Response("state not loaded from the store yet\n", { status: 503 });
    }
    return new Response("not found\n", { status: 404 });
  });
  options.log.info("metrics listening", { ...options.listen, port: server.addr.port });
  return { port: server.addr.port, close: () => server.shutdown() };
}
