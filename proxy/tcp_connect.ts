/**
 * The TCP leg of a database connection, whatever the wire: one place for the
 * connect timeout and for the errors a proxy reports when a database cannot
 * be reached. TLS and the handshake are the wire's (`proxy/pg/backend.ts`,
 * `proxy/mysql/backend.ts`).
 *
 * @module
 */

import net from "node:net";
import { LmsError } from "../shared/errors.ts";
import type { ConnectionSpec } from "../shared/connstring.ts";
import type { DatabaseSide } from "../shared/control.ts";

/** How long to wait for TCP connect and for the database's first answer. */
export const CONNECT_TIMEOUT_MS = 10_000;

const open: Record<DatabaseSide, number> = { source: 0, target: 0 };

/**
 * Database connections open now, per database, for `lms_backend_connections`.
 * Counted here because every wire's connections (sessions, shadows, standbys,
 * auth queries) pass through {@linkcode tcpConnect}.
 */
export function openBackendConnections(): Readonly<Record<DatabaseSide, number>> {
  return open;
}

/**
 * Opens a TCP connection to the database `spec` names, with Nagle off.
 *
 * @param label names the database in errors and starts with its side, e.g. "source database"
 * @throws {LmsError} `BACKEND_UNAVAILABLE` when it is refused or times out
 */
export function tcpConnect(spec: ConnectionSpec, label: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: spec.host, port: spec.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new LmsError(
          "BACKEND_UNAVAILABLE",
          `connecting to the ${label} at ${spec.host}:${spec.port} timed out`,
          "check that the database is running and reachable from the proxy",
        ),
      );
    }, CONNECT_TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      socket.setNoDelay(true);
      countOpen(socket, label.startsWith("target") ? "target" : "source");
      resolve(socket);
    });
    socket.once("error", (err: Error) => {
      clearTimeout(timer);
      reject(
        new LmsError(
          "BACKEND_UNAVAILABLE",
          `cannot reach the ${label} at ${spec.host}:${spec.port}: ${err.message}`,
          "check that the database is running and reachable from the proxy",
        ),
      );
    });
  });
}

/**
 * Counts `socket` as open until it closes. Outside {@linkcode tcpConnect}'s
 * promise on purpose: a close listener made there would keep the promise,
 * its functions and the cleared connect timer alive as long as the socket.
 */
function countOpen(socket: net.Socket, side: DatabaseSide): void {
  open[side]++;
  socket.once("close", () => open[side]--);
}
