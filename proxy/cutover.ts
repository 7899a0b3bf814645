/**
 * The proxy's side of a cutover: what the control channel asks of the proxy
 * core (pause, drain, resume, new state, listings, cancels), implemented over
 * the router, the gate and the live sessions.
 *
 * @module
 */

import type {
  BlockingSession,
  ClusterState,
  ConnectionInfo,
  SessionCounts,
} from "../shared/control.ts";
import type { Logger } from "../shared/log.ts";
import { emptyShadowReport, type ProxyShadowReport } from "../shared/shadow.ts";
import type { ControlHandler, DrainStatus } from "./control/handler.ts";
import type { Gate } from "./gate.ts";
import type { ProxyMetrics } from "./metrics.ts";
import { redactLiterals } from "./pg/redact.ts";
import type { Router } from "./router.ts";
import type { CancelRegistry } from "./session/cancel_registry.ts";
import { IDLE_MOVE_DELAY_MS, openQueue } from "./session/open_queue.ts";
import type { SessionRegistry } from "./session/registry.ts";

/** What {@linkcode ProxyCutover} works on. */
export interface ProxyCutoverDeps {
  /** This proxy's id. */
  proxyId: string;
  /** Routing state. */
  router: Router;
  /** The pause gate. */
  gate: Gate;
  /** Live sessions, of every wire. */
  sessions: SessionRegistry;
  /** Cancel keys handed out here. */
  cancels: CancelRegistry;
  /** Metrics to keep in step. */
  metrics: ProxyMetrics;
  /** Whether `connections list` always redacts literals (`LMS_REDACT_QUERIES`). */
  redactQueries: boolean;
  /** Logger. */
  log: Logger;
  /** This proxy's shadowing results; absent when the proxy does not shadow. */
  shadowReport?: () => ProxyShadowReport;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Implements {@linkcode ControlHandler} over the sessions of every wire. */
export class ProxyCutover implements ControlHandler {
  readonly #d: ProxyCutoverDeps;

  /** @param deps the proxy parts it drives */
  constructor(deps: ProxyCutoverDeps) {
    this.#d = deps;
  }

  /** @inheritdoc */
  state(): ClusterState | undefined {
    return this.#d.router.state;
  }

  /** @inheritdoc */
  applyState(state: ClusterState): void {
    const before = this.#d.router.state;
    if (!this.#d.router.apply(state)) {
      this.#d.log.warn("ignored a state older than the one in force", {
        epoch: state.epoch,
        current: before?.epoch,
      });
      return;
    }
    if (before?.epoch !== state.epoch) this.#epochChanged(state);
    this.#d.sessions.reconsiderAll();
  }

  /**
   * Logs the new routing state and holds idle sessions' moves for a moment,
   * so that the requests that waited for it reach the new database first.
   */
  #epochChanged(state: ClusterState): void {
    this.#d.log.info("routing state changed", {
      sourceOfTruth: state.sourceOfTruth,
      epoch: state.epoch,
    });
    openQueue.holdIdle(IDLE_MOVE_DELAY_MS);
  }

  /** @inheritdoc */
  pause(cutoverId: string): void {
    if (!this.#d.gate.paused) this.#d.log.info("pausing for cutover", { cutoverId });
    this.#d.gate.pause(cutoverId);
    this.#d.metrics.paused.set(1);
    // The standbys of idle sessions that share no login proof open in the idle lane.
    openQueue.holdIdle(0);
    // Sessions already between transactions prepare their move now.
    this.#d.sessions.reconsiderAll();
  }

  /** @inheritdoc */
  resume(state: ClusterState): void {
    const before = this.#d.router.state?.epoch;
    this.#d.router.apply(state);
    if (this.#d.gate.paused) {
      this.#d.log.info("resuming", { sourceOfTruth: state.sourceOfTruth, epoch: state.epoch });
    }
    // A proxy that was never paused (it connected after the pause, or its pause expired) adopts
    // the epoch here too; without this line its log would not say when it did.
    const after = this.#d.router.state;
    if (after !== undefined && after.epoch !== before) this.#epochChanged(after);
    this.#d.metrics.paused.set(0);
    this.#d.gate.resume();
    this.#d.sessions.reconsiderAll();
  }

  /** @inheritdoc */
  paused(): boolean {
    return this.#d.gate.paused;
  }

  /** @inheritdoc */
  sessions(): SessionCounts {
    return this.#d.sessions.counts();
  }

  /** @inheritdoc */
  drainStatus(): DrainStatus {
    const now = performance.now();
    const blocking: BlockingSession[] = this.#d.sessions.blocking().map((s) => ({
      sessionId: s.id,
      client: s.clientAddress,
      user: s.user,
      database: s.database,
      inTransactionForMs: s.txStartedAt ? Math.round(now - s.txStartedAt) : 0,
      query: this.#query(s.lastQuery, true),
      ...(s.blockingReason ? { reason: s.blockingReason } : {}),
    }));
    return { drained: blocking.length === 0, counts: this.sessions(), blocking };
  }

  #query(sql: string, redact: boolean): string {
    return redact || this.#d.redactQueries ? redactLiterals(sql) : sql;
  }

  /** @inheritdoc */
  connections(redact: boolean): ConnectionInfo[] {
    return [...this.#d.sessions].map((s) => ({
      proxyId: this.#d.proxyId,
      sessionId: s.id,
      clientAddress: s.clientAddress,
      user: s.user,
      database: s.database,
      state: s.connectionState,
      currentDatabase: s.side ?? this.#d.router.state?.sourceOfTruth ?? "source",
      lastQuery: this.#query(s.lastQuery, redact),
      lastQueryAt: s.lastQueryAt ? iso(s.lastQueryAt) : null,
      since: iso(s.connectedAt),
    }));
  }

  /** @inheritdoc */
  cancelLocal(processId: number, secretKey: number, terminate = false): Promise<boolean> {
    return this.#d.cancels.cancel(processId, secretKey, terminate);
  }

  /** @inheritdoc */
  async cancelBlocking(terminate: boolean): Promise<string[]> {
    const blocking = this.#d.sessions.blocking();
    for (const s of blocking) {
      if (terminate) s.terminate("terminated by the operator to finish a cutover drain");
      else await s.cancel();
    }
    return blocking.map((s) => s.id);
  }

  /** @inheritdoc */
  onDrainChange(listener: () => void): () => void {
    return this.#d.gate.subscribe(listener);
  }

  /** @inheritdoc */
  pauseRemainingMs(): number | null {
    return this.#d.gate.remainingMs();
  }

  /** @inheritdoc */
  onPauseExpired(listener: () => void): () => void {
    return this.#d.gate.onExpiry(listener);
  }

  /** @inheritdoc */
  shadowReport(): ProxyShadowReport {
    return this.#d.shadowReport?.() ?? emptyShadowReport(this.#d.proxyId);
  }
}
