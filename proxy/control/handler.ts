/**
 * What the proxy core offers the control channel.
 *
 * The control client ({@linkcode ./client.ts}) translates orchestrator
 * messages into calls on this interface and reports what it returns; the
 * proxy's session/gate code implements it. Calls arrive on the event loop and
 * must not block it.
 *
 * @module
 */

import type {
  BlockingSession,
  ClusterState,
  ConnectionInfo,
  SessionCounts,
} from "../../shared/control.ts";
import type { ProxyShadowReport } from "../../shared/shadow.ts";

/** Drain progress of one proxy during a consistent cutover. */
export interface DrainStatus {
  /** Every session is held (or idle at the gate); nothing runs on the source of truth. */
  drained: boolean;
  /** Current session counts. */
  counts: SessionCounts;
  /** Sessions still inside a transaction, which keep the proxy from draining. */
  blocking: BlockingSession[];
}

/** The proxy core as seen by the control channel. */
export interface ControlHandler {
  /** The state last applied, or undefined before the proxy knew any. */
  state(): ClusterState | undefined;
  /**
   * Applies a state from the orchestrator. A state with an epoch older than
   * the applied one is ignored. A newer epoch routes there: running sessions
   * move at their next transaction boundary; held sessions move on resume.
   */
  applyState(state: ClusterState): void;
  /**
   * Starts a consistent-cutover pause: sessions stop starting new work on the
   * source of truth (idle ones hold their next request, transactions run to
   * their end, new clients are held before reaching a database). The client
   * then polls {@linkcode drainStatus} until drained. Must be idempotent: a
   * reconnecting orchestrator sends the same pause again.
   */
  pause(cutoverId: string): void;
  /** Ends the pause: applies `state` and releases held work on `state.sourceOfTruth`. */
  resume(state: ClusterState): void;
  /** Whether a pause is in force. */
  paused(): boolean;
  /** Current session counts. */
  sessions(): SessionCounts;
  /** Drain progress; meaningful while paused. */
  drainStatus(): DrainStatus;
  /**
   * Every client connection. Queries have their literals replaced when
   * `redact` is true or the proxy is configured to redact.
   */
  connections(redact: boolean): ConnectionInfo[];
  /**
   * Delivers a CancelRequest whose key this proxy handed out: true if a
   * session owns the key and the cancel was sent to its backend. With
   * `terminate` (MySQL's `KILL CONNECTION` from another proxy) the session is
   * disconnected instead.
   */
  cancelLocal(processId: number, secretKey: number, terminate?: boolean): Promise<boolean>;
  /**
   * Cancels the running query of (or, with `terminate`, disconnects) every
   * session still inside a transaction; returns their session ids.
   */
  cancelBlocking(terminate: boolean): Promise<string[]>;
  /**
   * Registers a callback for drain-relevant changes (a session got held or a
   * transaction finished) so progress is reported at once. Returns an
   * unsubscribe function.
   */
  onDrainChange?(listener: () => void): () => void;
  /**
   * How long the current pause may still last before the proxy resumes by
   * itself (`LMS_MAX_PAUSE`): 0 once it ran out, null when not paused. A
   * handler without it pauses without a bound.
   */
  pauseRemainingMs?(): number | null;
  /**
   * Registers a callback for the pause outliving `LMS_MAX_PAUSE`, called
   * before the proxy resumes by itself. Returns an unsubscribe function.
   */
  onPauseExpired?(listener: () => void): () => void;
  /**
   * This proxy's shadowing results for `molt-lms-cli shadow report`. A
   * handler without it answers as a proxy that does not shadow.
   */
  shadowReport?(): ProxyShadowReport;
}
