/**
 * The control-channel protocol between proxies and the orchestrator.
 *
 * Every message is one JSON text frame on the WebSocket `/v1/proxies`, carries
 * the protocol version `v: 1` and a `type`. Both ends validate what they
 * receive with the parsers here; a parser never throws, it returns either the
 * typed message or a typed error the receiver logs and answers.
 *
 * @module
 */

import { z } from "zod";
import { ProxyShadowReportSchema } from "./shadow.ts";

/** Protocol version spoken by this build. Bump on any incompatible change. */
export const CONTROL_PROTOCOL_VERSION = 1;

/**
 * Error code (in an `error` frame) of a hello refused because a live proxy
 * already holds its id; the orchestrator then closes with
 * {@linkcode DUPLICATE_CLOSE_CODE}.
 */
export const DUPLICATE_PROXY_ID = "DUPLICATE_PROXY_ID";
/** WebSocket close code of a refused duplicate proxy id. */
export const DUPLICATE_CLOSE_CODE = 4009;

/** Which database a proxy routes to. */
export const DatabaseSideSchema: z.ZodEnum<{ source: "source"; target: "target" }> = z.enum([
  "source",
  "target",
]);
/** Which database a proxy routes to. */
export type DatabaseSide = z.infer<typeof DatabaseSideSchema>;

/** The other database. */
export function otherSide(side: DatabaseSide): DatabaseSide {
  return side === "source" ? "target" : "source";
}

/** How a proxy treats the database that is not the source of truth (`LMS_SHADOW_MODE`). */
export const ShadowModeSchema: z.ZodEnum<{
  none: "none";
  async: "async";
  sync: "sync";
  "strict-sync": "strict-sync";
}> = z.enum(["none", "async", "sync", "strict-sync"]);
/** A proxy's shadow mode, see {@linkcode ShadowModeSchema}. */
export type ShadowModeName = z.infer<typeof ShadowModeSchema>;

/**
 * Cluster phases: `idle` (serving on the source of truth), `draining` (a
 * consistent cutover began, proxies are pausing), `drained` (every connected
 * proxy acked; waiting for commit or abort).
 */
export const PhaseSchema: z.ZodEnum<{ idle: "idle"; draining: "draining"; drained: "drained" }> = z
  .enum(["idle", "draining", "drained"]);
/** Cluster phase, see {@linkcode PhaseSchema}. */
export type Phase = z.infer<typeof PhaseSchema>;

/** The routing state of the whole fleet, as persisted in `_molt_lms.state`. */
export const ClusterStateSchema = z.object({
  sourceOfTruth: DatabaseSideSchema,
  epoch: z.number().int().nonnegative(),
  phase: PhaseSchema,
});
/** The routing state of the whole fleet. */
export type ClusterState = z.infer<typeof ClusterStateSchema>;

/** Per-proxy session counts; `held` sessions wait at the pause gate. */
export const SessionCountsSchema = z.object({
  total: z.number().int().nonnegative(),
  idle: z.number().int().nonnegative(),
  active: z.number().int().nonnegative(),
  inTransaction: z.number().int().nonnegative(),
  held: z.number().int().nonnegative(),
});
/** Per-proxy session counts. */
export type SessionCounts = z.infer<typeof SessionCountsSchema>;

/** A session that keeps a proxy from draining (it is inside a transaction). */
export const BlockingSessionSchema = z.object({
  sessionId: z.string(),
  client: z.string(),
  user: z.string(),
  database: z.string(),
  inTransactionForMs: z.number().nonnegative(),
  query: z.string(),
  /**
   * Why a session between transactions still blocks: it cannot be moved
   * (MySQL: LOCK TABLES, GET_LOCK, temporary tables; any wire: it cannot run
   * as its own user on the new database).
   */
  reason: z.string().optional(),
});
/** A session that keeps a proxy from draining. */
export type BlockingSession = z.infer<typeof BlockingSessionSchema>;

