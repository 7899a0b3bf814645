/**
 * Replication catch-up check for a consistent cutover.
 *
 * Once the fleet is drained nothing writes to the source of truth any more, so
 * a marker row written there now is the last write; when the customer's
 * replication (CDC) delivers it to the other database, everything before it
 * has arrived too. The lag is the time from the marker's commit until it was
 * seen on the other side.
 *
 * @module
 */

import type { ReplicationStatus } from "../shared/api.ts";
import type { DatabaseSide } from "../shared/control.ts";
import { errorMessage } from "../shared/errors.ts";
import type { StateStore } from "../shared/state_store.ts";

/** The store operations the check needs. */
export type MarkerStore = Pick<StateStore, "writeMarker" | "markerPoller">;

/** Options of {@linkcode startReplicationCheck}. */
export interface ReplicationCheckOptions {
  /** Unique marker id (the cutover id). */
  markerId: string;
  /** Where the marker is written: the current source of truth. */
  from: DatabaseSide;
  /** Where it is awaited: the database the cutover switches to. */
  to: DatabaseSide;
  /** Poll interval; default 20 ms. */
  pollMs?: number;
  /** Called whenever the status changes. */
  onChange?: (status: ReplicationStatus) => void;
}

/** A running check. */
export interface ReplicationCheck {
  /** Current result. */
  status(): ReplicationStatus;
  /** Stops polling (the cutover ended). */
  stop(): void;
  /** Settles when the check finished (caught up, failed or stopped). */
  done: Promise<void>;
}

/** Writes the marker on `from` and polls `to` until it appears or the check is stopped. */
export function startReplicationCheck(
  store: MarkerStore,
  options: ReplicationCheckOptions,
): ReplicationCheck {
  const pollMs = options.pollMs ?? 20;
  let status: ReplicationStatus = { checked: true, caughtUp: false, lagMs: null, error: null };
  let stopped = false;
  let wake: (() => void) | undefined;
  const update = (next: ReplicationStatus) => {
    status = next;
    options.onChange?.(status);
  };
  const sleep = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const run = async () => {
    let poller: Awaited<ReturnType<MarkerStore["markerPoller"]>> | undefined;
    try {
      poller = await store.markerPoller(options.to, options.markerId);
      await store.writeMarker(options.from, options.markerId);
      const writtenAt = performance.now();
      while (!stopped) {
        if (await poller.seen()) {
          update({
            checked: true,
            caughtUp: true,
            lagMs: Math.round(performance.now() - writtenAt),
            error: null,
          });
          return;
        }
        await sleep();
      }
    } catch (err) {
      if (!stopped) {
        update({ checked: true, caughtUp: false, lagMs: null, error: errorMessage(err) });
      }
    } finally {
      await poller?.close();
    }
  };

  const done = run();
  return {
    status: () => status,
    stop: () => {
      stopped = true;
      wake?.();
    },
    done,
  };
}
