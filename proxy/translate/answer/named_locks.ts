/**
 * MySQL's named locks on CockroachDB, held as row locks: a session that
 * takes `GET_LOCK('x')` gets a connection of its own that keeps a
 * transaction open holding `SELECT ... FOR UPDATE` on the row `x` of
 * `_molt_lms.named_locks`. Like MySQL's, the lock is the connection's: it
 * ends with `RELEASE_LOCK`, `RELEASE_ALL_LOCKS`, the session's end, or the
 * connection's loss (a proxy that dies takes its transactions with it, so
 * no lock outlives its holder and no lease can expire under a live one).
 * CockroachDB has no advisory locks (`pg_advisory_lock` does not exist), so
 * this is the sound way there; it also runs on PostgreSQL, the tests'
 * stand-in. A lock costs one connection while held.
 *
 * @module
 */

import { AnswerError } from "./result.ts";
import type { NamedLocks } from "./types.ts";

/** A connection the locks own, outside the session's transaction. */
export interface LockConnection {
  /** Runs one statement with `$n` parameters; rejects with the server's error (its `code`). */
  query(sql: string, params: unknown[]): Promise<unknown>;
  /** Closes the connection; an open transaction is rolled back. */
  close(): Promise<void>;
}

/** Opens a connection to the target as the service user. */
export type OpenLockConnection = () => Promise<LockConnection>;

/** ER_USER_LOCK_WRONG_NAME. */
const WRONG_NAME = [3057, "42000"] as const;
/** SQLSTATE lock_not_available: NOWAIT and lock_timeout on CockroachDB and PostgreSQL. */
const LOCK_NOT_AVAILABLE = "55P03";

const SETUP = [
  "CREATE SCHEMA IF NOT EXISTS _molt_lms",
  "CREATE TABLE IF NOT EXISTS _molt_lms.named_locks (name TEXT PRIMARY KEY)",
];

/** One session's named locks, as row locks held by open transactions. */
export class RowNamedLocks implements NamedLocks {
  readonly #open: OpenLockConnection;
  readonly #held = new Map<string, { conn: LockConnection; count: number }>();
  #setUp = false;

  /** @param open opens a connection to the target (one per held lock, one per probe) */
  constructor(open: OpenLockConnection) {
    this.#open = open;
  }

  /** GET_LOCK: MySQL names are case-insensitive and at most 64 characters. */
  async get(name: string, timeoutSeconds: number): Promise<0 | 1> {
    const key = lockKey(name);
    const held = this.#held.get(key);
    if (held) {
      held.count++;
      return 1;
    }
    const conn = await this.#open();
    try {
      if (!this.#setUp) {
        for (const sql of SETUP) await conn.query(sql, []);
        this.#setUp = true;
      }
      await conn.query(
        "INSERT INTO _molt_lms.named_locks (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        [key],
      );
      await conn.query("BEGIN", []);
      if (timeoutSeconds > 0) {
        await conn.query(`SET LOCAL lock_timeout = '${Math.ceil(timeoutSeconds * 1000)}ms'`, []);
      } else if (timeoutSeconds < 0) {
        await conn.query("SET LOCAL lock_timeout = 0", []);
      }
      const nowait = timeoutSeconds === 0 ? " NOWAIT" : "";
      if (!(await this.#lock(conn, key, nowait))) {
        await conn.close();
        return 0;
      }
      this.#held.set(key, { conn, count: 1 });
      return 1;
    } catch (err) {
      await conn.close().catch(() => {});
      throw err;
    }
  }

  /** RELEASE_LOCK. */
  async release(name: string): Promise<0 | 1 | null> {
    const key = lockKey(name);
    const held = this.#held.get(key);
    if (!held) return (await this.isFree(name)) ? null : 0;
    if (--held.count === 0) {
      this.#held.delete(key);
      await held.conn.close();
    }
    return 1;
  }

  /** IS_FREE_LOCK: probes the row with NOWAIT in a transaction of its own. */
  async isFree(name: string): Promise<0 | 1> {
    const key = lockKey(name);
    if (this.#held.has(key)) return 0;
    const conn = await this.#open();
    try {
      await conn.query("BEGIN", []);
      return (await this.#lock(conn, key, " NOWAIT")) ? 1 : 0;
    } finally {
      await conn.close().catch(() => {});
    }
  }

  /** RELEASE_ALL_LOCKS, and what the executor calls when the session ends. */
  async releaseAll(): Promise<number> {
    let released = 0;
    const held = [...this.#held.values()];
    this.#held.clear();
    for (const { conn, count } of held) {
      released += count;
      await conn.close().catch(() => {});
    }
    return released;
  }

  /** Locks the row; false when another transaction holds it past the wait. */
  async #lock(conn: LockConnection, key: string, nowait: string): Promise<boolean> {
    try {
      await conn.query(
        `SELECT name FROM _molt_lms.named_locks WHERE name = $1 FOR UPDATE${nowait}`,
        [
          key,
        ],
      );
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === LOCK_NOT_AVAILABLE) return false;
      throw err;
    }
  }
}

function lockKey(name: string): string {
  if (name.length === 0 || name.length > 64) {
    throw new AnswerError(WRONG_NAME, `Incorrect user-level lock name '${name}'.`);
  }
  return name.toLowerCase();
}
