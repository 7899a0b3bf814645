/**
 * `_molt_lms.shadowing` in the target: per proxy, since when it has been
 * shadowing in its mode, when it was last seen, and the shadow counts that
 * must outlive a restart (hourly buckets, mismatches by kind).
 *
 * This backs the seven-day readiness verdict (`shadow report`):
 * - a proxy restart keeps the clock: a proxy that comes back in the same
 *   mode within {@linkcode RESUME_GAP_MS} of its last heartbeat resumes its
 *   `since`;
 * - a restart does not fake readiness: a different mode, or a longer gap
 *   (the proxy was not shadowing meanwhile), restarts the clock, and the
 *   buckets come back, so a mismatch of the last seven days is not
 *   forgotten;
 * - an orchestrator restart does not fake it either: proxies seen within the
 *   gap that are not connected yet are named as unknown
 *   ({@linkcode ShadowingStore.recent}).
 *
 * The statements are plain SQL that PostgreSQL and CockroachDB both run.
 *
 * @module
 */

import type pg from "pg";
import type { ConnectionSpec } from "./connstring.ts";
import { sqlState } from "./db_clients.ts";
import { LazyPgPool } from "./lazy_pg_pool.ts";
import type { ShadowBucket } from "./shadow.ts";

/** A proxy back within this long of its last heartbeat resumes its shadowing clock. */
export const RESUME_GAP_MS = 10 * 60_000;
/** How often a shadowing proxy records that it is still shadowing. */
export const HEARTBEAT_MS = 60_000;

/** Creates the table; run by `initialize` and, for stores made before it existed, by proxies. */
export const SHADOWING_DDL = "CREATE TABLE IF NOT EXISTS _molt_lms.shadowing (" +
  "proxy_id TEXT PRIMARY KEY, " +
  "mode TEXT NOT NULL, " +
  "since TIMESTAMPTZ, " +
  "seen_at TIMESTAMPTZ NOT NULL DEFAULT now(), " +
  "hourly JSONB NOT NULL DEFAULT '[]', " +
  "by_kind JSONB NOT NULL DEFAULT '{}')";

/** One proxy's row. */
export interface ShadowingRecord {
  /** The proxy. */
  proxyId: string;
  /** Its shadow mode when last seen. */
  mode: string;
  /** Since when it has been shadowing in that mode (ISO 8601); null for mode none. */
  since: string | null;
  /** Its last heartbeat (ISO 8601). */
  seenAt: string;
  /** Hourly buckets it persisted. */
  hourly: ShadowBucket[];
  /** Mismatches by kind it persisted. */
  byKind: Record<string, number>;
}

/** SQLSTATEs meaning `_molt_lms` (or the table) does not exist yet. */
const MISSING_OBJECT = new Set(["42P01", "3F000"]);

const json = <T>(v: unknown, fallback: T): T =>
  v === null || v === undefined ? fallback : (typeof v === "string" ? JSON.parse(v) : v) as T;

const iso = (v: unknown): string => new Date(v as string).toISOString();

function toRecord(row: Record<string, unknown>): ShadowingRecord {
  return {
    proxyId: String(row.proxy_id),
    mode: String(row.mode),
    since: row.since === null ? null : iso(row.since),
    seenAt: iso(row.seen_at),
    hourly: json<ShadowBucket[]>(row.hourly, []),
    byKind: json<Record<string, number>>(row.by_kind, {}),
  };
}

/** Reads and writes `_molt_lms.shadowing`; see the module documentation. */
export class ShadowingStore {
  readonly #pool: LazyPgPool;

  /** @param target the target database; nothing connects until the first call */
  constructor(target: ConnectionSpec) {
    this.#pool = new LazyPgPool(target, 1);
  }

  /**
   * Records that `proxyId` (re)starts in `mode` and returns its row: `since`
   * is kept when the mode is the same and the proxy was seen within
   * {@linkcode RESUME_GAP_MS}, else it is now (null for mode none). Creates
   * the table when the store predates it; rejects when `_molt_lms` does not
   * exist (not initialized) or the target cannot be reached.
   */
  async resume(proxyId: string, mode: string): Promise<ShadowingRecord> {
    const upsert = () =>
      this.#pool.query(
        "INSERT INTO _molt_lms.shadowing AS s (proxy_id, mode, since, seen_at) " +
          "VALUES ($1, $2, CASE WHEN $2 = 'none' THEN NULL ELSE now() END, now()) " +
          "ON CONFLICT (proxy_id) DO UPDATE SET " +
          "since = CASE WHEN s.mode = excluded.mode AND s.since IS NOT NULL " +
          "AND s.seen_at > now() - $3::INTERVAL THEN s.since ELSE excluded.since END, " +
          "mode = excluded.mode, seen_at = now() " +
          "RETURNING proxy_id, mode, since, seen_at, hourly, by_kind",
        [proxyId, mode, `${RESUME_GAP_MS} milliseconds`],
      );
    let res: pg.QueryResult;
    try {
      res = await upsert();
    } catch (err) {
      if (sqlState(err) !== "42P01") throw err;
      await this.#pool.query(SHADOWING_DDL);
      res = await upsert();
    }
    return toRecord(res.rows[0]);
  }

  /** Heartbeat: records that `proxyId` still shadows, with its counts. */
  async save(
    proxyId: string,
    counts: { hourly: ShadowBucket[]; byKind: Record<string, number> },
  ): Promise<void> {
    await this.#pool.query(
      "UPDATE _molt_lms.shadowing SET seen_at = now(), hourly = $2, by_kind = $3 " +
        "WHERE proxy_id = $1",
      [proxyId, JSON.stringify(counts.hourly), JSON.stringify(counts.byKind)],
    );
  }

  /** Proxies that shadowed (mode other than none) within {@linkcode RESUME_GAP_MS}. */
  async recent(): Promise<ShadowingRecord[]> {
    try {
      const res = await this.#pool.query(
        "SELECT proxy_id, mode, since, seen_at, hourly, by_kind FROM _molt_lms.shadowing " +
          "WHERE mode <> 'none' AND seen_at > now() - $1::INTERVAL ORDER BY proxy_id",
        [`${RESUME_GAP_MS} milliseconds`],
      );
      return res.rows.map(toRecord);
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
