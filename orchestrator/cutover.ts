/**
 * The cutover state machine, free of I/O.
 *
 * Phases: `idle` → (begin) → `draining` → (every connected proxy drained) →
 * `drained` → (commit) → `idle` with the source of truth flipped and epoch+1.
 * `abort` from `draining`/`drained` returns to `idle` on the same source of
 * truth. `immediate` from `idle` flips at once (epoch+1). Every refused
 * transition returns a typed error whose message says what to do instead.
 *
 * @module
 */

import type { ApiErrorCode } from "../shared/api.ts";
import type { ClusterState, DatabaseSide } from "../shared/control.ts";

/** Facts about the fleet the machine needs beyond the persisted state. */
export interface CutoverContext {
  /** `_molt_lms` exists (the state row is persisted). */
  initialized: boolean;
  /** The last persisted state-changing step (`commit`, `abort`, `immediate`, ...), if any. */
  lastStep?: string;
  /** Connected proxies. */
  connectedProxies: number;
  /** Connected proxies that acked drained for the current cutover. */
  drainedProxies: number;
  /** Whether the replication marker reached the other database (null: not checked yet). */
  caughtUp: boolean | null;
}

/** Events the machine accepts. */
export type CutoverEvent =
  | { type: "begin" }
  | { type: "all_drained" }
  | { type: "commit"; requireCaughtUp: boolean }
  | { type: "abort" }
  | { type: "immediate" };

/** A refused transition, ready to become an API error. */
export interface TransitionError {
  /** API error code. */
  code: ApiErrorCode;
  /** What is wrong. */
  message: string;
  /** What to do. */
  hint: string;
}

/** The outcome of an event: the next state and the history step name, or a refusal. */
export type TransitionResult =
  | { ok: true; next: ClusterState; step: string }
  | { ok: false; error: TransitionError };

/** The other database. */
export function otherSide(side: DatabaseSide): DatabaseSide {
  return side === "source" ? "target" : "source";
}

function refuse(code: ApiErrorCode, message: string, hint: string): TransitionResult {
  return { ok: false, error: { code, message, hint } };
}

const NOT_INITIALIZED = refuse(
  "NOT_INITIALIZED",
  "the LMS state store is not initialized",
  "run `molt-lms-cli initialize` first",
);

const COMMITTED_HINT = "the cutover was already committed; to go back, run " +
  "`cutover consistent begin` and `cutover consistent commit` again";

/** Applies `event` to `state`; pure. */
export function transition(
  state: ClusterState,
  event: CutoverEvent,
  ctx: CutoverContext,
): TransitionResult {
  if (!ctx.initialized) return NOT_INITIALIZED;
  const inCutover = state.phase === "draining" || state.phase === "drained";
  switch (event.type) {
    case "begin":
      if (inCutover) {
        return refuse(
          "INVALID_PHASE",
          `a consistent cutover is already in progress (phase ${state.phase})`,
          "run `cutover consistent commit` or `cutover consistent abort` first",
        );
      }
      return { ok: true, next: { ...state, phase: "draining" }, step: "begin" };
    case "all_drained":
      if (state.phase !== "draining") {
        return refuse(
          "INVALID_PHASE",
          `cannot mark the fleet drained in phase ${state.phase}`,
          "drained is only reached during a consistent cutover",
        );
      }
      return { ok: true, next: { ...state, phase: "drained" }, step: "drained" };
    case "commit": {
      if (!inCutover) {
        return ctx.lastStep === "commit"
          ? refuse("INVALID_PHASE", "there is no consistent cutover to commit", COMMITTED_HINT)
          : refuse(
            "INVALID_PHASE",
            "there is no consistent cutover to commit",
            "run `cutover consistent begin` first",
          );
      }
      if (ctx.drainedProxies < ctx.connectedProxies) {
        return refuse(
          "NOT_DRAINED",
          `only ${ctx.drainedProxies} of ${ctx.connectedProxies} proxies are drained`,
          "wait for open transactions to finish (see `status`), use `begin --cancel-after`, " +
            "or `cutover consistent abort`",
        );
      }
      if (event.requireCaughtUp && ctx.caughtUp !== true) {
        return refuse(
          "NOT_CAUGHT_UP",
          ctx.caughtUp === null
            ? "replication catch-up has not been confirmed yet"
            : "replication has not caught up: the marker has not reached the other database",
          "wait for `status` to show replication caught up, or commit without --require-caught-up",
        );
      }
      return {
        ok: true,
        next: {
          sourceOfTruth: otherSide(state.sourceOfTruth),
          epoch: state.epoch + 1,
          phase: "idle",
        },
        step: "commit",
      };
    }
    case "abort":
      if (!inCutover) {
        return ctx.lastStep === "commit"
          ? refuse(
            "INVALID_PHASE",
            "cannot abort: there is no consistent cutover in progress",
            COMMITTED_HINT,
          )
          : refuse(
            "INVALID_PHASE",
            "cannot abort: there is no consistent cutover in progress",
            "`abort` is only valid between `cutover consistent begin` and `commit`",
          );
      }
      return { ok: true, next: { ...state, phase: "idle" }, step: "abort" };
    case "immediate":
      if (inCutover) {
        return refuse(
          "INVALID_PHASE",
          "a consistent cutover is in progress",
          "run `cutover consistent commit` or `cutover consistent abort` first",
        );
      }
      return {
        ok: true,
        next: {
          sourceOfTruth: otherSide(state.sourceOfTruth),
          epoch: state.epoch + 1,
          phase: "idle",
        },
        step: "immediate",
      };
  }
}
