/**
 * The connection phase's packets: the server's Initial Handshake (v10), the
 * client's SSLRequest and HandshakeResponse41, and the capability
 * negotiation between client, proxy and database.
 *
 * The proxy hands the client the database's own handshake with two changes:
 * the connection id is the proxy's (so `KILL` and Ctrl-C name the proxy), and
 * the capabilities are those the database offers and the proxy relays,
 * with TLS as the proxy's listener offers it. Of MariaDB's extended
 * capabilities only extended type information is relayed.
 *
 * @module
 */

import { Cap, SUPPORTED_CAPABILITIES, SUPPORTED_MARIADB_CAPABILITIES } from "./constants.ts";
import { LmsError } from "../../shared/errors.ts";
import { PayloadReader, PayloadWriter, TruncatedPayload } from "./packets.ts";

/** A decoded Initial Handshake packet (protocol 10). */
export interface ServerHandshake {
  serverVersion: string;
  connectionId: number;
  /** The scramble (auth plugin data), without a trailing NUL. */
  scramble: Uint8Array;
  capabilities: number;
  /** MariaDB's extended capabilities; undefined for MySQL servers (CLIENT_LONG_PASSWORD set). */
  mariadbCapabilities: number | undefined;
  charset: number;
  status: number;
  /** The default authentication plugin; `mysql_native_password` when not named. */
  authPlugin: string;
}

/** Decodes the database's Initial Handshake. */
export function decodeServerHandshake(payload: Uint8Array): ServerHandshake {
  const r = new PayloadReader(payload);
  const protocol = r.u8("protocol version");
  if (protocol !== 10) {
    throw new TruncatedPayload(`protocol version ${protocol} (only 10 is supported)`);
  }
  const serverVersion = r.cstr("server version");
  const connectionId = r.u32("connection id");
  const part1 = r.bytes(8, "scramble");
  r.u8();
  let capabilities = r.u16("capabilities");
  const charset = r.remaining > 0 ? r.u8() : 0;
  const status = r.remaining >= 2 ? r.u16() : 0;
  let scramble = part1;
  let authPlugin = "mysql_native_password";
  let mariadbCapabilities: number | undefined;
  if (r.remaining >= 2) {
    capabilities |= r.u16() << 16;
    capabilities >>>= 0;
    const dataLength = r.u8("scramble length");
    const reserved = new PayloadReader(r.bytes(10, "reserved bytes"), 6);
    if (!(capabilities & Cap.LONG_PASSWORD)) mariadbCapabilities = reserved.u32();
    if (capabilities & Cap.SECURE_CONNECTION) {
      const part2 = r.bytes(Math.max(13, dataLength - 8), "scramble part 2");
      const joined = new Uint8Array(8 + part2.length);
      joined.set(part1);
      joined.set(part2, 8);
      // The last byte is a NUL terminator, not scramble.
      scramble = joined[joined.length - 1] === 0 ? joined.subarray(0, joined.length - 1) : joined;
    }
    if (capabilities & Cap.PLUGIN_AUTH) authPlugin = r.cstr("auth plugin name", true);
  }
  return {
    serverVersion,
    connectionId,
    scramble,
    capabilities,
    mariadbCapabilities,
    charset,
    status,
    authPlugin,
  };
}

/** The handshake the proxy sends the client for the database's `server` handshake. */
export function encodeClientHandshake(
  server: ServerHandshake,
  connectionId: number,
  offerTls: boolean,
): Uint8Array {
  let caps = server.capabilities & SUPPORTED_CAPABILITIES;
  if (server.mariadbCapabilities === undefined) caps |= Cap.LONG_PASSWORD;
  if (offerTls) caps |= Cap.SSL;
  caps >>>= 0;
  const part2 = server.scramble.subarray(8);
  return new PayloadWriter()
    .u8(10)
    .cstr(server.serverVersion)
    .u32(connectionId)
    .bytes(server.scramble.subarray(0, 8))
    .u8(0)
    .u16(caps & 0xffff)
    .u8(server.charset)
    .u16(server.status)
    .u16(caps >>> 16)
    .u8(server.scramble.length + 1)
    .zeros(6)
    .u32((server.mariadbCapabilities ?? 0) & SUPPORTED_MARIADB_CAPABILITIES)
    .bytes(part2)
    .zeros(Math.max(0, 12 - part2.length) + 1)
    .cstr(server.authPlugin)
    .build();
}

