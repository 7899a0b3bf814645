/**
 * The proxy's end of the control channel.
 *
 * One persistent WebSocket to `${url}/v1/proxies` (WSS with a client
 * certificate when configured, and the API token as a bearer token when one
 * is configured). On every connect the client says hello with
 * the state it knows, then sends heartbeats; while paused it reports drain
 * progress every 100 ms and at once when the handler signals a change, until
 * drained. Orchestrator requests are answered through the
 * {@linkcode ControlHandler}. When the orchestrator goes away the client
 * reconnects with exponential backoff and jitter, and the proxy keeps serving
 * by the last state it applied. A malformed frame is logged and answered with
 * an `error` frame; nothing here throws into the proxy.
 *
 * @module
 */

import {
  type ClusterState,
  DUPLICATE_CLOSE_CODE,
  DUPLICATE_PROXY_ID,
  encodeMessage,
  type OrchestratorMessage,
  parseOrchestratorMessage,
  type ProxyMessageBody,
  type ShadowModeName,
} from "../../shared/control.ts";
import WebSocket from "ws";
import { errorMessage } from "../../shared/errors.ts";
import { createLogger, type Logger } from "../../shared/log.ts";
import { emptyShadowReport } from "../../shared/shadow.ts";
import type { TlsFiles } from "../../shared/tls.ts";
import { type CertificateWatch, watchCertificates } from "../../shared/tls_reload.ts";
import type { ControlHandler } from "./handler.ts";

/** Client TLS material, PEM text. */
export interface ControlClientTls {
  /** Client certificate presented to the orchestrator. */
  cert: string;
  /** Its private key. */
  key: string;
  /** CA that signed the orchestrator's certificate; system roots when absent. */
  ca?: string;
  /**
   * The files it was read from (`TLS_CERT`, `TLS_KEY`, `CA_TLS_CERT`). When
   * set they are watched, and a rotated, valid version is used from the next
   * connection on (a broken one is logged and the previous one kept).
   */
  files?: TlsFiles;
}

/** Options of {@linkcode startControlClient}. */
export interface ControlClientOptions {
  /** Orchestrator base URL: http(s):// or ws(s)://host:port. */
  url: string;
  /** Stable proxy id (pod name or hostname). */
  proxyId: string;
  /** Proxy build version, reported in `status`. */
  version: string;
  /** The proxy's shadow mode, which the orchestrator guards cutovers by. */
  shadowMode: ShadowModeName;
  /** Client certificate for mTLS and the CA to trust. */
  tls?: ControlClientTls;
  /** `LMS_API_TOKEN`, sent as a bearer token; an orchestrator without mTLS requires it. */
  apiToken?: string;
  /** The proxy core. */
  handler: ControlHandler;
  /** Called after a state from the orchestrator was applied. */
  onStateChange?: (state: ClusterState) => void;
  /**
   * Called when the orchestrator refuses this proxy (its id is taken by a live
   * proxy), with the reason, and with undefined once it is welcomed again.
   */
  onRefusal?: (reason: string | undefined) => void;
  /** Heartbeat interval; 1000 ms. */
  heartbeatMs?: number;
  /** Drain progress interval while paused; 100 ms. */
  drainProgressMs?: number;
  /** First reconnect delay; 100 ms. */
  backoffInitialMs?: number;
  /** Longest reconnect delay; 5000 ms. */
  backoffMaxMs?: number;
  /** Logger; a `control` logger by default. */
  log?: Logger;
}

/** A running control client. */
export interface ControlClient {
  /** Whether the orchestrator welcomed the current connection. */
  connected(): boolean;
  /** Settles at the next welcome (immediately when connected). */
  whenConnected(): Promise<void>;
  /**
   * Sends a CancelRequest this proxy does not own to the orchestrator, which
   * routes it to the owning proxy. False when not connected (the cancel is lost,
   * as it would be without LMS when the server is unreachable). With
   * `terminate` the owning proxy disconnects the session instead (MySQL's
   * `KILL CONNECTION`).
   */
  forwardCancel(processId: number, secretKey: number, terminate?: boolean): boolean;
  /** Closes the connection and stops reconnecting. */
  close(): Promise<void>;
}

