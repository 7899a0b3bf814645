/**
 * Sessions keep their identity, whatever their wire: a session runs on every
 * database — its own traffic, its shadow, after any move — as the user its
 * client authenticated as, never as the LMS service user. Each wire learns
 * the session's credential while it authenticates the client (PostgreSQL:
 * `proxy/pg/identity.ts`); this module holds what all sessions share for it
 * and what the session core does when a credential does not work elsewhere:
 *
 * - a consistent cutover does not move the session: it blocks the drain,
 *   and the drain status names the reason;
 * - after an immediate cutover the session is told, at its next
 *   transaction boundary, to reconnect (a new connection authenticates on
 *   the new source of truth directly);
 * - its shadow is not opened.
 *
 * Each refusal is counted in `lms_identity_refused_total{database,use}` and
 * logged once per reason. Reasons never hold a secret.
 *
 * @module
 */

import type { Counter } from "prom-client";
import type { ClientAuth } from "../../shared/config.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { LmsError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { SessionFailure } from "./wire.ts";

/** Reads a user's stored password (hash or verifier) on one database: the auth query. */
export type PasswordLookup = (user: string) => Promise<string | null | undefined>;

/** The auth queries of one proxy, one per database. */
export interface PasswordLookups {
  /** The lookup on `side`; undefined when `side` is not configured. */
  on(side: DatabaseSide): PasswordLookup | undefined;
  /** Closes their connections. */
  close(): Promise<void>;
}

/** `LMS_CLIENT_AUTH` and its override. */
export interface ClientAuthSettings {
  /** `relay`, or `cleartext` (the proxy asks the client for its password). */
  mode: ClientAuth;
  /** `LMS_ALLOW_CLEARTEXT_WITHOUT_TLS`: `cleartext` also without TLS. */
  allowWithoutTls: boolean;
}

/** What {@linkcode IdentityContext} is made of. */
export interface IdentityDeps {
  /** Which databases are configured. */
  configured: Record<DatabaseSide, boolean>;
  /** The auth queries. */
  lookups: PasswordLookups;
  /** How clients are authenticated. */
  clientAuth: ClientAuthSettings;
  /** `lms_identity_refused_total{database,use}`. */
  refused: Counter<"database" | "use">;
  /** Logger. */
  log: Logger;
}

/**
 * The reason when `err` says a session cannot run as its own user on a
 * database (no credential for it, or the database refused the credential);
 * undefined for any other failure.
 */
export function identityRefusal(err: unknown): string | undefined {
  if (
    err instanceof LmsError && (err.code === "IDENTITY_UNAVAILABLE" || err.code === "AUTH_REFUSED")
  ) {
    return err.message;
  }
  return undefined;
}

/** What a session is told when it cannot follow an immediate cutover as its own user. */
export function reconnectFailure(side: DatabaseSide, reason: string): SessionFailure {
  return {
    kind: "backend-unavailable",
    message: `LMS cannot move this session to the ${side} database as its own user: ${reason}`,
    hint: `reconnect: a new connection authenticates on the ${side} database directly`,
  };
}

/** Most distinct reasons warned about; beyond, warnings repeat. */
const MAX_WARNED = 1000;

/** See the module documentation. */
export class IdentityContext {
  readonly #deps: IdentityDeps;
  readonly #warned = new Set<string>();

  /** @param deps see {@linkcode IdentityDeps} */
  constructor(deps: IdentityDeps) {
    this.#deps = deps;
  }

  /** How clients are authenticated. */
  get clientAuth(): ClientAuthSettings {
    return this.#deps.clientAuth;
  }

  /**
   * The auth query for a session authenticating on `side`, or undefined
   * when no other database is configured: then no session needs a
   * credential for one.
   */
  lookupFor(side: DatabaseSide): PasswordLookup | undefined {
    const other: DatabaseSide = side === "source" ? "target" : "source";
    if (!this.#deps.configured[other]) return undefined;
    return this.#deps.lookups.on(side);
  }

  /**
   * Counts and logs (once per reason) a session that could not run as its
   * own user on `side`; returns the reason, or undefined when `err` is not
   * about identity.
   */
  refused(err: unknown, side: DatabaseSide, use: "move" | "shadow"): string | undefined {
    const reason = identityRefusal(err);
    if (reason === undefined) return undefined;
    this.#deps.refused.inc({ database: side, use });
    const key = `${use}\u0000${reason}`;
    if (!this.#warned.has(key)) {
      if (this.#warned.size < MAX_WARNED) this.#warned.add(key);
      this.#deps.log.warn(
        use === "shadow"
          ? "a session's shadow is not opened: it cannot run as its own user there"
          : "a session cannot be moved: it cannot run as its own user there",
        { database: side, reason },
      );
    }
    return reason;
  }

  /** Closes the auth query connections. */
  close(): Promise<void> {
    return this.#deps.lookups.close();
  }
}
