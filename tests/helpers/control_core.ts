/**
 * A proxy core for control-channel tests: no sessions, always drained, and a
 * pause that can run out like `LMS_MAX_PAUSE` does in `proxy/gate.ts`. It
 * sits behind the real control client (`proxy/control/client.ts`).
 *
 * @module
 */

import type { ClusterState, ConnectionInfo, SessionCounts } from "../../shared/control.ts";
import type { ControlHandler, DrainStatus } from "../../proxy/control/handler.ts";

/** A proxy core with no sessions whose pause runs out after `maxPauseMs` (null: never). */
export class ExpiringCore implements ControlHandler {
  current: ClusterState | undefined;
  pausedFor: string | undefined;
  pausedAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expiry = new Set<() => void>();

  constructor(readonly maxPauseMs: number | null) {}

  state(): ClusterState | undefined {
    return this.current;
  }
  applyState(state: ClusterState): void {
    if (!this.current || state.epoch >= this.current.epoch) this.current = state;
  }
  pause(cutoverId: string): void {
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
    this.pausedFor = cutoverId;
  }
  resume(state: ClusterState): void {
    clearTimeout(this.#timer);
    this.pausedFor = undefined;
    this.applyState(state);
  }
  /** Resumes without telling anyone (an older proxy: only its next heartbeat would say). */
  resumeQuietly(): void {
    clearTimeout(this.#timer);
    this.pausedFor = undefined;
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
  connections(): ConnectionInfo[] {
    return [];
  }
  cancelLocal(): Promise<boolean> {
    return Promise.resolve(false);
  }
  cancelBlocking(): Promise<string[]> {
    return Promise.resolve([]);
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
