/**
 * The dashboard's HTTP routes on the orchestrator's API port: the page and its
 * assets, the live stream (Server-Sent Events), and the actions. They follow
 * the API's rules: reading is open (TLS and mTLS are the listener's), and an
 * action is a `POST` that is handed to the API itself, so it needs the same
 * token and passes the same guard rails as `molt-lms-cli`. Without
 * `--dashboard-allow-actions` every action is refused before that.
 *
 * @module
 */

import type http from "node:http";
import { z } from "zod";
import { API_PATHS } from "../../shared/api.ts";
import type { Logger } from "../../shared/log.ts";
import { type ApiResponse, handleApiRequest } from "../api.ts";
import type { ApiAuth } from "../auth.ts";
import type { Coordinator } from "../coordinator.ts";
import { DASHBOARD_ASSETS } from "./bundle.gen.ts";
import type { DashboardFeed } from "./feed.ts";
import {
  confirmationPhrase,
  DASHBOARD_ACTIONS,
  DASHBOARD_PATHS,
  type DashboardAction,
} from "./snapshot.ts";

/** What the routes work with. */
export interface DashboardDeps {
  /** The live feed. */
  feed: DashboardFeed;
  /** Where actions go, through the API. */
  coordinator: Coordinator;
  /** Logger. */
  log: Logger;
  /** The API's token rules. */
  auth: ApiAuth;
  /** `--dashboard-allow-actions`. */
  actions: boolean;
}

/** Static files of the page, by path. */
const ASSETS: Record<string, { type: string; body: string }> = {
  [DASHBOARD_PATHS.page]: { type: "text/html; charset=utf-8", body: DASHBOARD_ASSETS.html },
  "/dashboard/app.js": { type: "text/javascript; charset=utf-8", body: DASHBOARD_ASSETS.js },
  "/dashboard/app.css": { type: "text/css; charset=utf-8", body: DASHBOARD_ASSETS.css },
};

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const API_PATH_OF: Record<DashboardAction, string> = {
  begin: API_PATHS.consistentBegin,
  commit: API_PATHS.consistentCommit,
  abort: API_PATHS.consistentAbort,
};

const ActionBodySchema = z.object({
  from: z.enum(["source", "target"]),
  confirm: z.string().max(200),
}).strict();

function error(status: number, code: string, message: string, hint: string): ApiResponse {
  return { status, body: { error: { code, message, hint } } };
}

/** Whether `path` belongs to the dashboard (so the API does not answer 404 for it). */
export function isDashboardPath(path: string): boolean {
  return path in ASSETS || path === DASHBOARD_PATHS.events ||
    path.startsWith(DASHBOARD_PATHS.actions);
}

/**
 * Answers a dashboard request. `headers` (CORS, orchestrator id) go on every
 * answer. Call only for a path {@linkcode isDashboardPath} accepts.
 */
export async function handleDashboardRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: string,
  deps: DashboardDeps,
  headers: Record<string, string>,
): Promise<void> {
  const path = new URL(req.url ?? "/", "http://orchestrator").pathname;
  const json = (r: ApiResponse) => {
    res.writeHead(r.status, { ...headers, "content-type": "application/json" });
    res.end(JSON.stringify(r.body));
  };
  const asset = ASSETS[path];
  if (asset) {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return json(error(405, "BAD_REQUEST", `${req.method} is not allowed on ${path}`, "use GET"));
    }
    res.writeHead(200, { ...headers, ...SECURITY_HEADERS, "content-type": asset.type });
    res.end(req.method === "HEAD" ? undefined : asset.body);
    return;
  }
  if (path === DASHBOARD_PATHS.events) {
    res.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    // A page that lost the orchestrator (restart, rollout) reconnects after 1 s.
    res.write("retry: 1000\n\n");
    const unsubscribe = deps.feed.subscribe((data) => res.write(`data: ${data}\n\n`));
    // The request closes once its (empty) body is read; the response closes with the connection.
    res.on("close", unsubscribe);
    return;
  }
  return json(await action(path.slice(DASHBOARD_PATHS.actions.length), req, body, deps));
}

async function action(
  name: string,
  req: http.IncomingMessage,
  body: string,
  deps: DashboardDeps,
): Promise<ApiResponse> {
  if (req.method !== "POST") {
    return error(405, "BAD_REQUEST", `${req.method} is not allowed on dashboard actions`, "POST");
  }
  if (!deps.actions) {
    deps.log.warn("refused a dashboard action: the dashboard is read-only", { action: name });
    return error(
      403,
      "DASHBOARD_ACTIONS_DISABLED",
      "this orchestrator's dashboard is read-only",
      "use molt-lms-cli, or restart the orchestrator with --dashboard-allow-actions " +
        "(LMS_DASHBOARD_ALLOW_ACTIONS=true, Helm value orchestrator.dashboardAllowActions)",
    );
  }
  if (!(DASHBOARD_ACTIONS as readonly string[]).includes(name)) {
    return error(
      404,
      "NOT_FOUND",
      `no dashboard action "${name.slice(0, 40)}"`,
      "begin, commit or abort",
    );
  }
  const step = name as DashboardAction;
  let parsed: z.infer<typeof ActionBodySchema>;
  try {
    parsed = ActionBodySchema.parse(JSON.parse(body || "{}"));
  } catch {
    return error(400, "BAD_REQUEST", "the action body must be {from, confirm}", "reload the page");
  }
  const phrase = confirmationPhrase(step, parsed.from);
  if (parsed.confirm.trim() !== phrase) {
    return error(
      400,
      "CONFIRMATION_MISMATCH",
      `the confirmation typed does not match "${phrase}"`,
      `type "${phrase}" exactly to ${step} the cutover`,
    );
  }
  const apiBody = step === "abort" ? {} : { from: parsed.from };
  const response = await handleApiRequest(
    {
      method: "POST",
      url: API_PATH_OF[step],
      body: JSON.stringify(apiBody),
      authorization: req.headers.authorization,
    },
    deps.coordinator,
    deps.log,
    deps.auth,
  );
  deps.log.info("dashboard action", { action: step, from: parsed.from, status: response.status });
  return response;
}
