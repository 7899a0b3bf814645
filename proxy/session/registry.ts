/**
 * The live sessions of one proxy, of every wire, and the views the control
 * channel and shutdown take of them: counts by state, sessions blocking a
 * drain, and re-evaluating all of them when the gate or the route changed.
 *
 * @module
 */

import type { SessionCounts } from "../../shared/control.ts";
import type { ClientSession } from "./session.ts";

/** See the module documentation. */
export class SessionRegistry implements Iterable<ClientSession> {
  readonly #live = new Set<ClientSession>();

  /** Adds a session when it starts. */
  add(session: ClientSession): void {
    this.#live.add(session);
  }

  /** Removes a session when it ends. */
  delete(session: ClientSession): void {
    this.#live.delete(session);
  }

  /** Number of live sessions. */
  get size(): number {
    return this.#live.size;
  }

  /** The live sessions, in the order they started. */
  [Symbol.iterator](): Iterator<ClientSession> {
    return this.#live.values();
  }

  /** Sessions by coarse state. */
  counts(): SessionCounts {
    const counts = { total: 0, idle: 0, active: 0, inTransaction: 0, held: 0 };
    for (const s of this.#live) {
      counts.total++;
      const state = s.connectionState;
      if (state === "held") counts.held++;
      else if (state === "in transaction") counts.inTransaction++;
      else if (state === "active") counts.active++;
      else counts.idle++;
    }
    return counts;
  }

  /** Sessions keeping a drain from completing. */
  blocking(): ClientSession[] {
    return [...this.#live].filter((s) => !s.drained);
  }

  /**
   * Lets every session act on a new gate or routing state. Works on a copy:
   * a session may close (and leave the set) while it reconsiders.
   */
  reconsiderAll(): void {
    for (const s of [...this.#live]) s.reconsider();
  }
}