/** The WebSocket URL for an orchestrator base URL. */
export function controlSocketUrl(base: string): string {
  const url = new URL(base);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  url.pathname = url.pathname.replace(/\/+$/, "") + "/v1/proxies";
  return url.toString();
}

/** Starts the client; it connects in the background and never throws. */
export function startControlClient(options: ControlClientOptions): ControlClient {
  const log = options.log ?? createLogger("control", { proxyId: options.proxyId });
  const handler = options.handler;
  const url = controlSocketUrl(options.url);
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const drainProgressMs = options.drainProgressMs ?? 100;
  const backoffInitialMs = options.backoffInitialMs ?? 100;
  const backoffMaxMs = options.backoffMaxMs ?? 5000;
  // npm:ws rather than Deno's WebSocket: Deno's leaves Nagle's algorithm on,
  // which held the last drain report back ~40 ms per cutover (a delayed ACK).
  const socketOptionsFor = (tls: ControlClientTls | undefined): WebSocket.ClientOptions => ({
    ...(tls ? { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}) } : {}),
    ...(options.apiToken !== undefined
      ? { headers: { authorization: `Bearer ${options.apiToken}` } }
      : {}),
  });
  let socketOptions = socketOptionsFor(options.tls);
  // Kubernetes rotates the mounted Secret in place; the open connection keeps its certificate.
  const certificates: CertificateWatch | undefined = options.tls?.files
    ? watchCertificates({
      material: options.tls,
      listener: "control channel client",
      role: "client",
      log,
      apply: (material) => (socketOptions = socketOptionsFor(material)),
    })
    : undefined;

  let socket: WebSocket | undefined;
  let welcomed = false;
  let closed = false;
  let attempt = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  let drainTimer: ReturnType<typeof setInterval> | undefined;
  let drainCutoverId: string | undefined;
  let unsubscribeDrain: (() => void) | undefined;
  let waiters: (() => void)[] = [];
  let refusal: string | undefined;

  const send = (body: ProxyMessageBody): boolean => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    try {
      socket.send(encodeMessage(body));
      return true;
    } catch (err) {
      log.warn("cannot send a control message", { type: body.type, error: errorMessage(err) });
      return false;
    }
  };

  const guarded = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log.error(`the proxy failed to ${what}`, { error: errorMessage(err) });
      send({ type: "error", code: "HANDLER_FAILED", message: `${what}: ${errorMessage(err)}` });
    }
  };

  const reportDrain = () => {
    const cutoverId = drainCutoverId;
    if (cutoverId === undefined) return;
    guarded("report drain progress", () => {
      const status = handler.drainStatus();
      const remaining = handler.pauseRemainingMs?.() ?? null;
      send({
        type: "drain_progress",
        cutoverId,
        drained: status.drained,
        counts: status.counts,
        blocking: status.blocking,
        ...(remaining === null ? {} : { pauseRemainingMs: remaining }),
      });
      if (status.drained) stopDrainReports(false);
    });
  };

  const startDrainReports = (cutoverId: string) => {
    stopDrainReports(true);
    drainCutoverId = cutoverId;
    unsubscribeDrain = handler.onDrainChange?.(() => reportDrain());
    drainTimer = setInterval(reportDrain, drainProgressMs);
    reportDrain();
  };

  /** Stops the periodic reports; `forget` also drops the cutover (on resume). */
  const stopDrainReports = (forget: boolean) => {
    clearInterval(drainTimer);
    drainTimer = undefined;
    unsubscribeDrain?.();
    unsubscribeDrain = undefined;
    if (forget) drainCutoverId = undefined;
  };

  /** Drained for `cutoverId` right now, with pause time left: what a commit may rely on. */
  const confirmDrain = (requestId: string, cutoverId: string) => {
    guarded("confirm the drain", () => {
      const remaining = handler.pauseRemainingMs ? handler.pauseRemainingMs() ?? 0 : null;
      const paused = handler.paused() && drainCutoverId === cutoverId &&
        (remaining === null || remaining > 0);
      send({
        type: "drain_confirmation",
        requestId,
        cutoverId,
        paused,
        drained: paused && handler.drainStatus().drained,
        pauseRemainingMs: remaining,
      });
    });
  };

  // A self-resume voids the drain ack: say so before traffic runs again, not at the next heartbeat.
  const unsubscribeExpiry = handler.onPauseExpired?.(() => {
    const cutoverId = drainCutoverId;
    if (cutoverId === undefined) return;
    stopDrainReports(false);
    log.warn("pause outlived the maximum pause; telling the orchestrator", { cutoverId });
    send({ type: "pause_expired", cutoverId });
  });

  const applyState = (state: ClusterState) => {
    guarded("apply the state", () => {
      const before = handler.state();
      if (handler.paused() && state.phase === "idle") {
        // The cutover ended while this proxy was away from the orchestrator.
        stopDrainReports(true);
        handler.resume(state);
      } else {
        handler.applyState(state);
      }
      if (!before || before.epoch !== state.epoch || before.phase !== state.phase) {
        options.onStateChange?.(state);
      }
    });
  };

  const onMessage = (message: OrchestratorMessage) => {
    switch (message.type) {
      case "welcome":
        welcomed = true;
        attempt = 0;
        if (refusal !== undefined) {
          refusal = undefined;
          log.info("the orchestrator accepted this proxy id now", { proxyId: options.proxyId });
          options.onRefusal?.(undefined);
        }
        applyState(message.state);
        for (const wake of waiters) wake();
        waiters = [];
        return;
      case "state":
        applyState(message.state);
        return;
      case "pause":
        guarded("pause", () => {
          handler.pause(message.cutoverId);
          startDrainReports(message.cutoverId);
        });
        return;
      case "resume":
        guarded("resume", () => {
          stopDrainReports(true);
          handler.resume(message.state);
          options.onStateChange?.(message.state);
        });
        return;
      case "confirm_drain":
        confirmDrain(message.requestId, message.cutoverId);
        return;
      case "list_connections":
        guarded("list connections", () => {
          send({
            type: "connections",
            requestId: message.requestId,
            connections: handler.connections(message.redact),
          });
        });
        return;
      case "shadow_report_request":
        // A failure still answers, so the orchestrator does not wait out its timeout.
        try {
          const report = handler.shadowReport?.() ?? emptyShadowReport(options.proxyId);
          send({ type: "shadow_report", requestId: message.requestId, report });
        } catch (err) {
          log.error("the proxy failed to build its shadow report", { error: errorMessage(err) });
          send({
            type: "reply",
            requestId: message.requestId,
            ok: false,
            error: `shadow report: ${errorMessage(err)}`,
          });
        }
        return;
      case "cancel_blocking":
        handler.cancelBlocking(message.terminate).then(
          (sessionIds) =>
            send({
              type: "cancel_blocking_result",
              cutoverId: message.cutoverId,
              terminate: message.terminate,
              sessionIds,
            }),
          (err) => log.error("cancelling blocking sessions failed", { error: errorMessage(err) }),
        );
        return;
      case "cancel_request":
        handler.cancelLocal(message.processId, message.secretKey, message.terminate ?? false).then(
          (delivered) => log.debug("forwarded cancel request handled", { delivered }),
          (err) => log.warn("forwarded cancel request failed", { error: errorMessage(err) }),
        );
        return;
      case "error":
        if (message.code === DUPLICATE_PROXY_ID) {
          if (refusal === undefined) {
            log.error("the orchestrator refused this proxy: its id is in use; not ready", {
              proxyId: options.proxyId,
              reason: message.message,
              retryMs: backoffMaxMs,
            });
          }
          refusal = message.message;
          options.onRefusal?.(refusal);
          return;
        }
        log.warn("the orchestrator rejected a message", {
          code: message.code,
          reason: message.message,
        });
        return;
    }
  };

  const scheduleReconnect = () => {
    if (closed) return;
    const ceiling = Math.min(backoffMaxMs, backoffInitialMs * 2 ** attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    attempt++;
    reconnectTimer = setTimeout(connect, delay);
  };

  const connect = () => {
    if (closed) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, socketOptions);
    } catch (err) {
      log.warn("cannot open the control connection", { url, error: errorMessage(err) });
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      log.info("control connection open", { url });
      send({
        type: "hello",
        proxyId: options.proxyId,
        version: options.version,
        shadowMode: options.shadowMode,
        state: handler.state() ?? null,
        sessions: handler.sessions(),
      });
      heartbeatTimer = setInterval(() => {
        guarded("report a heartbeat", () => {
          send({
            type: "heartbeat",
            sessions: handler.sessions(),
            epoch: handler.state()?.epoch ?? null,
            paused: handler.paused(),
          });
        });
      }, heartbeatMs);
    };
    ws.onmessage = (event: WebSocket.MessageEvent) => {
      if (typeof event.data !== "string") {
        log.warn("ignored a binary control frame");
        send({
          type: "error",
          code: "INVALID_MESSAGE",
          message: "binary frames are not part of the protocol",
        });
        return;
      }
      const parsed = parseOrchestratorMessage(event.data);
      if (!parsed.ok) {
        log.warn("rejected a control message", {
          code: parsed.error.code,
          reason: parsed.error.message,
        });
        send({ type: "error", code: parsed.error.code, message: parsed.error.message });
        return;
      }
      onMessage(parsed.message);
    };
    ws.onerror = (event: WebSocket.ErrorEvent) => {
      const message = event.message ?? "connection error";
      if (/server response: 401/.test(message)) {
        // Retrying helps once the operator fixed the token; say so at every few attempts.
        if (attempt % 10 === 0) {
          log.error("the orchestrator refused this proxy: wrong or missing API token", {
            url,
            attempt,
            hint: options.apiToken === undefined
              ? "set LMS_API_TOKEN to the orchestrator's LMS_API_TOKEN"
              : "LMS_API_TOKEN differs from the orchestrator's; give both the same token",
          });
        }
        return;
      }
      // While the orchestrator stays away, say so now and then rather than at every retry.
      const level = attempt % 10 === 0 ? "warn" : "debug";
      log[level]("control connection failed", { url, attempt, error: message });
    };
    ws.onclose = (event: WebSocket.CloseEvent) => {
      // Refused as a duplicate: ask again now and then, not at full reconnect speed.
      if (event.code === DUPLICATE_CLOSE_CODE) attempt = Math.max(attempt, 64);
      clearInterval(heartbeatTimer);
      heartbeatTimer = undefined;
      clearInterval(drainTimer);
      drainTimer = undefined;
      if (socket === ws) socket = undefined;
      if (welcomed) log.warn("control connection lost; serving by the last known state", { url });
      welcomed = false;
      scheduleReconnect();
    };
  };

  connect();

  return {
    connected: () => welcomed,
    whenConnected: () =>
      welcomed ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
    forwardCancel: (processId, secretKey, terminate) =>
      welcomed &&
      send({ type: "cancel_forward", processId, secretKey, ...(terminate ? { terminate } : {}) }),
    close: async () => {
      if (closed) return;
      closed = true;
      certificates?.close();
      clearTimeout(reconnectTimer);
      stopDrainReports(true);
      unsubscribeExpiry?.();
      clearInterval(heartbeatTimer);
      const ws = socket;
      if (ws && ws.readyState !== WebSocket.CLOSED) {
        const done = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
        ws.close(1000, "proxy shutting down");
        await Promise.race([done, new Promise((r) => setTimeout(r, 1000))]);
      }
    },
  };
}
