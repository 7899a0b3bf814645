/**
 * Opening a connection to a database on behalf of a client: TCP, then TLS as
 * the connection string's `sslmode` says.
 *
 * @module
 */

import net from "node:net";
import type { Duplex } from "node:stream";
import { LmsError } from "../../shared/errors.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import { encodeSslRequest } from "./startup.ts";
import { SocketReader } from "./reader.ts";
import { requiresTls, upgradeBackend, wantsTls } from "./tls.ts";

/** How long to wait for TCP connect and the TLS answer. */
export const CONNECT_TIMEOUT_MS = 10_000;

function tcpConnect(spec: ConnectionSpec, label: string): Promise<net.Socket> {
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
 * Connects to the database `spec` names and negotiates TLS.
 *
 * @param label names the database in errors, e.g. "source database"
 * @returns a socket ready for the StartupMessage
 */
export async function connectBackend(spec: ConnectionSpec, label: string): Promise<Duplex> {
  const socket = await tcpConnect(spec, label);
  if (!wantsTls(spec)) return socket;
  const reader = new SocketReader(socket, 1024, label);
  try {
    socket.write(encodeSslRequest());
    const answer = await reader.nextByte(CONNECT_TIMEOUT_MS);
    reader.detach();
    if (answer === 0x53) return await upgradeBackend(socket, spec);
    if (answer !== 0x4e) {
      throw new LmsError("PROTOCOL_VIOLATION", `the ${label} answered SSLRequest with ${answer}`);
    }
    if (requiresTls(spec)) {
      throw new LmsError(
        "BACKEND_TLS_REQUIRED",
        `the ${label} at ${spec.host}:${spec.port} does not support TLS, but sslmode=${spec.sslmode}`,
        "enable ssl on the database or lower sslmode in the connection string",
      );
    }
    return socket;
  } catch (err) {
    reader.detach();
    socket.destroy();
    throw err;
  }
}
