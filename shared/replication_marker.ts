/**
 * The replication marker table on one database, whatever its dialect.
 *
 * A consistent cutover writes a marker row on the source of truth once the
 * fleet is drained and waits for the customer's replication to deliver it to
 * the other database. The table therefore exists on both:
 * - PostgreSQL / CockroachDB: table `marker` in schema `_molt_lms`;
 * - MySQL: table `marker` in a database (MySQL's schema) named `_molt_lms`,
 *   written and read with mysql2. Replicating that database to the target
 *   lands its rows in `_molt_lms.marker` there, the table the target side polls.
 *
 * @module
 */

import mysql from "mysql2/promise";
import pg from "pg";
import type { ConnectionSpec } from "./connstring.ts";
import type { DatabaseSide } from "./control.ts";
import {
  mysqlClientConfig,
  pgClientConfig,
  retrying,
  sqlState,
  StoreDatabaseUnavailable,
} from "./db_clients.ts";
import { LmsError } from "./errors.ts";

/** Where one database keeps its marker table. */
export interface MarkerLocation {
  /** Which database. */
  side: DatabaseSide;
  /** Its wire protocol. */
  dialect: ConnectionSpec["dialect"];
  /** The table, as that database names it. */
  table: string;
}

/** Polls one database for one marker row. */
export interface MarkerPoller {
  /** Whether the marker is there now. */
  seen(): Promise<boolean>;
  /** Closes the poller's connection. */
  close(): Promise<void>;
}

/** Marker operations on one open connection. */
export interface MarkerConnection {
  /** Creates the marker table (and its schema or database) if missing. */
  createTable(): Promise<void>;
  /** Writes marker `id`; writing it twice is harmless. */
  write(id: string): Promise<void>;
  /** Whether marker `id` is there. */
  seen(id: string): Promise<boolean>;
  /** Closes the connection; never throws. */
  close(): Promise<void>;
}

/** `CREATE SCHEMA` for PostgreSQL and CockroachDB; the target's state store uses it too. */
export const PG_SCHEMA_DDL = "CREATE SCHEMA IF NOT EXISTS _molt_lms";
/** The marker table on PostgreSQL and CockroachDB. */
export const PG_MARKER_DDL = "CREATE TABLE IF NOT EXISTS _molt_lms.marker (" +
  "id TEXT PRIMARY KEY, written_at TIMESTAMPTZ NOT NULL DEFAULT now())";
const MYSQL_DATABASE_DDL = "CREATE DATABASE IF NOT EXISTS _molt_lms";
const MYSQL_MARKER_DDL = "CREATE TABLE IF NOT EXISTS _molt_lms.marker (" +
  "id VARCHAR(64) PRIMARY KEY, written_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))";

/** MySQL errors meaning the user lacks a privilege on `_molt_lms`. */
const MYSQL_DENIED = new Set([
  "ER_DBACCESS_DENIED_ERROR",
  "ER_TABLEACCESS_DENIED_ERROR",
  "ER_SPECIFIC_ACCESS_DENIED_ERROR",
]);

/** MySQL errors meaning `_molt_lms` or its marker table does not exist. */
const MYSQL_MISSING = new Set(["ER_BAD_DB_ERROR", "ER_NO_SUCH_TABLE"]);

/** Where `spec`'s database keeps the marker table. */
export function markerLocation(side: DatabaseSide, spec: ConnectionSpec): MarkerLocation {
  return {
    side,
    dialect: spec.dialect,
    table: spec.dialect === "mysql"
      ? "`_molt_lms`.`marker` (database _molt_lms)"
      : "_molt_lms.marker",
  };
}

/**
 * Opens a connection to `spec` for marker operations.
 *
 * @throws {LmsError} `BACKEND_UNAVAILABLE` when the database cannot be reached.
 */
export function openMarkerConnection(
  spec: ConnectionSpec,
  side: DatabaseSide,
): Promise<MarkerConnection> {
  return spec.dialect === "mysql" ? openMysql(spec, side) : openPg(spec, side);
}

async function openPg(spec: ConnectionSpec, side: DatabaseSide): Promise<MarkerConnection> {
  const client = new pg.Client(await pgClientConfig(spec));
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new StoreDatabaseUnavailable(side, err);
  }
  return {
    createTable: () =>
      retrying(async () => {
        await client.query(PG_SCHEMA_DDL);
        await client.query(PG_MARKER_DDL);
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

async function openMysql(spec: ConnectionSpec, side: DatabaseSide): Promise<MarkerConnection> {
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection(await mysqlClientConfig(spec));
  } catch (err) {
    if (err instanceof LmsError) throw err;
    throw new StoreDatabaseUnavailable(side, err);
  }
  connection.on("error", () => {});
  const explained = <T>(what: string, fn: () => Promise<T>) => async (): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const code = sqlState(err) ?? "";
      if (MYSQL_MISSING.has(code)) {
        throw new LmsError(
          "NOT_INITIALIZED",
          `the MySQL ${side} has no _molt_lms.marker table: ${(err as Error).message}`,
          "run `molt-lms-cli initialize`, which creates it",
          { cause: err },
        );
      }
      if (!MYSQL_DENIED.has(code)) throw err;
      throw new LmsError(
        "BACKEND_UNAVAILABLE",
        `the MySQL ${side} user ${spec.user} may not ${what}: ${(err as Error).message}`,
        `grant it: GRANT CREATE, SELECT, INSERT, UPDATE ON _molt_lms.* TO '${spec.user}'@'<host>'`,
        { cause: err },
      );
    }
  };
  return {
    // MySQL has no schemas apart from databases: `_molt_lms` is a database there.
    createTable: explained("create the _molt_lms database and its marker table", async () => {
      await connection.query(MYSQL_DATABASE_DDL);
      await connection.query(MYSQL_MARKER_DDL);
    }),
    write: (id) =>
      explained("write to _molt_lms.marker", async () => {
        // Only a duplicate is ignored; INSERT IGNORE would hide every other error too.
        await connection.query(
          "INSERT INTO _molt_lms.marker (id) VALUES (?) ON DUPLICATE KEY UPDATE id = id",
          [id],
        );
      })(),
    seen: (id) =>
      explained("read _molt_lms.marker", async () => {
        const [rows] = await connection.query("SELECT 1 FROM _molt_lms.marker WHERE id = ?", [id]);
        return Array.isArray(rows) && rows.length > 0;
      })(),
    close: () => connection.end().catch(() => {}),
  };
}
