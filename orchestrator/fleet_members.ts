/**
 * Which proxies the fleet is made of, beyond those connected right now.
 *
 * A proxy that loses its control channel without saying goodbye (it crashed,
 * the network failed, the orchestrator itself was restarted) may still be
 * serving clients on the state it knows. A cutover begun, committed or made
 * immediately before it is back would leave it writing to the old source of
 * truth while the rest of the fleet writes to the new one. So a proxy stays
 * a member for `graceMs` after it was last seen, and cutover commands are
 * refused while a member is not connected (`PROXIES_MISSING`, overridable
 * with `allowMissingProxies`). A proxy that closes its channel cleanly
 * (graceful shutdown, scale-down) leaves at once.
 *
 * Sightings are persisted in `_molt_lms.fleet` ({@linkcode FleetStore}) every
 * {@linkcode FLUSH_MS}, so a restarted orchestrator waits for the proxies its
 * previous run had.
 *
 * @module
 */

import type { FleetStore } from "../shared/fleet_store.ts";
import type { Logger } from "../shared/log.ts";
import type { AbsentProxy } from "./guard_rails.ts";

/** How often the connected proxies' sightings are written to the store. */
export const FLUSH_MS = 5_000;

/** Options of {@linkcode FleetMembers}. */
export interface FleetMembersOptions {
  /** Where sightings persist; without it membership lasts as long as this process. */
  store?: Pick<FleetStore, "seen" | "left" | "recent">;
  /** How long an absent proxy stays a member (`LMS_MISSING_PROXY_GRACE`); 0 turns the rule off. */
  graceMs: number;
  /** Logger. */
  log: Logger;
}

/** Tracks fleet membership; see the module documentation. */
export class FleetMembers {
  readonly #opts: FleetMembersOptions;
  readonly #connected = new Set<string>();
  /** Members not connected now: id → last seen (ms). */
  readonly #absent = new Map<string, number>();
  #flush?: ReturnType<typeof setInterval>;

  /** @param options store, grace and logger */
  constructor(options: FleetMembersOptions) {
    this.#opts = options;
  }

  /** Reads the members the store remembers and starts persisting sightings. */
  async load(): Promise<void> {
    if (this.#opts.graceMs <= 0 || !this.#opts.store) return;
    const recent = await this.#opts.store.recent(this.#opts.graceMs);
    for (const r of recent) {
      if (!this.#connected.has(r.proxyId)) this.#absent.set(r.proxyId, r.seenAt);
    }
    if (this.#absent.size > 0) {
      this.#opts.log.info("waiting for proxies seen before this orchestrator started", {
        proxies: [...this.#absent.keys()],
        graceMs: this.#opts.graceMs,
      });
    }
    this.#flush ??= setInterval(() => this.#persist([...this.#connected]), FLUSH_MS);
  }

  /** Stops persisting. */
  stop(): void {
    clearInterval(this.#flush);
    this.#flush = undefined;
  }

  /** `proxyId` registered on the control channel. */
  connected(proxyId: string): void {
    this.#connected.add(proxyId);
    this.#absent.delete(proxyId);
    this.#persist([proxyId]);
  }

  /** `proxyId`'s channel closed; `cleanly` when the proxy closed it itself, normally. */
  disconnected(proxyId: string, cleanly: boolean): void {
    this.#connected.delete(proxyId);
    if (cleanly) {
      this.#absent.delete(proxyId);
      this.#opts.store?.left(proxyId).catch((err) => this.#storeFailed(err));
    } else {
      this.#absent.set(proxyId, Date.now());
    }
  }

  /** Members absent for less than the grace, by id. */
  missing(now = Date.now()): AbsentProxy[] {
    const graceMs = this.#opts.graceMs;
    if (graceMs <= 0) return [];
    const out: AbsentProxy[] = [];
    for (const [proxyId, lastSeenAt] of this.#absent) {
      const absentForMs = Math.max(0, now - lastSeenAt);
      if (absentForMs < graceMs) {
        out.push({ proxyId, absentForMs, graceLeftMs: graceMs - absentForMs });
      } else this.#absent.delete(proxyId);
    }
    return out.sort((a, b) => a.proxyId.localeCompare(b.proxyId));
  }

  #persist(ids: string[]): void {
    if (this.#opts.graceMs <= 0 || ids.length === 0) return;
    this.#opts.store?.seen(ids).catch((err) => this.#storeFailed(err));
  }

  #storeFailed(err: unknown): void {
    // Membership in memory still holds; only a restart during the outage could miss a proxy.
    this.#opts.log.debug("could not record fleet membership in the state store", { error: err });
  }
}
