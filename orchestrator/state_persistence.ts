/**
 * How the coordinator's state lives in the state store: what the stored
 * history says about the last state step and the cutover in progress, storing
 * a step with a compare-and-set, and appending history events that must not
 * fail a command.
 *
 * @module
 */

import type { HistoryEntry } from "../shared/api.ts";
import type { ClusterState } from "../shared/control.ts";
import type { Logger } from "../shared/log.ts";
import { CommandError, storeError } from "./command_error.ts";
import type { CoordinatorStore } from "./coordinator_options.ts";

const STATE_STEPS = new Set(["initialize", "begin", "drained", "commit", "abort", "immediate"]);

/** The latest step in `history` (newest first) that changed the state, if any. */
export function lastStateStep(history: readonly HistoryEntry[]): string | undefined {
  return history.find((e) => STATE_STEPS.has(e.step))?.step;
}

/**
 * The id and start of the cutover that began at `epoch`, from its `begin` in
 * `history`; a fresh id and now when that entry is gone.
 */
export function cutoverInProgress(
  history: readonly HistoryEntry[],
  epoch: number,
): { id: string; startedAt: Date } {
  const begin = history.find((e) => e.step === "begin" && e.epoch === epoch);
  const id = typeof begin?.detail.cutoverId === "string"
    ? begin.detail.cutoverId
    : crypto.randomUUID();
  return { id, startedAt: begin ? new Date(begin.at) : new Date() };
}

/**
 * Stores `step` from `current` to `next` if the stored state is still
 * `current`; false when another writer changed it first.
 *
 * @throws CommandError `STORE_UNAVAILABLE` when the store fails
 */
export async function compareAndSetStep(
  store: CoordinatorStore,
  current: ClusterState,
  next: ClusterState,
  actor: string,
  step: string,
  detail: Record<string, unknown>,
): Promise<boolean> {
  try {
    return await store.compareAndSet(current, next, actor, step, detail);
  } catch (err) {
    throw storeError(err);
  }
}

/** The refusal of a step whose compare-and-set lost. */
export function stateConflict(): CommandError {
  return new CommandError(
    "STATE_CONFLICT",
    "the stored state changed while the command ran (another orchestrator?)",
    "run `status` to see the current state, then retry if still appropriate",
  );
}

/** Appends a history event in the background; a failure is logged, never thrown. */
export function recordEvent(
  store: CoordinatorStore,
  log: Logger,
  event: { epoch: number; step: string; actor: string; detail: Record<string, unknown> },
): void {
  store.appendEvent(event.epoch, event.step, event.actor, event.detail).catch((err) =>
    log.warn("cannot record a history event", { step: event.step, error: err })
  );
}
