/**
 * What a wire protocol (PostgreSQL in `proxy/pg/`, MySQL in `proxy/mysql/`)
 * implements so the session core ({@linkcode ./core.ts}) can drive it. The
 * core decides *when* a session is held, released, moved or paired with its
 * shadow; the wire knows *how*: it reads and writes bytes, frames messages,
 * tracks protocol state and talks to the databases.
 *
 * ## How a wire plugs in
 *
 * 1. The listener hands each accepted socket to the wire's accept function
 *    ({@linkcode AcceptClient} in `./context.ts`), which builds a
 *    {@linkcode SessionCore} with a factory for the wire and calls
 *    `core.run()`.
 * 2. `core.run()` calls {@linkcode SessionWire.start}. The wire runs its
 *    handshake (TLS, authentication relayed to the source of truth), and on
 *    the way calls `core.admit()` (waits at the pause gate, then returns the
 *    route to connect to), `core.mintCancelKey()` (the key or connection id
 *    to hand the client) and `core.pairShadow()`. It then calls
 *    `core.relaying()` and starts forwarding. If `start` throws, the core
 *    calls {@linkcode SessionWire.refuse} with the error.
 * 3. In the steady state, for every chunk the client sends, the wire first
 *    asks `core.holds(chunk)`: true means the core kept the chunk (the gate
 *    is closed, or the session is moving) and will hand it back later through
 *    {@linkcode SessionWire.deliverHeld}. Whenever the session may have become
 *    quiescent (after each end of a request, such as PostgreSQL's
 *    ReadyForQuery or a MySQL OK/ERR/EOF closing a command), the wire calls
 *    `core.checkpoint()`; that is where holds, releases and moves happen.
 * 4. The wire pauses reading from its client when it has backpressure of its
 *    own or `core.readsHeld` is true, and re-evaluates that whenever the core
 *    calls {@linkcode SessionWire.clientFlowChanged}.
 * 5. Every way the session ends goes through `core.close()`, which calls
 *    {@linkcode SessionWire.closeConnections} once.
 *
 * Nothing here runs per chunk except `core.holds`, which allocates nothing.
 *
 * @module
 */

import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { ConnectionState, DatabaseSide } from "../../shared/control.ts";

/** What the client is doing, as far as its protocol state tells; the core adds `held`. */
export type WireActivity = Exclude<ConnectionState, "held">;

/**
 * Why the core ends a session; each wire maps the kind to its own error
 * (PostgreSQL SQLSTATE, MySQL error number).
 */
export type SessionFailureKind =
  /** A database could not be reached or was lost (PostgreSQL 08006). */
  | "backend-unavailable"
  /** The operator or a shutdown ends the session (PostgreSQL 57P01, MySQL 1053). */
  | "admin-shutdown"
  /** The session went past a hold limit during a pause (PostgreSQL 53400, MySQL 1041). */
  | "limit-exceeded";

/** An error the core asks the wire to send the client before it closes. */
export interface SessionFailure {
  /** What kind of failure, for the wire's error code. */
  kind: SessionFailureKind;
  /** Message for the client; never contains a secret. */
  message: string;
  /** What the client should do, when there is something to say. */
  hint?: string;
}

/**
 * Who the client is and what it ran last, as its wire's state tracker knows
 * it (PostgreSQL's `SessionState` implements it).
 */
export interface SessionFacts {
  /** The user name the client logged in as. */
  readonly user: string;
  /** The database name the client asked for. */
  readonly database: string;
  /** Most recent SQL the client ran, unredacted ("" when none). */
  readonly lastQuery: string;
  /** When the most recent query was sent (epoch ms), or 0. */
  readonly lastQueryAt: number;
  /** When the open transaction started (`performance.now()` ms), or 0 outside one. */
  readonly txStartedAt: number;
}

/**
 * The wire side of one session; see the module documentation.
 *
 * @typeParam B a backend connection opened and brought to the session's
 *   state (settings replayed, statements prepared), not yet carrying traffic
 */
export interface SessionWire<B> {
  /** Who the client is and what it ran; undefined until the client said who it is. */
  readonly facts: SessionFacts | undefined;
  /**
   * Why the session must stay on its database even when quiescent (a lock
   * or temporary table the other database would not have), or undefined.
   * A pinned session is not drained and is not moved.
   */
  readonly blockingReason: string | undefined;
  /** What the client is doing now; "active" before the handshake finished. */
  activity(): WireActivity;
  /**
   * The client is between requests and nothing is in flight on either leg
   * (no open batch, no COPY, no answer held back for a shadow, the client
   * stream at a message boundary): its next bytes start a new request.
   * Asked only once the wire called `core.relaying()`.
   */
  quiescent(): boolean;

  /**
   * Runs the handshake and starts the steady state; see the module
   * documentation for what it calls on the core. Throws to refuse the client.
   * Resolves "cancel" when the connection only carried a cancel request
   * (counted apart from accepted sessions), else "accepted".
   */
  start(): Promise<"accepted" | "cancel">;
  /** Tells the client why `start` failed, as its protocol can, then closes through the core. */
  refuse(err: unknown): void;

  /** The core kept or released chunks: pause or resume client reads (see `core.readsHeld`). */
  clientFlowChanged(): void;
  /** Processes a client chunk the core held back, as if it had just arrived. */
  deliverHeld(chunk: Uint8Array): void;

  /**
   * Opens a connection to `side` as the client's user and database and
   * replays the session's state there. Rejects with an error naming what
   * failed; leaves the current backend untouched.
   */
  openBackend(side: DatabaseSide, spec: ConnectionSpec): Promise<B>;
  /**
   * A key equal for two sessions of this proxy exactly when one's login on
   * another database proves the other's: the same database, user and
   * credential (a digest, never the credential itself). A consistent drain
   * then proves each key once instead of opening a standby per idle session
   * (`login_proofs.ts`). Undefined when the session holds no credential;
   * a wire without it proves every session with its own standby. A wire
   * that gives keys has an {@linkcode openBackend} without side effects:
   * the proof opens one and discards it.
   */
  loginKey?(): string | undefined;
  /**
   * Makes `backend` the session's database connection (the core already
   * set the new route): ends the old one, tells the client about what
   * changed (e.g. PostgreSQL ParameterStatus), starts relaying on it.
   */
  swapBackend(backend: B): void;
  /** Closes a backend opened by {@linkcode openBackend} that will not be used. */
  discardBackend(backend: B): void;

  /**
   * Opens the shadow connection to `side` and starts feeding it the
   * session's traffic; resolves once connected (and replayed). Returns
   * undefined when this wire cannot shadow the session.
   */
  openShadow(side: DatabaseSide, spec: ConnectionSpec): Promise<void> | undefined;
  /** Stops shadowing (before a move, or when the session ends). */
  closeShadow(): void;

  /** Asks the current database to cancel the running request. */
  cancelRunning(): Promise<void>;
  /**
   * Sends `failure` to the client if its stream allows it now (at a message
   * boundary), then closes through the core.
   */
  fail(failure: SessionFailure): void;
  /**
   * Ends the client and database connections, cancelling a request still
   * running; called exactly once, by `core.close()`.
   */
  closeConnections(): void;
}
