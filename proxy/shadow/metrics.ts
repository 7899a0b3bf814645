/**
 * Prometheus metrics of shadowing. Sessions call these once per shadowed
 * statement, so fixed label sets are bound once up front and the queue size is
 * a plain number copied into the gauge only when scraped.
 *
 * @module
 */

import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { DatabaseSide } from "../../shared/control.ts";
import { type MismatchKind, MismatchKindSchema } from "../../shared/shadow.ts";

/** What the shadowing code records. */
export interface ShadowMetrics {
  /** A statement was run on both databases and compared (`lms_shadow_statements_total`). */
  statement(): void;
  /** A real mismatch of `kind` (`lms_shadow_mismatches_total{kind}`). */
  mismatch(kind: MismatchKind): void;
  /**
   * A difference classified as transient or expected, e.g. `retry_40001` or
   * `volatile` (`lms_shadow_transient_total{reason}`).
   */
  transient(reason: string): void;
  /** `database` answered a shadowed statement with `sqlstate` (`lms_shadow_errors_total`). */
  error(database: DatabaseSide, sqlstate: string): void;
  /** A session stopped shadowing because its queue filled (`lms_shadow_dropped_sessions_total`). */
  droppedSession(): void;
  /**
   * Time from sending a request to `database`'s ReadyForQuery
   * (`lms_shadow_duration_seconds{database}`).
   */
  observeDuration(database: DatabaseSide, seconds: number): void;
  /** Adds `delta` (negative to release) to the bytes queued for shadow connections. */
  addQueueBytes(delta: number): void;
}

/** Buckets of the shadow latency histogram, in seconds. */
export const SHADOW_DURATION_BUCKETS: number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

// A malformed SQLSTATE from a misbehaving server must not mint new time series.
const SQLSTATE = /^[0-9A-Z]{5}$/;
// Reasons come from the rule list; cap them so a bad rule cannot grow the registry without bound.
const MAX_TRANSIENT_REASONS = 50;

/** Registers the shadow metrics on `registry` and returns the recording API. */
export function createShadowMetrics(registry: Registry): ShadowMetrics {
  const statements = new Counter({
    name: "lms_shadow_statements_total",
    help: "Statements run on both databases and compared.",
    registers: [registry],
  });
  const mismatches = new Counter({
    name: "lms_shadow_mismatches_total",
    help: "Statements whose outcomes differed between the databases, by kind of difference.",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const transient = new Counter({
    name: "lms_shadow_transient_total",
    help: "Differences classified as transient or expected (40001 retries, volatile functions).",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: "lms_shadow_errors_total",
    help: "Errors returned by either database to shadowed statements, by database and SQLSTATE.",
    labelNames: ["database", "sqlstate"] as const,
    registers: [registry],
  });
  const dropped = new Counter({
    name: "lms_shadow_dropped_sessions_total",
    help: "Sessions that stopped shadowing because their shadow queue filled up.",
    registers: [registry],
  });
  const duration = new Histogram({
    name: "lms_shadow_duration_seconds",
    help: "Time from sending a shadowed request to each database's ReadyForQuery.",
    labelNames: ["database"] as const,
    buckets: SHADOW_DURATION_BUCKETS,
    registers: [registry],
  });
  let queueBytes = 0;
  new Gauge({
    name: "lms_shadow_queue_bytes",
    help: "Bytes waiting in the shadow queues of all sessions.",
    registers: [registry],
    collect() {
      this.set(queueBytes);
    },
  });

  // Every kind shows up at 0 from the start, so rate() and alerts work before the first mismatch.
  const byKind = new Map(
    MismatchKindSchema.options.map((kind) => {
      const child = mismatches.labels(kind);
      child.inc(0);
      return [kind, child] as const;
    }),
  );
  duration.zero({ database: "source" });
  duration.zero({ database: "target" });
  const durations = { source: duration.labels("source"), target: duration.labels("target") };
  type Child = ReturnType<typeof transient.labels>;
  const byReason = new Map<string, Child>();
  const byError = new Map<string, Child>();

  return {
    statement: () => statements.inc(),
    mismatch: (kind) => byKind.get(kind)?.inc(),
    transient: (reason) => {
      let child = byReason.get(reason);
      if (!child) {
        const label = byReason.size < MAX_TRANSIENT_REASONS ? reason : "other";
        child = byReason.get(label) ?? transient.labels(label);
        byReason.set(label, child);
      }
      child.inc();
    },
    error: (database, sqlstate) => {
      const state = SQLSTATE.test(sqlstate) ? sqlstate : "other";
      const key = `${database}:${state}`;
      let child = byError.get(key);
      if (!child) {
        child = errors.labels(database, state);
        byError.set(key, child);
      }
      child.inc();
    },
    droppedSession: () => dropped.inc(),
    observeDuration: (database, seconds) => durations[database].observe(seconds),
    addQueueBytes: (delta) => {
      queueBytes = Math.max(0, queueBytes + delta);
    },
  };
}
