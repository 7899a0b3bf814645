/**
 * COM_CHANGE_USER for a session served from CockroachDB (after a cutover,
 * with MySQL possibly gone): the proxy verifies the new user's password
 * itself against the source's recorded accounts, as it does for a new
 * connection (`proxy/mysql/auth_local.ts`), and the backend then switches
 * the session to the CockroachDB user mapped from it.
 *
 * The client computes the answer in COM_CHANGE_USER from the scramble of
 * the connection's first handshake, which was MySQL's when the session
 * started there; so the proxy always answers with an AuthSwitchRequest
 * carrying a fresh scramble of its own (a MySQL server does the same when
 * the plugins differ) and verifies the answer to that. The exchange's
 * packets reach the backend as commands do; `AuthInbox` hands them to the
 * verification instead of the command queue while it runs.
 *
 * @module
 */

import { Cap } from "../mysql/constants.ts";
import { clientHost } from "../mysql/auth_hosts.ts";
import {
  AccessDenied,
  type LocalAuthContext,
  type LocalLogin,
  newScramble,
  verifyLocally,
} from "../mysql/auth_local.ts";
import type { HandshakeResponse } from "../mysql/handshake.ts";
import { PayloadReader } from "../mysql/packets.ts";
import { LmsError } from "../../shared/errors.ts";
import type { MySqlError } from "./error_map.ts";

/** One packet of the exchange, as the client sent it. */
export interface InboxPacket {
  seq: number;
  payload: Uint8Array;
}

/** The client's packets during an exchange, in order. */
export class AuthInbox {
  readonly #packets: InboxPacket[] = [];
  #waiting: ((p: InboxPacket) => void) | undefined;

  /** A packet from the client. */
  push(p: InboxPacket): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) waiting(p);
    else this.#packets.push(p);
  }

  /**
   * The next packet.
   *
   * @throws {LmsError} `CLIENT_TIMEOUT` when none comes within `timeoutMs`
   */
  next(timeoutMs = 30_000): Promise<InboxPacket> {
    const p = this.#packets.shift();
    if (p) return Promise.resolve(p);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(
          new LmsError(
            "TIMEOUT",
            `the client did not answer the COM_CHANGE_USER exchange within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#waiting = (packet) => {
        clearTimeout(timer);
        resolve(packet);
      };
    });
  }
}

/** What COM_CHANGE_USER asks for: the user and the database (the rest is for the exchange). */
export interface ChangeUserRequest {
  user: string;
  database: string;
  charset: number;
}

/** Decodes COM_CHANGE_USER (MySQL's layout, as `proxy/mysql/auth_cleartext.ts` reads it). */
export function decodeChangeUser(payload: Uint8Array, capabilities: number): ChangeUserRequest {
  const r = new PayloadReader(payload, 1);
  const user = r.cstr("user name");
  if (capabilities & Cap.SECURE_CONNECTION) r.bytes(r.u8("auth response length"), "auth response");
  else r.cstrBytes("auth response", true);
  const database = r.cstr("database", true);
  const charset = r.remaining >= 2 ? r.u16("character set") : 45;
  return { user, database, charset };
}

/** The outcome of the exchange: the login, or the error to answer; `seq` numbers the answer. */
export type ChangeUserOutcome =
  | { kind: "login"; login: LocalLogin; request: ChangeUserRequest; seq: number }
  | { kind: "error"; error: MySqlError; seq: number };

/**
 * Runs the exchange for the COM_CHANGE_USER `payload` (sequence id 0):
 * the AuthSwitchRequest and what the account's plugin needs after it.
 *
 * @param send writes a packet to the client
 * @param inbox the client's packets of the exchange
 * @param remoteAddress the client's address, for the account's host pattern
 */
export async function verifyChangeUser(
  payload: Uint8Array,
  capabilities: number,
  clientEncrypted: boolean,
  remoteAddress: string,
  auth: LocalAuthContext,
  send: (bytes: Uint8Array) => void,
  inbox: AuthInbox,
): Promise<ChangeUserOutcome> {
  const request = decodeChangeUser(payload, capabilities);
  const response: HandshakeResponse = {
    capabilities,
    maxPacket: 0,
    charset: request.charset,
    mariadbCapabilities: 0,
    user: request.user,
    // Made for the first handshake's scramble: never checked, the switch asks again.
    authResponse: new Uint8Array(0),
    database: request.database,
    authPlugin: "",
    rest: new Uint8Array(0),
  };
  let last = 0;
  const host = clientHost(remoteAddress);
  try {
    const login = await verifyLocally(
      { socket: { write: send }, reader: inbox },
      response,
      0,
      newScramble(),
      host,
      clientEncrypted,
      auth,
      (seq) => (last = seq),
    );
    return { kind: "login", login, request, seq: login.seq };
  } catch (err) {
    const seq = (last + 1) & 0xff;
    if (err instanceof AccessDenied) {
      return { kind: "error", error: { code: 1045, sqlState: "28000", message: err.message }, seq };
    }
    if (err instanceof LmsError && err.code === "NOT_SUPPORTED") {
      return {
        kind: "error",
        error: { code: 1235, sqlState: "42000", message: `LMS: ${err.message}` },
        seq,
      };
    }
    throw err;
  }
}
