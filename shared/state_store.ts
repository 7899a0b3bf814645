/**
 * The `_molt_lms` state store in the target database.
 *
 * Objects (all plain SQL that PostgreSQL and CockroachDB both run):
 * - `_molt_lms.state`: one row (id 1) naming the source of truth, its epoch,
 *   the cluster phase, and when/by whom it last changed.
 * - `_molt_lms.events`: append-only history of every cutover step.
 * - `_molt_lms.mysql_accounts`: with a MySQL source, its accounts (see
 *   `mysql_account_store.ts`), recorded by `initialize` and by the proxies.
 * - `_molt_lms.shadowing`: each proxy's shadowing clock (`shadowing_store.ts`).
 * - `_molt_lms.marker`: marker rows for replication catch-up checks; created
 *   on the target and on the source (on a MySQL source `_molt_lms` is a
 *   database holding the same table; see `replication_marker.ts`).
 *
 * The state itself always lives in the target (CockroachDB, or PostgreSQL
 * standing in for it), whatever the source's dialect: only the marker table
 * is on the source.
 *
 * Every state change is a compare-and-set on `(epoch, phase)`: an UPDATE whose
 * WHERE names the state the writer read, so of two orchestrators acting on
 * the same state exactly one changes it. The epoch changes only when the
 * source of truth does; the phase distinguishes the steps in between.
 *
 * @module
 */

import type pg from "pg";
import type { ConnectionSpec } from "./connstring.ts";
import type { ClusterState, DatabaseSide, Phase } from "./control.ts";
import { retrying, sqlState, StoreDatabaseUnavailable } from "./db_clients.ts";
import { LazyPgPool } from "./lazy_pg_pool.ts";
import { errorMessage, LmsError } from "./errors.ts";
import { MySqlAccountStore } from "./mysql_account_store.ts";
import { readMySqlAccounts } from "./mysql_accounts.ts";
import {
  type MarkerLocation,
  markerLocation,
  type MarkerPoller,
  openMarkerConnection,
  PG_MARKER_DDL,
  PG_SCHEMA_DDL,
} from "./replication_marker.ts";
import { SHADOWING_DDL } from "./shadowing_store.ts";
import { FLEET_DDL } from "./fleet_store.ts";

/** The state before `initialize` (no row): epoch 0, the source is the source of truth. */
export const INITIAL_STATE: ClusterState = { sourceOfTruth: "source", epoch: 0, phase: "idle" };

/** The stored state plus its bookkeeping columns. */
export interface StoredState extends ClusterState {
  /** False when `_molt_lms.state` has no row yet (the state is {@linkcode INITIAL_STATE}). */
  initialized: boolean;
  /** ISO-8601 time of the last change, null when not initialized. */
  updatedAt: string | null;
  /** Who made the last change, null when not initialized. */
  updatedBy: string | null;
}

/** One row of `_molt_lms.events`. */
export interface StoredEvent {
  /** Row id (ascending with time). */
  id: number;
  /** ISO-8601 time the step was recorded. */
  at: string;
  /** Epoch after the step. */
  epoch: number;
  /** Step name, e.g. `begin`, `drained`, `commit`. */
  step: string;
  /** Who recorded it (orchestrator id). */
  actor: string;
  /** Step-specific details. */
  detail: Record<string, unknown>;
}

/** The `(epoch, phase)` a compare-and-set expects to find. */
export interface ExpectedState {
  /** Epoch the writer read. */
  epoch: number;
  /** Phase the writer read. */
  phase: Phase;
}

/** Result of {@linkcode StateStore.initialize}. */
export interface InitializeResult {
  /** False when the state row already existed. */
  created: boolean;
  /** The state after initializing. */
  state: ClusterState;
  /** Where the marker table now exists: the target, and the source when it is configured. */
  markers: MarkerLocation[];
  /**
   * With a MySQL source: how many of its accounts were recorded in
   * `_molt_lms.mysql_accounts`, or why none were (the proxies keep trying).
   */
  mysqlAccounts?: { recorded: number; error?: string };
}

const STATE_DDL = "CREATE TABLE IF NOT EXISTS _molt_lms.state (" +
  "id INT8 PRIMARY KEY CHECK (id = 1), " +
  "source_of_truth TEXT NOT NULL CHECK (source_of_truth IN ('source', 'target')), " +
  "epoch INT8 NOT NULL, " +
  "phase TEXT NOT NULL, " +
  "updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), " +
  "updated_by TEXT NOT NULL)";
