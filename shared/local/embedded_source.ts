/**
 * The embedded source database of `deno task start`: a throwaway PostgreSQL
 * cluster for the postgres and crdb dialects, a throwaway MariaDB server for
 * mysql, and the command line a person uses to reach it through the proxy.
 *
 * @module
 */

import type { Dialect } from "../config.ts";
import type { ConnectionSpec } from "../connstring.ts";
import { LmsError } from "../errors.ts";
import { startMariaDbServer } from "./mariadb_server.ts";
import { startPgCluster } from "./postgres_cluster.ts";

/** A running embedded database. */
export interface EmbeddedDatabase {
  /** Its connection string (no password: local trust / empty root password). */
  url: string;
  /** Stops it and removes its files. */
  stop(): Promise<void>;
}

/**
 * Where `mariadb_server.ts` looks for the MariaDB programs: it runs them with
 * this PATH, whatever the caller's.
 */
const MARIADB_DIRS = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
];
const MARIADB_PROGRAMS = ["mariadbd", "mariadb-install-db", "mariadb"];

/** The database the embedded MariaDB is created with, for the application's tables. */
export const EMBEDDED_MYSQL_DATABASE = "app";

/**
 * The MariaDB programs an embedded MySQL source needs that are not installed.
 */
export async function missingMariaDbPrograms(): Promise<string[]> {
  const missing: string[] = [];
  for (const program of MARIADB_PROGRAMS) {
    let found = false;
    for (const dir of MARIADB_DIRS) {
      try {
        const info = await Deno.stat(`${dir}/${program}`);
        if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) {
          found = true;
          break;
        }
      } catch {
        // Not in this directory.
      }
    }
    if (!found) missing.push(program);
  }
  return missing;
}

/**
 * Checks that an embedded source of `dialect` can be started, before anything
 * else is: a missing MariaDB must not leave a half-started LMS behind.
 *
 * @throws {LmsError} `LOCAL_DATABASE_FAILED` naming the missing programs.
 */
export async function checkEmbeddedSource(dialect: Dialect): Promise<void> {
  if (dialect !== "mysql") return;
  const missing = await missingMariaDbPrograms();
  if (missing.length === 0) return;
  throw new LmsError(
    "LOCAL_DATABASE_FAILED",
    `--source-dialect mysql without INIT_SOURCE starts an embedded MariaDB as the source, but ` +
      `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not installed ` +
      `(looked in ${MARIADB_DIRS.join(":")})`,
    "install Debian's mariadb-server package (apt-get install mariadb-server), or set " +
      "INIT_SOURCE to your own MySQL server's mysql:// URL",
  );
}

/** Starts the embedded source for `dialect`. */
export async function startEmbeddedSource(dialect: Dialect): Promise<EmbeddedDatabase> {
  if (dialect === "mysql") {
    const server = await startMariaDbServer({
      name: "lms-source",
      initSql: [`CREATE DATABASE ${EMBEDDED_MYSQL_DATABASE}`],
    });
    return { url: server.url({ database: EMBEDDED_MYSQL_DATABASE }), stop: () => server.stop() };
  }
  const cluster = await startPgCluster({ name: "lms-source" });
  return { url: cluster.url(), stop: () => cluster.destroy() };
}

/** Starts the embedded target (PostgreSQL standing in for CockroachDB). */
export async function startEmbeddedTarget(): Promise<EmbeddedDatabase> {
  const cluster = await startPgCluster({ name: "lms-target" });
  return { url: cluster.url(), stop: () => cluster.destroy() };
}

/**
 * The command that connects to the proxy at `host:port` as the source's user,
 * for the banner: `psql "postgres://…"` for PostgreSQL, `mariadb -h … -P …`
 * (the `mysql` client takes the same flags) for MySQL. Passwords are never
 * printed: `-p` makes the client ask for one when the source has one.
 */
export function connectCommand(source: ConnectionSpec, host: string, port: number): string {
  if (source.dialect === "mysql") {
    const parts = ["mariadb", "-h", host, "-P", String(port), "-u", shellWord(source.user)];
    if (source.password !== undefined) parts.push("-p");
    if (source.database) parts.push(shellWord(source.database));
    return parts.join(" ");
  }
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return `psql "postgres://${encodeURIComponent(source.user)}@${urlHost}:${port}/` +
    `${encodeURIComponent(source.database)}"`;
}

function shellWord(text: string): string {
  return /^[A-Za-z0-9_.@%+=:,/-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
