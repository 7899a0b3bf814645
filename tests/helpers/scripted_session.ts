/**
 * A session core driven through a scripted wire, as a MySQL or PostgreSQL
 * wire would drive it, for the unit tests of the core's decisions. The wire
 * records what the core asks of it; the test sets its protocol state.
 *
 * @module
 */

import type { ConnectionSpec } from "../../shared/connstring.ts";
import { parseConnectionString } from "../../shared/connstring.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { createLogger } from "../../shared/log.ts";
import { Gate } from "../../proxy/gate.ts";
import { createProxyMetrics } from "../../proxy/metrics.ts";
import { Router } from "../../proxy/router.ts";
import { CancelRegistry } from "../../proxy/session/cancel_registry.ts";
import type { CancelKey } from "../../proxy/session/cancel_registry.ts";
import { IdentityContext } from "../../proxy/session/identity_context.ts";
import type { SessionContext } from "../../proxy/session/context.ts";
import { LoginProofs } from "../../proxy/session/login_proofs.ts";
import { openQueue } from "../../proxy/session/open_queue.ts";
import { SessionCore } from "../../proxy/session/core.ts";
import { ClientLimits, type ClientLimitSettings } from "../../proxy/session/limits.ts";
import { SessionRegistry } from "../../proxy/session/registry.ts";
import type {
  SessionFacts,
  SessionFailure,
  SessionWire,
  WireActivity,
} from "../../proxy/session/wire.ts";

/** A backend handle: which side it was opened on. */
export type Handle = { side: DatabaseSide };

/** A wire whose protocol state the test sets, recording what the core asks of it. */
export class ScriptedWire implements SessionWire<Handle> {
  facts: SessionFacts | undefined = {
    user: "app",
    database: "shop",
    lastQuery: "SELECT 1",
    lastQueryAt: 0,
    txStartedAt: 0,
  };
  blockingReason: string | undefined;
  isQuiescent = true;
  delivered: string[] = [];
  /** The side the session was on when each chunk of `delivered` was handed back. */
  deliveredOn: (DatabaseSide | undefined)[] = [];
  opened: DatabaseSide[] = [];
  swapped: Handle[] = [];
  discarded: Handle[] = [];
  failures: SessionFailure[] = [];
  openFails = false;
  /** When set, openBackend rejects with it. */
  openError: Error | undefined;
  /** When set, openBackend waits for this promise. */
  openWaits: Promise<void> | undefined;
  closedConnections = 0;
  /** What {@linkcode loginKey} answers: undefined proves this session with a standby of its own. */
  loginKeyValue: string | undefined;

  constructor(readonly core: SessionCore<Handle>) {}

  loginKey(): string | undefined {
    return this.loginKeyValue;
  }

  activity(): WireActivity {
    return this.isQuiescent ? "idle" : "in transaction";
  }
  quiescent(): boolean {
    return this.isQuiescent;
  }
  start(): Promise<"accepted"> {
    return Promise.resolve("accepted");
  }
  refuse(): void {
    this.core.close();
  }
  clientFlowChanged(): void {}
  deliverHeld(chunk: Uint8Array): void {
    this.delivered.push(new TextDecoder().decode(chunk));
    this.deliveredOn.push(this.core.side);
  }
  openBackend(side: DatabaseSide, _spec: ConnectionSpec): Promise<Handle> {
    this.opened.push(side);
    if (this.openError) return Promise.reject(this.openError);
    if (this.openWaits) return this.openWaits.then(() => ({ side }));
    return this.openFails ? Promise.reject(new Error("refused")) : Promise.resolve({ side });
  }
  swapBackend(backend: Handle): void {
    this.swapped.push(backend);
  }
  discardBackend(backend: Handle): void {
    this.discarded.push(backend);
  }
  openShadow(): undefined {
    return undefined;
  }
  closeShadow(): void {}
  cancelRunning(): Promise<void> {
    return Promise.resolve();
  }
  fail(failure: SessionFailure): void {
    this.failures.push(failure);
    this.core.close();
  }
  closeConnections(): void {
    this.closedConnections++;
  }
}

/** UTF-8 bytes of `s`. */
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Lets pending promises and timers of 0 ms run. */
export const settle = (): Promise<unknown> => new Promise((r) => setTimeout(r, 0));

/** Limits the sessions run with unless a test overrides them. */
export const LIMITS: ClientLimitSettings = {
  maxConnections: 100,
  authFailureLimit: 5,
  authFailureWindowMs: 60_000,
  maxHeldBytes: 1 << 20,
  maxHeldClients: 100,
};

/** A relaying scripted session and what it runs in. */
export interface ScriptedSession {
  /** What the session shares with its proxy's other sessions. */
  ctx: SessionContext;
  /** The proxy's router. */
  router: Router;
  /** The proxy's pause gate. */
  gate: Gate;
  /** The session. */
  core: SessionCore<Handle>;
  /** Its wire. */
  wire: ScriptedWire;
  /** The cancel key it handed out. */
  key: CancelKey;
}

/**
 * A relaying session on the source at epoch 0, with its gate, router and
 * registry; `shareWith` makes it one more session of that session's proxy.
 */
export async function relayingSession(
  limits: Partial<ClientLimitSettings> = {},
  shareWith?: SessionContext,
): Promise<ScriptedSession> {
  const router = new Router(
    parseConnectionString("postgres://lms@127.0.0.1:1/shop"),
    parseConnectionString("postgres://lms@127.0.0.1:2/shop"),
  );
  router.apply({ sourceOfTruth: "source", epoch: 0, phase: "idle" });
  const gate = new Gate(60_000, () => {});
  // The open queue is the process's: a proxy started by an earlier test file may have held it.
  if (!shareWith) openQueue.holdIdle(0);
  const metrics = createProxyMetrics();
  const log = createLogger("test", { test: true });
  const ctx: SessionContext = shareWith ?? {
    maxMessageSize: 1 << 20,
    tls: undefined,
    router,
    gate,
    sessions: new SessionRegistry(),
    cancels: new CancelRegistry("test-proxy"),
    forwardCancel: () => false,
    metrics,
    log,
    shadow: undefined,
    identity: new IdentityContext({
      configured: { source: true, target: true },
      lookups: { on: () => undefined, close: () => Promise.resolve() },
      clientAuth: { mode: "relay", allowWithoutTls: false },
      refused: metrics.identityRefused,
      log,
    }),
    limits: new ClientLimits({ ...LIMITS, ...limits }),
    proofs: new LoginProofs(() => gate.notify()),
  };
  const core = new SessionCore<Handle>(ctx, "127.0.0.1:5000", (c) => new ScriptedWire(c));
  const wire = core.wire as ScriptedWire;
  await core.run();
  await core.admit();
  const key = core.mintCancelKey();
  core.relaying();
  return { ctx, router: ctx.router, gate: ctx.gate, core, wire, key };
}
