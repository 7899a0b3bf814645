/**
 * Opening a connection to the MySQL database for a client: TCP, the
 * database's Initial Handshake, and TLS through an SSLRequest as the
 * connection string's `sslmode` says.
 *
 * @module
 */

import type net from "node:net";
import type { Duplex } from "node:stream";
import { CONNECT_TIMEOUT_MS, tcpConnect } from "../tcp_connect.ts";
import { LmsError } from "../../shared/errors.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import { requiresTls, upgradeBackend, wantsTls } from "../pg/tls.ts";
import { Cap } from "./constants.ts";
import { decodeErr, packet } from "./packets.ts";
import {
  type ClientHello,
  decodeServerHandshake,
  encodeClientHello,
  type ServerHandshake,
} from "./handshake.ts";
import { PacketReader } from "./reader.ts";

/** Largest packet read from a database before the command phase. */
const HANDSHAKE_MAX_PACKET = 1 << 20;

/** The database refused the connection before authentication (ERR instead of a handshake). */
export class BackendRefusedError extends LmsError {
  /** The database's ERR packet, to relay to the client. */
  readonly errPacket: Uint8Array;

  /** @param payload the ERR payload */
  constructor(payload: Uint8Array, label: string) {
    const err = decodeErr(payload);
    super("BACKEND_UNAVAILABLE", `the ${label} refused the connection: ${err.code} ${err.message}`);
    this.errPacket = payload;
  }
}

/** A database connection after its handshake, before authentication. */
export interface MySqlBackend {
  /** The socket (TLS once `upgradeTls` ran). */
  socket: Duplex;
  /** Reads packets until the command phase. */
  reader: PacketReader;
  /** The database's handshake. */
  handshake: ServerHandshake;
  /** Names the database in errors. */
  label: string;
}

/**
 * Connects to the database and reads its handshake.
 *
 * @throws {BackendRefusedError} when the database answers with ERR (too many connections, blocked host)
 */
export async function connectMySql(spec: ConnectionSpec, label: string): Promise<MySqlBackend> {
  const socket = await tcpConnect(spec, label);
  socket.on("error", () => {});
  const reader = new PacketReader(socket, HANDSHAKE_MAX_PACKET, label);
  try {
    const first = await reader.next(CONNECT_TIMEOUT_MS);
    if (first.payload[0] === 0xff) throw new BackendRefusedError(first.payload, label);
    let handshake: ServerHandshake;
    try {
      handshake = decodeServerHandshake(first.payload);
    } catch (err) {
      throw new LmsError(
        "PROTOCOL_VIOLATION",
        `the ${label} at ${spec.host}:${spec.port} sent no MySQL handshake: ${
          (err as Error).message
        }`,
        "check that INIT_SOURCE points at a MySQL or MariaDB server",
      );
    }
    return { socket, reader, handshake, label };
  } catch (err) {
    reader.detach();
    socket.destroy();
    throw err;
  }
}

/**
 * Negotiates TLS with the database as `sslmode` says, sending an SSLRequest
 * (sequence id 1) with `hello`'s fields. Returns whether the connection is encrypted.
 *
 * @throws {LmsError} `BACKEND_TLS_REQUIRED` when sslmode requires TLS and the database offers none
 */
export async function negotiateBackendTls(
  backend: MySqlBackend,
  spec: ConnectionSpec,
  hello: ClientHello,
): Promise<boolean> {
  const offered = (backend.handshake.capabilities & Cap.SSL) !== 0;
  if (!wantsTls(spec) || !offered) {
    if (requiresTls(spec)) {
      throw new LmsError(
        "BACKEND_TLS_REQUIRED",
        `the ${backend.label} at ${spec.host}:${spec.port} does not offer TLS, but sslmode=${spec.sslmode}`,
        "enable TLS on the database (ssl-cert/ssl-key) or lower sslmode in the connection string",
      );
    }
    return false;
  }
  const rest = backend.reader.detach();
  if (rest.length > 0) {
    throw new LmsError(
      "PROTOCOL_VIOLATION",
      `the ${backend.label} sent data before the TLS handshake`,
    );
  }
  backend.socket.write(
    packet(1, encodeClientHello({ ...hello, capabilities: hello.capabilities | Cap.SSL })),
  );
  const secure = await upgradeBackend(backend.socket as net.Socket, spec);
  secure.on("error", () => {});
  backend.socket = secure;
  backend.reader = new PacketReader(secure, HANDSHAKE_MAX_PACKET, backend.label);
  return true;
}
