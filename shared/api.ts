/**
 * The orchestrator's HTTP JSON API, shared by the orchestrator and
 * `molt-lms-cli`.
 *
 * All endpoints live under {@linkcode API_PREFIX} and speak JSON. A success is
 * HTTP 200 with the endpoint's response body; a failure is a 4xx/5xx status
 * with an {@linkcode ApiErrorBody}. When the orchestrator runs with
 * `CA_TLS_CERT`, every request must present a client certificate signed by
 * that CA; otherwise the TLS handshake itself fails (no HTTP response).
 * Without `CA_TLS_CERT`, every `POST` must carry `Authorization: Bearer
 * <LMS_API_TOKEN>` or is refused with `UNAUTHORIZED` (401); `GET`s stay open.
 *
 * Every request that switches the source of truth (`begin`, `commit`,
 * `immediate`) names the source of truth it expects to switch from
 * (`"from": "source"` or `"target"`). A request without it is refused with
 * `BAD_REQUEST`, one whose `from` is no longer the source of truth with
 * `SOURCE_OF_TRUTH_MISMATCH`: a retried request can never flip the fleet back.
 *
 * Endpoints:
 *
 * - `GET  /api/v1/status` → {@linkcode StatusResponse}: source of truth, epoch,
 *   phase, shadow mode, dialect, every proxy, the cutover in progress (live
 *   drain and replication progress) and recent history.
 * - `POST /api/v1/initialize` (empty body) → {@linkcode InitializeResponse}:
 *   creates `_molt_lms` in the target and the marker table on both databases;
 *   idempotent.
 * - `GET  /api/v1/connections?redact=true|false` → {@linkcode ConnectionsResponse}:
 *   every client connection of every connected proxy. `redact` defaults to
 *   false; a proxy configured with `redactQueries` redacts regardless.
 * - `POST /api/v1/cutover/consistent/begin` {@linkcode BeginRequest} →
 *   {@linkcode CutoverResponse}: returns at once with the cutover id; poll
 *   `status` for progress.
 * - `POST /api/v1/cutover/consistent/commit` {@linkcode CommitRequest} →
 *   {@linkcode CutoverResponse}: flips the source of truth (epoch+1) and
 *   resumes the fleet there.
 * - `POST /api/v1/cutover/consistent/abort` (empty body) →
 *   {@linkcode CutoverResponse}: resumes the fleet on the unchanged source of
 *   truth.
 * - `POST /api/v1/cutover/immediate` {@linkcode ImmediateRequest} → {@linkcode CutoverResponse}:
 *   flips the source of truth (epoch+1) at once.
 * - `GET  /api/v1/shadow/report?limit=N` → {@linkcode ShadowReportResponse}:
 *   shadowing results merged over every connected proxy: totals, mismatch
 *   rates over the last hour, day and seven days, the worst `limit` mismatch
 *   samples (default {@linkcode SHADOW_REPORT_DEFAULT_LIMIT}) and whether an
 *   immediate cutover is advisable.
 *
 * @module
 */

import { z } from "zod";
import {
  BlockingSessionSchema,
  ClusterStateSchema,
  ConnectionInfoSchema,
  DatabaseSideSchema,
  PhaseSchema,
  SessionCountsSchema,
  ShadowModeSchema,
} from "./control.ts";
import { MismatchSampleSchema } from "./shadow.ts";

/** Path prefix of every API endpoint. */
export const API_PREFIX = "/api/v1";

/** Endpoint paths relative to the orchestrator URL. */
export const API_PATHS = {
  status: "/api/v1/status",
  initialize: "/api/v1/initialize",
  connections: "/api/v1/connections",
  consistentBegin: "/api/v1/cutover/consistent/begin",
  consistentCommit: "/api/v1/cutover/consistent/commit",
  consistentAbort: "/api/v1/cutover/consistent/abort",
  immediate: "/api/v1/cutover/immediate",
  shadowReport: "/api/v1/shadow/report",
} as const;

