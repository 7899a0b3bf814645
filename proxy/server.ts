/**
 * The proxy process: the SQL listener, its sessions, the side port, and the
 * link to the orchestrator. It accepts no client before it knows the cutover
 * state: from the state store in the target when one is configured, else the
 * source is the source of truth at epoch 0.
 *
 * @module
 */

import net from "node:net";
import type { LmsConfig } from "../shared/config.ts";
import type { ClusterState } from "../shared/control.ts";
import { errorMessage, LmsError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { StateStore } from "../shared/state_store.ts";
import { VERSION } from "../shared/version.ts";
import { proxyTag, proxyTagOf } from "../shared/cancel_key.ts";
import { type ControlClient, startControlClient } from "./control/client.ts";
import { ProxyCutover } from "./cutover.ts";
import { Gate } from "./gate.ts";
import { serveHealth } from "./health.ts";
import { drainSessions } from "./shutdown.ts";
import { createProxyMetrics, type ProxyMetrics } from "./metrics.ts";
import { Router } from "./router.ts";
import { acceptPgClient } from "./pg/session.ts";
import { acceptMySqlClient } from "./mysql/session.ts";
import { AccountBook } from "./mysql/auth_accounts.ts";
import type { LocalAuthContext } from "./mysql/auth_local.ts";
import { rsaKeyPair } from "./mysql/auth_rsa.ts";
import { FastAuthCache } from "./mysql/auth_verify.ts";
import type { ConnectionSpec } from "../shared/connstring.ts";
import { MySqlAccountStore } from "../shared/mysql_account_store.ts";
import { defaultShadowBackendReady, type MySqlShadowBackend } from "./mysql/shadow_backend.ts";
import { TranslatorPool } from "./translate/translator_pool.ts";
import { AuthQueries } from "./pg/auth_query.ts";
import { ClientTlsUpgrader } from "./pg/tls.ts";
import { CancelRegistry } from "./session/cancel_registry.ts";
import type { AcceptClient, SessionContext } from "./session/context.ts";
import { LoginProofs } from "./session/login_proofs.ts";
import { IdentityContext } from "./session/identity_context.ts";
import { ClientLimits } from "./session/limits.ts";
import { SessionRegistry } from "./session/registry.ts";
import { type CertificateWatch, watchCertificates } from "../shared/tls_reload.ts";
import type { ShadowContext } from "./shadow/pairing.ts";
import { initFingerprints } from "./shadow/fingerprint.ts";
import { parseShadowRules } from "./shadow/rules.ts";
import { ShadowStats } from "./shadow/stats.ts";
import { type ShadowPersistence, startShadowPersistence } from "./shadow/persistence.ts";
import { ShadowingStore } from "../shared/shadowing_store.ts";

/** A running proxy. */
export interface ProxyServer {
  /** The port the SQL listener is bound to (useful with port 0). */
  port: number;
  /** The port of the metrics/health listener. */
  metricsPort: number;
  /** Live sessions, of every wire. */
  sessions: SessionRegistry;
  /** Routing state holder. */
  router: Router;
  /** The proxy's metrics. */
  metrics: ProxyMetrics;
  /** The control-channel side of the proxy core. */
  cutover: ProxyCutover;
  /** Resolves once the cutover state is known and clients are served. */
  ready: Promise<void>;
  /** Stops listening and closes every session. */
  close(): Promise<void>;
  /**
   * Graceful stop (SIGTERM): stops accepting and turns unready at once, lets
   * open transactions finish for up to `graceMs`, disconnects every session
   * with FATAL 57P01 telling the client to reconnect, then releases the rest.
   * The pause gate stays closed, so the process should exit afterwards.
   */
  shutdown(graceMs: number): Promise<void>;
}

const RETRY_MS = 1_000;
/** Sessions destroy their client socket at the latest 1 s after closing it. */
const SOCKET_FLUSH_MS = 1_500;

/** Reads the state from the store, retrying until the target answers. */
async function readStoredState(
  store: StateStore,
  log: Logger,
  stopped: () => boolean,
): Promise<ClusterState | undefined> {
  for (let attempt = 1; !stopped(); attempt++) {
    try {
      const { sourceOfTruth, epoch, phase } = await store.readState();
      return { sourceOfTruth, epoch, phase };
    } catch (err) {
      if (attempt === 1 || attempt % 30 === 0) {
        log.warn("cannot read the cutover state from the target yet; not ready", {
          error: errorMessage(err),
        });
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
  return undefined;
}

/** The shared shadowing state, or undefined when `LMS_SHADOW_MODE` is `none`. */
async function shadowContext(
  config: LmsConfig,
  metrics: ProxyMetrics,
): Promise<ShadowContext | undefined> {
  if (config.shadowMode === "none") return undefined;
  await initFingerprints();
  return {
    mode: config.shadowMode,
    stats: new ShadowStats(),
    rules: parseShadowRules(config.shadowVolatile.join(",")),
    metrics: metrics.shadow,
    maxQueueBytes: config.shadowQueueBytes,
    rowLimit: config.shadowRowLimit,
  };
}

/** The MySQL source's accounts and keys, for verifying logins once the target is the source of truth. */
function mysqlLocalAuth(
  config: LmsConfig,
  source: ConnectionSpec,
  target: ConnectionSpec,
  metrics: ProxyMetrics,
  log: Logger,
): LocalAuthContext & { close(): Promise<void> } {
  const store = new MySqlAccountStore(target);
  const accounts = new AccountBook({
    source,
    store,
    refreshMs: config.mysqlAccountsRefreshMs,
    actor: config.proxyId,
    log: log.child({ component: "mysql-accounts" }),
  });
  return {
    accounts,
    fastAuth: new FastAuthCache(),
    rsa: rsaKeyPair(config.mysqlRsaKey),
    targetUser: (user) =>
      Object.hasOwn(config.mysqlTargetUsers, user) ? config.mysqlTargetUsers[user] : user,
    count: (plugin, method, outcome) => metrics.mysqlLocalLogins.inc({ plugin, method, outcome }),
    async close() {
      accounts.close();
      await store.close();
    },
  };
}

/** What an embedding process (a test) may plug into the proxy. */
export interface ProxyHooks {
  /** The backend of MySQL sessions' shadow connections, instead of the translated one. */
  mysqlShadowBackend?: MySqlShadowBackend;
}

/** Starts the SQL listener and the metrics/health listener for `config`. */
export async function startProxy(
  config: LmsConfig,
  log: Logger,
  hooks: ProxyHooks = {},
): Promise<ProxyServer> {
  if (!config.source) {
    throw new LmsError("CONFIG_INVALID", "INIT_SOURCE is required by the proxy");
  }
  let closed = false;
  const metrics = createProxyMetrics();
  const router = new Router(config.source, config.target);
  const store = config.target
    ? new StateStore({ target: config.target, source: config.source })
    : undefined;
  const sessions = new SessionRegistry();
  let control: ControlClient | undefined;
  metrics.observeState({
    state: () => router.state,
    controlConnected: () => control?.connected() ?? false,
  });
  const cancels = new CancelRegistry(config.proxyId);
  let cutover: ProxyCutover | undefined = undefined;
  const resumeFromStore = async () => {
    // Shutting down keeps the gate closed: held work must never run.
    if (closed) return;
    if (!store) return cutover!.resume({ ...router.state!, phase: "idle" });
    log.warn("pause outlived the maximum pause; resuming by the state store", {
      maxPauseMs: config.maxPauseMs,
    });
    const state = await readStoredState(store, log, () => closed || !gate.paused);
    if (state && gate.paused && !closed) cutover!.resume(state);
  };
  const shadow = await shadowContext(config, metrics);
  // The clock lives in the state store, so a restart neither resets it nor fakes it.
  const shadowing: ShadowPersistence | undefined = config.target
    ? startShadowPersistence({
      store: new ShadowingStore(config.target),
      proxyId: config.proxyId,
      mode: config.shadowMode,
      stats: shadow?.stats,
      log,
    })
    : undefined;
  const gate = new Gate(
    config.maxPauseMs,
    () => void resumeFromStore(),
    (seconds) => metrics.pauseHold.observe(seconds),
  );
  cutover = new ProxyCutover({
    proxyId: config.proxyId,
    router,
    gate,
    sessions,
    cancels,
    metrics,
    redactQueries: config.redactQueries,
    log,
    shadowReport: shadow
      ? () => shadow.stats.report(config.proxyId, config.shadowMode, shadowing?.since() ?? null)
      : undefined,
  });
  const identity = new IdentityContext({
    configured: { source: config.source !== undefined, target: config.target !== undefined },
    lookups: new AuthQueries({ source: config.source, target: config.target }, config.authQuery),
    clientAuth: { mode: config.clientAuth, allowWithoutTls: config.allowCleartextWithoutTls },
    refused: metrics.identityRefused,
    log,
  });
  if (config.clientAuth === "cleartext" && config.allowCleartextWithoutTls) {
    log.warn(
      "LMS_ALLOW_CLEARTEXT_WITHOUT_TLS: clients' passwords are accepted over plain TCP",
      { clientAuth: config.clientAuth },
    );
  }
  const ownTag = proxyTag(config.proxyId);
  const upgrader = config.proxyTls ? new ClientTlsUpgrader(config.proxyTls) : undefined;
  const certificates: CertificateWatch | undefined = upgrader && config.proxyTls?.files
    ? watchCertificates({
      material: config.proxyTls,
      listener: "SQL listener",
      log,
      apply: (material) => upgrader.setMaterial(material),
    })
    : undefined;
  const ctx: SessionContext = {
    maxMessageSize: config.maxMessageSize,
    tls: upgrader,
    router,
    cancels,
    metrics,
    log,
    sessions,
    gate,
    shadow,
    identity,
    forwardCancel: (processId, secretKey, terminate) =>
      proxyTagOf(processId) !== ownTag &&
      (control?.forwardCancel(processId, secretKey, terminate) ?? false),
    limits: new ClientLimits(config),
    proofs: new LoginProofs(() => gate.notify()),
  };
  const localAuth = config.sourceDialect === "mysql" && config.target
    ? mysqlLocalAuth(config, config.source, config.target, metrics, log)
    : undefined;
  localAuth?.accounts.start();
  const accept: AcceptClient = config.sourceDialect === "mysql"
    ? acceptMySqlClient({
      serviceSpec: config.source,
      ownTag,
      localAuth,
      shadowBackend: hooks.mysqlShadowBackend,
      serving: {
        pool: new TranslatorPool(metrics.tallies),
        roles: new Map(Object.entries(config.mysqlTargetUsers)),
        localAuth,
      },
    })
    : acceptPgClient;
  if (
    config.sourceDialect === "mysql" && shadow && !hooks.mysqlShadowBackend &&
    !defaultShadowBackendReady("source")
  ) {
    log.warn(
      "MySQL sessions are shadowed on the target only: once the target is the source of truth " +
        "they run without a shadow (the proxy cannot log in to MySQL as the client's user)",
      { shadowMode: config.shadowMode },
    );
  }
  const listener = net.createServer((socket) => accept(socket, ctx));
  const standaloneNote = "standalone: no orchestrator, cutovers are not followed";
  metrics.standalone.set(config.standalone ? 1 : 0);
  if (config.standalone) {
    log.warn("running standalone (--standalone): this proxy never follows a cutover", {
      sourceOfTruth: store ? "from the state store" : "source",
    });
  }
  let refusedBecause: string | undefined;
  const health = serveHealth(config.metricsListen, metrics.registry, {
    ready: () => router.state !== undefined && !closed && refusedBecause === undefined,
    notReadyReason: () =>
      closed ? "shutting down" : refusedBecause ?? "cutover state not known yet",
    readyNote: () => config.standalone ? standaloneNote : undefined,
  });
  const ready = (async () => {
    const state = store
      ? await readStoredState(store, log, () => closed)
      : { sourceOfTruth: "source" as const, epoch: 0, phase: "idle" as const };
    if (!state) return;
    cutover.applyState(state);
    if (state.phase !== "idle") cutover.pause("restored-from-store");
    if (config.orchestratorUrl) {
      control = startControlClient({
        url: config.orchestratorUrl,
        proxyId: config.proxyId,
        version: VERSION,
        shadowMode: config.shadowMode,
        tls: config.orchestratorTls,
        apiToken: config.apiToken,
        handler: cutover,
        log: log.child({ component: "control" }),
        onRefusal: (reason) => {
          refusedBecause = reason;
          metrics.ready.set(reason === undefined && !closed ? 1 : 0);
        },
      });
    }
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
    metrics.ready.set(refusedBecause === undefined ? 1 : 0);
    log.info("proxy listening", {
      listen: `${config.listen.hostname}:${(listener.address() as net.AddressInfo).port}`,
      metrics: `${config.metricsListen.hostname}:${health.addr.port}`,
      dialect: config.sourceDialect,
      shadowMode: config.shadowMode,
      sourceOfTruth: state.sourceOfTruth,
      epoch: state.epoch,
      tls: config.proxyTls
        ? (config.proxyTls.ca ? "client certificates required" : "offered")
        : "off",
    });
  })();
  if (!store) await ready;
  return {
    get port() {
      return (listener.address() as net.AddressInfo | null)?.port ?? config.listen.port;
    },
    metricsPort: health.addr.port,
    sessions,
    router,
    metrics,
    cutover,
    ready,
    async close() {
      closed = true;
      certificates?.close();
      gate.resume();
      await control?.close();
      if (listener.listening) await new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const s of [...sessions]) s.close();
      await localAuth?.close();
      await identity.close();
      await shadowing?.close();
      await store?.close();
      await health.shutdown();
    },
    async shutdown(graceMs: number) {
      if (closed) return;
      closed = true;
      certificates?.close();
      metrics.ready.set(0);
      log.info("shutting down: not accepting clients, draining sessions", {
        sessions: sessions.size,
        graceMs,
      });
      // Resolves once every client socket is gone, i.e. the goodbyes are flushed.
      const socketsGone = new Promise<void>((resolve) => listener.close(() => resolve()));
      // Without the orchestrator nothing can reopen the gate mid-drain.
      await control?.close();
      const outcome = await drainSessions({ gate, sessions, graceMs, log });
      await Promise.race([socketsGone, new Promise((r) => setTimeout(r, SOCKET_FLUSH_MS))]);
      log.info("sessions drained; exiting", { ...outcome });
      await localAuth?.close();
      await identity.close();
      await shadowing?.close();
      await store?.close();
      await health.shutdown();
    },
  };
}