const EVENTS_DDL = "CREATE TABLE IF NOT EXISTS _molt_lms.events (" +
  "id BIGSERIAL PRIMARY KEY, " +
  "at TIMESTAMPTZ NOT NULL DEFAULT now(), " +
  "epoch INT8 NOT NULL, " +
  "step TEXT NOT NULL, " +
  "actor TEXT NOT NULL, " +
  "detail JSONB NOT NULL)";

/** SQLSTATEs meaning `_molt_lms` (or a table in it) does not exist yet. */
const MISSING_OBJECT = new Set(["42P01", "3F000"]);
function toState(row: Record<string, unknown>): StoredState {
  return {
    initialized: true,
    sourceOfTruth: row.source_of_truth as DatabaseSide,
    epoch: Number(row.epoch),
    phase: row.phase as Phase,
    updatedAt: new Date(row.updated_at as string).toISOString(),
    updatedBy: row.updated_by as string,
  };
}

/** Options of {@linkcode StateStore}. */
export interface StateStoreOptions {
  /** The target database, which holds `_molt_lms`. */
  target: ConnectionSpec;
  /** The source database, which gets the marker table on initialize. */
  source?: ConnectionSpec;
}

/** Reads and writes `_molt_lms` in the target (and the marker table on both sides). */
export class StateStore {
  readonly #target: ConnectionSpec;
  readonly #source?: ConnectionSpec;
  readonly #pool: LazyPgPool;

  /** @param options the databases; nothing connects until the first call */
  constructor(options: StateStoreOptions) {
    this.#target = options.target;
    this.#pool = new LazyPgPool(options.target, 3);
    this.#source = options.source;
  }

