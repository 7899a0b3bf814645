/**
 * `_molt_lms.mysql_accounts` in the target: the MySQL source's accounts as
 * last recorded (by `initialize` and by every proxy while the source is
 * reachable), so a proxy can verify logins itself once MySQL is gone. One row
 * per account: user, host pattern, plugin, stored authentication string
 * (BYTEA: caching_sha2_password's salt is binary), when and by whom it was
 * recorded. A recording replaces the whole set in one transaction, so a
 * dropped account disappears; an unchanged set is not rewritten.
 *
 * Plain SQL that PostgreSQL and CockroachDB both run.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type pg from "pg";
import type { ConnectionSpec } from "./connstring.ts";
import { retrying, sqlState, StoreDatabaseUnavailable } from "./db_clients.ts";
import { LazyPgPool } from "./lazy_pg_pool.ts";
import { MySqlAccount, sameAccounts } from "./mysql_accounts.ts";
import { PG_SCHEMA_DDL } from "./replication_marker.ts";

/** The table, created by `initialize` (idempotent). */
export const MYSQL_ACCOUNTS_DDL = "CREATE TABLE IF NOT EXISTS _molt_lms.mysql_accounts (" +
  "user_name TEXT NOT NULL, " +
  "host TEXT NOT NULL, " +
  "plugin TEXT NOT NULL, " +
  "auth BYTEA NOT NULL, " +
  "recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(), " +
  "recorded_by TEXT NOT NULL, " +
  "PRIMARY KEY (user_name, host))";

/** SQLSTATEs meaning `_molt_lms` or the table does not exist (before `initialize`). */
const MISSING_OBJECT = new Set(["42P01", "3F000"]);

/** What a recording did. */
export type RecordOutcome = "updated" | "unchanged" | "not initialized";

/** Reads and writes the recorded accounts in the target. */
export class MySqlAccountStore {
  readonly #pool: LazyPgPool;

  /** @param target the target database (`INIT_TARGET`); nothing connects until the first call */
  constructor(target: ConnectionSpec) {
    this.#pool = new LazyPgPool(target, 1);
  }

  async #client(): Promise<pg.PoolClient> {
    try {
      return await (await this.#pool.get()).connect();
    } catch (err) {
      throw new StoreDatabaseUnavailable("target", err);
    }
  }

  /** Creates `_molt_lms` and the table if missing. */
  async createTable(): Promise<void> {
    const client = await this.#client();
    try {
      await retrying(async () => {
        await client.query(PG_SCHEMA_DDL);
        await client.query(MYSQL_ACCOUNTS_DDL);
      });
    } finally {
      client.release();
    }
  }

  /** The recorded accounts; empty before `initialize`. */
  async load(): Promise<MySqlAccount[]> {
    const client = await this.#client();
    try {
      return await readRows(client);
    } catch (err) {
      if (MISSING_OBJECT.has(sqlState(err) ?? "")) return [];
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Replaces the recorded accounts with `accounts` unless they are the same
   * already. Before `initialize` (no table) nothing is written: proxies do not
   * create `_molt_lms` on their own.
   */
  async record(accounts: readonly MySqlAccount[], actor: string): Promise<RecordOutcome> {
    const client = await this.#client();
    try {
      let current: MySqlAccount[];
      try {
        current = await readRows(client);
      } catch (err) {
        if (MISSING_OBJECT.has(sqlState(err) ?? "")) return "not initialized";
        throw err;
      }
      if (current.length > 0 && sameAccounts(current, accounts)) return "unchanged";
      await retrying(async () => {
        await client.query("BEGIN");
        try {
          await client.query("DELETE FROM _molt_lms.mysql_accounts WHERE true");
          for (const a of accounts) {
            await client.query(
              "INSERT INTO _molt_lms.mysql_accounts (user_name, host, plugin, auth, recorded_by) " +
                "VALUES ($1, $2, $3, $4, $5)",
              [a.user, a.host, a.plugin, Buffer.from(a.auth), actor],
            );
          }
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => {});
          throw err;
        }
      });
      return "updated";
    } finally {
      client.release();
    }
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#pool.close();
  }
}

async function readRows(client: pg.ClientBase): Promise<MySqlAccount[]> {
  const res = await client.query(
    "SELECT user_name, host, plugin, auth FROM _molt_lms.mysql_accounts",
  );
  return res.rows.map((r: Record<string, unknown>) =>
    new MySqlAccount(
      String(r.user_name),
      String(r.host),
      String(r.plugin),
      new Uint8Array(r.auth as Buffer),
    )
  );
}
