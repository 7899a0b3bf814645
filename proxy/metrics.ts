/**
 * The proxy's Prometheus metrics. Byte counters are plain numbers bumped on
 * the hot path and copied into prom-client only when scraped, so forwarding a
 * chunk costs an addition, not a label lookup.
 *
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { DatabaseSide } from "../shared/control.ts";
import { createShadowMetrics, type ShadowMetrics } from "./shadow/metrics.ts";

/** Hot-path tallies, read at scrape time. */
export interface Tallies {
  /** Bytes received from clients. */
  bytesIn: number;
  /** Bytes sent to clients. */
  bytesOut: number;
}

/** Every metric the proxy exports. */
export interface ProxyMetrics {
  /** The registry served on `/metrics`. */
  registry: Registry;
  /** Hot-path tallies. */
  tallies: Tallies;
  /** `lms_connections_open`. */
  connectionsOpen: Gauge;
  /** `lms_connections_total{outcome}`: accepted, rejected, cancel (a CancelRequest). */
  connectionsTotal: Counter<"outcome">;
  /** Records a finished request on `database` ("source" or "target"). */
  observeQuery(database: DatabaseSide, failed: boolean, seconds: number): void;
  /** `lms_protocol_errors_total{kind}`. */
  protocolErrors: Counter<"kind">;
  /** `lms_backend_errors_total{database}`: lost or unreachable databases. */
  backendErrors: Counter<"database">;
  /** `lms_cancel_requests_total{outcome}`. */
  cancelRequests: Counter<"outcome">;
  /** `lms_ready`: 1 when the proxy accepts clients. */
  ready: Gauge;
  /** `lms_proxy_paused`: 1 while a consistent cutover holds new work. */
  paused: Gauge;
  /** `lms_standalone`: 1 when the proxy runs without an orchestrator (`--standalone`). */
  standalone: Gauge;
  /** `lms_session_moves_total{to,outcome}`: sessions moved to a new source of truth. */
  sessionMoves: Counter<"to" | "outcome">;
  /**
   * `lms_identity_refused_total{database,use}`: sessions that could not run as
   * their own user on a database, so were not moved (`move`) or not shadowed (`shadow`).
   */
  identityRefused: Counter<"database" | "use">;
  /** Shadowing: statements compared, mismatches, errors, latency, queue size. */
  shadow: ShadowMetrics;
}

/** Creates the proxy's registry and metrics. */
export function createProxyMetrics(): ProxyMetrics {
  const registry = new Registry();
  const tallies: Tallies = { bytesIn: 0, bytesOut: 0 };
  const connectionsOpen = new Gauge({
    name: "lms_connections_open",
    help: "Client connections currently open.",
    registers: [registry],
  });
  const connectionsTotal = new Counter({
    name: "lms_connections_total",
    help:
      "Client connections since start, by outcome of their startup (accepted, rejected, cancel).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const queries = new Counter({
    name: "lms_queries_total",
    help: "Requests (simple queries and extended-protocol syncs) by database and outcome.",
    labelNames: ["database", "outcome"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "lms_query_duration_seconds",
    help: "Time from a request's first message to the database's ReadyForQuery.",
    labelNames: ["database"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Counter({
    name: "lms_bytes_in_total",
    help: "Bytes received from clients.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(tallies.bytesIn);
    },
  });
  new Counter({
    name: "lms_bytes_out_total",
    help: "Bytes sent to clients.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(tallies.bytesOut);
    },
  });
  const children = {
    source: {
      ok: queries.labels("source", "ok"),
      error: queries.labels("source", "error"),
      duration: duration.labels("source"),
    },
    target: {
      ok: queries.labels("target", "ok"),
      error: queries.labels("target", "error"),
      duration: duration.labels("target"),
    },
  };
  return {
    registry,
    tallies,
    connectionsOpen,
    connectionsTotal,
    observeQuery(database, failed, seconds) {
      const c = children[database];
      (failed ? c.error : c.ok).inc();
      c.duration.observe(seconds);
    },
    protocolErrors: new Counter({
      name: "lms_protocol_errors_total",
      help: "Malformed or refused client input, by kind.",
      labelNames: ["kind"] as const,
      registers: [registry],
    }),
    backendErrors: new Counter({
      name: "lms_backend_errors_total",
      help: "Databases that could not be reached or were lost mid-session.",
      labelNames: ["database"] as const,
      registers: [registry],
    }),
    cancelRequests: new Counter({
      name: "lms_cancel_requests_total",
      help: "CancelRequests received, by outcome (forwarded, unknown).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    ready: new Gauge({
      name: "lms_ready",
      help: "1 when the proxy knows the cutover state and accepts clients.",
      registers: [registry],
    }),
    paused: new Gauge({
      name: "lms_proxy_paused",
      help: "1 while a consistent cutover holds new work on this proxy.",
      registers: [registry],
    }),
    standalone: new Gauge({
      name: "lms_standalone",
      help: "1 when the proxy runs without an orchestrator (--standalone) and follows no cutover.",
      registers: [registry],
    }),
    sessionMoves: new Counter({
      name: "lms_session_moves_total",
      help: "Sessions moved to a new source of truth, by destination and outcome.",
      labelNames: ["to", "outcome"] as const,
      registers: [registry],
    }),
    identityRefused: new Counter({
      name: "lms_identity_refused_total",
      help: "Sessions that could not run as their own user on a database, by database and " +
        "use (move: not moved; shadow: not shadowed).",
      labelNames: ["database", "use"] as const,
      registers: [registry],
    }),
    shadow: createShadowMetrics(registry),
  };
}