/**
 * Error codes of the API and the HTTP status each one comes with:
 *
 * - `BAD_REQUEST` (400): the body or query is not valid (e.g. no `from`).
 * - `UNAUTHORIZED` (401): a change without the API token (or with a wrong one).
 * - `NOT_FOUND` (404): no such endpoint.
 * - `NOT_INITIALIZED` (409): `_molt_lms` does not exist yet; run `initialize`.
 * - `INVALID_PHASE` (409): the command is not valid in the current phase
 *   (e.g. `begin` while a cutover is in progress, `abort` after `commit`).
 * - `NOT_DRAINED` (409): `commit` before every connected proxy drained.
 * - `NOT_CAUGHT_UP` (409): `commit` before the replication marker reached the new source
 *   of truth (override: `skipReplicationCheck`).
 * - `SOURCE_OF_TRUTH_MISMATCH` (409): the request's `from` is not the source of truth.
 * - `UNSAFE_SHADOW_MODE` (409): the proxies' shadow mode does not fit the cutover kind
 *   (the product docs' warnings; override: `force`).
 * - `STATE_CONFLICT` (409): another orchestrator changed the state first.
 * - `STORE_UNAVAILABLE` (503): the target database (state store) cannot be reached.
 * - `INTERNAL` (500): a bug; the message says what failed.
 */
export const ApiErrorCodeSchema: z.ZodEnum<{
  BAD_REQUEST: "BAD_REQUEST";
  UNAUTHORIZED: "UNAUTHORIZED";
  NOT_FOUND: "NOT_FOUND";
  NOT_INITIALIZED: "NOT_INITIALIZED";
  INVALID_PHASE: "INVALID_PHASE";
  NOT_DRAINED: "NOT_DRAINED";
  NOT_CAUGHT_UP: "NOT_CAUGHT_UP";
  SOURCE_OF_TRUTH_MISMATCH: "SOURCE_OF_TRUTH_MISMATCH";
  UNSAFE_SHADOW_MODE: "UNSAFE_SHADOW_MODE";
  PROXIES_MISSING: "PROXIES_MISSING";
  STATE_CONFLICT: "STATE_CONFLICT";
  STORE_UNAVAILABLE: "STORE_UNAVAILABLE";
  INTERNAL: "INTERNAL";
}> = z.enum([
  "BAD_REQUEST",
  "UNAUTHORIZED",
  "NOT_FOUND",
  "NOT_INITIALIZED",
  "INVALID_PHASE",
  "NOT_DRAINED",
  "NOT_CAUGHT_UP",
  "SOURCE_OF_TRUTH_MISMATCH",
  "UNSAFE_SHADOW_MODE",
  "PROXIES_MISSING",
  "STATE_CONFLICT",
  "STORE_UNAVAILABLE",
  "INTERNAL",
]);
/** API error code, see {@linkcode ApiErrorCodeSchema}. */
export type ApiErrorCode = z.infer<typeof ApiErrorCodeSchema>;

/** HTTP status for each API error code. */
export const API_ERROR_STATUS: Record<ApiErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  NOT_INITIALIZED: 409,
  INVALID_PHASE: 409,
  NOT_DRAINED: 409,
  NOT_CAUGHT_UP: 409,
  SOURCE_OF_TRUTH_MISMATCH: 409,
  UNSAFE_SHADOW_MODE: 409,
  PROXIES_MISSING: 409,
  STATE_CONFLICT: 409,
  STORE_UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** Body of every failed request. `hint` says what the operator should do. */
export const ApiErrorBodySchema = z.object({
  error: z.object({
    code: ApiErrorCodeSchema,
    message: z.string(),
    hint: z.string(),
  }),
});
/** Body of every failed request. */
export type ApiErrorBody = z.infer<typeof ApiErrorBodySchema>;

