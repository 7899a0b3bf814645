/**
 * The connection phase of a MySQL session: the source of truth is reached
 * first (after the pause gate), because its handshake carries the scramble
 * the client must answer; the client gets that handshake with the proxy's
 * connection id, TLS is negotiated on each leg as the listener and `sslmode`
 * say, the client's HandshakeResponse goes on to the database with the
 * negotiated capabilities, and the authentication exchange is relayed until
 * the database says OK. Refusals become ERR packets the client can read.
 *
 * When the target (CockroachDB) is the source of truth there is no MySQL to
 * relay to: the proxy sends its own handshake and verifies the client itself
 * (`auth_local.ts`), then hands the verified login to
 * {@linkcode LocalStartup.openTarget}, the seam where the CockroachDB
 * backend of MySQL sessions plugs in.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type net from "node:net";
import type { Duplex } from "node:stream";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { Route } from "../router.ts";
import type { CancelKey } from "../session/cancel_registry.ts";
import type { SessionContext } from "../session/context.ts";
import { ClientCertificateRejected } from "../pg/tls.ts";
import { Err, type ProxyErrorCode } from "./constants.ts";
import { errPayload, okPayload, packet, PayloadReader, TruncatedPayload } from "./packets.ts";
import {
  backendCapabilities,
  backendMariaDbCapabilities,
  decodeHandshakeResponse,
  encodeBackendResponse,
  encodeClientHandshake,
  type HandshakeResponse,
  isSslRequest,
} from "./handshake.ts";
import { BackendRefusedError, connectMySql, negotiateBackendTls } from "./backend.ts";
import { BackendAuthFailed, relayAuthExchange } from "./auth.ts";
import { CLEARTEXT_PLUGINS } from "./auth_cleartext.ts";
import { clientHost } from "./auth_hosts.ts";
import {
  AccessDenied,
  type LocalAuthContext,
  localHandshake,
  type LocalLogin,
  newScramble,
  verifyLocally,
} from "./auth_local.ts";
import { PacketReader } from "./reader.ts";

/** Largest packet accepted from a client before the command phase. */
const HANDSHAKE_MAX_PACKET = 1 << 20;

/** What the session core offers the handshake. */
export interface StartupCore {
  admit(): Promise<Route>;
  mintCancelKey(): CancelKey;
  readonly closed: boolean;
}

/** Where the handshake reports what it learnt, as it learns it. */
export interface StartupHooks {
  /** The client socket changed (TLS). */
  clientIs(socket: Duplex): void;
  /** The database connection is open; its thread id is the database's connection id. */
  backendIs(socket: Duplex, thread: number): void;
  /** The client said who it is. */
  identified(response: HandshakeResponse): void;
  /** Sequence id of the last packet of the connection phase (to number a refusal after it). */
  sequence(seq: number): void;
}

/** A session whose authentication succeeded. */
export interface StartedSession {
  client: Duplex;
  clientReader: PacketReader;
  backend: Duplex;
  backendReader: PacketReader;
  /** The capabilities both legs use. */
  capabilities: number;
  /** The status flags of the database's OK. */
  status: number;
  /** Whether the client leg is TLS. */
  clientEncrypted: boolean;
  /** The server version the client was told (MySQL's handshake). */
  serverVersion: string;
  /** MariaDB's extended capabilities both legs use. */
  mariadbCapabilities: number;
}

/** The client's leg once it said who it is. */
interface GreetedClient {
  client: Duplex;
  reader: PacketReader;
  /** The HandshakeResponse packet's sequence id. */
  seq: number;
  response: HandshakeResponse;
  clientEncrypted: boolean;
}

/**
 * Sends the client `handshake`, upgrades to TLS when it asks, and reads its
 * HandshakeResponse; a cleartext password over a plain connection is refused.
 */
async function greetClient(
  socket: Duplex,
  ctx: SessionContext,
  hooks: StartupHooks,
  handshake: Uint8Array,
): Promise<GreetedClient> {
  let client = socket;
  client.write(packet(0, handshake));
  hooks.sequence(0);
  const limit = Math.min(ctx.maxMessageSize, HANDSHAKE_MAX_PACKET);
  let reader = new PacketReader(client, limit, "client");
  let first = await reader.next();
  hooks.sequence(first.seq);
  let clientEncrypted = false;
  if (isSslRequest(first.payload)) {
    if (!ctx.tls) {
      throw new LmsError(
        "PROTOCOL_VIOLATION",
        "the client asked for TLS, which this proxy did not offer",
      );
    }
    // The client starts TLS right after its SSL request, without waiting for
    // an answer: what came with the request is the TLS ClientHello.
    const early = reader.detach();
    if (early.length > 0) (client as net.Socket).unshift(Buffer.from(early));
    client = await ctx.tls.upgrade(client as net.Socket);
    hooks.clientIs(client);
    clientEncrypted = true;
    reader = new PacketReader(client, limit, "client");
    first = await reader.next();
  } else if (ctx.tls?.verifiesClients) {
    throw new LmsError(
      "CLIENT_TLS_REQUIRED",
      "this proxy requires TLS with a client certificate",
      "connect with --ssl (ssl: {...} in drivers) and a client certificate and key",
    );
  }
  hooks.sequence(first.seq);
  const response = decodeHandshakeResponse(first.payload);
  hooks.identified(response);
  if (CLEARTEXT_PLUGINS.has(response.authPlugin) && !clientEncrypted) {
    throw new LmsError(
      "CLIENT_TLS_REQUIRED",
      `the client sent a cleartext password (${response.authPlugin}) over an unencrypted ` +
        "connection; it was not passed on",
      "connect to the proxy with TLS (--ssl) when the account needs a cleartext password",
    );
  }
  return { client, reader, seq: first.seq, response, clientEncrypted };
}

