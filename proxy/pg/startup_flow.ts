/**
 * The start of a PostgreSQL session, up to the steady state: SSLRequest and
 * GSSENCRequest answered, TLS negotiated, a CancelRequest served and the
 * connection closed, or the StartupMessage read; then the pause gate, the
 * connection to the source of truth, the client authenticated there (relayed,
 * or with the password the proxy asks for: `LMS_CLIENT_AUTH`), and the
 * shadow paired. Also how a refused start is told to the client.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type net from "node:net";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { SessionContext } from "../session/context.ts";
import type { SessionCore } from "../session/core.ts";
import { BackendRejectedError, type RelayedAuth } from "./auth.ts";
import { authenticateClient } from "./client_auth.ts";
import { connectBackend } from "./backend.ts";
import { FramingError, UnreadableStartupPacket } from "./framing.ts";
import { type ErrorFields, errorResponse } from "./messages.ts";
import { SocketReader } from "./reader.ts";
import type { ReplayedBackend } from "./replay.ts";
import { SessionState } from "./session_state.ts";
import { decodeStartupPacket, encodeStartupMessage } from "./startup.ts";
import { ClientCertificateRejected } from "./tls.ts";
import { interned } from "./interned.ts";

/** Largest message accepted from a database: PostgreSQL's own 1 GiB limit. */
export const BACKEND_MAX_MESSAGE = 1 << 30;

/** What the startup tells its session as it goes, so closing mid-startup releases everything. */
export interface StartupHooks {
  /** The client socket is now `socket` (TLS was negotiated). */
  clientIs(socket: Duplex): void;
  /** The client's StartupMessage arrived; `state` tracks the session from now on. */
  started(state: SessionState): void;
  /** A connection to the source of truth is open for the session. */
  backendIs(backend: Duplex): void;
  /**
   * The source of truth accepted the client; `auth` holds its cancel key,
   * parameters and the credential the session carries to other databases.
   */
  authenticated(auth: RelayedAuth): void;
}

/** A session ready for the steady state. */
export interface StartedSession {
  /** Reads the client; detach it to take the bytes it read ahead. */
  reader: SocketReader;
  /** Reads the source of truth; detach it likewise. */
  backendReader: SocketReader;
}

/**
 * Runs the start of the session on `client`. Resolves with the session
 * ready to relay, "cancel" when the connection carried a CancelRequest (served
 * and closed), or undefined when the session closed meanwhile. Throws what
 * {@linkcode refuseStartup} turns into the client's error.
 */
