/**
 * Routes of the orchestrator's JSON API (see `shared/api.ts` for the
 * contract). Transport-free: the server hands in method, URL, body text and
 * the `Authorization` header, and writes back the status and JSON body
 * returned. Every `POST` changes something and is checked by
 * {@linkcode authorize} first; `GET`s are read-only and open.
 *
 * @module
 */

import { z } from "zod";
import {
  API_ERROR_STATUS,
  API_PATHS,
  type ApiErrorBody,
  type ApiErrorCode,
  BeginRequestSchema,
  CommitRequestSchema,
  ImmediateRequestSchema,
  SHADOW_REPORT_DEFAULT_LIMIT,
  SHADOW_REPORT_MAX_LIMIT,
} from "../shared/api.ts";
import { errorMessage } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import { type ApiAuth, authorize } from "./auth.ts";
import { CommandError } from "./command_error.ts";
import type { Coordinator } from "./coordinator.ts";

/** One API request. */
export interface ApiRequest {
  /** HTTP method. */
  method: string;
  /** Request target, path plus query. */
  url: string;
  /** Body text (empty when none). */
  body: string;
  /** The `Authorization` header, if any. */
  authorization?: string;
}

/** One API response. */
export interface ApiResponse {
  /** HTTP status. */
  status: number;
  /** JSON-serializable body. */
  body: unknown;
}

function failure(code: ApiErrorCode, message: string, hint: string): ApiResponse {
  const body: ApiErrorBody = { error: { code, message, hint } };
  return { status: API_ERROR_STATUS[code], body };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; response: ApiResponse };

function parseBody<T>(schema: z.ZodType<T>, text: string): Parsed<T> {
  let value: unknown = {};
  if (text.trim() !== "") {
    try {
      value = JSON.parse(text);
    } catch {
      return {
        ok: false,
        response: failure("BAD_REQUEST", "the request body is not JSON", "send a JSON object"),
      };
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
    return {
      ok: false,
      response: failure(
        "BAD_REQUEST",
        `invalid request body: ${issues.join("; ")}`,
        "fix the request",
      ),
    };
  }
  return { ok: true, value: parsed.data };
}

const EmptySchema = z.object({}).strict();

/** Handles one API request. Never throws: failures become error bodies. */
export async function handleApiRequest(
  request: ApiRequest,
  coordinator: Coordinator,
  log: Logger,
  auth: ApiAuth,
): Promise<ApiResponse> {
  const url = new URL(request.url, "http://orchestrator");
  const route = `${request.method} ${url.pathname}`;
  const ok = (body: unknown): ApiResponse => ({ status: 200, body });
  if (request.method === "POST") {
    const allowed = authorize(request.authorization, auth, "--api-token or CLI_API_TOKEN");
    if (!allowed.ok) {
      log.warn("refused an API request without a valid token", { route, reason: allowed.message });
      return failure("UNAUTHORIZED", allowed.message, allowed.hint);
    }
  }
  try {
    switch (route) {
      case `GET ${API_PATHS.status}`:
        return ok(await coordinator.status());
      case `GET ${API_PATHS.connections}`: {
        const redact = url.searchParams.get("redact");
        if (redact !== null && redact !== "true" && redact !== "false") {
          return failure(
            "BAD_REQUEST",
            `redact must be true or false, not "${redact.slice(0, 20)}"`,
            "use ?redact=true",
          );
        }
        return ok(await coordinator.connections(redact === "true"));
      }
      case `GET ${API_PATHS.shadowReport}`: {
        const raw = url.searchParams.get("limit");
        const limit = raw === null ? SHADOW_REPORT_DEFAULT_LIMIT : Number(raw);
        if (!/^\d+$/.test(raw ?? "0") || limit > SHADOW_REPORT_MAX_LIMIT) {
          return failure(
            "BAD_REQUEST",
            `limit must be a whole number from 0 to ${SHADOW_REPORT_MAX_LIMIT}, not "${
              (raw ?? "").slice(0, 20)
            }"`,
            "use ?limit=20",
          );
        }
        return ok(await coordinator.shadowReport(limit));
      }
      case `POST ${API_PATHS.initialize}`: {
        const body = parseBody(EmptySchema, request.body);
        if (!body.ok) return body.response;
        return ok(await coordinator.initialize());
      }
      case `POST ${API_PATHS.consistentBegin}`: {
        const body = parseBody(BeginRequestSchema, request.body);
        if (!body.ok) return body.response;
        return ok(await coordinator.begin(body.value));
      }
      case `POST ${API_PATHS.consistentCommit}`: {
        const body = parseBody(CommitRequestSchema, request.body);
        if (!body.ok) return body.response;
        return ok(await coordinator.commit(body.value));
      }
      case `POST ${API_PATHS.consistentAbort}`: {
        const body = parseBody(EmptySchema, request.body);
        if (!body.ok) return body.response;
        return ok(await coordinator.abort());
      }
      case `POST ${API_PATHS.immediate}`: {
        const body = parseBody(ImmediateRequestSchema, request.body);
        if (!body.ok) return body.response;
        return ok(await coordinator.immediate(body.value));
      }
    }
    const known = Object.values(API_PATHS).includes(url.pathname as never);
    return known
      ? failure(
        "BAD_REQUEST",
        `${request.method} is not allowed on ${url.pathname}`,
        "see shared/api.ts",
      )
      : failure("NOT_FOUND", `no endpoint ${url.pathname}`, "see shared/api.ts for the endpoints");
  } catch (err) {
    if (err instanceof CommandError) return failure(err.apiCode, err.message, err.hint);
    log.error("API request failed", { route, error: err });
    return failure(
      "INTERNAL",
      `the orchestrator failed: ${errorMessage(err)}`,
      "see the orchestrator log",
    );
  }
}
