/**
 * The proxy's Prometheus metrics. Byte counters are plain numbers bumped on
 * the hot path and copied into prom-client only when scraped, so forwarding a
 * chunk costs an addition, not a label lookup. Every labelled series with
 * known label values starts at 0, so alerts see 0 rather than "no data".
 *
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { type ClusterState, type DatabaseSide, PhaseSchema } from "../shared/control.ts";
import { registerProcessMetrics } from "../shared/process_metrics.ts";
import { VERSION } from "../shared/version.ts";
import { createShadowMetrics, type ShadowMetrics } from "./shadow/metrics.ts";
import { openBackendConnections } from "./tcp_connect.ts";

/** What the state gauges read at scrape time. */
export interface ProxyStateSource {
  /** The cutover state in force, undefined before it is known. */
  state(): ClusterState | undefined;
  /** Whether the control channel to the orchestrator is up (welcomed). */
  controlConnected(): boolean;
}

const SIDES: DatabaseSide[] = ["source", "target"];
/** Buckets of the pause-hold histogram, in seconds: a pause is meant to stay well under a few. */
const HOLD_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Hot-path tallies, read at scrape time. */
export interface Tallies {
  /** Bytes received from clients. */
  bytesIn: number;
  /** Bytes sent to clients. */
  bytesOut: number;
  /** MySQL statements looked up in the translation cache (MySQL sessions on the target). */
  translations: number;
  /** Of those, the ones answered from the cache. */
  translationHits: number;
  /** CPU time spent translating, in microseconds (cache lookups included). */
  translationMicros: number;
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
  /** `lms_pause_hold_seconds`: how long each held request or new client waited at the gate. */
  pauseHold: Histogram;
  /**
   * `lms_mysql_local_logins_total{plugin,method,outcome}`: MySQL logins the
   * proxy verified itself (the target is the source of truth).
   */
  mysqlLocalLogins: Counter<"plugin" | "method" | "outcome">;
  /** Shadowing: statements compared, mismatches, errors, latency, queue size. */
  shadow: ShadowMetrics;
  /** Points the state gauges (`lms_epoch`, `lms_source_of_truth`, `lms_phase`, …) at `source`. */
  observeState(source: ProxyStateSource): void;
}

