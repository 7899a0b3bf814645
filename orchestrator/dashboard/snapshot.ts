/**
 * What the dashboard stream carries and the names both sides agree on. The
 * browser bundle imports this module too, so it holds types and small pure
 * functions only.
 *
 * @module
 */

import type { ShadowReportResponse, StatusResponse } from "../../shared/api.ts";

/** One message of the dashboard stream: everything the page shows, at one moment. */
export interface DashboardSnapshot {
  /** When the orchestrator assembled it (ISO 8601); heartbeat ages are relative to it. */
  generatedAt: string;
  /** Exactly what `GET /api/v1/status` (and `molt-lms-cli status`) answers. */
  status: StatusResponse;
  /** The shadow report (refreshed less often than the status); null until first read. */
  shadow: ShadowReportResponse | null;
  /** Why the shadow report could not be read, if it could not. */
  shadowError: string | null;
  /** Whether the orchestrator runs with `--dashboard-allow-actions`. */
  actions: boolean;
}

/** Paths the dashboard adds to the orchestrator's API port. */
export const DASHBOARD_PATHS = {
  /** The page. */
  page: "/",
  /** The Server-Sent Events stream of {@linkcode DashboardSnapshot}s. */
  events: "/dashboard/events",
  /** Prefix of the action endpoints, followed by a {@linkcode DashboardAction}. */
  actions: "/dashboard/actions/",
} as const;

/** The cutover steps the dashboard can take. */
export const DASHBOARD_ACTIONS = ["begin", "commit", "abort"] as const;
/** See {@linkcode DASHBOARD_ACTIONS}. */
export type DashboardAction = typeof DASHBOARD_ACTIONS[number];

/** Body of `POST /dashboard/actions/<action>`. */
export interface DashboardActionRequest {
  /** The source of truth the operator saw and switches from. */
  from: "source" | "target";
  /** The phrase the operator typed; must equal {@linkcode confirmationPhrase}. */
  confirm: string;
}

/**
 * The phrase an operator types to confirm `action` switching away from `from`,
 * e.g. `commit source to target`. It names the direction, so a confirmation
 * typed for one state cannot be replayed against another.
 */
export function confirmationPhrase(action: DashboardAction, from: "source" | "target"): string {
  return `${action} ${from} to ${from === "source" ? "target" : "source"}`;
}
