/**
 * The coordinator: runs cutover commands against the state store and the
 * proxy fleet.
 *
 * Commands run one at a time. Each one asks the pure state machine
 * ({@linkcode ./cutover.ts}) whether it is allowed, persists the result with a
 * compare-and-set (so a second orchestrator cannot also win), and only then
 * tells the proxies. On restart the state — including a cutover in progress —
 * comes back from the store.
 *
 * @module
 */

import type {
  BeginRequest,
  CommitRequest,
  ConnectionsResponse,
  CutoverResponse,
  CutoverStatus,
  HistoryEntry,
  ImmediateRequest,
  InitializeResponse,
  ShadowReportResponse,
  StatusResponse,
} from "../shared/api.ts";
import type { ClusterState } from "../shared/control.ts";
import type { Logger } from "../shared/log.ts";
import {
  type AbsentProxy,
  type CutoverEvent,
  otherSide,
  type ProxyShadowMode,
  transition,
  unsafeShadowModes,
} from "./cutover.ts";
import { ProxyRegistry } from "./proxies.ts";
import {
  type ActiveCutover,
  cutoverStatus,
  freshMarkerId,
  newCutover,
  NOT_CHECKED,
  scheduleCancel,
  stopCutover,
  watchDrainExpiry,
} from "./active_cutover.ts";
import { mergeShadowReports } from "./shadow_report.ts";
import { CommandError, storeError } from "./command_error.ts";
import { confirmFleetDrained } from "./commit_guard.ts";
import { startReplicationCheck } from "./replication.ts";
import type { CoordinatorOptions } from "./coordinator_options.ts";
import {
  type CutoverJournal,
  type DrainCounts,
  drainedCount,
  fleetDrained,
  noteCancelResult,
  noteSelfResumed,
  scheduleDrainTimeout,
} from "./drain_bookkeeping.ts";
import {
  compareAndSetStep,
  cutoverInProgress,
  lastStateStep,
  recordEvent,
  stateConflict,
} from "./state_persistence.ts";

/** Runs cutover commands and keeps the fleet in line with the stored state. */
export class Coordinator {
  /** The connected proxies. */
  readonly registry: ProxyRegistry;
  readonly #opts: CoordinatorOptions;
  readonly #log: Logger;
  /** Where the drain bookkeeping logs and records. */
  readonly #journal: CutoverJournal;
  #state: ClusterState = { sourceOfTruth: "source", epoch: 0, phase: "idle" };
  #initialized = false;
  #lastStep: string | undefined;
  #cutover: ActiveCutover | null = null;
  /** Until this time the fleet may still be reconnecting after a restart. */
  #graceUntil = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #loaded = false;
  #stopped = false;
  readonly #ready: Promise<void>;
  #resolveReady!: () => void;

  /** @param options store, identity and tuning */
  constructor(options: CoordinatorOptions) {
    this.#opts = options;
    this.#log = options.log;
    this.#journal = { log: options.log, record: (step, detail) => this.#record(step, detail) };
    this.#ready = new Promise((resolve) => (this.#resolveReady = resolve));
    this.registry = new ProxyRegistry({
      onFleetChange: () => this.#onFleetChange(),
      onConnected: (proxyId) => options.members?.connected(proxyId),
      onDisconnected: (proxyId, cleanly) => options.members?.disconnected(proxyId, cleanly),
      onCancelResult: (proxyId, terminate, sessionIds) =>
        this.#onCancelResult(proxyId, terminate, sessionIds),
      onSelfResumed: (proxyId, cutoverId) => this.#onSelfResumed(proxyId, cutoverId),
    });
  }

  /** True once the state was loaded from the store. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Settles once the state was loaded from the store. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** The state in force. */
  get state(): ClusterState {
    return this.#state;
  }

