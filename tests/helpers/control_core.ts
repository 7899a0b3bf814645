/**
 * Proxy cores for control-channel tests: no SQL behind them, so they sit
 * behind the real control client (`proxy/control/client.ts`) and answer what
 * the orchestrator asks. {@linkcode IdleCore} has no sessions and is always
 * drained; {@linkcode ExpiringCore} adds a pause that can run out like
 * `LMS_MAX_PAUSE` does in `proxy/gate.ts`. Tests that need sessions or
 * recordings subclass them.
 *
 * @module
 */

import type { ClusterState, ConnectionInfo, SessionCounts } from "../../shared/control.ts";
import type { ControlHandler, DrainStatus } from "../../proxy/control/handler.ts";

/** A proxy core with no sessions: every state applied in epoch order, always drained. */
export class IdleCore implements ControlHandler {
  current: ClusterState | undefined;
  pausedFor: string | undefined;

  state(): ClusterState | undefined {
    return this.current;
  }
  applyState(state: ClusterState): void {
    if (this.accepts(state)) this.current = state;
  }
  pause(cutoverId: string): void {
    this.pausedFor = cutoverId;
  }
  resume(state: ClusterState): void {
    this.pausedFor = undefined;
    this.applyState(state);
  }
  paused(): boolean {
    return this.pausedFor !== undefined;
  }
  sessions(): SessionCounts {
    return { total: 0, idle: 0, active: 0, inTransaction: 0, held: 0 };
  }
  drainStatus(): DrainStatus {
    return { drained: true, counts: this.sessions(), blocking: [] };
  }
  connections(_redact: boolean): ConnectionInfo[] {
    return [];
  }
  cancelLocal(_processId: number, _secretKey: number, _terminate?: boolean): Promise<boolean> {
    return Promise.resolve(false);
  }
  cancelBlocking(_terminate: boolean): Promise<string[]> {
    return Promise.resolve([]);
  }
  /** Whether `state` may replace the applied one: a real proxy ignores an older epoch. */
  protected accepts(state: ClusterState): boolean {
    return !this.current || state.epoch >= this.current.epoch;
  }
}

/** A proxy core with no sessions whose pause runs out after `maxPauseMs` (null: never). */
export class ExpiringCore extends IdleCore {
  pausedAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expiry = new Set<() => void>();

  constructor(readonly maxPauseMs: number | null) {
    super();
  }

  override pause(cutoverId: string): void {
    if (this.pausedFor === undefined) {
      this.pausedAt = Date.now();
      if (this.maxPauseMs !== null) {
        // What proxy/gate.ts does: tell the listeners, then resume by the (unchanged) state.
        this.#timer = setTimeout(() => {
          for (const l of this.#expiry) l();
          this.resume({ ...this.current!, phase: "drained" });
        }, this.maxPauseMs);
      }
    }
    super.pause(cutoverId);
  }
  override resume(state: ClusterState): void {
    clearTimeout(this.#timer);
    super.resume(state);
  }
  /** Resumes without telling anyone (an older proxy: only its next heartbeat would say). */
  resumeQuietly(): void {
    clearTimeout(this.#timer);
    this.pausedFor = undefined;
  }
  pauseRemainingMs(): number | null {
    if (this.pausedFor === undefined) return null;
    if (this.maxPauseMs === null) return 10 * 60_000;
    return Math.max(0, this.pausedAt + this.maxPauseMs - Date.now());
  }
  onPauseExpired(listener: () => void): () => void {
    this.#expiry.add(listener);
    return () => this.#expiry.delete(listener);
  }
}
