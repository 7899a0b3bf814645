/**
 * What a {@linkcode ./coordinator.ts} is built from: the state-store operations
 * it relies on, its identity and its timing knobs with their defaults.
 *
 * @module
 */

import type { ShadowModeName } from "../shared/control.ts";
import type { Logger } from "../shared/log.ts";
import type { StateStore } from "../shared/state_store.ts";
import type { ShadowingStore } from "../shared/shadowing_store.ts";
import type { OrchestratorMetrics } from "./metrics.ts";
import type { FleetMembers } from "./fleet_members.ts";

/** The store operations the coordinator uses. */
export type CoordinatorStore = Pick<
  StateStore,
  | "initialize"
  | "readState"
  | "compareAndSet"
  | "appendEvent"
  | "history"
  | "writeMarker"
  | "markerPoller"
>;

/** Options of the `Coordinator`. */
export interface CoordinatorOptions {
  /** The state store (target database). */
  store: CoordinatorStore;
  /** This orchestrator's id, recorded as the actor of every step. */
  actor: string;
  /** Reported by status; guards cutovers while no proxy is connected. */
  shadowMode: ShadowModeName;
  /** Reported by status. */
  sourceDialect: string;
  /** Logger. */
  log: Logger;
  /** Metrics to keep up to date. */
  metrics?: OrchestratorMetrics;
  /** Default drain timeout for begin; 30000 ms. */
  drainTimeoutMs?: number;
  /** After cancelling blocking queries, wait this long before terminating; 2000 ms. */
  terminateGraceMs?: number;
  /** Replication marker poll interval; 20 ms. */
  replicationPollMs?: number;
  /** How long `connections` waits for the proxies; 3000 ms. */
  connectionsTimeoutMs?: number;
  /** Which proxies shadowed lately (`_molt_lms.shadowing`), so absent ones are not overlooked. */
  shadowing?: Pick<ShadowingStore, "recent">;
  /** How long `shadowReport` waits for the proxies; 2000 ms. */
  shadowReportTimeoutMs?: number;
  /** Retry interval while the store cannot be read at startup; 1000 ms. */
  storeRetryMs?: number;
  /**
   * After resuming a cutover from the store, wait this long for proxies to
   * reconnect before counting the fleet as drained or accepting commit; 6000 ms
   * (longer than the proxies' longest reconnect backoff).
   */
  reconnectGraceMs?: number;
  /** Fleet membership: cutover steps wait for members that are not connected. */
  members?: FleetMembers;
  /** How long a commit waits for every proxy to confirm its drain; 2000 ms. */
  drainConfirmTimeoutMs?: number;
  /**
   * Pause time every proxy must have left when it confirms, so the commit is
   * stored before any proxy could resume by itself; 2000 ms.
   */
  commitPauseMarginMs?: number;
}
