/**
 * The cutover state machine, free of I/O.
 *
 * Phases: `idle` → (begin) → `draining` → (every connected proxy drained) →
 * `drained` → (commit) → `idle` with the source of truth flipped and epoch+1.
 * `abort` from `draining`/`drained` returns to `idle` on the same source of
 * truth. `immediate` from `idle` flips at once (epoch+1). A fleet that stops
 * being drained (a proxy joined, or resumed by itself) goes from `drained`
 * back to `draining`.
 *
 * The guard rails live here too: every switching request names the source of
 * truth it expects to switch from; `commit` needs the replication marker seen
 * on the new source of truth; each cutover kind is refused for the shadow
 * modes the product docs warn against. Each rail has an explicit override
 * except the direction. Every refused transition returns a typed error whose
 * message says what to do instead.
 *
 * @module
 */

import type { ApiErrorCode, ReplicationStatus } from "../shared/api.ts";
import { type ClusterState, type DatabaseSide, otherSide } from "../shared/control.ts";
import {
  type AbsentProxy,
  checkCaughtUp,
  checkFleetComplete,
  checkFrom,
  checkShadowModes,
  type GuardRefusal,
  type ProxyShadowMode,
} from "./guard_rails.ts";

export { otherSide } from "../shared/control.ts";
export {
  type AbsentProxy,
  CONSISTENT_MODE_WARNING,
  IMMEDIATE_MODE_WARNING,
  type ProxyShadowMode,
  unsafeShadowModes,
} from "./guard_rails.ts";

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
  /** The replication catch-up check of the current cutover (null: not started). */
  replication: ReplicationStatus | null;
  /** The shadow mode of each connected proxy (the orchestrator's own when none is connected). */
  shadowModes: readonly ProxyShadowMode[];
  /** Proxies that resumed by themselves during the current cutover (their pause ran out). */
  resumedProxies: readonly string[];
  /** Fleet members not connected now (`orchestrator/fleet_members.ts`). */
  missingProxies: readonly AbsentProxy[];
}

/** Events the machine accepts. `from` is the source of truth the request expects. */
export type CutoverEvent =
  | { type: "begin"; from?: DatabaseSide; force: boolean; allowMissingProxies?: boolean }
  | { type: "all_drained" }
  | { type: "drain_lost" }
  | {
    type: "commit";
    from?: DatabaseSide;
    skipReplicationCheck: boolean;
    allowMissingProxies?: boolean;
  }
  | { type: "abort" }
  | { type: "immediate"; from?: DatabaseSide; force: boolean; allowMissingProxies?: boolean };

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

function refuse(code: ApiErrorCode, message: string, hint: string): TransitionResult {
  return { ok: false, error: { code, message, hint } };
}

function refused(error: GuardRefusal | undefined): TransitionResult | undefined {
  return error && { ok: false, error };
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
  if ("from" in event) {
    const wrongWay = refused(checkFrom(state, event.from));
    if (wrongWay) return wrongWay;
  }
  switch (event.type) {
    case "begin": {
      if (inCutover) {
        return refuse(
          "INVALID_PHASE",
          `a consistent cutover is already in progress (phase ${state.phase})`,
          "run `cutover consistent commit` or `cutover consistent abort` first",
        );
      }
      const unsafe = event.force ? undefined : refused(checkShadowModes("consistent", ctx));
      if (unsafe) return unsafe;
      const absent = event.allowMissingProxies
        ? undefined
        : refused(checkFleetComplete("begin", ctx));
      if (absent) return absent;
      return { ok: true, next: { ...state, phase: "draining" }, step: "begin" };
    }
    case "all_drained":
      if (state.phase !== "draining") {
        return refuse(
          "INVALID_PHASE",
          `cannot mark the fleet drained in phase ${state.phase}`,
          "drained is only reached during a consistent cutover",
        );
      }
      return { ok: true, next: { ...state, phase: "drained" }, step: "drained" };
    case "drain_lost":
      if (state.phase !== "drained") {
        return refuse(
          "INVALID_PHASE",
          `cannot leave the drained phase in phase ${state.phase}`,
          "only a drained fleet can stop being drained",
        );
      }
      return { ok: true, next: { ...state, phase: "draining" }, step: "drain_lost" };
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
      if (ctx.resumedProxies.length > 0) {
        return refuse(
          "NOT_DRAINED",
          `${ctx.resumedProxies.join(", ")} resumed traffic on the ${state.sourceOfTruth} by ` +
            "themselves: their pause outlived LMS_MAX_PAUSE, so this cutover's drain no longer " +
            "holds",
          "run `cutover consistent abort`, then `cutover consistent begin` again " +
            "(raise LMS_MAX_PAUSE on the proxies if the pause must last longer)",
        );
      }
      const absent = event.allowMissingProxies
        ? undefined
        : refused(checkFleetComplete("commit", ctx));
      if (absent) return absent;
      if (ctx.drainedProxies < ctx.connectedProxies) {
        return refuse(
          "NOT_DRAINED",
          `only ${ctx.drainedProxies} of ${ctx.connectedProxies} proxies are drained`,
          "wait for open transactions to finish (see `status`), use `begin --cancel-after`, " +
            "or `cutover consistent abort`",
        );
      }
      if (!event.skipReplicationCheck) {
        const behind = refused(checkCaughtUp(state, ctx.replication));
        if (behind) return behind;
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
    case "immediate": {
      if (inCutover) {
        return refuse(
          "INVALID_PHASE",
          "a consistent cutover is in progress",
          "run `cutover consistent commit` or `cutover consistent abort` first",
        );
      }
      const unsafe = event.force ? undefined : refused(checkShadowModes("immediate", ctx));
      if (unsafe) return unsafe;
      const absent = event.allowMissingProxies
        ? undefined
        : refused(checkFleetComplete("immediate", ctx));
      if (absent) return absent;
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
}