/** Session states shown by `connections list`. */
export const ConnectionStateSchema: z.ZodEnum<{
  idle: "idle";
  active: "active";
  "in transaction": "in transaction";
  held: "held";
}> = z.enum(["idle", "active", "in transaction", "held"]);
/** Session state shown by `connections list`. */
export type ConnectionState = z.infer<typeof ConnectionStateSchema>;

/** One client connection of one proxy. Times are ISO-8601 strings. */
export const ConnectionInfoSchema = z.object({
  proxyId: z.string(),
  sessionId: z.string(),
  clientAddress: z.string(),
  user: z.string(),
  database: z.string(),
  state: ConnectionStateSchema,
  currentDatabase: DatabaseSideSchema,
  lastQuery: z.string(),
  lastQueryAt: z.string().nullable(),
  since: z.string(),
});
/** One client connection of one proxy. */
export type ConnectionInfo = z.infer<typeof ConnectionInfoSchema>;

const v = z.literal(CONTROL_PROTOCOL_VERSION);
const processId = z.number().int();
const secretKey = z.number().int();
/** A forwarded cancel that disconnects the session (MySQL's `KILL CONNECTION`); absent: cancel the running statement. */
const terminate = z.boolean().optional();
const pauseRemainingMs = z.number().int().nonnegative();

/** Proxy → orchestrator messages. */
export const ProxyMessageSchema = z.discriminatedUnion("type", [
  z.object({
    v,
    type: z.literal("hello"),
    proxyId: z.string().min(1),
    version: z.string(),
    /** Its shadow mode: the orchestrator guards cutovers by it. */
    shadowMode: ShadowModeSchema,
    /** The newest state the proxy has applied, if any. */
    state: ClusterStateSchema.nullable(),
    sessions: SessionCountsSchema,
  }),
  z.object({
    v,
    type: z.literal("heartbeat"),
    sessions: SessionCountsSchema,
    epoch: z.number().int().nonnegative().nullable(),
    paused: z.boolean(),
  }),
  z.object({
    v,
    type: z.literal("drain_progress"),
    cutoverId: z.string(),
    drained: z.boolean(),
    counts: SessionCountsSchema,
    blocking: z.array(BlockingSessionSchema),
    /**
     * How long the pause may still last before the proxy resumes by itself
     * (`LMS_MAX_PAUSE`); lets the orchestrator stop counting the drain when it
     * runs out even if the channel then stalls. Absent from older proxies.
     */
    pauseRemainingMs: pauseRemainingMs.optional(),
  }),
  /**
   * Sent at once when the proxy's pause outlived `LMS_MAX_PAUSE`, before it
   * re-reads the store and resumes: its drain ack for `cutoverId` is void.
   */
  z.object({ v, type: z.literal("pause_expired"), cutoverId: z.string() }),
  /** Answer to `confirm_drain`: whether the proxy is still drained for the cutover, and how long. */
  z.object({
    v,
    type: z.literal("drain_confirmation"),
    requestId: z.string(),
    cutoverId: z.string(),
    /** Paused for `cutoverId`, and its pause has not run out. */
    paused: z.boolean(),
    drained: z.boolean(),
    /** Pause time left; null when the proxy's pause has no bound. */
    pauseRemainingMs: pauseRemainingMs.nullable(),
  }),
  z.object({
    v,
    type: z.literal("connections"),
    requestId: z.string(),
    connections: z.array(ConnectionInfoSchema),
  }),
  z.object({ v, type: z.literal("cancel_forward"), processId, secretKey, terminate }),
  z.object({
    v,
    type: z.literal("cancel_blocking_result"),
    cutoverId: z.string(),
    terminate: z.boolean(),
    sessionIds: z.array(z.string()),
  }),
  z.object({
    v,
    type: z.literal("shadow_report"),
    requestId: z.string(),
    report: ProxyShadowReportSchema,
  }),
  z.object({
    v,
    type: z.literal("reply"),
    requestId: z.string(),
    ok: z.boolean(),
    error: z.string().optional(),
  }),
  z.object({ v, type: z.literal("error"), code: z.string(), message: z.string() }),
]);
/** Proxy → orchestrator message. */
export type ProxyMessage = z.infer<typeof ProxyMessageSchema>;

