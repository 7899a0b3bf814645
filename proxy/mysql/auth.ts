/**
 * Authentication relayed to the database, so the application's own users,
 * passwords and plugins work unchanged: the client answers the database's
 * scramble (the proxy's handshake carries it), and whatever exchange the
 * database then runs is relayed packet by packet in both directions until the
 * database says OK or ERR: `AuthSwitchRequest` (0xFE), `AuthMoreData` (0x01:
 * caching_sha2_password's fast-auth result, its request for full
 * authentication, its RSA public key) and the client's answers. The proxy
 * never sees a password except where the plugin itself sends it in clear.
 *
 * Sequence ids differ between the legs while TLS is negotiated separately on
 * each (an SSLRequest takes a sequence id), so each relayed packet is
 * renumbered by the difference.
 *
 * A cleartext password (`mysql_clear_password`, what PAM and LDAP plugins ask
 * for, or MariaDB's `dialog`) is only relayed when the client's connection to
 * the proxy is encrypted; otherwise the client is refused before it sends it
 * (see `auth_cleartext.ts`).
 *
 * @module
 */

import type { Duplex } from "node:stream";
import { LmsError } from "../../shared/errors.ts";
import { Err } from "./constants.ts";
import { cleartextRefusal, cleartextRefused, cleartextSwitch } from "./auth_cleartext.ts";
import { decodeErr, errPayload, packet } from "./packets.ts";
import type { PacketReader } from "./reader.ts";

/** How long an authentication exchange may take in total. */
export const AUTH_TIMEOUT_MS = 30_000;

/** The database refused the login; its ERR packet was relayed to the client. */
export class BackendAuthFailed extends LmsError {
  /** The database's error code (1045 for a wrong password). */
  readonly mysqlCode: number;

  /** @param payload the ERR payload the database sent */
  constructor(payload: Uint8Array) {
    const err = decodeErr(payload);
    super("BACKEND_UNAVAILABLE", `the database refused the login: ${err.code} ${err.message}`);
    this.mysqlCode = err.code;
  }

  /** Access denied (1045, 1698): counted against LMS_AUTH_FAILURE_LIMIT. */
  get authFailure(): boolean {
    return this.mysqlCode === 1045 || this.mysqlCode === 1698;
  }
}

/** One leg of the exchange. */
export interface AuthLeg {
  socket: Duplex;
  reader: PacketReader;
}

/** Copies a raw packet with another sequence id. */
export function renumber(raw: Uint8Array, seq: number): Uint8Array {
  const out = raw.slice();
  out[3] = seq & 0xff;
  return out;
}

/**
 * Relays the exchange after the client's HandshakeResponse (or COM_CHANGE_USER)
 * reached the database, until the database sends OK (returned) or ERR.
 *
 * @param delta client sequence id minus database sequence id of the same packet
 * @param clientEncrypted whether the client leg is TLS
 * @throws {BackendAuthFailed} after relaying the database's ERR
 * @throws {LmsError} when either side leaves, breaks the framing or times out
 */
export async function relayAuthExchange(
  client: AuthLeg,
  backend: AuthLeg,
  delta: number,
  clientEncrypted: boolean,
): Promise<Uint8Array> {
  const deadline = Date.now() + AUTH_TIMEOUT_MS;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new LmsError(
        "PROTOCOL_VIOLATION",
        `authentication did not finish within ${AUTH_TIMEOUT_MS} ms`,
        "check the client's authentication plugin settings",
      );
    }
    await Promise.race([client.reader.waitReady(left), backend.reader.waitReady(left)]);
    const fromBackend = backend.reader.take();
    if (fromBackend) {
      const first = fromBackend.payload[0];
      const cleartext = clientEncrypted ? undefined : cleartextSwitch(fromBackend.payload);
      if (cleartext) {
        client.socket.write(packet(
          fromBackend.seq + delta,
          errPayload(Err.SECURE_TRANSPORT_REQUIRED, cleartextRefusal(cleartext)),
        ));
        throw cleartextRefused(cleartext);
      }
      client.socket.write(renumber(fromBackend.raw, fromBackend.seq + delta));
      if (first === 0x00) return fromBackend.payload;
      if (first === 0xff) throw new BackendAuthFailed(fromBackend.payload);
      continue;
    }
    const fromClient = client.reader.take();
    if (fromClient) backend.socket.write(renumber(fromClient.raw, fromClient.seq - delta));
  }
}
