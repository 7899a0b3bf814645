/**
 * `KILL QUERY n` / `KILL n` (and COM_PROCESS_KILL) for MySQL sessions.
 *
 * The handshake hands each client a connection id minted by the proxy (it
 * names the proxy like the PostgreSQL cancel key, see `shared/cancel_key.ts`),
 * so the mysql client's Ctrl-C — a second connection that sends
 * `KILL QUERY <id>` — may land on any proxy of the fleet:
 *
 * - the id belongs to a session of this proxy: the statement is rewritten to
 *   name that session's database thread and runs on the caller's own
 *   connection, so the database checks the caller's right to kill it (its
 *   own threads, or CONNECTION ADMIN/SUPER) exactly as without the proxy;
 * - the id names another proxy: the kill is forwarded over the control
 *   channel through the orchestrator, on the path PostgreSQL cancel requests
 *   take; the owning proxy acts when the caller is the session's own user
 *   (the key forwarded is derived from the user name): `KILL QUERY` kills the
 *   statement with its own connection as the `INIT_SOURCE` user (which needs
 *   CONNECTION ADMIN or SUPER), `KILL [CONNECTION]` disconnects the session
 *   (its client gets ERR 1053 naming the kill, a running statement is
 *   killed). The caller gets OK at once, as a PostgreSQL cancel gets no answer;
 * - anything else gets the database's own answer for an unknown id, 1094.
 *
 * An id is never passed through unchanged: it could name an unrelated thread
 * of the database.
 *
 * @module
 */

import mysql from "mysql2/promise";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import { mysqlClientConfig } from "../../shared/db_clients.ts";

/** The secret a `KILL QUERY` forwarded for `user` carries: a 32-bit FNV-1a hash of the name. */
export function killKey(user: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(user)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash | 0;
}

/** The statement that kills `thread` on the database. */
export function killStatement(thread: number, connection: boolean, modifier = ""): string {
  return `KILL ${modifier ? modifier + " " : ""}${connection ? "CONNECTION" : "QUERY"} ${thread}`;
}

/**
 * Kills the statement `thread` runs on the database, through a connection
 * of its own as the `INIT_SOURCE` user (CONNECTION ADMIN or SUPER is needed
 * for other users' threads).
 */
export async function killOnDatabase(
  spec: ConnectionSpec,
  thread: number,
  log: Logger,
): Promise<void> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection({
      ...await mysqlClientConfig(spec),
      connectTimeout: 5_000,
    });
    await conn.query(killStatement(thread, false));
  } catch (err) {
    log.warn("could not kill a database thread", { thread, error: errorMessage(err) });
  } finally {
    await conn?.end().catch(() => {});
  }
}
