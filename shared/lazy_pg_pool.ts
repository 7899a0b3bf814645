/**
 * The connection pool the `_molt_lms` stores share a shape of: opened on
 * first use, so that building a store never touches the database, and
 * reopened after {@linkcode LazyPgPool.close} if the store is used again.
 *
 * @module
 */

import pg from "pg";
import type { ConnectionSpec } from "./connstring.ts";
import { pgClientConfig } from "./db_clients.ts";

/** A `pg.Pool` of at most `max` connections to `target`, opened on first use. */
export class LazyPgPool {
  readonly #target: ConnectionSpec;
  readonly #max: number;
  #pool?: pg.Pool;

  /** @param target the database; @param max connections at the most */
  constructor(target: ConnectionSpec, max: number) {
    this.#target = target;
    this.#max = max;
  }

  /** The pool, opened now if it is not yet. */
  async get(): Promise<pg.Pool> {
    if (!this.#pool) {
      const pool = new pg.Pool({ ...(await pgClientConfig(this.#target)), max: this.#max });
      // An idle connection the server dropped must not crash the process; the next query says.
      pool.on("error", () => {});
      this.#pool = pool;
    }
    return this.#pool;
  }

  /** Runs one statement on a connection of the pool. */
  async query(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
    return await (await this.get()).query(text, values);
  }

  /** Closes the pool's connections; errors closing them are of no use to the caller. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end().catch(() => {});
  }
}
