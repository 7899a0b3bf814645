/**
 * `_molt_lms.fleet` in the target: the proxies the orchestrator has seen,
 * when it last saw each one, and whether it left cleanly.
 *
 * A cutover must reach every proxy that may be serving traffic. The
 * orchestrator's own list of connected proxies is empty right after it
 * restarts, and a proxy that lost its control channel (a crash of the
 * orchestrator, a network fault) keeps serving on the state it knows, so a
 * cutover begun or committed before it reconnects would leave it on the old
 * source of truth. This table lets a restarted orchestrator know whom to wait
 * for ({@linkcode FleetStore.recent}); see `orchestrator/fleet_members.ts`.
 *
 * The statements are plain SQL that PostgreSQL and CockroachDB both run.
 *
 * @module
 */

import type { ConnectionSpec } from "./connstring.ts";
import { sqlState } from "./db_clients.ts";
import { LazyPgPool } from "./lazy_pg_pool.ts";

/** Creates the table; run by `initialize` and, for stores made before it existed, on first write. */
export const FLEET_DDL = "CREATE TABLE IF NOT EXISTS _molt_lms.fleet (" +
  "proxy_id TEXT PRIMARY KEY, " +
  "seen_at TIMESTAMPTZ NOT NULL DEFAULT now(), " +
  "left_at TIMESTAMPTZ)";

/** A proxy the orchestrator saw recently and that did not leave cleanly. */
export interface FleetRecord {
  /** The proxy. */
  proxyId: string;
  /** When it was last seen connected (ms since the epoch, on this process's clock). */
  seenAt: number;
}

/** SQLSTATEs meaning `_molt_lms` (or the table) does not exist yet. */
const MISSING_OBJECT = new Set(["42P01", "3F000"]);

/** Reads and writes `_molt_lms.fleet`; see the module documentation. */
export class FleetStore {
  readonly #pool: LazyPgPool;

  /** @param target the database holding `_molt_lms` */
  constructor(target: ConnectionSpec) {
    this.#pool = new LazyPgPool(target, 1);
  }

  /** Records `proxyIds` as seen now (and not gone). */
  async seen(proxyIds: readonly string[]): Promise<void> {
    if (proxyIds.length === 0) return;
    const upsert = () =>
      this.#pool.query(
        "INSERT INTO _molt_lms.fleet (proxy_id, seen_at, left_at) " +
          "SELECT id, now(), NULL FROM unnest($1::TEXT[]) AS t(id) " +
          "ON CONFLICT (proxy_id) DO UPDATE SET seen_at = now(), left_at = NULL",
        [proxyIds],
      );
    try {
      await upsert();
    } catch (err) {
      if (sqlState(err) !== "42P01") throw err;
      await this.#pool.query(FLEET_DDL);
      await upsert();
    }
  }

  /** Records that `proxyId` left cleanly (it said so when closing its channel). */
  async left(proxyId: string): Promise<void> {
    try {
      await this.#pool.query(
        "UPDATE _molt_lms.fleet SET left_at = now() WHERE proxy_id = $1",
        [proxyId],
      );
    } catch (err) {
      if (!MISSING_OBJECT.has(sqlState(err) ?? "")) throw err;
    }
  }

  /** Proxies seen within `withinMs` that did not leave cleanly. */
  async recent(withinMs: number): Promise<FleetRecord[]> {
    try {
      const res = await this.#pool.query(
        "SELECT proxy_id, floor(extract(epoch FROM seen_at) * 1000)::INT8 AS seen_ms, " +
          "floor(extract(epoch FROM now()) * 1000)::INT8 AS now_ms FROM _molt_lms.fleet " +
          "WHERE left_at IS NULL AND seen_at > now() - $1::INTERVAL ORDER BY proxy_id",
        [`${withinMs} milliseconds`],
      );
      // Converted to this process's clock, so ages compare with Date.now().
      return res.rows.map((r: Record<string, unknown>) => ({
        proxyId: String(r.proxy_id),
        seenAt: Date.now() - (Number(r.now_ms) - Number(r.seen_ms)),
      }));
    } catch (err) {
      if (MISSING_OBJECT.has(sqlState(err) ?? "")) return [];
      throw err;
    }
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#pool.close();
  }
}