  async #query(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
    const pool = await this.#pool.get();
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw new StoreDatabaseUnavailable("target", err);
    }
    try {
      return await client.query(text, values);
    } finally {
      client.release();
    }
  }

  /**
   * Creates `_molt_lms` in the target and the marker table on the source.
   * Both databases are reached before anything is created in either, so an
   * unreachable target leaves no `_molt_lms` behind in the source; the state
   * row, which marks the store initialized, is written last. Idempotent: a
   * second call reports `created: false` and only creates what is missing
   * (e.g. the source's marker table once INIT_SOURCE is configured).
   */
  async initialize(actor: string): Promise<InitializeResult> {
    await this.#query("SELECT 1");
    const source = this.#source ? await openMarkerConnection(this.#source, "source") : undefined;
    try {
      await source?.createTable();
    } finally {
      await source?.close();
    }
    await retrying(async () => {
      for (
        const ddl of [PG_SCHEMA_DDL, PG_MARKER_DDL, STATE_DDL, EVENTS_DDL, SHADOWING_DDL, FLEET_DDL]
      ) {
        await this.#query(ddl);
      }
    });
    const created = await retrying(() =>
      this.#transaction(async (client) => {
        const inserted = await client.query(
          "INSERT INTO _molt_lms.state (id, source_of_truth, epoch, phase, updated_by) " +
            "VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id",
          [INITIAL_STATE.sourceOfTruth, INITIAL_STATE.epoch, INITIAL_STATE.phase, actor],
        );
        if (inserted.rowCount !== 1) return false;
        await insertEvent(client, INITIAL_STATE.epoch, "initialize", actor, {});
        return true;
      })
    );
    const { initialized: _i, updatedAt: _a, updatedBy: _b, ...state } = await this.readState();
    const markers = [markerLocation("target", this.#target)];
    if (this.#source) markers.push(markerLocation("source", this.#source));
    if (this.#source?.dialect !== "mysql") return { created, state, markers };
    return { created, state, markers, mysqlAccounts: await this.#recordAccounts(actor) };
  }

  /** Records the MySQL source's accounts (see `mysql_account_store.ts`); never throws. */
  async #recordAccounts(actor: string): Promise<{ recorded: number; error?: string }> {
    const store = new MySqlAccountStore(this.#target);
    try {
      await store.createTable();
      const accounts = await readMySqlAccounts(this.#source!);
      await store.record(accounts, actor);
      return { recorded: accounts.length };
    } catch (err) {
      return { recorded: 0, error: err instanceof LmsError ? err.describe() : errorMessage(err) };
    } finally {
      await store.close();
    }
  }

  /** The stored state; {@linkcode INITIAL_STATE} (not initialized) when there is no row. */
  async readState(): Promise<StoredState> {
    try {
      const res = await this.#query(
        "SELECT source_of_truth, epoch, phase, updated_at, updated_by " +
          "FROM _molt_lms.state WHERE id = 1",
      );
      if (res.rows.length === 0) {
        return { ...INITIAL_STATE, initialized: false, updatedAt: null, updatedBy: null };
      }
      return toState(res.rows[0]);
    } catch (err) {
      if (MISSING_OBJECT.has(sqlState(err) ?? "")) {
        return { ...INITIAL_STATE, initialized: false, updatedAt: null, updatedBy: null };
      }
      throw err;
    }
  }

  /**
   * Writes `next` only if the stored state still has `expected`'s epoch and
   * phase, and records `step` in the history in the same transaction.
   * Returns false (writing nothing) when another writer got there first or
   * the store is not initialized.
   */
  async compareAndSet(
    expected: ExpectedState,
    next: ClusterState,
    actor: string,
    step: string,
    detail: Record<string, unknown> = {},
  ): Promise<boolean> {
    try {
      return await retrying(() =>
        this.#transaction(async (client) => {
          const res = await client.query(
            "UPDATE _molt_lms.state SET source_of_truth = $1, epoch = $2, phase = $3, " +
              "updated_at = now(), updated_by = $4 WHERE id = 1 AND epoch = $5 AND phase = $6 " +
              "RETURNING epoch",
            [next.sourceOfTruth, next.epoch, next.phase, actor, expected.epoch, expected.phase],
          );
          if (res.rowCount !== 1) return false;
          await insertEvent(client, next.epoch, step, actor, detail);
          return true;
        })
      );
    } catch (err) {
      if (MISSING_OBJECT.has(sqlState(err) ?? "")) return false;
      throw err;
    }
  }

  /** Appends a history entry that changes no state (e.g. `drained`, `drain_timeout`). */
  async appendEvent(
    epoch: number,
    step: string,
    actor: string,
    detail: Record<string, unknown> = {},
  ): Promise<void> {
    const pool = await this.#pool.get();
    const client = await pool.connect();
    try {
      await insertEvent(client, epoch, step, actor, detail);
    } finally {
      client.release();
    }
  }

  /** The most recent `limit` history entries, newest first; empty when not initialized. */
  async history(limit = 20): Promise<StoredEvent[]> {
    try {
      const res = await this.#query(
        "SELECT id, at, epoch, step, actor, detail FROM _molt_lms.events " +
          "ORDER BY at DESC, id DESC LIMIT $1",
        [limit],
      );
      return res.rows.map((row: Record<string, unknown>) => ({
        id: Number(row.id),
        at: new Date(row.at as string).toISOString(),
        epoch: Number(row.epoch),
        step: String(row.step),
        actor: String(row.actor),
        detail: (typeof row.detail === "string" ? JSON.parse(row.detail) : row.detail) as Record<
          string,
          unknown
        >,
      }));
    } catch (err) {
      if (MISSING_OBJECT.has(sqlState(err) ?? "")) return [];
      throw err;
    }
  }

  /** Writes marker `id` on `side`'s database (target or source); writing it twice is harmless. */
  async writeMarker(side: DatabaseSide, id: string): Promise<void> {
    const connection = await openMarkerConnection(this.#spec(side), side);
    try {
      await connection.write(id);
    } finally {
      await connection.close();
    }
  }

  /**
   * Opens a marker poller on `side`'s database: each call of `seen()` says
   * whether marker `id` is there. Close it when done.
   */
  async markerPoller(side: DatabaseSide, id: string): Promise<MarkerPoller> {
    const connection = await openMarkerConnection(this.#spec(side), side);
    return { seen: () => connection.seen(id), close: () => connection.close() };
  }

  #spec(side: DatabaseSide): ConnectionSpec {
    if (side === "target") return this.#target;
    if (!this.#source) {
      throw new LmsError(
        "CONFIG_INVALID",
        "the source database is not configured, so the replication marker cannot be used there",
        "set INIT_SOURCE for the orchestrator",
      );
    }
    return this.#source;
  }

  async #transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const pool = await this.#pool.get();
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw new StoreDatabaseUnavailable("target", err);
    }
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** Closes the store's connections. */
  async close(): Promise<void> {
    await this.#pool.close();
  }
}

async function insertEvent(
  client: pg.ClientBase,
  epoch: number,
  step: string,
  actor: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await client.query(
    "INSERT INTO _molt_lms.events (epoch, step, actor, detail) VALUES ($1, $2, $3, $4)",
    [epoch, step, actor, JSON.stringify(detail)],
  );
}