  /** Loads the state from the store, retrying until it can; resumes a cutover in progress. */
  async start(): Promise<void> {
    const retryMs = this.#opts.storeRetryMs ?? 1000;
    while (!this.#stopped) {
      try {
        await this.#load();
        break;
      } catch (err) {
        this.#log.warn("cannot read the state store yet; retrying", { error: err, retryMs });
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
    if (this.#stopped) return;
    this.#loaded = true;
    this.#resolveReady();
    this.#updateMetrics();
    this.#log.info("state loaded", { ...this.#state, initialized: this.#initialized });
    this.#onFleetChange();
  }

  async #load(): Promise<void> {
    const stored = await this.#opts.store.readState();
    this.#state = { sourceOfTruth: stored.sourceOfTruth, epoch: stored.epoch, phase: stored.phase };
    this.#initialized = stored.initialized;
    await this.#opts.members?.load();
    const history = await this.#opts.store.history(50);
    this.#lastStep = lastStateStep(history);
    if (this.#state.phase !== "idle") {
      const { id, startedAt } = cutoverInProgress(history, this.#state.epoch);
      this.#cutover = newCutover(id, startedAt);
      const graceMs = this.#opts.reconnectGraceMs ?? 6000;
      this.#graceUntil = Date.now() + graceMs;
      this.#cutover.timers.push(setTimeout(() => this.#onFleetChange(), graceMs + 1));
      this.#scheduleDrainTimeout(this.#opts.drainTimeoutMs ?? 30_000);
      this.#log.info("resuming the consistent cutover in progress", { cutoverId: id });
      if (this.#state.phase === "drained") this.#startReplicationCheck();
    }
  }

  /** Stops timers and checks (shutdown). */
  stop(): void {
    this.#stopped = true;
    this.#opts.members?.stop();
    this.#endCutover();
  }

  /** Messages a proxy that just registered: the state, and a pause when a cutover is in progress. */
  welcome(proxyId: string): void {
    this.registry.send(proxyId, { type: "welcome", state: this.#state });
    if (this.#cutover && this.#state.phase !== "idle") {
      this.registry.send(proxyId, {
        type: "pause",
        cutoverId: this.#cutover.id,
        epoch: this.#state.epoch,
      });
    }
    this.#updateMetrics();
  }

  /** `initialize`: creates `_molt_lms`; idempotent. */
  initialize(): Promise<InitializeResponse> {
    return this.#serialized(async () => {
      let result: InitializeResponse;
      try {
        result = await this.#opts.store.initialize(this.#opts.actor);
      } catch (err) {
        throw storeError(err);
      }
      this.#initialized = true;
      if (result.created) {
        this.#state = result.state;
        this.#lastStep = "initialize";
        this.#opts.metrics?.steps.inc({ step: "initialize" });
      }
      this.#updateMetrics();
      return result;
    });
  }

  /** `cutover consistent begin`: persists `draining` and pauses the fleet. */
  begin(request: BeginRequest): Promise<CutoverResponse> {
    return this.#serialized(async () => {
      const id = crypto.randomUUID();
      const drainTimeoutMs = request.drainTimeoutMs ?? this.#opts.drainTimeoutMs ?? 30_000;
      const force = request.force ?? false;
      const from = this.#state.sourceOfTruth;
      const allowMissingProxies = request.allowMissingProxies ?? false;
      await this.#apply({ type: "begin", from: request.from, force, allowMissingProxies }, {
        cutoverId: id,
        from,
        to: otherSide(from),
        drainTimeoutMs,
        cancelAfterMs: request.cancelAfterMs ?? null,
        force,
      });
      if (force) this.#recordForced("consistent", id);
      this.registry.clearDrain();
      this.#cutover = newCutover(id, new Date());
      this.registry.broadcast({ type: "pause", cutoverId: id, epoch: this.#state.epoch });
      this.#scheduleDrainTimeout(drainTimeoutMs);
      if (request.cancelAfterMs !== undefined) this.#scheduleCancel(request.cancelAfterMs);
      queueMicrotask(() => this.#onFleetChange());
      return { cutoverId: id, state: this.#state };
    });
  }

  /** `cutover consistent commit`: flips the source of truth once every connected proxy drained. */
  commit(request: CommitRequest): Promise<CutoverResponse> {
    return this.#serialized(async () => {
      const cutover = this.#cutover;
      const id = cutover?.id ?? "";
      const from = this.#state.sourceOfTruth;
      const skip = request.skipReplicationCheck ?? false;
      const event: CutoverEvent = {
        type: "commit",
        from: request.from,
        skipReplicationCheck: skip,
        allowMissingProxies: request.allowMissingProxies ?? false,
      };
      if (cutover) await this.#confirmDrained(cutover, event);
      const replication = cutover?.replication?.status() ?? NOT_CHECKED;
      await this.#apply(
        event,
        { cutoverId: id, from, to: otherSide(from), replication, skipReplicationCheck: skip },
      );
      if (skip && !replication.caughtUp) {
        const detail = { cutoverId: id, from, to: otherSide(from), replication };
        this.#log.warn(
          "committed without confirmed replication (--skip-replication-check): writes made " +
            `before the pause may be missing on the ${otherSide(from)}`,
          detail,
        );
        this.#record("replication_check_skipped", detail);
      }
      this.#endCutover();
      this.#resumeFleet(id);
      return { cutoverId: id, state: this.#state };
    });
  }

  /** `cutover consistent abort`: resumes the fleet on the unchanged source of truth. */
  abort(): Promise<CutoverResponse> {
    return this.#serialized(async () => {
      const id = this.#cutover?.id ?? "";
      await this.#apply({ type: "abort" }, { cutoverId: id });
      this.#endCutover();
      this.#resumeFleet(id);
      return { cutoverId: id, state: this.#state };
    });
  }

