/**
 * The limits one proxy puts on its clients, whatever their wire:
 *
 * - `LMS_MAX_CONNECTIONS`: sessions served at once. The listener accepts
 *   every connection, so a client over the limit is told so by an error of
 *   its protocol (PostgreSQL 53300, MySQL 1040) instead of waiting in the
 *   accept backlog.
 * - `LMS_AUTH_FAILURE_LIMIT` per `LMS_AUTH_FAILURE_WINDOW`: failed logins per
 *   client address (IP, not port). An address that reaches the limit is
 *   refused (PostgreSQL 28000, MySQL 1129) until its oldest counted failure
 *   is a window old. A successful login does not clear the count, so valid
 *   logins cannot be interleaved to keep guessing.
 * - `LMS_MAX_HELD_BYTES`: bytes one session may send while the pause gate
 *   holds it; past it only that session gets an error.
 * - `LMS_MAX_HELD_CLIENTS`: sessions held at once on this proxy; the one past
 *   the bound gets an error, the others stay held.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";

/** The settings behind {@linkcode ClientLimits}. */
export interface ClientLimitSettings {
  /** `LMS_MAX_CONNECTIONS`. */
  maxConnections: number;
  /** `LMS_AUTH_FAILURE_LIMIT`; 0 turns the check off. */
  authFailureLimit: number;
  /** `LMS_AUTH_FAILURE_WINDOW`, in ms. */
  authFailureWindowMs: number;
  /** `LMS_MAX_HELD_BYTES`. */
  maxHeldBytes: number;
  /** `LMS_MAX_HELD_CLIENTS`. */
  maxHeldClients: number;
}

/** Addresses whose failures are remembered at most; the oldest is forgotten first. */
const MAX_TRACKED_ADDRESSES = 10_000;

/** An error a wire can report as a failed login (a wrong password, an unknown user). */
export interface MaybeAuthFailure {
  /** True when the database refused the credentials. */
  readonly authFailure?: boolean;
}

/** Whether `err` says the client's credentials were refused. */
export function isAuthFailure(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as MaybeAuthFailure).authFailure === true;
}

/** The address part of `host:port` (IPv6 addresses keep their colons). */
export function hostOf(clientAddress: string): string {
  const colon = clientAddress.lastIndexOf(":");
  return colon > 0 ? clientAddress.slice(0, colon) : clientAddress;
}

/** See the module documentation. */
export class ClientLimits {
  /** `LMS_MAX_HELD_BYTES`, read by the session core per held chunk. */
  readonly maxHeldBytes: number;
  readonly #settings: ClientLimitSettings;
  readonly #now: () => number;
  /** Failure times per address, oldest first; a Map keeps insertion order for eviction. */
  readonly #failures = new Map<string, number[]>();
  #held = 0;

  /**
   * @param settings the limits
   * @param now clock in ms (tests inject one)
   */
  constructor(settings: ClientLimitSettings, now: () => number = Date.now) {
    this.#settings = settings;
    this.maxHeldBytes = settings.maxHeldBytes;
    this.#now = now;
  }

  /** Sessions held now. */
  get heldClients(): number {
    return this.#held;
  }

  /**
   * Refuses a new session from `clientAddress` when `open` sessions (itself
   * included) exceed the maximum, or when its address is blocked.
   *
   * @throws {LmsError} `TOO_MANY_CONNECTIONS` or `CLIENT_BLOCKED`
   */
  admit(clientAddress: string, open: number): void {
    const host = hostOf(clientAddress);
    const waitMs = this.blockedFor(host);
    if (waitMs > 0) {
      throw new LmsError(
        "CLIENT_BLOCKED",
        `host '${host}' is blocked because of too many failed logins; ` +
          `retry in ${Math.ceil(waitMs / 1000)} s`,
        "fix the client's user name or password, then wait; the operator can raise " +
          "LMS_AUTH_FAILURE_LIMIT or shorten LMS_AUTH_FAILURE_WINDOW",
      );
    }
    if (open > this.#settings.maxConnections) {
      throw new LmsError(
        "TOO_MANY_CONNECTIONS",
        `sorry, too many clients already: this proxy serves at most ` +
          `${this.#settings.maxConnections} connections (LMS_MAX_CONNECTIONS)`,
        "retry later, use a connection pool, or add proxies or raise LMS_MAX_CONNECTIONS",
      );
    }
  }

  /** How long `host` stays blocked, in ms (0 when it is not). */
  blockedFor(host: string): number {
    const limit = this.#settings.authFailureLimit;
    const times = this.#failures.get(host);
    if (limit === 0 || !times) return 0;
    const now = this.#now();
    this.#expire(host, times, now);
    if (times.length < limit) return 0;
    return times[times.length - limit] + this.#settings.authFailureWindowMs - now;
  }

  /** Counts a failed login from `clientAddress`. */
  recordAuthFailure(clientAddress: string): void {
    const limit = this.#settings.authFailureLimit;
    if (limit === 0) return;
    const host = hostOf(clientAddress);
    const now = this.#now();
    const times = this.#failures.get(host) ?? [];
    this.#failures.delete(host);
    this.#expire(host, times, now);
    times.push(now);
    // Only the newest `limit` failures decide a block.
    if (times.length > limit) times.splice(0, times.length - limit);
    this.#failures.set(host, times);
    if (this.#failures.size > MAX_TRACKED_ADDRESSES) {
      this.#failures.delete(this.#failures.keys().next().value!);
    }
  }

  #expire(host: string, times: number[], now: number): void {
    const from = now - this.#settings.authFailureWindowMs;
    let drop = 0;
    while (drop < times.length && times[drop] <= from) drop++;
    if (drop > 0) times.splice(0, drop);
    if (times.length === 0) this.#failures.delete(host);
  }

  /** Takes a held-client slot; false when `LMS_MAX_HELD_CLIENTS` are held already. */
  tryHold(): boolean {
    if (this.#held >= this.#settings.maxHeldClients) return false;
    this.#held++;
    return true;
  }

  /** Gives back a slot taken by {@linkcode tryHold}. */
  unhold(): void {
    this.#held--;
  }

  /** The error of a session refused a held-client slot. */
  heldClientsError(): LmsError {
    return new LmsError(
      "HELD_LIMIT",
      `this proxy already holds ${this.#settings.maxHeldClients} sessions while a cutover ` +
        "pauses traffic (LMS_MAX_HELD_CLIENTS)",
      "reconnect once the cutover is over; the operator can raise LMS_MAX_HELD_CLIENTS",
    );
  }

  /** The error of a session that sent more than `LMS_MAX_HELD_BYTES` while held. */
  heldBytesError(): LmsError {
    return new LmsError(
      "HELD_LIMIT",
      `this session sent more than ${this.maxHeldBytes} bytes while a cutover paused traffic ` +
        "(LMS_MAX_HELD_BYTES)",
      "reconnect and retry; send less while paused, or the operator can raise LMS_MAX_HELD_BYTES",
    );
  }
}
