/**
 * The typed error of a refused or failed orchestrator command, and the mapping
 * of state-store failures onto it.
 *
 * @module
 */

import type { ApiErrorCode } from "../shared/api.ts";
import { StoreDatabaseUnavailable } from "../shared/db_clients.ts";
import { LmsError } from "../shared/errors.ts";

/** A refused or failed command, carrying the API error code it maps to. */
export class CommandError extends LmsError {
  /** API error code (HTTP status follows from it). */
  readonly apiCode: ApiErrorCode;

  /**
   * @param apiCode API error code
   * @param message what is wrong
   * @param hint what to do
   */
  constructor(apiCode: ApiErrorCode, message: string, hint: string, options?: ErrorOptions) {
    super("ORCHESTRATOR_REFUSED", message, hint, options);
    this.name = "CommandError";
    this.apiCode = apiCode;
  }
}

/** A state-store failure as the command error the API answers with. */
export function storeError(err: unknown): CommandError {
  if (err instanceof CommandError) return err;
  // The store's own errors already say which database failed and what to do (initialize reaches
  // the source too); an unreachable target keeps the state-store wording below.
  if (
    err instanceof LmsError && err.hint !== "" &&
    !(err instanceof StoreDatabaseUnavailable && err.side === "target")
  ) {
    return new CommandError("STORE_UNAVAILABLE", err.message, err.hint, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CommandError(
    "STORE_UNAVAILABLE",
    `the state store in the target database failed: ${message}`,
    "check that the target database is reachable (INIT_TARGET) and retry",
    { cause: err },
  );
}
