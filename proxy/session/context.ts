/**
 * What every session of one proxy shares, whatever its wire, and the seam
 * where the listener hands a socket to a wire.
 *
 * @module
 */

import type net from "node:net";
import type tls from "node:tls";
import type { Logger } from "../../shared/log.ts";
import type { Gate } from "../gate.ts";
import type { ProxyMetrics } from "../metrics.ts";
import type { Router } from "../router.ts";
import type { ShadowContext } from "../shadow/pairing.ts";
import type { CancelRegistry } from "./cancel_registry.ts";
import type { IdentityContext } from "./identity_context.ts";
import type { ClientLimits } from "./limits.ts";
import type { LoginProofs } from "./login_proofs.ts";
import type { SessionRegistry } from "./registry.ts";

/** TLS offered on the client listener (`SSL_CERT`/`SSL_KEY`, and `SSL_CA` for client certificates). */
export interface ListenerTls {
  /** Whether clients must present a certificate signed by `SSL_CA`. */
  readonly verifiesClients: boolean;
  /**
   * Upgrades an accepted socket (paused, no data listener) once the client
   * asked for TLS; rejects when the handshake or the client certificate fails.
   */
  upgrade(socket: net.Socket): Promise<tls.TLSSocket>;
}

/** See the module documentation. */
export interface SessionContext {
  /** Largest accepted client message, in bytes (`LMS_MAX_MESSAGE_SIZE`). */
  maxMessageSize: number;
  /** Present when the listener offers TLS. */
  tls: ListenerTls | undefined;
  /** Decides the source of truth. */
  router: Router;
  /** The consistent-cutover pause gate. */
  gate: Gate;
  /** Live sessions, for listings, drains and shutdown. */
  sessions: SessionRegistry;
  /** Cancel keys handed to clients. */
  cancels: CancelRegistry;
  /**
   * Passes a PostgreSQL CancelRequest (or a MySQL `KILL [QUERY]`) whose key
   * this proxy did not mint to the proxy that did (over the control
   * channel); `terminate` disconnects the session there (`KILL CONNECTION`).
   * False when that is not possible.
   */
  forwardCancel: (processId: number, secretKey: number, terminate?: boolean) => boolean;
  /** Metrics to update. */
  metrics: ProxyMetrics;
  /** Logger; each session logs through a child naming it. */
  log: Logger;
  /** Shadowing settings; undefined when the shadow mode is `none`. */
  shadow: ShadowContext | undefined;
  /** How sessions keep their identity on other databases (auth queries, refusals). */
  identity: IdentityContext;
  /** Connection, failed-login and hold limits. */
  limits: ClientLimits;
  /** Logins proven once per credential while a consistent drain holds idle sessions. */
  proofs: LoginProofs;
}

/**
 * A wire's entry point: serves one accepted client socket to its end. The
 * listener picks one per `sourceDialect`; it never throws.
 */
export type AcceptClient = (socket: net.Socket, ctx: SessionContext) => void;
