/**
 * The `_molt_lms` state store in the target database.
 *
 * Objects (all plain SQL that PostgreSQL and CockroachDB both run):
 * - `_molt_lms.state`: one row (id 1) naming the source of truth, its epoch,
 *   the cluster phase, and when/by whom it last changed.
 * - `_molt_lms.events`: append-only history of every cutover step.
 * - `_molt_lms.marker`: marker rows for replication catch-up checks; created
 *   on the target and on the source (on a MySQL source `_molt_lms` is a
 *   database holding the same table).
 *
 * Every state change is a compare-and-set on `(epoch, phase)`: an UPDATE whose
 * WHERE names the state the writer read, so of two orchestrators acting on
 * the same state exactly one changes it. The epoch changes only when the
 * source of truth does; the phase distinguishes the steps in between.
 *
 * @module
 */

import mysql from "mysql2/promise";
import pg from "pg";
import type { ConnectionSpec } from "./connstring.ts";
import type { ClusterState, DatabaseSide, Phase } from "./control.ts";
import { LmsError } from "./errors.ts";

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

/** Polls one database for one marker row. */
export interface MarkerPoller {
  /** Whether the marker is there now. */
  seen(): Promise<boolean>;
  /** Closes the poller's connection. */
  close(): Promise<void>;
}

/** Result of {@linkcode StateStore.initialize}. */
export interface InitializeResult {
  /** False when the state row already existed. */
  created: boolean;
  /** The state after initializing. */
  state: ClusterState;
}

const SCHEMA_DDL = "CREATE SCHEMA IF NOT EXISTS _molt_lms";
const MARKER_DDL = "CREATE TABLE IF NOT EXISTS _molt_lms.marker (" +
  "id TEXT PRIMARY KEY, written_at TIMESTAMPTZ NOT NULL DEFAULT now())";
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
/** SQLSTATEs worth retrying: serialization failure (CockroachDB), concurrent DDL races. */
const RETRYABLE = new Set(["40001", "40P01", "23505", "42P06", "42P07"]);

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? code : undefined;
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new LmsError(
      "TLS_MATERIAL_INVALID",
      `cannot read ${what} ${path}: ${(err as Error).message}`,
      "check the path in the connection string and that the file is mounted",
    );
  }
}

/** node-postgres client options for a connection spec, including its TLS files. */
export async function pgClientConfig(spec: ConnectionSpec): Promise<pg.ClientConfig> {
  if (spec.dialect !== "postgres") {
    throw new LmsError(
      "CONFIG_INVALID",
      `a ${spec.dialect} connection cannot be opened with the PostgreSQL driver`,
      "use a postgres:// connection string for the target",
    );
  }
  const config: pg.ClientConfig = {
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: spec.password,
    database: spec.database,
    application_name: "molt-lms-orchestrator",
    connectionTimeoutMillis: 10_000,
  };
  // node-postgres has no "prefer"/"allow": those fall back to plaintext, as libpq
  // does when the server declines TLS.
  if (
    spec.sslmode === "require" || spec.sslmode === "verify-ca" || spec.sslmode === "verify-full"
  ) {
    const ssl: Record<string, unknown> = { rejectUnauthorized: spec.sslmode !== "require" };
    if (spec.sslrootcert) ssl.ca = await readPem(spec.sslrootcert, "sslrootcert");
    if (spec.sslcert) ssl.cert = await readPem(spec.sslcert, "sslcert");
    if (spec.sslkey) ssl.key = await readPem(spec.sslkey, "sslkey");
    if (spec.sslmode === "verify-ca") ssl.checkServerIdentity = () => undefined;
    if (spec.sslmode === "verify-full") ssl.servername = spec.host;
    config.ssl = ssl;
  }
  return config;
}

/** A database the state store needs (target: `_molt_lms`; source: the marker) is unreachable. */
export class StoreDatabaseUnavailable extends LmsError {
  /** Which database: the one named by INIT_SOURCE or by INIT_TARGET. */
  readonly side: DatabaseSide;

  /**
   * @param side which database
   * @param err the driver's error
   */
  constructor(side: DatabaseSide, err: unknown) {
    const key = side === "source" ? "INIT_SOURCE" : "INIT_TARGET";
    super(
      "BACKEND_UNAVAILABLE",
      `the ${side} database (${key}) is not reachable: ${(err as Error).message}`,
      `check ${key}: that the ${side} database is up, reachable from here, and its TLS settings`,
      { cause: err },
    );
    this.name = "StoreDatabaseUnavailable";
    this.side = side;
  }
}