/** The fixed part every client handshake answer starts with. */
export interface ClientHello {
  capabilities: number;
  maxPacket: number;
  charset: number;
  /** MariaDB extended capabilities (0 unless the client is a MariaDB client talking to MariaDB). */
  mariadbCapabilities: number;
}

/** A decoded HandshakeResponse41. */
export interface HandshakeResponse extends ClientHello {
  user: string;
  authResponse: Uint8Array;
  database: string;
  /** The plugin the auth response was made with. */
  authPlugin: string;
  /** The bytes after the 32-byte fixed part, as sent. */
  rest: Uint8Array;
}

/** The fixed 32-byte start of an SSLRequest or HandshakeResponse41. */
export function decodeClientHello(payload: Uint8Array): ClientHello {
  const r = new PayloadReader(payload);
  const capabilities = r.u32("client capabilities");
  if (!(capabilities & Cap.PROTOCOL_41)) {
    throw new LmsError(
      "PROTOCOL_VIOLATION",
      "the client does not speak CLIENT_PROTOCOL_41 (MySQL 4.1 and later); older clients are not supported",
      "use a current MySQL or MariaDB client library",
    );
  }
  const maxPacket = r.u32("max packet size");
  const charset = r.u8("character set");
  const reserved = new PayloadReader(r.bytes(23, "reserved bytes"), 19);
  const mariadbCapabilities = capabilities & Cap.LONG_PASSWORD ? 0 : reserved.u32();
  return { capabilities, maxPacket, charset, mariadbCapabilities };
}

/** Whether a client packet is an SSLRequest (the fixed part only, with CLIENT_SSL). */
export function isSslRequest(payload: Uint8Array): boolean {
  return payload.length === 32 && ((payload[1] << 8) & Cap.SSL) !== 0;
}

/** Decodes a HandshakeResponse41. */
export function decodeHandshakeResponse(payload: Uint8Array): HandshakeResponse {
  const hello = decodeClientHello(payload);
  const caps = hello.capabilities;
  const r = new PayloadReader(payload, 32);
  const user = r.cstr("user name");
  let authResponse: Uint8Array;
  if (caps & Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA) authResponse = r.lenencBytes("auth response");
  else if (caps & Cap.SECURE_CONNECTION) authResponse = r.bytes(r.u8("auth response length"));
  else authResponse = r.cstrBytes("auth response", true);
  const database = caps & Cap.CONNECT_WITH_DB && r.remaining > 0 ? r.cstr("database", true) : "";
  const authPlugin = caps & Cap.PLUGIN_AUTH && r.remaining > 0
    ? r.cstr("auth plugin", true)
    : "mysql_native_password";
  return { ...hello, user, authResponse, database, authPlugin, rest: payload.subarray(32) };
}

/**
 * The capabilities the proxy uses towards the database: what the client asked
 * for, limited to what the database offered and the proxy relays, with TLS as
 * the proxy's own connection to the database has it.
 */
export function backendCapabilities(client: number, server: number, tls: boolean): number {
  let caps = client & server & SUPPORTED_CAPABILITIES;
  caps = tls ? caps | Cap.SSL : caps & ~Cap.SSL;
  return caps >>> 0;
}

/** The fixed 32-byte part with `capabilities` (an SSLRequest when that has CLIENT_SSL). */
export function encodeClientHello(hello: ClientHello): Uint8Array {
  return new PayloadWriter().u32(hello.capabilities).u32(hello.maxPacket).u8(hello.charset)
    .zeros(19).u32(hello.mariadbCapabilities).build();
}

/** The MariaDB extended capabilities the proxy uses towards the database. */
export function backendMariaDbCapabilities(client: number, server: number | undefined): number {
  return client & (server ?? 0) & SUPPORTED_MARIADB_CAPABILITIES;
}

/** The client's HandshakeResponse41 re-addressed to the database with `capabilities`. */
export function encodeBackendResponse(
  response: HandshakeResponse,
  capabilities: number,
  mariadbCapabilities: number,
): Uint8Array {
  const hello = encodeClientHello({ ...response, capabilities, mariadbCapabilities });
  const out = new Uint8Array(32 + response.rest.length);
  out.set(hello);
  out.set(response.rest, 32);
  return out;
}
