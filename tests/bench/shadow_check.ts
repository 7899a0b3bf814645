/**
 * Proof that a shadow row of the benchmark really shadowed: the proxy's shadow
 * counters read from `/metrics` before and after each measured run, so a mode
 * that silently stopped shadowing (a dropped session, a shadow that never
 * connected) cannot pass for a fast one.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";

/** The shadow counters of one proxy at one moment, or their growth over some runs. */
export interface ShadowCounters {
  /** `lms_shadow_statements_total`: statements run on both databases and compared. */
  statements: number;
  /** `lms_shadow_mismatches_total`, by `kind`. */
  mismatches: Record<string, number>;
  /** `lms_shadow_transient_total`, all reasons. */
  transient: number;
  /** `lms_shadow_errors_total`, all databases and SQLSTATEs. */
  errors: number;
  /** `lms_shadow_dropped_sessions_total`. */
  droppedSessions: number;
}

/** Counters before anything ran. */
export function zeroCounters(): ShadowCounters {
  return { statements: 0, mismatches: {}, transient: 0, errors: 0, droppedSessions: 0 };
}

const SETTLE_POLL_MS = 100;
const SETTLE_TIMEOUT_MS = 15_000;

/**
 * Reads the shadow counters from the proxy's `/metrics` on `metricsPort`.
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` when the endpoint fails or has no
 * `lms_shadow_statements_total`.
 */
export async function readShadowCounters(metricsPort: number): Promise<ShadowCounters> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  const text = await res.text();
  if (!res.ok) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `the proxy's /metrics on port ${metricsPort} answered HTTP ${res.status}`,
      "look at the proxy's log",
    );
  }
  return parseShadowCounters(text);
}

/**
 * Reads the counters once `lms_shadow_statements_total` has stopped moving: an
 * `async` shadow may still be working through its queue when pgbench exits.
 */
export async function settledShadowCounters(metricsPort: number): Promise<ShadowCounters> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let last = await readShadowCounters(metricsPort);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    const now = await readShadowCounters(metricsPort);
    if (now.statements === last.statements) return now;
    last = now;
  }
  return last;
}

/**
 * The shadow counters in a Prometheus text exposition.
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` when `lms_shadow_statements_total` is
 * missing (the proxy does not shadow).
 */
export function parseShadowCounters(text: string): ShadowCounters {
  const out = zeroCounters();
  let sawStatements = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.startsWith("lms_shadow_")) continue;
    const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const [, name, labels = "", raw] = m;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    switch (name) {
      case "lms_shadow_statements_total":
        out.statements += value;
        sawStatements = true;
        break;
      case "lms_shadow_mismatches_total": {
        const kind = /kind="([^"]*)"/.exec(labels)?.[1] ?? "unknown";
        out.mismatches[kind] = (out.mismatches[kind] ?? 0) + value;
        break;
      }
      case "lms_shadow_transient_total":
        out.transient += value;
        break;
      case "lms_shadow_errors_total":
        out.errors += value;
        break;
      case "lms_shadow_dropped_sessions_total":
        out.droppedSessions += value;
        break;
    }
  }
  if (!sawStatements) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      "the proxy's /metrics has no lms_shadow_statements_total",
      "start the proxy with LMS_SHADOW_MODE and INIT_TARGET set",
    );
  }
  return out;
}

/** `after` − `before`, counter by counter. */
export function counterDelta(before: ShadowCounters, after: ShadowCounters): ShadowCounters {
  const mismatches: Record<string, number> = {};
  for (
    const kind of new Set([...Object.keys(before.mismatches), ...Object.keys(after.mismatches)])
  ) {
    mismatches[kind] = (after.mismatches[kind] ?? 0) - (before.mismatches[kind] ?? 0);
  }
  return {
    statements: after.statements - before.statements,
    mismatches,
    transient: after.transient - before.transient,
    errors: after.errors - before.errors,
    droppedSessions: after.droppedSessions - before.droppedSessions,
  };
}

/** `a` + `b`, counter by counter. */
export function addCounters(a: ShadowCounters, b: ShadowCounters): ShadowCounters {
  const mismatches: Record<string, number> = { ...a.mismatches };
  for (const [kind, n] of Object.entries(b.mismatches)) {
    mismatches[kind] = (mismatches[kind] ?? 0) + n;
  }
  return {
    statements: a.statements + b.statements,
    mismatches,
    transient: a.transient + b.transient,
    errors: a.errors + b.errors,
    droppedSessions: a.droppedSessions + b.droppedSessions,
  };
}

/** Sum of the mismatches of every kind. */
export function totalMismatches(c: ShadowCounters): number {
  return Object.values(c.mismatches).reduce((a, b) => a + b, 0);
}