async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const state = sqlState(err);
      if (attempt >= 5 || state === undefined || !RETRYABLE.has(state)) throw err;
      await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 20));
    }
  }
}

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
  #pool?: pg.Pool;

  /** @param options the databases; nothing connects until the first call */
  constructor(options: StateStoreOptions) {
    this.#target = options.target;
    this.#source = options.source;
  }

  async #getPool(): Promise<pg.Pool> {
    if (!this.#pool) {
      const pool = new pg.Pool({ ...(await pgClientConfig(this.#target)), max: 3 });
      pool.on("error", () => {});
      this.#pool = pool;
    }
    return this.#pool;
  }

  async #query(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
    const pool = await this.#getPool();
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
   * Idempotent: a second call changes nothing and reports `created: false`.
   */
  async initialize(actor: string): Promise<InitializeResult> {
    if (this.#source) await createMarkerTable(this.#source, "source");
    await retrying(async () => {
      for (const ddl of [SCHEMA_DDL, MARKER_DDL, STATE_DDL, EVENTS_DDL]) await this.#query(ddl);
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
    return { created, state };
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
    const pool = await this.#getPool();
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
    const pool = await this.#getPool();
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
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end().catch(() => {});
  }
}

/** Marker operations on one database connection, whatever its dialect. */
interface MarkerConnection {
  createTable(): Promise<void>;
  write(id: string): Promise<void>;
  seen(id: string): Promise<boolean>;
  close(): Promise<void>;
}

async function openMarkerConnection(
  spec: ConnectionSpec,
  which: DatabaseSide,
): Promise<MarkerConnection> {
  if (spec.dialect === "mysql") return await openMysqlMarkerConnection(spec, which);
  const client = new pg.Client(await pgClientConfig(spec));
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new StoreDatabaseUnavailable(which, err);
  }
  return {
    createTable: () =>
      retrying(async () => {
        await client.query(SCHEMA_DDL);
        await client.query(MARKER_DDL);
      }),
    write: async (id) => {
      await client.query(
        "INSERT INTO _molt_lms.marker (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
        [id],
      );
    },
    seen: async (id) =>
      (await client.query("SELECT 1 FROM _molt_lms.marker WHERE id = $1", [id])).rows.length > 0,
    close: () => client.end().catch(() => {}),
  };
}

/** mysql2 connection options for a connection spec, including its TLS files. */
export async function mysqlClientConfig(spec: ConnectionSpec): Promise<mysql.ConnectionOptions> {
  const config: mysql.ConnectionOptions = {
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: spec.password,
    connectTimeout: 10_000,
  };
  if (spec.database) config.database = spec.database;
  if (
    spec.sslmode === "require" || spec.sslmode === "verify-ca" || spec.sslmode === "verify-full"
  ) {
    // mysql2 checks the host name only when asked (verifyIdentity), unlike node-postgres.
    const ssl: mysql.SslOptions = {
      rejectUnauthorized: spec.sslmode !== "require",
      verifyIdentity: spec.sslmode === "verify-full",
    };
    if (spec.sslrootcert) ssl.ca = await readPem(spec.sslrootcert, "sslrootcert");
    if (spec.sslcert) ssl.cert = await readPem(spec.sslcert, "sslcert");
    if (spec.sslkey) ssl.key = await readPem(spec.sslkey, "sslkey");
    config.ssl = ssl;
  }
  return config;
}

async function openMysqlMarkerConnection(
  spec: ConnectionSpec,
  which: DatabaseSide,
): Promise<MarkerConnection> {
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection(await mysqlClientConfig(spec));
  } catch (err) {
    if (err instanceof LmsError) throw err;
    throw new StoreDatabaseUnavailable(which, err);
  }
  connection.on("error", () => {});
  return {
    createTable: async () => {
      // MySQL has no schemas apart from databases: `_molt_lms` is a database there.
      await connection.query("CREATE DATABASE IF NOT EXISTS _molt_lms");
      await connection.query(
        "CREATE TABLE IF NOT EXISTS _molt_lms.marker (id VARCHAR(64) PRIMARY KEY, " +
          "written_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))",
      );
    },
    write: async (id) => {
      await connection.query("INSERT IGNORE INTO _molt_lms.marker (id) VALUES (?)", [id]);
    },
    seen: async (id) => {
      const [rows] = await connection.query("SELECT 1 FROM _molt_lms.marker WHERE id = ?", [id]);
      return Array.isArray(rows) && rows.length > 0;
    },
    close: () => connection.end().catch(() => {}),
  };
}

async function createMarkerTable(spec: ConnectionSpec, which: DatabaseSide): Promise<void> {
  const connection = await openMarkerConnection(spec, which);
  try {
    await connection.createTable();
  } finally {
    await connection.close();
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