export async function runStartup(
  client: Duplex,
  ctx: SessionContext,
  core: SessionCore<ReplayedBackend>,
  hooks: StartupHooks,
): Promise<StartedSession | "cancel" | undefined> {
  let reader = new SocketReader(client, ctx.maxMessageSize, "client");
  let encrypted = false;
  let state: SessionState;
  for (;;) {
    const packet = decodeStartupPacket((await reader.nextStartup()).body);
    if (packet.kind === "ssl" && ctx.tls && !encrypted) {
      if (reader.pending > 0) {
        throw new FramingError("PROTOCOL_VIOLATION", "client sent data after SSLRequest");
      }
      reader.detach();
      client.write("S");
      client = await ctx.tls.upgrade(client as net.Socket);
      hooks.clientIs(client);
      reader = new SocketReader(client, ctx.maxMessageSize, "client");
      encrypted = true;
    } else if (packet.kind === "ssl" || packet.kind === "gssenc") {
      client.write("N");
    } else if (packet.kind === "cancel") {
      reader.detach();
      const found = await ctx.cancels.cancel(packet.processId, packet.secretKey);
      const relayed = !found && ctx.forwardCancel(packet.processId, packet.secretKey);
      ctx.metrics.cancelRequests.inc({
        outcome: found ? "forwarded" : relayed ? "sent to another proxy" : "unknown",
      });
      core.close();
      return "cancel";
    } else {
      if (ctx.tls?.verifiesClients && !encrypted) {
        throw new LmsError(
          "CLIENT_TLS_REQUIRED",
          "this proxy requires TLS with a client certificate",
          "connect with sslmode=require (or stricter) and sslcert/sslkey",
        );
      }
      state = new SessionState(packet.params, (outcome) => {
        ctx.metrics.observeQuery(
          core.side ?? "source",
          outcome.failed,
          (performance.now() - outcome.startedAt) / 1000,
        );
      });
      hooks.started(state);
      break;
    }
  }
  const route = await core.admit();
  const label = `${route.side} database`;
  let backend: Duplex;
  try {
    backend = await connectBackend(route.spec, label);
  } catch (err) {
    ctx.metrics.backendErrors.inc({ database: route.side });
    throw err;
  }
  if (core.closed) {
    backend.destroy();
    return undefined;
  }
  hooks.backendIs(backend);
  backend.on("error", () => {});
  backend.write(encodeStartupMessage(state.startupParams));
  const backendReader = new SocketReader(backend, BACKEND_MAX_MESSAGE, label);
  const key = core.mintCancelKey();
  const auth = await authenticateClient(ctx.identity, {
    client,
    clientReader: reader,
    encrypted,
    backend,
    backendReader,
    proxyKey: key,
    side: route.side,
    user: state.startupParams.get("user") ?? "",
  });
  if (core.closed) return undefined;
  hooks.authenticated(auth);
  for (const [k, v] of auth.parameters) state.serverParameters.set(interned(k), interned(v));
  // Through the shared logger: `core.log` would build a child logger that an idle session keeps.
  ctx.log.debug("session started", {
    session: core.id,
    client: core.clientAddress,
    user: core.user,
    database: core.database,
    side: route.side,
  });
  await core.pairShadow();
  if (core.closed) return undefined;
  return { reader, backendReader };
}

/**
 * Tells the client why its session was refused (unless the database's own
 * refusal already reached it), counts and logs it. Returns the socket the
 * client is on now: the TLS socket when its certificate was refused.
 */
export function refuseStartup(
  err: unknown,
  client: Duplex,
  ctx: SessionContext,
  log: Logger,
): Duplex {
  if (err instanceof ClientCertificateRejected) client = err.socket;
  if (err instanceof BackendRejectedError) return client;
  if (err instanceof UnreadableStartupPacket) {
    // What PostgreSQL does too: a client that cannot even frame its first packet gets no answer.
    ctx.metrics.protocolErrors.inc({ kind: err.code });
    log.warn("closed a connection whose startup packet cannot be read", { error: err.message });
    return client;
  }
  if (
    err instanceof LmsError &&
    (err.code === "PROTOCOL_VIOLATION" || err.code === "MESSAGE_TOO_LARGE")
  ) {
    ctx.metrics.protocolErrors.inc({ kind: err.code });
  }
  log.warn("session refused", { error: errorMessage(err) });
  if (!client.destroyed) client.write(errorResponse(refusalFields(err)));
  return client;
}

/** The FATAL error for a refused start. */
function refusalFields(err: unknown): ErrorFields {
  const known = err instanceof LmsError;
  const code = !known
    ? "XX000"
    : err.code === "BACKEND_UNAVAILABLE" || err.code === "BACKEND_TLS_REQUIRED" ||
        err.code === "BACKEND_LOST"
    ? "08006"
    : err.code === "CLIENT_TLS_REQUIRED" || err.code === "CLIENT_BLOCKED"
    ? "28000"
    : err.code === "TOO_MANY_CONNECTIONS"
    ? "53300"
    : err.code === "HELD_LIMIT"
    ? "53400"
    : err.code === "MESSAGE_TOO_LARGE"
    ? "54000"
    : "08P01";
  return {
    severity: "FATAL",
    code,
    message: known ? err.message : `LMS internal error: ${errorMessage(err)}`,
    hint: known && err.hint ? err.hint : undefined,
  };
}
