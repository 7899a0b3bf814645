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
  type StatusResponse,
  StatusResponseSchema,
} from "../../shared/api.ts";

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
