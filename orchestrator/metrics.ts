/**
 * The orchestrator's Prometheus metrics, in a registry of their own.
 *
 * @module
 */

import client from "prom-client";

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

  constructor() {
    const registers = [this.registry];
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
      help: "1 for the cluster phase in force",
      labelNames: ["phase"],
      registers,
    });
    this.sourceOfTruthIsTarget = new client.Gauge({
      name: "lms_orchestrator_source_of_truth_is_target",
      help: "1 when the target database is the source of truth",
      registers,
    });
    this.steps = new client.Counter({
      name: "lms_orchestrator_cutover_steps_total",
      help: "State-changing cutover steps taken",
      labelNames: ["step"],
      registers,
    });
    this.refused = new client.Counter({
      name: "lms_orchestrator_commands_refused_total",
      help: "API commands refused, by error code",
      labelNames: ["code"],
      registers,
    });
    this.invalidMessages = new client.Counter({
      name: "lms_orchestrator_control_messages_invalid_total",
      help: "Control-channel frames rejected as malformed or unknown",
      labelNames: ["code"],
      registers,
    });
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
  }
}
