/**
 * Collects the proxies' answers to `confirm_drain`, the fresh drain check a
 * commit makes before it is stored.
 *
 * A drain ack can be stale: a proxy whose pause outlived `LMS_MAX_PAUSE`
 * resumes on the old source of truth, and its report of that may still be on
 * the wire (or stuck in a stalled channel) when a commit arrives. Asking again
 * right before storing the commit, and requiring pause time to spare, closes
 * that window.
 *
 * @module
 */

import type { ProxyMessage } from "../shared/control.ts";

/** One proxy's answer: drained now, and how long its pause may still last. */
export interface DrainConfirmation {
  /** Paused for the cutover asked about, with pause time left. */
  paused: boolean;
  /** Drained for the cutover asked about. */
  drained: boolean;
  /** Pause time left when the proxy answered; null when its pause has no bound. */
  pauseRemainingMs: number | null;
  /** When the answer arrived (`performance.now()`). */
  receivedAt: number;
}

interface Pending {
  waiting: Set<string>;
  answers: Map<string, DrainConfirmation>;
  resolve: () => void;
}

/** The confirmation rounds in flight, by request id. */
export class DrainConfirmations {
  readonly #pending = new Map<string, Pending>();

  /**
   * Waits for `proxyIds` to answer request `requestId` (sent by the caller
   * right after this call), at most `timeoutMs`.
   */
  async collect(
    requestId: string,
    proxyIds: string[],
    timeoutMs: number,
  ): Promise<{ answers: Map<string, DrainConfirmation>; missing: string[] }> {
    const waiting = new Set(proxyIds);
    const answers = new Map<string, DrainConfirmation>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      if (waiting.size === 0) return resolve();
      this.#pending.set(requestId, { waiting, answers, resolve });
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.#pending.delete(requestId);
    return { answers, missing: [...waiting].sort() };
  }

  /** Records proxy `proxyId`'s answer. */
  answer(proxyId: string, message: Extract<ProxyMessage, { type: "drain_confirmation" }>): void {
    const pending = this.#pending.get(message.requestId);
    if (!pending?.waiting.delete(proxyId)) return;
    pending.answers.set(proxyId, {
      paused: message.paused,
      drained: message.drained,
      pauseRemainingMs: message.pauseRemainingMs,
      receivedAt: performance.now(),
    });
    if (pending.waiting.size === 0) pending.resolve();
  }

  /**
   * A proxy disconnected: it will not answer. It stays missing (a proxy cut
   * off mid-commit may resume by itself), but a round waiting only for it ends.
   */
  gone(proxyId: string): void {
    for (const pending of this.#pending.values()) {
      if (pending.waiting.has(proxyId) && pending.waiting.size === 1) pending.resolve();
    }
  }
}