/** Creates the proxy's registry and metrics. */
export function createProxyMetrics(): ProxyMetrics {
  const registry = new Registry();
  registerProcessMetrics(registry);
  const tallies: Tallies = {
    bytesIn: 0,
    bytesOut: 0,
    translations: 0,
    translationHits: 0,
    translationMicros: 0,
  };
  let stateSource: ProxyStateSource = { state: () => undefined, controlConnected: () => false };
  new Gauge({
    name: "lms_build_info",
    help: "Always 1; the version label names this build.",
    labelNames: ["version"] as const,
    registers: [registry],
  }).set({ version: VERSION }, 1);
  new Gauge({
    name: "lms_backend_connections",
    help: "Database connections open now (sessions, shadows, standbys, auth queries), by database.",
    labelNames: ["database"] as const,
    registers: [registry],
    collect() {
      const open = openBackendConnections();
      for (const database of SIDES) this.set({ database }, open[database]);
    },
  });
  new Gauge({
    name: "lms_epoch",
    help: "Epoch of the cutover state this proxy routes by; -1 before it knows the state.",
    registers: [registry],
    collect() {
      this.set(stateSource.state()?.epoch ?? -1);
    },
  });
  new Gauge({
    name: "lms_source_of_truth",
    help: "1 for the database this proxy treats as the source of truth, 0 for the other.",
    labelNames: ["database"] as const,
    registers: [registry],
    collect() {
      const sot = stateSource.state()?.sourceOfTruth;
      for (const database of SIDES) this.set({ database }, database === sot ? 1 : 0);
    },
  });
  new Gauge({
    name: "lms_phase",
    help: "1 for the cluster phase this proxy last learned, 0 for the others.",
    labelNames: ["phase"] as const,
    registers: [registry],
    collect() {
      const current = stateSource.state()?.phase;
      for (const phase of PhaseSchema.options) this.set({ phase }, phase === current ? 1 : 0);
    },
  });
  new Gauge({
    name: "lms_control_connected",
    help: "1 while this proxy's control channel to the orchestrator is up.",
    registers: [registry],
    collect() {
      this.set(stateSource.controlConnected() ? 1 : 0);
    },
  });
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
  // Counted in plain numbers per request and handed to prom-client at scrape
  // time: a labelled inc() hashes its labels on every call.
  const queryCounts: Record<DatabaseSide, { ok: number; error: number }> = {
    source: { ok: 0, error: 0 },
    target: { ok: 0, error: 0 },
  };
  new Counter({
    name: "lms_queries_total",
    help: "Requests (simple queries and extended-protocol syncs) by database and outcome.",
    labelNames: ["database", "outcome"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const database of SIDES) {
        this.inc({ database, outcome: "ok" }, queryCounts[database].ok);
        this.inc({ database, outcome: "error" }, queryCounts[database].error);
      }
    },
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
  for (const database of SIDES) duration.zero({ database });
  new Counter({
    name: "lms_translations_total",
    help: "MySQL statements translated for CockroachDB, by whether the translation cache had them.",
    labelNames: ["cache"] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ cache: "hit" }, tallies.translationHits);
      this.inc({ cache: "miss" }, tallies.translations - tallies.translationHits);
    },
  });
  new Counter({
    name: "lms_translation_seconds_total",
    help: "Time spent translating MySQL statements (cache lookups included).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(tallies.translationMicros / 1e6);
    },
  });
  const durations = { source: duration.labels("source"), target: duration.labels("target") };
  const protocolErrors = new Counter({
    name: "lms_protocol_errors_total",
    help: "Malformed or refused client input, by kind.",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  for (const kind of ["PROTOCOL_VIOLATION", "MESSAGE_TOO_LARGE"]) protocolErrors.inc({ kind }, 0);
  const backendErrors = new Counter({
    name: "lms_backend_errors_total",
    help: "Databases that could not be reached or were lost mid-session.",
    labelNames: ["database"] as const,
    registers: [registry],
  });
  const cancelRequests = new Counter({
    name: "lms_cancel_requests_total",
    help: "CancelRequests received, by outcome (forwarded, sent to another proxy, unknown).",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  for (const outcome of ["forwarded", "sent to another proxy", "unknown"]) {
    cancelRequests.inc({ outcome }, 0);
  }
  const sessionMoves = new Counter({
    name: "lms_session_moves_total",
    help: "Sessions moved to a new source of truth, by destination and outcome.",
    labelNames: ["to", "outcome"] as const,
    registers: [registry],
  });
  const identityRefused = new Counter({
    name: "lms_identity_refused_total",
    help: "Sessions that could not run as their own user on a database, by database and " +
      "use (move: not moved; shadow: not shadowed).",
    labelNames: ["database", "use"] as const,
    registers: [registry],
  });
  for (const database of SIDES) {
    backendErrors.inc({ database }, 0);
    for (const outcome of ["ok", "failed"]) sessionMoves.inc({ to: database, outcome }, 0);
    for (const use of ["move", "shadow"]) identityRefused.inc({ database, use }, 0);
  }
  for (const outcome of ["accepted", "rejected", "cancel"]) connectionsTotal.inc({ outcome }, 0);
  const mysqlLocalLogins = new Counter({
    name: "lms_mysql_local_logins_total",
    help: "MySQL logins the proxy verified itself once the target is the source of truth, by " +
      "plugin, method (scramble, fast, full-tls, full-rsa, signature) and outcome " +
      "(accepted, denied, unsupported).",
    labelNames: ["plugin", "method", "outcome"] as const,
    registers: [registry],
  });
  for (
    const [plugin, method] of [
      ["mysql_native_password", "scramble"],
      ["caching_sha2_password", "fast"],
      ["caching_sha2_password", "full-tls"],
      ["caching_sha2_password", "full-rsa"],
      ["ed25519", "signature"],
    ]
  ) {
    for (const outcome of ["accepted", "denied"]) {
      mysqlLocalLogins.inc({ plugin, method, outcome }, 0);
    }
  }
  return {
    registry,
    tallies,
    connectionsOpen,
    connectionsTotal,
    observeQuery(database, failed, seconds) {
      const counts = queryCounts[database];
      if (failed) counts.error++;
      else counts.ok++;
      durations[database].observe(seconds);
    },
    protocolErrors,
    backendErrors,
    cancelRequests,
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
    sessionMoves,
    identityRefused,
    pauseHold: new Histogram({
      name: "lms_pause_hold_seconds",
      help: "How long each request or new client was held at the pause gate of a cutover.",
      buckets: HOLD_BUCKETS,
      registers: [registry],
    }),
    mysqlLocalLogins,
    shadow: createShadowMetrics(registry),
    observeState(source) {
      stateSource = source;
    },
  };
}