/** The client's leg, for a backend that takes over a locally verified session. */
export interface ClientLeg {
  socket: Duplex;
  reader: PacketReader;
  /** Whether it is TLS. */
  encrypted: boolean;
}

/**
 * The seam where a session the proxy authenticated itself (the target is the
 * source of truth, see `auth_local.ts`) gets its target backend: `openTarget`
 * opens it for the verified login, running as the CockroachDB user mapped
 * from the MySQL user; the proxy then sends the client its OK. When
 * `openTarget` is undefined (no target backend for MySQL sessions in this
 * build) a verified login is refused with ERR 1235 saying so, and a wrong
 * password still gets 1045.
 */
export interface LocalStartup<T> {
  auth: LocalAuthContext;
  openTarget: ((login: LocalLogin, client: ClientLeg) => Promise<T>) | undefined;
}

/** A session the proxy authenticated itself, with the backend `openTarget` made. */
export interface LocallyStarted<T> {
  kind: "local";
  login: LocalLogin;
  client: ClientLeg;
  backend: T;
}

/** What the connection phase yields: relayed to the source, or verified locally (when it can be). */
export type Started<T> = StartedSession | ([T] extends [never] ? never : LocallyStarted<T>);

/**
 * Runs the connection phase; returns undefined when the session closed meanwhile.
 *
 * @param local how to verify logins while the target is the source of truth
 * @throws {BackendAuthFailed} after relaying the database's refusal
 * @throws {AccessDenied} for a wrong password verified locally
 * @throws {LmsError} for everything the client is refused for
 */
export async function runMySqlStartup<T = never>(
  socket: Duplex,
  ctx: SessionContext,
  core: StartupCore,
  hooks: StartupHooks,
  local?: LocalStartup<T>,
): Promise<Started<T> | undefined> {
  const route = await core.admit();
  if (core.closed) return undefined;
  if (route.side === "target") {
    if (!local) {
      throw new LmsError(
        "NOT_SUPPORTED",
        "LMS cannot serve MySQL sessions from the target (CockroachDB) without INIT_TARGET",
        "configure INIT_TARGET for the proxy",
      );
    }
    return await startLocally(socket, ctx, core, hooks, local) as Started<T> | undefined;
  }
  let backend;
  try {
    backend = await connectMySql(route.spec, `${route.side} database`);
  } catch (err) {
    ctx.metrics.backendErrors.inc({ database: route.side });
    throw err;
  }
  hooks.backendIs(backend.socket, backend.handshake.connectionId);
  if (core.closed) return undefined;
  const key = core.mintCancelKey();
  const greeted = await greetClient(
    socket,
    ctx,
    hooks,
    encodeClientHandshake(backend.handshake, key.processId, !!ctx.tls),
  );
  const { client, reader, response, clientEncrypted } = greeted;
  const mariadbCapabilities = backendMariaDbCapabilities(
    response.mariadbCapabilities,
    backend.handshake.mariadbCapabilities,
  );
  const offered = backend.handshake.capabilities;
  const hello = {
    capabilities: backendCapabilities(response.capabilities, offered, false),
    maxPacket: response.maxPacket,
    charset: response.charset,
    mariadbCapabilities,
  };
  const backendTls = await negotiateBackendTls(backend, route.spec, hello);
  hooks.backendIs(backend.socket, backend.handshake.connectionId);
  const capabilities = backendCapabilities(response.capabilities, offered, backendTls);
  const backendSeq = backendTls ? 2 : 1;
  backend.socket.write(
    packet(backendSeq, encodeBackendResponse(response, capabilities, mariadbCapabilities)),
  );
  const ok = await relayAuthExchange(
    { socket: client, reader },
    { socket: backend.socket, reader: backend.reader },
    greeted.seq - backendSeq,
    clientEncrypted,
  );
  if (core.closed) return undefined;
  const r = new PayloadReader(ok, 1);
  r.lenenc();
  r.lenenc();
  return {
    client,
    clientReader: reader,
    backend: backend.socket,
    backendReader: backend.reader,
    capabilities,
    status: r.remaining >= 2 ? r.u16() : 0,
    clientEncrypted,
    serverVersion: backend.handshake.serverVersion,
    mariadbCapabilities,
  };
}