/** One proxy as the orchestrator sees it. Times are ISO-8601 strings. */
export const ProxyStatusSchema = z.object({
  id: z.string(),
  connected: z.boolean(),
  version: z.string(),
  /** The shadow mode the proxy registered with. */
  shadowMode: ShadowModeSchema,
  sessions: SessionCountsSchema,
  lastHeartbeatAt: z.string().nullable(),
  /** Epoch of the state the proxy last reported, null before it knew one. */
  epoch: z.number().int().nullable(),
  paused: z.boolean(),
  drained: z.boolean(),
});
/** One proxy as the orchestrator sees it. */
export type ProxyStatus = z.infer<typeof ProxyStatusSchema>;

/** A blocking session, with the proxy it lives on. */
export const ProxyBlockingSessionSchema = BlockingSessionSchema.extend({ proxyId: z.string() });
/** A blocking session, with the proxy it lives on. */
export type ProxyBlockingSession = z.infer<typeof ProxyBlockingSessionSchema>;

/** Replication catch-up check after drain (marker written on the SoT, polled on the other side). */
export const ReplicationStatusSchema = z.object({
  /** The check ran (or is running) for this cutover. */
  checked: z.boolean(),
  /** The marker appeared on the other database. */
  caughtUp: z.boolean(),
  /** Time from writing the marker until it was seen, when caught up. */
  lagMs: z.number().nullable(),
  /** Why the check could not run or complete, if it failed. */
  error: z.string().nullable(),
});
/** Replication catch-up check result. */
export type ReplicationStatus = z.infer<typeof ReplicationStatusSchema>;

/** The consistent cutover in progress. */
export const CutoverStatusSchema = z.object({
  id: z.string(),
  kind: z.enum(["consistent", "immediate"]),
  startedAt: z.string(),
  /** Connected proxies that acked drained. */
  drained: z.number().int().nonnegative(),
  /** Connected proxies. */
  total: z.number().int().nonnegative(),
  /** Sessions still inside a transaction, over all proxies. */
  openTransactions: z.number().int().nonnegative(),
  blocking: z.array(ProxyBlockingSessionSchema),
  /** The drain timeout passed before every proxy drained; the fleet stays paused. */
  drainTimedOut: z.boolean(),
  /** Session ids whose queries were cancelled because of `cancelAfterMs`. */
  cancelled: z.array(z.string()),
  /** Session ids that were terminated because cancelling did not end their transaction. */
  terminated: z.array(z.string()),
  /**
   * Proxies that resumed traffic on the source of truth by themselves because
   * their pause outlived `LMS_MAX_PAUSE`: this cutover can no longer commit.
   */
  resumedProxies: z.array(z.string()),
  replication: ReplicationStatusSchema,
});
/** The consistent cutover in progress. */
export type CutoverStatus = z.infer<typeof CutoverStatusSchema>;

