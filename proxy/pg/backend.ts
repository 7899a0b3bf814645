/**
 * Opening a connection to a database on behalf of a client: TCP, then TLS as
 * the connection string's `sslmode` says.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import { CONNECT_TIMEOUT_MS, tcpConnect } from "../tcp_connect.ts";
import { LmsError } from "../../shared/errors.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import { encodeSslRequest } from "./startup.ts";
import { SocketReader } from "./reader.ts";
import { requiresTls, upgradeBackend, wantsTls } from "./tls.ts";

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