  /** `cutover immediate`: flips the source of truth at once. */
  immediate(request: ImmediateRequest): Promise<CutoverResponse> {
    return this.#serialized(async () => {
      const id = crypto.randomUUID();
      const from = this.#state.sourceOfTruth;
      const force = request.force ?? false;
      const allowMissingProxies = request.allowMissingProxies ?? false;
      await this.#apply({ type: "immediate", from: request.from, force, allowMissingProxies }, {
        cutoverId: id,
        from,
        to: otherSide(from),
        force,
      });
      if (force) this.#recordForced("immediate", id);
      this.registry.broadcast({ type: "state", state: this.#state });
      return { cutoverId: id, state: this.#state };
    });
  }

  /** `status`: state, fleet, cutover progress and recent history. */
  async status(): Promise<StatusResponse> {
    let history: HistoryEntry[] = [];
    try {
      history = await this.#opts.store.history(20);
    } catch (err) {
      this.#log.warn("cannot read the cutover history", { error: err });
    }
    const cutoverId = this.#cutover?.id ?? null;
    return {
      initialized: this.#initialized,
      ...this.#state,
      shadowMode: this.#opts.shadowMode,
      sourceDialect: this.#opts.sourceDialect,
      proxies: this.registry.all().map((e) => this.registry.status(e, cutoverId)),
      cutover: this.#cutoverStatus(),
      history,
    };
  }

  /** `connections list`: asks every connected proxy. */
  async connections(redact: boolean): Promise<ConnectionsResponse> {
    return await this.registry.listConnections(redact, this.#opts.connectionsTimeoutMs ?? 3000);
  }

  /** `shadow report`: asks every connected proxy and merges the answers, worst samples first. */
  async shadowReport(limit: number): Promise<ShadowReportResponse> {
    const { reports, unreachableProxies } = await this.registry.shadowReports(
      this.#opts.shadowReportTimeoutMs ?? 2000,
    );
    // An unreadable store must not hide an absent proxy: then the report is refused.
    const recent = await this.#opts.shadowing?.recent() ?? [];
    return mergeShadowReports(reports, {
      now: Date.now(),
      limit,
      unreachableProxies,
      absentProxies: recent.map((r) => r.proxyId),
    });
  }

  #cutoverStatus(): CutoverStatus | null {
    return this.#cutover ? cutoverStatus(this.#cutover, this.registry) : null;
  }

  #drainedCount(): DrainCounts {
    return drainedCount(this.registry, this.#cutover?.id);
  }

  /**
   * Before a commit is stored: a fresh drain confirmation from every proxy
   * ({@linkcode confirmFleetDrained}). Skipped when the commit would be
   * refused anyway, so that refusal keeps its own reason.
   */
  async #confirmDrained(cutover: ActiveCutover, event: CutoverEvent): Promise<void> {
    await this.#ready;
    if (Date.now() < this.#graceUntil || !this.#transition(event, this.#drainedCount()).ok) return;
    const refusal = await confirmFleetDrained(this.registry, cutover.id, {
      timeoutMs: this.#opts.drainConfirmTimeoutMs ?? 2000,
      marginMs: this.#opts.commitPauseMarginMs ?? 2000,
    });
    if (!refusal) return;
    for (const proxyId of refusal.resumed) this.registry.selfResumed(proxyId, cutover.id);
    this.#opts.metrics?.refused.inc({ code: refusal.error.apiCode });
    throw refusal.error;
  }

  #transition(
    event: CutoverEvent,
    counts: DrainCounts,
    missingProxies: readonly AbsentProxy[] = this.#opts.members?.missing() ?? [],
  ) {
    return transition(this.#state, event, {
      initialized: this.#initialized,
      lastStep: this.#lastStep,
      connectedProxies: counts.connected,
      drainedProxies: counts.drained,
      replication: this.#cutover?.replication?.status() ?? null,
      shadowModes: this.#shadowModes(),
      resumedProxies: this.#cutover?.resumed ?? [],
      missingProxies,
    });
  }

  /** Checks the machine, persists with CAS, and adopts the new state. */
  async #apply(event: CutoverEvent, detail: Record<string, unknown>): Promise<void> {
    await this.#ready;
    if (event.type === "commit" && this.#cutover && Date.now() < this.#graceUntil) {
      throw new CommandError(
        "NOT_DRAINED",
        "the orchestrator restarted during this cutover and proxies may still be reconnecting",
        `retry in ${Math.ceil((this.#graceUntil - Date.now()) / 1000)} s`,
      );
    }
    const counts = this.#drainedCount();
    const missing = this.#opts.members?.missing() ?? [];
    const result = this.#transition(event, counts, missing);
    // Only an override lets a step through with members missing: those are the ones to record.
    const overridden = "allowMissingProxies" in event && event.allowMissingProxies ? missing : [];
    if (!result.ok) {
      this.#opts.metrics?.refused.inc({ code: result.error.code });
      throw new CommandError(result.error.code, result.error.message, result.error.hint);
    }
    const won = await compareAndSetStep(
      this.#opts.store,
      this.#state,
      result.next,
      this.#opts.actor,
      result.step,
      { ...detail, drained: counts.drained, proxies: counts.connected },
    );
    if (!won) {
      this.#opts.metrics?.refused.inc({ code: "STATE_CONFLICT" });
      await this.#reloadAfterConflict();
      throw stateConflict();
    }
    this.#log.info("state changed", { step: result.step, from: this.#state, to: result.next });
    if (overridden.length > 0) {
      const detail = { step: result.step, proxies: overridden.map((m) => m.proxyId) };
      this.#log.warn(
        "cutover step taken with fleet members not connected (--allow-missing-proxies): they " +
          "may keep serving on the old source of truth until they reconnect",
        detail,
      );
      this.#record("missing_proxies_overridden", detail);
    }
    this.#state = result.next;
    this.#lastStep = result.step;
    this.#opts.metrics?.steps.inc({ step: result.step });
    this.#updateMetrics();
  }

  /** The modes that decide the shadow-mode guard: the connected proxies', else the configured one. */
  #shadowModes(): ProxyShadowMode[] {
    const connected = this.registry.connected();
    if (connected.length === 0) {
      return [{ proxyId: "the orchestrator's LMS_SHADOW_MODE", mode: this.#opts.shadowMode }];
    }
    return connected.map((e) => ({ proxyId: e.id, mode: e.shadowMode }));
  }

  /** Logs and records a cutover begun against the shadow-mode guard with `--force`. */
  #recordForced(kind: "consistent" | "immediate", cutoverId: string): void {
    const unsafe = unsafeShadowModes(kind, this.#shadowModes());
    if (unsafe.length === 0) return;
    const detail = { cutoverId, kind, proxies: unsafe };
    this.#log.warn(
      `${kind} cutover forced against the product docs' shadow-mode warning (--force)`,
      detail,
    );
    this.#record("shadow_mode_guard_overridden", detail);
  }

  async #reloadAfterConflict(): Promise<void> {
    const before = this.#state;
    try {
      this.#endCutover();
      await this.#load();
    } catch (err) {
      this.#log.warn("cannot reload the state after a conflict", { error: err });
      return;
    }
    if (before.epoch !== this.#state.epoch || before.phase !== this.#state.phase) {
      this.registry.broadcast({ type: "state", state: this.#state });
    }
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #endCutover(): void {
    const cutover = this.#cutover;
    if (!cutover) return;
    stopCutover(cutover);
    this.#cutover = null;
    this.registry.clearDrain();
  }

  #resumeFleet(cutoverId: string): void {
    this.registry.broadcast({ type: "resume", cutoverId, state: this.#state });
    for (const entry of this.registry.connected()) entry.paused = false;
  }

  #stillDraining(cutover: ActiveCutover): boolean {
    return this.#cutover === cutover && this.#state.phase === "draining";
  }

  #scheduleDrainTimeout(ms: number): void {
    const cutover = this.#cutover;
    if (!cutover) return;
    scheduleDrainTimeout(
      cutover,
      this.registry,
      ms,
      () => this.#stillDraining(cutover),
      this.#journal,
    );
  }

  #scheduleCancel(afterMs: number): void {
    const cutover = this.#cutover;
    if (!cutover) return;
    scheduleCancel(
      cutover,
      this.registry,
      { afterMs, terminateGraceMs: this.#opts.terminateGraceMs ?? 2000 },
      () => this.#stillDraining(cutover),
    );
  }

  #onCancelResult(proxyId: string, terminate: boolean, sessionIds: string[]): void {
    if (this.#cutover) {
      noteCancelResult(this.#cutover, proxyId, terminate, sessionIds, this.#journal);
    }
  }

  #onSelfResumed(proxyId: string, cutoverId: string): void {
    if (this.#cutover) noteSelfResumed(this.#cutover, proxyId, cutoverId, this.#journal);
  }

  #record(step: string, detail: Record<string, unknown>): void {
    recordEvent(this.#opts.store, this.#log, {
      epoch: this.#state.epoch,
      step,
      actor: this.#opts.actor,
      detail,
    });
  }

  #onFleetChange(): void {
    this.#updateMetrics();
    const cutover = this.#cutover;
    if (!this.#loaded || !cutover || this.#state.phase === "idle") return;
    watchDrainExpiry(cutover, this.registry, () => this.#cutover === cutover);
    if (Date.now() < this.#graceUntil) return;
    const counts = this.#drainedCount();
    if (this.#state.phase === "drained") {
      if (!fleetDrained(counts, cutover)) this.#loseDrain(cutover);
      return;
    }
    if (!fleetDrained(counts, cutover)) return;
    this.#serialized(async () => {
      if (!this.#stillDraining(cutover)) return;
      if (!fleetDrained(this.#drainedCount(), cutover)) return;
      await this.#apply({ type: "all_drained" }, { cutoverId: cutover.id });
      this.#opts.metrics?.drainSeconds.observe((Date.now() - cutover.startedAt.getTime()) / 1000);
      this.#startReplicationCheck();
    }).catch((err) => {
      this.#log.warn("cannot record the drained phase; retrying", { error: err });
      this.#retryFleetChange(cutover);
    });
  }

  /**
   * A phase change the store refused (it was unreachable) is tried again: the
   * proxies report nothing new once drained, so no other event would retry it.
   */
  #retryFleetChange(cutover: ActiveCutover): void {
    if (this.#cutover !== cutover) return;
    const ms = this.#opts.storeRetryMs ?? 1000;
    cutover.timers.push(setTimeout(() => this.#onFleetChange(), Math.min(ms, 250)));
  }

  /**
   * A proxy joined the drained fleet or resumed by itself: back to draining, and
   * the replication check starts over once the fleet is drained again.
   */
  #loseDrain(cutover: ActiveCutover): void {
    this.#serialized(async () => {
      if (this.#cutover !== cutover || this.#state.phase !== "drained") return;
      const now = this.#drainedCount();
      if (fleetDrained(now, cutover)) return;
      cutover.replication?.stop();
      cutover.replication = null;
      await this.#apply({ type: "drain_lost" }, {
        cutoverId: cutover.id,
        resumedProxies: cutover.resumed,
      });
      this.#log.warn("the fleet is no longer drained", {
        cutoverId: cutover.id,
        drained: now.drained,
        proxies: now.connected,
        resumedProxies: cutover.resumed,
      });
    }).catch((err) => {
      this.#log.warn("cannot record the lost drain; retrying", { error: err });
      this.#retryFleetChange(cutover);
    });
  }

  #startReplicationCheck(): void {
    const cutover = this.#cutover;
    if (!cutover || cutover.replication) return;
    cutover.replication = startReplicationCheck(this.#opts.store, {
      markerId: freshMarkerId(cutover.id),
      from: this.#state.sourceOfTruth,
      to: otherSide(this.#state.sourceOfTruth),
      pollMs: this.#opts.replicationPollMs,
      onChange: (status) => {
        if (status.caughtUp && status.lagMs !== null) {
          this.#opts.metrics?.replicationLagSeconds.set(status.lagMs / 1000);
          this.#log.info("replication caught up", { cutoverId: cutover.id, lagMs: status.lagMs });
          this.#record("replication_caught_up", { cutoverId: cutover.id, lagMs: status.lagMs });
        } else if (status.error) {
          this.#log.warn("replication check failed", {
            cutoverId: cutover.id,
            error: status.error,
          });
        }
      },
    });
  }

  #updateMetrics(): void {
    this.#opts.metrics?.showState(this.#state, this.registry.connected().length);
  }
}