/** Orchestrator → proxy messages. */
export const OrchestratorMessageSchema = z.discriminatedUnion("type", [
  z.object({ v, type: z.literal("welcome"), state: ClusterStateSchema }),
  z.object({ v, type: z.literal("state"), state: ClusterStateSchema }),
  z.object({
    v,
    type: z.literal("pause"),
    cutoverId: z.string(),
    epoch: z.number().int().nonnegative(),
  }),
  z.object({ v, type: z.literal("resume"), cutoverId: z.string(), state: ClusterStateSchema }),
  /**
   * Sent before a commit is stored: the proxy answers `drain_confirmation`
   * with its drain as it is now, not as last reported.
   */
  z.object({
    v,
    type: z.literal("confirm_drain"),
    requestId: z.string(),
    cutoverId: z.string(),
  }),
  z.object({
    v,
    type: z.literal("list_connections"),
    requestId: z.string(),
    redact: z.boolean(),
  }),
  z.object({
    v,
    type: z.literal("cancel_blocking"),
    cutoverId: z.string(),
    terminate: z.boolean(),
  }),
  z.object({ v, type: z.literal("cancel_request"), processId, secretKey, terminate }),
  z.object({ v, type: z.literal("shadow_report_request"), requestId: z.string() }),
  z.object({ v, type: z.literal("error"), code: z.string(), message: z.string() }),
]);
/** Orchestrator → proxy message. */
export type OrchestratorMessage = z.infer<typeof OrchestratorMessageSchema>;

/** Why a received frame was rejected. */
export type ControlParseErrorCode = "MALFORMED_JSON" | "WRONG_VERSION" | "INVALID_MESSAGE";

/** A rejected frame: the code and a human-readable reason. */
export interface ControlParseError {
  /** Stable reason code, also sent back in the `error` reply. */
  code: ControlParseErrorCode;
  /** What was wrong with the frame. */
  message: string;
}

/** Result of parsing one frame. */
export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: ControlParseError };

function parseWith<T>(schema: z.ZodType<T>, raw: unknown): ParseResult<T> {
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch (err) {
      return {
        ok: false,
        error: { code: "MALFORMED_JSON", message: `frame is not JSON: ${(err as Error).message}` },
      };
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: { code: "INVALID_MESSAGE", message: "frame is not a JSON object" } };
  }
  const version = (value as { v?: unknown }).v;
  if (version !== CONTROL_PROTOCOL_VERSION) {
    return {
      ok: false,
      error: {
        code: "WRONG_VERSION",
        message: `unsupported protocol version ${
          JSON.stringify(version)
        }; this build speaks v${CONTROL_PROTOCOL_VERSION}`,
      },
    };
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(message)"}: ${i.message}`)
      .join("; ");
    return { ok: false, error: { code: "INVALID_MESSAGE", message: issues } };
  }
  return { ok: true, message: parsed.data };
}

/** Parses a frame (JSON text or an already-decoded value) sent by a proxy. Never throws. */
export function parseProxyMessage(raw: unknown): ParseResult<ProxyMessage> {
  return parseWith(ProxyMessageSchema as z.ZodType<ProxyMessage>, raw);
}

/** Parses a frame (JSON text or an already-decoded value) sent by the orchestrator. Never throws. */
export function parseOrchestratorMessage(raw: unknown): ParseResult<OrchestratorMessage> {
  return parseWith(OrchestratorMessageSchema as z.ZodType<OrchestratorMessage>, raw);
}

/** Distributes `Omit` over a union so each message variant keeps its own fields. */
type WithoutVersion<T> = T extends unknown ? Omit<T, "v"> : never;

/** A proxy message without its version field, for {@linkcode encodeMessage}. */
export type ProxyMessageBody = WithoutVersion<ProxyMessage>;
/** An orchestrator message without its version field, for {@linkcode encodeMessage}. */
export type OrchestratorMessageBody = WithoutVersion<OrchestratorMessage>;

/** Serializes a message body as a frame, stamping the protocol version. */
export function encodeMessage(body: ProxyMessageBody | OrchestratorMessageBody): string {
  return JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, ...body });
}
