/**
 * The one place that decides which database is the source of truth. Sessions
 * ask it when they connect; the control channel tells it when that changes.
 * It never goes back to an epoch older than one it has seen.
 *
 * @module
 */

import type { ConnectionSpec } from "../shared/connstring.ts";
import type { ClusterState, DatabaseSide } from "../shared/control.ts";

/** A routing decision: which database, and under which epoch. */
export interface Route {
  /** "source" or "target". */
  side: DatabaseSide;
  /** How to reach it. */
  spec: ConnectionSpec;
  /** The epoch this decision belongs to. */
  epoch: number;
}

/** Holds the cutover state and turns it into routes. */
export class Router {
  readonly #specs: Record<DatabaseSide, ConnectionSpec | undefined>;
  #state: ClusterState | undefined;

  /**
   * @param source the source database (`INIT_SOURCE`)
   * @param target the target database (`INIT_TARGET`), if configured
   */
  constructor(source: ConnectionSpec, target: ConnectionSpec | undefined) {
    this.#specs = { source, target };
  }

  /** The state in force, or `undefined` before the proxy has learnt it. */
  get state(): ClusterState | undefined {
    return this.#state;
  }

  /**
   * Adopts `state` unless it is older than the one in force. Returns whether
   * it was adopted. A state naming the target when no target is configured is
   * refused, since the proxy could not honour it.
   */
  apply(state: ClusterState): boolean {
    if (this.#state && state.epoch < this.#state.epoch) return false;
    if (!this.#specs[state.sourceOfTruth]) return false;
    this.#state = state;
    return true;
  }

  /** The route to the source of truth; throws if the state is not known yet. */
  current(): Route {
    const state = this.#state;
    if (!state) throw new Error("router used before the cutover state is known");
    return {
      side: state.sourceOfTruth,
      spec: this.#specs[state.sourceOfTruth]!,
      epoch: state.epoch,
    };
  }

  /** The connection spec of one side, if configured. */
  spec(side: DatabaseSide): ConnectionSpec | undefined {
    return this.#specs[side];
  }
}
