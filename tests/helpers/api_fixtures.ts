/**
 * Orchestrator API fixtures for CLI tests, each validated against the schemas
 * in `shared/api.ts` when built, so a fixture cannot drift from the API.
 *
 * @module
 */

import {
  type ApiErrorBody,
  ApiErrorBodySchema,
  type ApiErrorCode,
  type ConnectionsResponse,
  ConnectionsResponseSchema,
  type CutoverResponse,
  CutoverResponseSchema,
  type CutoverStatus,
  CutoverStatusSchema,
  type InitializeResponse,
  InitializeResponseSchema,
  type ShadowReportResponse,
  ShadowReportResponseSchema,
  type StatusResponse,
  StatusResponseSchema,
} from "../../shared/api.ts";
import { type ProxyShadowReport, ProxyShadowReportSchema } from "../../shared/shadow.ts";

/** An ISO-8601 time `ms` milliseconds before `now`. */
export function ago(ms: number, now: number = Date.now()): string {
  return new Date(now - ms).toISOString();
}

/** A `status` answer: initialized, idle on the source, two connected proxies, one history step. */
export function statusFixture(
  overrides: Partial<StatusResponse> = {},
  now: number = Date.now(),
): StatusResponse {
  return StatusResponseSchema.parse({
    initialized: true,
    sourceOfTruth: "source",
    epoch: 3,
    phase: "idle",
    shadowMode: "none",
    sourceDialect: "postgres",
    proxies: [
      {
        id: "proxy-a",
        connected: true,
        version: "0.1.0",
        shadowMode: "none",
        sessions: { total: 12, idle: 8, active: 1, inTransaction: 3, held: 0 },
        lastHeartbeatAt: ago(2_000, now),
        epoch: 3,
        paused: false,
        drained: false,
      },
      {
        id: "proxy-b",
        connected: false,
        version: "0.1.0",
        shadowMode: "none",
        sessions: { total: 0, idle: 0, active: 0, inTransaction: 0, held: 0 },
        lastHeartbeatAt: null,
        epoch: null,
        paused: false,
        drained: false,
      },
    ],
    cutover: null,
    history: [
      {
        id: 7,
        at: ago(3_600_000, now),
        epoch: 3,
        step: "commit",
        actor: "orchestrator-0",
        detail: { from: "target", to: "source" },
      },
    ],
    ...overrides,
  });
}

/** The progress of consistent cutover `id`; defaults to "just begun, nothing drained". */
export function cutoverFixture(
  overrides: Partial<CutoverStatus> = {},
  now: number = Date.now(),
): CutoverStatus {
  return CutoverStatusSchema.parse({
    id: "cut-1",
    kind: "consistent",
    startedAt: ago(1_000, now),
    drained: 0,
    total: 2,
    openTransactions: 0,
    blocking: [],
    drainTimedOut: false,
    cancelled: [],
    terminated: [],
    resumedProxies: [],
    replication: { checked: false, caughtUp: false, lagMs: null, error: null },
    ...overrides,
  });
}

/** A `connections` answer with one idle and one in-transaction session holding a long query. */
export function connectionsFixture(
  overrides: Partial<ConnectionsResponse> = {},
  now: number = Date.now(),
): ConnectionsResponse {
  return ConnectionsResponseSchema.parse({
    connections: [
      {
        proxyId: "proxy-a",
        sessionId: "a-1",
        clientAddress: "10.0.0.5:51234",
        user: "app",
        database: "shop",
        state: "idle",
        currentDatabase: "source",
        lastQuery: "SELECT 1",
        lastQueryAt: ago(5_000, now),
        since: ago(5_000, now),
      },
      {
        proxyId: "proxy-b",
        sessionId: "b-7",
        clientAddress: "10.0.0.6:40000",
        user: "batch",
        database: "shop",
        state: "in transaction",
        currentDatabase: "source",
        lastQuery: "UPDATE orders SET status = $1 WHERE id IN (SELECT id FROM orders WHERE " +
          "created_at < $2 ORDER BY id LIMIT 1000)",
        lastQueryAt: ago(12_000, now),
        since: ago(90_000, now),
      },
    ],
    unreachableProxies: [],
    ...overrides,
  });
}

/** An `initialize` answer. */
export function initializeFixture(created = true): InitializeResponse {
  return InitializeResponseSchema.parse({
    created,
    state: { sourceOfTruth: "source", epoch: 0, phase: "idle" },
  });
}

