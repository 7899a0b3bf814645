/**
 * Typed errors shared by every LMS process.
 *
 * Each error carries a stable machine-readable `code` (used by the CLI's exit
 * codes, metrics labels and tests) and a `hint` that tells the operator what
 * to do about it.
 *
 * @module
 */

/** Stable error codes. Add new codes here so they stay unique and greppable. */
export type LmsErrorCode =
  | "CONFIG_INVALID"
  | "CONNSTRING_INVALID"
  | "TLS_MATERIAL_INVALID"
  | "PROTOCOL_VIOLATION"
  | "MESSAGE_TOO_LARGE"
  | "BACKEND_UNAVAILABLE"
  | "BACKEND_TLS_REQUIRED"
  | "BACKEND_LOST"
  | "CLIENT_TLS_REQUIRED"
  | "AUTH_REFUSED"
  | "IDENTITY_UNAVAILABLE"
  | "INTERNAL"
  | "CLI_USAGE"
  | "ORCHESTRATOR_UNREACHABLE"
  | "ORCHESTRATOR_TLS_REJECTED"
  | "ORCHESTRATOR_REFUSED"
  | "ORCHESTRATOR_BAD_RESPONSE"
  | "DRAIN_TIMEOUT"
  | "CUTOVER_INTERRUPTED"
  | "LOCAL_DATABASE_FAILED"
  | "TIMEOUT"
  | "NOT_SUPPORTED"
  | "NOT_INITIALIZED"
  | "TOOL_UNAVAILABLE"
  | "BUILD_FAILED"
  | "TRANSLATION_GAP"
  | "TRANSLATION_LIMIT"
  | "SQL_SYNTAX"
  | "TOO_MANY_CONNECTIONS"
  | "CLIENT_BLOCKED"
  | "HELD_LIMIT";

/** Base class for every error LMS raises on purpose. */
export class LmsError extends Error {
  /** Stable identifier of the failure, e.g. `CONFIG_INVALID`. */
  readonly code: LmsErrorCode;
  /** What the operator should do about it. */
  readonly hint: string;

  /**
   * @param code stable identifier of the failure
   * @param message what went wrong, never containing a secret
   * @param hint what to do about it
   */
  constructor(code: LmsErrorCode, message: string, hint = "", options?: ErrorOptions) {
    super(message, options);
    this.name = "LmsError";
    this.code = code;
    this.hint = hint;
  }

  /** The message followed by the hint, for one-line reports. */
  describe(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

/** Returns a printable message for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof LmsError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}
