/**
 * Opening a connection to a database on behalf of a client: TCP, then TLS as
 * the connection string's `sslmode` says.
 *
 * @module
 */

import type net from "node:net";
import type { Duplex } from "node:stream";
import { CONNECT_TIMEOUT_MS, plainTcpConnect, tcpConnect } from "../tcp_connect.ts";
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
  if (!wantsTls(spec)) return await plainTcpConnect(spec, label);
  // sslmode=prefer mostly meets databases without TLS: ask on a plain connection and
  // open a node:net one for the TLS upgrade (which needs it) only when the answer is yes.
  const mayStayPlain = !requiresTls(spec);
  const socket = mayStayPlain ? await plainTcpConnect(spec, label) : await tcpConnect(spec, label);
  const reader = new SocketReader(socket, 1024, label);
  try {
    socket.write(encodeSslRequest());
    const answer = await reader.nextByte(CONNECT_TIMEOUT_MS);
    reader.detach();
    if (answer === 0x53 && mayStayPlain) {
      socket.destroy();
      return await upgradedBackend(spec, label);
    }
    if (answer === 0x53) return await upgradeBackend(socket as net.Socket, spec);
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

/** A new node:net connection, upgraded to TLS after SSLRequest (the database said yes before). */
async function upgradedBackend(spec: ConnectionSpec, label: string): Promise<Duplex> {
  const socket = await tcpConnect(spec, label);
  const reader = new SocketReader(socket, 1024, label);
  try {
    socket.write(encodeSslRequest());
    const answer = await reader.nextByte(CONNECT_TIMEOUT_MS);
    reader.detach();
    if (answer === 0x53) return await upgradeBackend(socket, spec);
    throw new LmsError(
      "PROTOCOL_VIOLATION",
      `the ${label} accepted TLS, then answered SSLRequest with ${answer} on the next connection`,
    );
  } catch (err) {
    reader.detach();
    socket.destroy();
    throw err;
  }
}