/** The connection phase without MySQL: the proxy's own handshake and verification. */
async function startLocally<T>(
  socket: Duplex,
  ctx: SessionContext,
  core: StartupCore,
  hooks: StartupHooks,
  local: LocalStartup<T>,
): Promise<LocallyStarted<T> | undefined> {
  const key = core.mintCancelKey();
  const scramble = newScramble();
  const greeted = await greetClient(
    socket,
    ctx,
    hooks,
    encodeClientHandshake(localHandshake(scramble), key.processId, !!ctx.tls),
  );
  const leg = { socket: greeted.client, reader: greeted.reader };
  const host = clientHost((socket as net.Socket).remoteAddress);
  const login = await verifyLocally(
    leg,
    greeted.response,
    greeted.seq,
    scramble,
    host,
    greeted.clientEncrypted,
    local.auth,
    hooks.sequence,
  );
  hooks.sequence(login.seq - 1);
  if (core.closed) return undefined;
  if (!local.openTarget) {
    throw new LmsError(
      "NOT_SUPPORTED",
      `LMS verified the password of '${login.user}'@'${host}' itself (the target is the ` +
        `source of truth), but this build cannot serve MySQL sessions from the target ` +
        `(CockroachDB, as its user '${login.targetUser}') yet`,
      "cut back over to the source (`cutover consistent begin` / `commit`) until MySQL " +
        "sessions on CockroachDB are available",
    );
  }
  const client = { ...leg, encrypted: greeted.clientEncrypted };
  const backend = await local.openTarget(login, client);
  if (core.closed) return undefined;
  client.socket.write(packet(login.seq, okPayload(0x0002)));
  return { kind: "local", login, client, backend };
}

/**
 * Tells a refused client why, as an ERR packet numbered `seq`, and returns
 * the socket to close (a TLS socket when the certificate check failed after
 * the handshake).
 */
export function refuseMySqlStartup(
  err: unknown,
  socket: Duplex,
  ctx: SessionContext,
  log: Logger,
  seq: number,
): Duplex {
  const client = err instanceof ClientCertificateRejected ? err.socket : socket;
  // The database's own refusal has been relayed already.
  if (err instanceof BackendAuthFailed) return client;
  if (err instanceof AccessDenied) {
    if (err.why) log.warn("login refused", { error: err.mysqlMessage, why: err.why });
    else log.info("login refused", { error: err.mysqlMessage });
    if (!client.destroyed) {
      client.write(packet(seq, errPayload(Err.ACCESS_DENIED, err.mysqlMessage)));
    }
    return client;
  }
  if (err instanceof BackendRefusedError) {
    if (!client.destroyed) client.write(packet(0, err.errPacket));
    return client;
  }
  const known = err instanceof LmsError;
  const code: ProxyErrorCode = err instanceof TruncatedPayload
    ? Err.HANDSHAKE_ERROR
    : !known
    ? Err.UNKNOWN_ERROR
    : err.code === "CLIENT_TLS_REQUIRED"
    ? Err.SECURE_TRANSPORT_REQUIRED
    : err.code === "TOO_MANY_CONNECTIONS"
    ? Err.CON_COUNT
    : err.code === "CLIENT_BLOCKED"
    ? Err.HOST_IS_BLOCKED
    : err.code === "HELD_LIMIT"
    ? Err.OUT_OF_RESOURCES
    : err.code === "MESSAGE_TOO_LARGE"
    ? Err.NET_PACKET_TOO_LARGE
    : err.code === "NOT_SUPPORTED"
    ? Err.NOT_SUPPORTED_YET
    : err.code === "PROTOCOL_VIOLATION"
    ? Err.HANDSHAKE_ERROR
    : Err.UNKNOWN_ERROR;
  const violation = err instanceof TruncatedPayload ||
    (known && (err.code === "PROTOCOL_VIOLATION" || err.code === "MESSAGE_TOO_LARGE"));
  if (violation) {
    ctx.metrics.protocolErrors.inc({
      kind: known ? (err as LmsError).code : "PROTOCOL_VIOLATION",
    });
  }
  log.warn("session refused", { error: errorMessage(err) });
  const text = err instanceof TruncatedPayload
    ? `LMS: bad handshake: ${err.message}`
    : err instanceof LmsError
    ? `LMS: ${err.describe()}`
    : `LMS internal error: ${errorMessage(err)}`;
  // After a refused certificate the client already sent its HandshakeResponse over TLS.
  const number = err instanceof ClientCertificateRejected ? seq + 1 : seq;
  if (!client.destroyed) client.write(packet(number, errPayload(code, text)));
  return client;
}
