/**
 * Keeps this proxy's shadowing clock and counts in the state store
 * (`_molt_lms.shadowing`, see {@linkcode ../../shared/shadowing_store.ts}):
 * resumes them at start, heartbeats every minute, saves soon after each
 * mismatch, and once more on the way out.
 *
 * Until the store answered, the proxy reports no `shadowingSince`: an
 * unknown clock must never count towards the seven days.
 *
 * @module
 */

import { errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import { HEARTBEAT_MS, type ShadowingStore } from "../../shared/shadowing_store.ts";
import type { ShadowStats } from "./stats.ts";

const RETRY_MS = 5_000;
/** A mismatch is saved this soon, so a crash right after it does not lose it. */
const DIFFERENCE_SAVE_MS = 1_000;

/** Options of {@linkcode startShadowPersistence}. */
export interface ShadowPersistenceOptions {
  /** The table's store. */
  store: ShadowingStore;
  /** This proxy. */
  proxyId: string;
  /** Its shadow mode (`none` only records that it does not shadow). */
  mode: string;
  /** Its counters; undefined with mode none. */
  stats: ShadowStats | undefined;
  /** Logger. */
  log: Logger;
}

/** A running persistence. */
export interface ShadowPersistence {
  /** Since when this proxy has been shadowing, as the store knows it; null until it answered. */
  since(): string | null;
  /** Resolves once the row was resumed (for tests and orderly starts). */
  resumed: Promise<void>;
  /** Saves a last time and stops. */
  close(): Promise<void>;
}

/** Starts it; never throws, retries while the target cannot be reached. */
export function startShadowPersistence(options: ShadowPersistenceOptions): ShadowPersistence {
  const { store, proxyId, mode, stats, log } = options;
  let since: string | null = null;
  let resumed = false;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let soon: ReturnType<typeof setTimeout> | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let saving: Promise<void> = Promise.resolve();

  const save = (): Promise<void> => {
    if (!resumed || !stats) return saving;
    saving = saving.then(() => store.save(proxyId, stats.persisted())).catch((err) =>
      log.warn("cannot record the shadowing state in the target", { error: errorMessage(err) })
    );
    return saving;
  };

  let markResumed: () => void = () => {};
  const resumedPromise = new Promise<void>((resolve) => (markResumed = resolve));
  const attempt = async (first: boolean) => {
    try {
      const record = await store.resume(proxyId, mode);
      if (closed) return;
      since = record.since;
      resumed = true;
      stats?.restore(record.hourly, record.byKind);
      log.info("shadowing state resumed from the state store", {
        mode,
        shadowingSince: since,
      });
      markResumed();
      if (stats) {
        heartbeat = setInterval(() => void save(), HEARTBEAT_MS);
        stats.onDifference = () => {
          soon ??= setTimeout(() => {
            soon = undefined;
            void save();
          }, DIFFERENCE_SAVE_MS);
        };
      }
    } catch (err) {
      if (closed) return;
      if (first) {
        (mode === "none" ? log.debug : log.warn)(
          "cannot read the shadowing state from the target yet; reporting no shadowing",
          {
            error: errorMessage(err),
            retryMs: RETRY_MS,
          },
        );
      }
      retry = setTimeout(() => void attempt(false), RETRY_MS);
    }
  };
  void attempt(true);

  return {
    since: () => since,
    resumed: resumedPromise,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retry);
      clearTimeout(soon);
      clearInterval(heartbeat);
      await save();
      await store.close();
    },
  };
}
