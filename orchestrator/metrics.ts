/**
 * The orchestrator's Prometheus metrics, in a registry of their own. Every
 * labelled series with known label values starts at 0, so an alert sees 0
 * rather than "no data" before the first event.
 *
 * @module
 */

import client from "prom-client";
import { type ClusterState, DUPLICATE_PROXY_ID, PhaseSchema } from "../shared/control.ts";
import { registerProcessMetrics } from "../shared/process_metrics.ts";

/** What the heartbeat gauge reads about each known proxy at scrape time. */
export interface FleetHeartbeat {
  /** The proxy's id. */
  id: string;
  /** When its last heartbeat (or hello) arrived. */
  lastHeartbeatAt: Date | null;
}

/** Steps the cutover state machine takes (orchestrator/cutover.ts and initialize). */
const STEPS = ["initialize", "begin", "drained", "drain_lost", "commit", "abort", "immediate"];
/** Refusal codes the coordinator and guard rails use. */
const REFUSAL_CODES = [
  "INVALID_PHASE",
  "STATE_CONFLICT",
  "UNSAFE_SHADOW_MODE",
  "BAD_REQUEST",
  "SOURCE_OF_TRUTH_MISMATCH",
  "NOT_CAUGHT_UP",
  "NOT_DRAINED",
  "PROXIES_MISSING",
];

/** Gauges and counters the orchestrator maintains. */
export class OrchestratorMetrics {
  /** The registry served on the metrics listener. */
  readonly registry: client.Registry = new client.Registry();
  /** Proxies with a live control connection. */
  readonly proxiesConnected: client.Gauge;
  /** Epoch of the state in force. */
  readonly epoch: client.Gauge;
  /** 1 for the phase in force, 0 for the others. */
  readonly phase: client.Gauge<"phase">;
  /** 1 when the target is the source of truth. */
  readonly sourceOfTruthIsTarget: client.Gauge;
  /** 1 for the database that is the source of truth, 0 for the other. */
  readonly sourceOfTruth: client.Gauge<"database">;
  /** State-changing steps taken, by step. */
  readonly steps: client.Counter<"step">;
  /** Commands refused, by error code. */
  readonly refused: client.Counter<"code">;
  /** Control frames rejected as malformed or unknown. */
  readonly invalidMessages: client.Counter<"code">;
  /** Seconds from begin until every connected proxy drained. */
  readonly drainSeconds: client.Histogram;
  /** Replication lag measured by the last marker check, in seconds. */
  readonly replicationLagSeconds: client.Gauge;
  #fleet: () => FleetHeartbeat[] = () => [];

  /** @param version this build's version, for `lms_orchestrator_build_info` */
  constructor(version: string) {
    const registers = [this.registry];
    registerProcessMetrics(this.registry);
    new client.Gauge({
      name: "lms_orchestrator_build_info",
      help: "Always 1; the version label names this build",
      labelNames: ["version"],
      registers,
    }).set({ version }, 1);
    this.proxiesConnected = new client.Gauge({
      name: "lms_orchestrator_proxies_connected",
      help: "Proxies with a live control connection",
      registers,
    });
    this.epoch = new client.Gauge({
      name: "lms_orchestrator_epoch",
      help: "Epoch of the state in force",
      registers,
    });
    this.phase = new client.Gauge({
      name: "lms_orchestrator_phase",
      help: "1 for the cluster phase in force, 0 for the others",
      labelNames: ["phase"],
      registers,
    });
    for (const phase of PhaseSchema.options) this.phase.set({ phase }, 0);
    this.sourceOfTruthIsTarget = new client.Gauge({
      name: "lms_orchestrator_source_of_truth_is_target",
      help: "1 when the target database is the source of truth",
      registers,
    });
    this.sourceOfTruth = new client.Gauge({
      name: "lms_orchestrator_source_of_truth",
      help: "1 for the database that is the source of truth, 0 for the other",
      labelNames: ["database"],
      registers,
    });
    for (const database of ["source", "target"]) this.sourceOfTruth.set({ database }, 0);
    this.steps = new client.Counter({
      name: "lms_orchestrator_cutover_steps_total",
      help: "State-changing cutover steps taken",
      labelNames: ["step"],
      registers,
    });
    for (const step of STEPS) this.steps.inc({ step }, 0);
    this.refused = new client.Counter({
      name: "lms_orchestrator_commands_refused_total",
      help: "API commands refused, by error code",
      labelNames: ["code"],
      registers,
    });
    for (const code of REFUSAL_CODES) this.refused.inc({ code }, 0);
    this.invalidMessages = new client.Counter({
      name: "lms_orchestrator_control_messages_invalid_total",
      help: "Control-channel frames rejected as malformed or unknown",
      labelNames: ["code"],
      registers,
    });
    for (const code of ["INVALID_MESSAGE", DUPLICATE_PROXY_ID]) {
      this.invalidMessages.inc({ code }, 0);
    }
    this.drainSeconds = new client.Histogram({
      name: "lms_orchestrator_drain_seconds",
      help: "Time from cutover begin until every connected proxy drained",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.replicationLagSeconds = new client.Gauge({
      name: "lms_orchestrator_replication_lag_seconds",
      help: "Replication lag measured by the last marker check",
      registers,
    });
    const fleet = () => this.#fleet();
    new client.Gauge({
      name: "lms_orchestrator_proxy_heartbeat_age_seconds",
      help: "Seconds since each known proxy's last heartbeat; grows while it is disconnected",
      labelNames: ["proxy"],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const p of fleet()) {
          if (p.lastHeartbeatAt) {
            this.set({ proxy: p.id }, (now - p.lastHeartbeatAt.getTime()) / 1000);
          }
        }
      },
    });
  }

  /** Sets the state gauges to `state` in force, with `proxiesConnected` proxies connected. */
  showState(state: ClusterState, proxiesConnected: number): void {
    this.proxiesConnected.set(proxiesConnected);
    this.epoch.set(state.epoch);
    this.sourceOfTruthIsTarget.set(state.sourceOfTruth === "target" ? 1 : 0);
    for (const database of ["source", "target"]) {
      this.sourceOfTruth.set({ database }, database === state.sourceOfTruth ? 1 : 0);
    }
    for (const phase of ["idle", "draining", "drained"]) {
      this.phase.set({ phase }, phase === state.phase ? 1 : 0);
    }
  }

  /** Where the heartbeat gauge reads the fleet from at scrape time. */
  observeFleet(fleet: () => FleetHeartbeat[]): void {
    this.#fleet = fleet;
  }
}
