/**
 * Driver options for the LMS's own connections to the source and target
 * (state store, replication marker): node-postgres for PostgreSQL and
 * CockroachDB, mysql2 for MySQL, each with the TLS files the connection
 * string names; and the helpers both use to classify and retry failures.
 *
 * `sslmode` means the same for both dialects: `disable`, `allow` and
 * `prefer` connect without TLS (neither driver falls back on its own);
 * `require` encrypts without checking the certificate; `verify-ca` checks it
 * against `sslrootcert` (or the system CAs); `verify-full` also checks the
 * host name.
 *
 * @module
 */

import type mysql from "mysql2/promise";
import type pg from "pg";
import type { ConnectionSpec } from "./connstring.ts";
import type { DatabaseSide } from "./control.ts";
import { LmsError } from "./errors.ts";

/** SQLSTATEs worth retrying: serialization failure (CockroachDB), concurrent DDL races. */
const RETRYABLE = new Set(["40001", "40P01", "23505", "42P06", "42P07"]);

/** The driver's error code (a SQLSTATE for node-postgres, `ER_*` for mysql2), if any. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? code : undefined;
}

/** Runs `fn`, retrying up to five times on a retryable SQLSTATE. */
export async function retrying<T>(fn: () => Promise<T>): Promise<T> {
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

function encrypts(spec: ConnectionSpec): boolean {
  return spec.sslmode === "require" || spec.sslmode === "verify-ca" ||
    spec.sslmode === "verify-full";
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
  if (encrypts(spec)) {
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

/** mysql2 connection options for a connection spec, including its TLS files. */
export async function mysqlClientConfig(spec: ConnectionSpec): Promise<mysql.ConnectionOptions> {
  if (spec.dialect !== "mysql") {
    throw new LmsError(
      "CONFIG_INVALID",
      `a ${spec.dialect} connection cannot be opened with the MySQL driver`,
      "use a mysql:// connection string for a MySQL source",
    );
  }
  const config: mysql.ConnectionOptions = {
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: spec.password,
    connectTimeout: 10_000,
  };
  if (spec.database) config.database = spec.database;
  if (encrypts(spec)) {
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
