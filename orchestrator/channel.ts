/**
 * The orchestrator's end of one proxy's control WebSocket.
 *
 * The first frame must be `hello`; after it the proxy is registered and
 * welcomed. Every frame is validated; a malformed or unexpected one is logged,
 * counted and answered with an `error` frame, and the connection stays up.
 * A proxy silent for longer than the idle timeout is disconnected.
 *
 * @module
 */

// @ts-types="@types/ws"
import type { RawData, WebSocket } from "ws";
import {
  DUPLICATE_CLOSE_CODE,
  DUPLICATE_PROXY_ID,
  encodeMessage,
  parseProxyMessage,
} from "../shared/control.ts";
import type { Logger } from "../shared/log.ts";
import type { Coordinator } from "./coordinator.ts";
import type { OrchestratorMetrics } from "./metrics.ts";
import type { ProxyConnection } from "./proxies.ts";

/** Options of {@linkcode serveProxySocket}. */
export interface ChannelOptions {
  /** Owns the registry and the state. */
  coordinator: Coordinator;
  /** Logger. */
  log: Logger;
  /** Metrics. */
  metrics?: OrchestratorMetrics;
  /** Close a connection that sent nothing for this long; 15000 ms (heartbeats come every second). */
  idleTimeoutMs?: number;
  /** Peer description for logs (address, certificate subject). */
  peer: string;
}

/** The close code of a proxy that shuts down (`proxy/control/client.ts`): it leaves the fleet. */
const NORMAL_CLOSE = 1000;

/** Serves one accepted WebSocket until it closes. */
export function serveProxySocket(ws: WebSocket, options: ChannelOptions): void {
  const { coordinator, metrics } = options;
  const log = options.log.child({ peer: options.peer });
  const registry = coordinator.registry;
  let proxyId: string | undefined;
  let lastSeen = Date.now();
  /** Set when this end closes the socket: only a proxy's own normal close means it left. */
  let closedHere = false;
  const idleTimeoutMs = options.idleTimeoutMs ?? 15_000;

  const connection: ProxyConnection = {
    peer: options.peer,
    send: (text) => {
      if (ws.readyState === ws.OPEN) ws.send(text);
    },
    close: (code, reason) => {
      closedHere = true;
      ws.close(code, reason);
    },
  };
  const reject = (code: string, message: string) => {
    metrics?.invalidMessages.inc({ code });
    log.warn("rejected a control message", { proxyId, code, reason: message });
    connection.send(encodeMessage({ type: "error", code, message }));
  };

  /** Two processes with one id would take turns on the channel: the newcomer is refused. */
  const refuseDuplicate = (id: string, holderPeer: string | undefined) => {
    metrics?.invalidMessages.inc({ code: DUPLICATE_PROXY_ID });
    const text = `proxy id ${id} is already connected to the orchestrator` +
      (holderPeer ? ` from ${holderPeer}` : "") +
      "; give each proxy its own LMS_PROXY_ID (or leave it unset for a unique default)";
    log.error("refused a proxy whose id is already connected", {
      proxyId: id,
      connectedPeer: holderPeer,
      code: DUPLICATE_PROXY_ID,
    });
    connection.send(encodeMessage({ type: "error", code: DUPLICATE_PROXY_ID, message: text }));
    ws.close(DUPLICATE_CLOSE_CODE, `duplicate proxy id ${id}`.slice(0, 120));
  };

  const idleCheck = setInterval(() => {
    if (Date.now() - lastSeen > idleTimeoutMs) {
      log.warn("closing a silent proxy connection", { proxyId, idleTimeoutMs });
      closedHere = true;
      ws.terminate();
    }
  }, Math.min(5000, idleTimeoutMs));

  ws.on("message", async (data: RawData, isBinary: boolean) => {
    lastSeen = Date.now();
    if (isBinary) return reject("INVALID_MESSAGE", "binary frames are not part of the protocol");
    const parsed = parseProxyMessage(data.toString());
    if (!parsed.ok) return reject(parsed.error.code, parsed.error.message);
    const message = parsed.message;
    if (message.type === "hello") {
      await coordinator.ready();
      if (ws.readyState !== ws.OPEN) return;
      const holder = registry.liveHolder(message.proxyId, connection);
      if (holder) return refuseDuplicate(message.proxyId, holder.connection?.peer);
      proxyId = message.proxyId;
      registry.register(message, connection);
      log.info("proxy registered", {
        proxyId,
        version: message.version,
        epoch: message.state?.epoch,
      });
      coordinator.welcome(proxyId);
      return;
    }
    if (proxyId === undefined) {
      return reject("INVALID_MESSAGE", `send hello before ${message.type}`);
    }
    switch (message.type) {
      case "cancel_forward": {
        const targets = registry.routeCancel(
          message.processId,
          message.secretKey,
          proxyId,
          message.terminate ?? false,
        );
        log.debug("forwarded a cancel request", { from: proxyId, to: targets });
        return;
      }
      case "reply":
        if (!message.ok) {
          log.warn("proxy reported a failed request", { proxyId, error: message.error });
        }
        registry.record(proxyId, message);
        return;
      case "error":
        log.warn("proxy rejected a control message", {
          proxyId,
          code: message.code,
          reason: message.message,
        });
        return;
      default:
        registry.record(proxyId, message);
    }
  });

  ws.on("close", (code: number) => {
    clearInterval(idleCheck);
    if (proxyId !== undefined) {
      const cleanly = code === NORMAL_CLOSE && !closedHere;
      log.info(cleanly ? "proxy left" : "proxy disconnected", { proxyId, code });
      registry.disconnect(proxyId, connection, cleanly);
    }
  });
  ws.on("error", (err: Error) => log.warn("control connection error", { proxyId, error: err }));
}
