/**
 * Opening a session's connection on another database and bringing it to the
 * state the client expects: same database name and startup parameters,
 * session settings replayed, named prepared statements prepared again.
 * Used when a cutover moves a session to the new source of truth and for its
 * shadow. The connection logs in as the session's own user with the
 * session's credential (identity.ts), never as the configured service user;
 * of the connection string only the address and TLS settings are used (not a
 * client certificate: that is the service user's).
 *
 * @module
 */

import type { Duplex } from "node:stream";
import { LmsError } from "../../shared/errors.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { AuthResult } from "./auth.ts";
import { connectBackend } from "./backend.ts";
import { logIn } from "./backend_auth.ts";
import type { SessionIdentity } from "./identity.ts";
import {
  cstring,
  decodeFields,
  decodeParameterStatus,
  message,
  parse,
  query,
  SYNC,
  TERMINATE,
} from "./messages.ts";
import { SocketReader } from "./reader.ts";
import type { SessionState } from "./session_state.ts";
import { encodeStartupMessage } from "./startup.ts";

/** A database connection that already holds a session's state. */
export interface ReplayedBackend {
  /** The connected, authenticated socket, paused with no listeners of ours. */
  socket: Duplex;
  /** What the database reported at startup. */
  auth: AuthResult;
}

const CHAR_E = 0x45, CHAR_S = 0x53, CHAR_Z = 0x5a;

/**
 * Connects to `spec` as `identity`'s user, to the client's database, and
 * replays `state` there. Throws an {@linkcode LmsError} naming the statement
 * the database refused; an identity problem (no credential, login refused)
 * throws before anything is replayed (see `identityRefusal`).
 */
export async function openReplayedBackend(
  spec: ConnectionSpec,
  state: SessionState,
  label: string,
  identity: SessionIdentity,
): Promise<ReplayedBackend> {
  const login = identity.login(label);
  const socket = await connectBackend({ ...spec, sslcert: undefined, sslkey: undefined }, label);
  socket.on("error", () => {});
  const reader = new SocketReader(socket, 1 << 30, label);
  try {
    const params = new Map(state.startupParams);
    params.set("user", login.user);
    if (!params.has("database")) params.set("database", state.startupParams.get("user")!);
    socket.write(encodeStartupMessage(params));
    const auth = await logIn(socket, reader, login);
    const steps: string[] = [];
    const batch: Uint8Array[] = [];
    for (const statement of state.settings.values()) {
      batch.push(query(statement));
      steps.push(statement);
    }
    if (state.prepared.size > 0) {
      for (const p of state.prepared.values()) batch.push(parse(p.name, p.sql, p.paramTypes));
      batch.push(SYNC);
      steps.push(`prepare ${[...state.prepared.keys()].join(", ")}`);
    }
    for (const m of batch) socket.write(m);
    for (const step of steps) {
      for (;;) {
        const msg = await reader.next();
        if (msg.type === CHAR_E) {
          const f = decodeFields(msg.body);
          throw new LmsError(
            "BACKEND_UNAVAILABLE",
            `the ${label} refused to replay "${step}": ${f.get("M")} (SQLSTATE ${f.get("C")})`,
            "make the schema and settings of both databases match",
          );
        }
        if (msg.type === CHAR_S) {
          const [name, value] = decodeParameterStatus(msg.body);
          auth.parameters.set(name, value);
        }
        if (msg.type === CHAR_Z) break;
      }
    }
    const leftover = reader.detach();
    if (leftover.length > 0) {
      throw new LmsError("PROTOCOL_VIOLATION", `the ${label} sent unexpected data after replay`);
    }
    return { socket, auth };
  } catch (err) {
    reader.detach();
    socket.end(TERMINATE);
    socket.destroy();
    throw err;
  }
}

/**
 * ParameterStatus messages for the server parameters that differ on a new
 * database, so the client learns of them; records them in `state`.
 */
export function changedParameters(
  state: SessionState,
  parameters: Map<string, string>,
): Uint8Array[] {
  const known = state.serverParameters;
  const changed: Uint8Array[] = [];
  for (const [name, value] of parameters) {
    if (known.get(name) === value) continue;
    known.set(name, value);
    changed.push(message("S", cstring(name), cstring(value)));
  }
  return changed;
}
