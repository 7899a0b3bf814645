/**
 * What a client session is to the rest of the proxy, whatever its wire: the
 * face the cutover, shutdown, `connections list` and cancel code see. The
 * core ({@linkcode ./core.ts}) implements it; no caller outside a wire needs
 * to know which protocol the client speaks.
 *
 * @module
 */

import type { ConnectionState, DatabaseSide } from "../../shared/control.ts";

/** A live client session; see the module documentation. */
export interface ClientSession {
  /** Proxy-local id, for logs and `connections list`. */
  readonly id: string;
  /** Client address as `host:port`. */
  readonly clientAddress: string;
  /** When the client connected (epoch ms). */
  readonly connectedAt: number;
  /** The user name the client logged in as ("" before it said). */
  readonly user: string;
  /** The database name the client asked for. */
  readonly database: string;
  /** Which database serves this session now; undefined before the first one. */
  readonly side: DatabaseSide | undefined;
  /** Coarse state for listings and counts. */
  readonly connectionState: ConnectionState;
  /**
   * Whether this session is not holding up a drain: it waits at the gate, or
   * it is between requests with nothing in flight, not moving and not pinned.
   */
  readonly drained: boolean;
  /** Whether the session holds client work back (at the gate or during a move). */
  readonly held: boolean;
  /**
   * Why this session can be neither held for a cutover nor moved although it
   * is between requests (for example a MySQL table lock, or no credential to
   * run as its own user on the other database), or undefined.
   */
  readonly blockingReason: string | undefined;
  /** Most recent SQL the client ran, unredacted ("" when none). */
  readonly lastQuery: string;
  /** When the most recent query was sent (epoch ms), or 0. */
  readonly lastQueryAt: number;
  /** When the open transaction started (`performance.now()` ms), or 0 outside one. */
  readonly txStartedAt: number;
  /**
   * Re-evaluates the session after the gate opened or closed or the routing
   * state changed: holds, releases or moves as the new situation demands.
   */
  reconsider(): void;
  /** Asks the current database to cancel the session's running request. */
  cancel(): Promise<void>;
  /** Disconnects the client with an admin-shutdown error saying `LMS: <reason>`. */
  terminate(reason: string): void;
  /**
   * Ends the session and releases its database connections; a request still
   * running on the database is cancelled first. Idempotent.
   */
  close(): void;
}
