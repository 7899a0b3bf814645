/**
 * The cutover guard rails: what the product docs warn against, refused unless
 * explicitly overridden, and the direction every switching request must name.
 * Pure checks; {@linkcode ./cutover.ts} applies them in its transitions.
 *
 * @module
 */

import type { ApiErrorCode, ReplicationStatus } from "../shared/api.ts";
import {
  type ClusterState,
  type DatabaseSide,
  otherSide,
  type ShadowModeName,
} from "../shared/control.ts";

/** A refusal: the API error code, what is wrong, what to do. */
export interface GuardRefusal {
  /** API error code. */
  code: ApiErrorCode;
  /** What is wrong. */
  message: string;
  /** What to do, including the override when there is one. */
  hint: string;
}

function refusal(code: ApiErrorCode, message: string, hint: string): GuardRefusal {
  return { code, message, hint };
}

/** One proxy's shadow mode, as it registered. */
export interface ProxyShadowMode {
  /** Who shadows this way. */
  proxyId: string;
  /** Its mode. */
  mode: ShadowModeName;
}

/** The product docs' warning against consistent cutover with synchronous shadowing. */
export const CONSISTENT_MODE_WARNING = "Do not use the sync or strict-sync shadowing modes when " +
  "performing a consistent cutover. Data correctness and consistency cannot be guaranteed in " +
  "these configurations.";

/** The product docs' instructions for immediate cutover, which need synchronous shadowing. */
export const IMMEDIATE_MODE_WARNING = "To perform an immediate cutover with the LMS: [...] " +
  "Set the shadowing mode to sync or strict-sync. [...] Any writes that were made during the " +
  "cutover will have been missed on CockroachDB.";

const UNSAFE_FOR: Record<"consistent" | "immediate", readonly ShadowModeName[]> = {
  consistent: ["sync", "strict-sync"],
  immediate: ["none", "async"],
};

/** The proxies whose shadow mode the product docs warn against for `kind`, as `id (mode)`. */
export function unsafeShadowModes(
  kind: "consistent" | "immediate",
  modes: readonly ProxyShadowMode[],
): string[] {
  return modes.filter((m) => UNSAFE_FOR[kind].includes(m.mode))
    .map((m) => `${m.proxyId} (${m.mode})`);
}

/** Refuses `kind` while a proxy shadows in a mode the product docs warn against for it. */
export function checkShadowModes(
  kind: "consistent" | "immediate",
  ctx: { shadowModes: readonly ProxyShadowMode[] },
): GuardRefusal | undefined {
  const unsafe = unsafeShadowModes(kind, ctx.shadowModes);
  if (unsafe.length === 0) return undefined;
  const fit = kind === "consistent" ? "none or async" : "sync or strict-sync";
  const other = kind === "consistent"
    ? "an immediate cutover (`cutover immediate`)"
    : "a consistent cutover (`cutover consistent begin`)";
  return refusal(
    "UNSAFE_SHADOW_MODE",
    `refusing a ${kind} cutover: ${unsafe.join(", ")} shadow in a mode the product docs warn ` +
      `against: "${kind === "consistent" ? CONSISTENT_MODE_WARNING : IMMEDIATE_MODE_WARNING}"`,
    `set LMS_SHADOW_MODE (Helm: lms.shadowMode) to ${fit} on every proxy, or use ${other}; ` +
      "to go ahead anyway, repeat the command with --force (recorded as an event)",
  );
}

/** Refuses a switching request that names no source of truth, or one that is no longer it. */
export function checkFrom(
  state: ClusterState,
  from: DatabaseSide | undefined,
): GuardRefusal | undefined {
  const sot = state.sourceOfTruth;
  const to = otherSide(sot);
  if (from === undefined) {
    return refusal(
      "BAD_REQUEST",
      "the request does not name the source of truth it switches from; " +
        `the source of truth is now the ${sot} (epoch ${state.epoch})`,
      `to switch ${sot} → ${to}, send {"from": "${sot}"} (molt-lms-cli: --to ${to})`,
    );
  }
  if (from !== sot) {
    return refusal(
      "SOURCE_OF_TRUTH_MISMATCH",
      `the request switches from the ${from}, but the source of truth is already the ${sot} ` +
        `(epoch ${state.epoch}); nothing changed`,
      "a retried request finds its switch already done: run `status`; " +
        `to switch ${sot} → ${to}, send {"from": "${sot}"} (molt-lms-cli: --to ${to})`,
    );
  }
}

/** Refuses a commit before the replication marker was seen on the new source of truth. */
export function checkCaughtUp(
  state: ClusterState,
  r: ReplicationStatus | null,
): GuardRefusal | undefined {
  if (r?.caughtUp) return undefined;
  const from = state.sourceOfTruth;
  const to = otherSide(from);
  const message = r === null || !r.checked
    ? `the replication marker has not been written yet (it is written on the ${from} once ` +
      "every proxy drained)"
    : r.error !== null
    ? `the replication check failed: ${r.error}`
    : `the replication marker written on the ${from} has not been seen on the ${to} yet: ` +
      `writes made before the pause may still be missing on the ${to}`;
  return refusal(
    "NOT_CAUGHT_UP",
    `refusing to commit: ${message}`,
    `the replication from the ${from} to the ${to} must carry the table _molt_lms.marker; ` +
      "wait for `status` to show replication caught up, or, once you have verified the " +
      `${to} yourself, commit with --skip-replication-check (recorded as an event)`,
  );
}

/** A fleet member that is not connected, with how long ago it was last seen. */
export interface AbsentProxy {
  /** Its id. */
  proxyId: string;
  /** Milliseconds since it was last seen connected. */
  absentForMs: number;
  /** Milliseconds until it stops counting as a member (`LMS_MISSING_PROXY_GRACE`). */
  graceLeftMs: number;
}

/**
 * Refuses a cutover step while a proxy that may still serve clients is not
 * connected: it would not follow the step and would keep routing to the old
 * source of truth.
 */
export function checkFleetComplete(
  step: "begin" | "commit" | "immediate",
  ctx: { missingProxies: readonly AbsentProxy[] },
): GuardRefusal | undefined {
  const missing = ctx.missingProxies;
  if (missing.length === 0) return undefined;
  const names = missing.map((m) =>
    `${m.proxyId} (last seen ${Math.round(m.absentForMs / 1000)} s ago)`
  );
  const wait = Math.ceil(Math.max(...missing.map((m) => m.graceLeftMs)) / 1000);
  return refusal(
    "PROXIES_MISSING",
    `refusing to ${step}: ${names.join(", ")} ${
      missing.length === 1 ? "is" : "are"
    } not connected to the orchestrator and may still be serving clients on the state ${
      missing.length === 1 ? "it knows" : "they know"
    }; ${missing.length === 1 ? "it" : "they"} would not follow this ${
      step === "commit" ? "commit" : "cutover"
    }`,
    "wait for them to reconnect (`status`); a proxy that is gone for good stops counting " +
      `${wait} s from now (LMS_MISSING_PROXY_GRACE); to go ahead anyway, repeat the command ` +
      "with --allow-missing-proxies (recorded as an event)",
  );
}
