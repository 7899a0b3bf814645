/**
 * Who may change the fleet: API calls that change anything and proxies
 * registering on the control channel.
 *
 * With mTLS (`CA_TLS_CERT`) the TLS handshake already refused every peer
 * without a certificate from that CA, so a request that got this far is
 * allowed. Without it, the request must carry `Authorization: Bearer
 * <LMS_API_TOKEN>`. Tokens are compared in constant time (digests of equal
 * length, so neither the content nor the length leaks through timing) and
 * never appear in a message.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";

/** How callers prove they may change the fleet. */
export interface ApiAuth {
  /** Client certificates are required and verified by the TLS handshake. */
  mtls: boolean;
  /** `LMS_API_TOKEN`, if configured. */
  token?: string;
}

/** The outcome of a check: allowed, or why not and what to do. */
export type AuthResult = { ok: true } | { ok: false; message: string; hint: string };

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Whether `presented` equals `expected`, in time independent of where they differ. */
export function tokensEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/**
 * Checks the `Authorization` header of a request that changes something.
 *
 * @param header the request's `Authorization` header, if any
 * @param auth what this orchestrator requires
 * @param who names the caller's setting in the hint, e.g. `--api-token or CLI_API_TOKEN`
 */
export function authorize(header: string | undefined, auth: ApiAuth, who: string): AuthResult {
  if (auth.mtls) return { ok: true };
  if (auth.token === undefined) {
    return {
      ok: false,
      message: "this orchestrator has neither mTLS nor an API token, so it accepts no changes",
      hint: "set LMS_API_TOKEN on the orchestrator (or CA_TLS_CERT for mTLS) and restart it",
    };
  }
  const presented = header === undefined ? undefined : BEARER.exec(header)?.[1];
  if (presented === undefined) {
    return {
      ok: false,
      message: header === undefined
        ? "this request changes the fleet and needs the API token"
        : "the Authorization header is not `Bearer <token>`",
      hint: `pass the orchestrator's LMS_API_TOKEN with ${who}`,
    };
  }
  if (!tokensEqual(presented, auth.token)) {
    return {
      ok: false,
      message: "the API token is not the orchestrator's LMS_API_TOKEN",
      hint: `check the token given with ${who}`,
    };
  }
  return { ok: true };
}