/** One step of the persisted cutover history. */
export const HistoryEntrySchema = z.object({
  id: z.number().int(),
  at: z.string(),
  epoch: z.number().int(),
  step: z.string(),
  actor: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
/** One step of the persisted cutover history. */
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

/** `GET /api/v1/status` response. */
export const StatusResponseSchema = z.object({
  /** `_molt_lms` exists in the target. */
  initialized: z.boolean(),
  sourceOfTruth: DatabaseSideSchema,
  epoch: z.number().int().nonnegative(),
  phase: PhaseSchema,
  shadowMode: z.string(),
  sourceDialect: z.string(),
  proxies: z.array(ProxyStatusSchema),
  cutover: CutoverStatusSchema.nullable(),
  /** Most recent first. */
  history: z.array(HistoryEntrySchema),
});
/** `GET /api/v1/status` response. */
export type StatusResponse = z.infer<typeof StatusResponseSchema>;

/** `POST /api/v1/initialize` response. */
export const InitializeResponseSchema = z.object({
  /** False when `_molt_lms` already existed (initialize is idempotent). */
  created: z.boolean(),
  state: ClusterStateSchema,
  /**
   * Where the replication marker table exists now: the target, and the source
   * when the orchestrator has INIT_SOURCE. Absent from orchestrators before it was added.
   */
  markers: z.array(z.object({
    side: DatabaseSideSchema,
    dialect: z.enum(["postgres", "mysql"]),
    table: z.string(),
  })).optional(),
  /**
   * With a MySQL source: how many of its accounts were recorded for logins
   * after a cutover (never their hashes), or why none were.
   */
  mysqlAccounts: z.object({
    recorded: z.number().int().nonnegative(),
    error: z.string().optional(),
  }).optional(),
});
/** `POST /api/v1/initialize` response. */
export type InitializeResponse = z.infer<typeof InitializeResponseSchema>;

/** `GET /api/v1/connections` response. */
export const ConnectionsResponseSchema = z.object({
  connections: z.array(ConnectionInfoSchema),
  /** Connected proxies that did not answer in time; their connections are missing. */
  unreachableProxies: z.array(z.string()),
});
/** `GET /api/v1/connections` response. */
export type ConnectionsResponse = z.infer<typeof ConnectionsResponseSchema>;

/**
 * The source of truth a switching request expects to switch from. Optional in
 * the schema so that its absence gets its own error naming the current source
 * of truth rather than a generic validation message.
 */
const from = DatabaseSideSchema.optional();

/** `POST /api/v1/cutover/consistent/begin` body. */
export const BeginRequestSchema = z.object({
  /** The source of truth this cutover switches from; required. */
  from,
  /** Report blocking connections after this long; the fleet stays paused. Default 30000. */
  drainTimeoutMs: z.number().int().positive().optional(),
  /** Cancel the blocking transactions' queries after this long, then terminate them. */
  cancelAfterMs: z.number().int().positive().optional(),
  /** Begin even though a proxy shadows in `sync`/`strict-sync` (recorded as an event). */
  force: z.boolean().optional(),
  /**
   * Go ahead although a fleet member is not connected (it may keep serving on
   * the old source of truth; recorded as an event). Without it the request is
   * refused with `PROXIES_MISSING`.
   */
  allowMissingProxies: z.boolean().optional(),
}).strict();
/** `POST /api/v1/cutover/consistent/begin` body. */
export type BeginRequest = z.infer<typeof BeginRequestSchema>;

/** `POST /api/v1/cutover/consistent/commit` body. */
export const CommitRequestSchema = z.object({
  /** The source of truth this cutover switches from; required. */
  from,
  /**
   * Commit although the replication marker has not been seen on the new
   * source of truth (recorded as an event). Without it such a commit is
   * refused with `NOT_CAUGHT_UP`.
   */
  skipReplicationCheck: z.boolean().optional(),
  /**
   * Go ahead although a fleet member is not connected (it may keep serving on
   * the old source of truth; recorded as an event). Without it the request is
   * refused with `PROXIES_MISSING`.
   */
  allowMissingProxies: z.boolean().optional(),
}).strict();
/** `POST /api/v1/cutover/consistent/commit` body. */
export type CommitRequest = z.infer<typeof CommitRequestSchema>;

/** `POST /api/v1/cutover/immediate` body. */
export const ImmediateRequestSchema = z.object({
  /** The source of truth this cutover switches from; required. */
  from,
  /** Switch even though a proxy shadows in `none`/`async` (recorded as an event). */
  force: z.boolean().optional(),
  /**
   * Go ahead although a fleet member is not connected (it may keep serving on
   * the old source of truth; recorded as an event). Without it the request is
   * refused with `PROXIES_MISSING`.
   */
  allowMissingProxies: z.boolean().optional(),
}).strict();
/** `POST /api/v1/cutover/immediate` body. */
export type ImmediateRequest = z.infer<typeof ImmediateRequestSchema>;

/** Response of every cutover command: the state after it and the cutover it acted on. */
export const CutoverResponseSchema = z.object({
  cutoverId: z.string(),
  state: ClusterStateSchema,
});
/** Response of every cutover command. */
export type CutoverResponse = z.infer<typeof CutoverResponseSchema>;

/** Samples `GET /api/v1/shadow/report` returns when no `limit` is given. */
export const SHADOW_REPORT_DEFAULT_LIMIT = 100;
/** Largest `limit` `GET /api/v1/shadow/report` accepts. */
export const SHADOW_REPORT_MAX_LIMIT = 1000;

const count = z.number().int().nonnegative();

/** Shadowing counts over one time window (whole hourly buckets, rounded outward). */
export const ShadowWindowSchema = z.object({
  statements: count,
  mismatches: count,
  transient: count,
  /** mismatches / statements; null when nothing was compared in the window. */
  mismatchRate: z.number().nonnegative().nullable(),
  /** transient / statements; null when nothing was compared in the window. */
  transientRate: z.number().nonnegative().nullable(),
});
/** Shadowing counts over one time window. */
export type ShadowWindow = z.infer<typeof ShadowWindowSchema>;

/** One proxy's shadowing in the merged report. */
export const ShadowProxySummarySchema = z.object({
  proxyId: z.string(),
  mode: z.string(),
  /** Since when it has been shadowing (ISO 8601), null when it does not shadow. */
  shadowingSince: z.string().nullable(),
  statements: count,
  mismatches: count,
  transient: count,
  droppedSessions: count,
});
/** One proxy's shadowing in the merged report. */
export type ShadowProxySummary = z.infer<typeof ShadowProxySummarySchema>;

/** Mismatches of one fingerprint and kind over every proxy; outcomes of the latest occurrence. */
export const ShadowSampleSchema = MismatchSampleSchema.extend({
  /** Proxies that saw it, sorted. */
  proxies: z.array(z.string()),
});
/** Mismatches of one fingerprint and kind over every proxy. */
export type ShadowSample = z.infer<typeof ShadowSampleSchema>;

/**
 * Whether the fleet meets the product docs' bar for an immediate cutover:
 * every connected proxy shadowing in `sync` or `strict-sync` for at least
 * seven days, with only transient inconsistencies in those seven days.
 */
export const ShadowJudgementSchema = z.object({
  readyForImmediateCutover: z.boolean(),
  /** Why not, one line per problem; empty when ready. */
  reasons: z.array(z.string()),
});
/** See {@linkcode ShadowJudgementSchema}. */
export type ShadowJudgement = z.infer<typeof ShadowJudgementSchema>;

/** `GET /api/v1/shadow/report` response. */
export const ShadowReportResponseSchema = z.object({
  /** When the orchestrator merged the report (ISO 8601); the windows end here. */
  generatedAt: z.string(),
  /** Proxies that answered, by id. */
  proxies: z.array(ShadowProxySummarySchema),
  /** Connected proxies that did not answer in time; their results are missing. */
  unreachableProxies: z.array(z.string()),
  /** Totals since each proxy started. */
  totals: z.object({
    statements: count,
    mismatches: count,
    transient: count,
    droppedSessions: count,
  }),
  /** Mismatches by kind since each proxy started. */
  byKind: z.record(z.string(), count),
  windows: z.object({
    lastHour: ShadowWindowSchema,
    lastDay: ShadowWindowSchema,
    lastSevenDays: ShadowWindowSchema,
  }),
  judgement: ShadowJudgementSchema,
  /** The worst samples first: most frequent, then most recent; at most `limit`. */
  samples: z.array(ShadowSampleSchema),
  /** Sample groups before the limit was applied. */
  totalSamples: count,
});
/** `GET /api/v1/shadow/report` response. */
export type ShadowReportResponse = z.infer<typeof ShadowReportResponseSchema>;

/**
 * Response header naming the orchestrator that answered (its `LMS_PROXY_ID`),
 * so a launcher can check it talks to the orchestrator it started.
 */
export const ORCHESTRATOR_ID_HEADER = "x-lms-orchestrator-id";
