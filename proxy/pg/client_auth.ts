/**
 * How a client is authenticated, as `LMS_CLIENT_AUTH` says:
 * - `relay` (default): the database asks, the client answers, the proxy
 *   carries the messages and learns the session's credential (auth.ts,
 *   identity.ts);
 * - `cleartext`: the proxy asks the client for its password itself
 *   (AuthenticationCleartextPassword), only over TLS unless
 *   `LMS_ALLOW_CLEARTEXT_WITHOUT_TLS` forces it, and logs in to the source of
 *   truth with it by whatever method that database asks for. The password is
 *   the session's credential for the other database: it works there however
 *   the verifier was made, as long as the password is the same.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type { DatabaseSide } from "../../shared/control.ts";
import { LmsError } from "../../shared/errors.ts";
import { BackendRejectedError, relayAuthentication, type RelayedAuth } from "./auth.ts";
import { logIn, LoginFailedError, LoginRefusedError } from "./backend_auth.ts";
import type { ClientAuthSettings, IdentityContext } from "../session/identity_context.ts";
import { IdentityRecorder, SessionIdentity } from "./identity.ts";
import {
  backendKeyData,
  concat,
  cstring,
  errorResponse,
  int32,
  message,
  readCString,
} from "./messages.ts";
import type { SocketReader } from "./reader.ts";

/** One client's authentication. */
export interface ClientAuthRequest {
  /** The client socket. */
  client: Duplex;
  /** Reads the client's messages. */
  clientReader: SocketReader;
  /** Whether the client's connection is TLS. */
  encrypted: boolean;
  /** The database socket, StartupMessage already sent. */
  backend: Duplex;
  /** Reads the database's messages. */
  backendReader: SocketReader;
  /** The cancel key the client gets instead of the database's. */
  proxyKey: { processId: number; secretKey: number };
  /** The database the client is authenticated against. */
  side: DatabaseSide;
  /** The startup packet's user. */
  user: string;
}

const CHAR_P = 0x70;

/**
 * Authenticates the client as `LMS_CLIENT_AUTH` says, up to the first
 * ReadyForQuery; errors the client already got raise {@linkcode BackendRejectedError}.
 */
export function authenticateClient(
  identity: IdentityContext,
  req: ClientAuthRequest,
): Promise<RelayedAuth> {
  if (identity.clientAuth.mode === "relay") {
    return relayAuthentication(
      req.client,
      req.clientReader,
      req.backend,
      req.backendReader,
      req.proxyKey,
      new IdentityRecorder(req.user, identity.lookupFor(req.side)),
    );
  }
  return cleartext(identity.clientAuth, req);
}

async function cleartext(
  settings: ClientAuthSettings,
  req: ClientAuthRequest,
): Promise<RelayedAuth> {
  if (!req.encrypted && !settings.allowWithoutTls) {
    throw new LmsError(
      "CLIENT_TLS_REQUIRED",
      "this proxy asks for the password in clear text, and only over TLS",
      "connect with sslmode=require (or stricter)",
    );
  }
  req.client.write(message("R", int32(3)));
  const answer = await req.clientReader.next();
  if (answer.type !== CHAR_P) {
    throw new LmsError(
      "PROTOCOL_VIOLATION",
      `expected a password message from the client, got type ${answer.type}`,
    );
  }
  const password = readCString(answer.body, 0)[0];
  let auth;
  try {
    auth = await logIn(req.backend, req.backendReader, {
      user: req.user,
      credential: { kind: "password", password },
      label: `${req.side} database`,
      origin: "the client's password",
      hint: "",
    });
  } catch (err) {
    // The client gets the database's own error, as when authentication is relayed.
    const server = err instanceof LoginRefusedError || err instanceof LoginFailedError
      ? err.server
      : undefined;
    if (!server) throw err;
    req.client.write(
      errorResponse({ severity: "FATAL", code: server.sqlstate, message: server.message }),
    );
    throw new BackendRejectedError(server.sqlstate, server.message);
  }
  // One write for the whole answer: less garbage per login than one per message.
  const welcome = [message("R", int32(0))];
  for (const [name, value] of auth.parameters) {
    welcome.push(message("S", cstring(name), cstring(value)));
  }
  welcome.push(backendKeyData(req.proxyKey.processId, req.proxyKey.secretKey));
  welcome.push(message("Z", new Uint8Array([auth.txStatus])));
  req.client.write(concat(...welcome));
  return {
    ...auth,
    identity: new SessionIdentity(req.user, "password", { kind: "password", password }),
  };
}
