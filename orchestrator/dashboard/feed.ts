/**
 * The dashboard's live feed: one snapshot a second, shared by every open
 * page, and only while at least one page listens. The shadow report asks every
 * proxy over the control channel, so it is refreshed less often than the
 * status and the last one is reused in between.
 *
 * @module
 */

import type { ShadowReportResponse } from "../../shared/api.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { Coordinator } from "../coordinator.ts";
import type { DashboardSnapshot } from "./snapshot.ts";

/** How often a snapshot goes out. */
export const FEED_INTERVAL_MS = 1_000;
/** How often the shadow report is read from the proxies. */
const SHADOW_INTERVAL_MS = 10_000;
/** Worst fingerprints the page lists. */
const SHADOW_SAMPLES = 10;

/** Receives each snapshot, serialized once for all listeners. */
export type FeedListener = (json: string) => void;

/** See the module documentation. */
export class DashboardFeed {
  readonly #coordinator: Coordinator;
  readonly #actions: boolean;
  readonly #listeners = new Set<FeedListener>();
  #running = false;
  #wake: (() => void) | undefined;
  #shadow: ShadowReportResponse | null = null;
  #shadowError: string | null = null;
  #shadowAt = 0;
  #last: string | undefined;
  #closed = false;

  /**
   * @param coordinator what the snapshots are read from
   * @param actions whether the orchestrator allows dashboard actions
   */
  constructor(coordinator: Coordinator, actions: boolean) {
    this.#coordinator = coordinator;
    this.#actions = actions;
  }

  /** Adds a listener; it gets the latest snapshot at once. Returns the unsubscribe function. */
  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    if (this.#last !== undefined) listener(this.#last);
    if (!this.#running && !this.#closed) void this.#loop();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#last = undefined;
    };
  }

  /** Assembles one snapshot now. */
  async snapshot(): Promise<DashboardSnapshot> {
    const status = await this.#coordinator.status();
    if (Date.now() - this.#shadowAt >= SHADOW_INTERVAL_MS) {
      this.#shadowAt = Date.now();
      try {
        this.#shadow = await this.#coordinator.shadowReport(SHADOW_SAMPLES);
        this.#shadowError = null;
      } catch (err) {
        this.#shadowError = errorMessage(err);
      }
    }
    return {
      generatedAt: new Date().toISOString(),
      status,
      shadow: this.#shadow,
      shadowError: this.#shadowError,
      actions: this.#actions,
    };
  }

  /** Stops the feed for good. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#wake?.();
  }

  async #loop(): Promise<void> {
    this.#running = true;
    while (!this.#closed && this.#listeners.size > 0) {
      try {
        const json = JSON.stringify(await this.snapshot());
        if (this.#listeners.size > 0) this.#last = json;
        for (const listener of this.#listeners) listener(json);
      } catch {
        // status() survives a lost store (the history is optional); the next tick retries.
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FEED_INTERVAL_MS);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    this.#running = false;
  }
}