/** The answer of a cutover command. */
export function cutoverResponseFixture(overrides: Partial<CutoverResponse> = {}): CutoverResponse {
  return CutoverResponseSchema.parse({
    cutoverId: "cut-1",
    state: { sourceOfTruth: "source", epoch: 3, phase: "draining" },
    ...overrides,
  });
}

/** An API error body. */
export function errorFixture(code: ApiErrorCode, message: string, hint: string): ApiErrorBody {
  return ApiErrorBodySchema.parse({ error: { code, message, hint } });
}

const HOUR = 3_600_000;

/**
 * One proxy's shadow report: `sync` for three days, 1000 statements an hour
 * over the last three hours, the last hour with 3 mismatches and 1 transient
 * difference, and one sample.
 */
export function proxyShadowReportFixture(
  overrides: Partial<ProxyShadowReport> = {},
  now: number = Date.now(),
): ProxyShadowReport {
  const hour = Math.floor(now / HOUR) * HOUR;
  return ProxyShadowReportSchema.parse({
    proxyId: "proxy-a",
    mode: "sync",
    shadowingSince: ago(3 * 24 * HOUR, now),
    statements: 3000,
    mismatches: 3,
    transient: 1,
    droppedSessions: 0,
    byKind: { values: 3 },
    hourly: [
      { start: hour - 2 * HOUR, statements: 1000, mismatches: 0, transient: 0 },
      { start: hour - HOUR, statements: 1000, mismatches: 0, transient: 0 },
      { start: hour, statements: 1000, mismatches: 3, transient: 1 },
    ],
    samples: [{
      fingerprint: "SELECT balance FROM accounts WHERE id = $1",
      kind: "values",
      count: 3,
      firstSeen: ago(50 * 60_000, now),
      lastSeen: ago(60_000, now),
      source: { ok: true, commandTag: "SELECT 1", rowCount: 1, rows: [["100.00"]] },
      target: { ok: true, commandTag: "SELECT 1", rowCount: 1, rows: [["100.01"]] },
    }],
    ...overrides,
  });
}

/**
 * A `shadow/report` answer: two proxies in `sync` for three days, mismatches
 * of two kinds (the worst first) and a judgement that is not ready.
 */
export function shadowReportFixture(
  overrides: Partial<ShadowReportResponse> = {},
  now: number = Date.now(),
): ShadowReportResponse {
  const window = (statements: number, mismatches: number, transient: number) => ({
    statements,
    mismatches,
    transient,
    mismatchRate: mismatches / statements,
    transientRate: transient / statements,
  });
  return ShadowReportResponseSchema.parse({
    generatedAt: new Date(now).toISOString(),
    proxies: ["proxy-a", "proxy-b"].map((proxyId) => ({
      proxyId,
      mode: "sync",
      shadowingSince: ago(3 * 24 * HOUR, now),
      statements: 60_000,
      mismatches: 20,
      transient: 5,
      droppedSessions: 0,
    })),
    unreachableProxies: [],
    totals: { statements: 120_000, mismatches: 40, transient: 10, droppedSessions: 0 },
    byKind: { values: 34, error_vs_success: 6 },
    windows: {
      lastHour: window(2_000, 1, 0),
      lastDay: window(48_000, 12, 4),
      lastSevenDays: window(120_000, 40, 10),
    },
    judgement: {
      readyForImmediateCutover: false,
      reasons: [
        "proxy proxy-a: shadowing for 3 days of the required 7 days",
        "proxy proxy-b: shadowing for 3 days of the required 7 days",
        "40 mismatches in the last 7 days",
      ],
    },
    samples: [
      {
        fingerprint: "SELECT balance FROM accounts WHERE id = $1",
        kind: "values",
        count: 34,
        firstSeen: ago(2 * 24 * HOUR, now),
        lastSeen: ago(90_000, now),
        source: { ok: true, commandTag: "SELECT 1", rowCount: 1, rows: [["100.00"]] },
        target: { ok: true, commandTag: "SELECT 1", rowCount: 1, rows: [["100.01"]] },
        proxies: ["proxy-a", "proxy-b"],
      },
      {
        fingerprint: "INSERT INTO orders (customer_id, total) VALUES ($1, $2)",
        kind: "error_vs_success",
        count: 6,
        firstSeen: ago(5 * HOUR, now),
        lastSeen: ago(2 * HOUR, now),
        source: { ok: true, commandTag: "INSERT 0 1", rowCount: 1 },
        target: { ok: false, sqlstate: "23505", message: "duplicate key value" },
        proxies: ["proxy-b"],
      },
    ],
    totalSamples: 2,
    ...overrides,
  });
}
