/**
 * Authentication relayed between the client and the source of truth, so the
 * application's own credentials keep working: the database asks, the client
 * answers, the proxy carries the messages. Trust, cleartext password, MD5 and
 * SCRAM-SHA-256 pass through unchanged, and a recorder learns from the
 * exchange which credential the session carries to other databases.
 *
 * Two rewrites are needed. The database's SCRAM-SHA-256-PLUS offer is removed:
 * channel binding would bind the client to the proxy's TLS certificate, which
 * the database cannot match. And BackendKeyData is replaced by the proxy's own
 * key, sent just before the first ReadyForQuery (also when the database sends
 * none), so cancel requests come to the proxy.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import { LmsError } from "../../shared/errors.ts";
import {
  backendKeyData,
  concat,
  cstring,
  decodeFields,
  message,
  readCString,
  readInt32,
} from "./messages.ts";
import type { SocketReader } from "./reader.ts";
import type { IdentityRecorder, SessionIdentity } from "./identity.ts";

/** What the database told the proxy while the session was set up. */
export interface AuthResult {
  /** The database's own cancel key for this session. */
  backendProcessId: number;
  /** The database's own cancel secret for this session. */
  backendSecretKey: number;
  /** ParameterStatus messages received, in order. */
  parameters: Map<string, string>;
  /** Transaction status of the first ReadyForQuery. */
  txStatus: number;
}

/** A relayed authentication: what the database said, and the identity the client proved. */
export interface RelayedAuth extends AuthResult {
  /** The credential the session carries to other databases (see identity.ts). */
  identity: SessionIdentity;
}

/** An error the database returned during authentication (already sent to the client). */
export class BackendRejectedError extends LmsError {
  /** SQLSTATE the database sent. */
  readonly sqlstate: string;
  constructor(sqlstate: string, text: string) {
    super("BACKEND_UNAVAILABLE", `database refused the session: ${text}`);
    this.sqlstate = sqlstate;
  }

  /** Invalid password or authorization (class 28): counted against LMS_AUTH_FAILURE_LIMIT. */
  get authFailure(): boolean {
    return this.sqlstate.startsWith("28");
  }
}

const AUTH_OK = 0;
const AUTH_CLEARTEXT = 3;
const AUTH_MD5 = 5;
const AUTH_SASL = 10;
const AUTH_SASL_CONTINUE = 11;
const AUTH_SASL_FINAL = 12;

const CHAR_R = 0x52, CHAR_E = 0x45, CHAR_K = 0x4b, CHAR_Z = 0x5a, CHAR_S = 0x53, CHAR_P = 0x70;

function withoutChannelBinding(body: Uint8Array): Uint8Array {
  const mechanisms: string[] = [];
  let at = 4;
  while (at < body.length && body[at] !== 0) {
    const [name, next] = readCString(body, at);
    if (name !== "SCRAM-SHA-256-PLUS") mechanisms.push(name);
    at = next;
  }
  return message(
    "R",
    new Uint8Array(body.subarray(0, 4)),
    ...mechanisms.map(cstring),
    new Uint8Array(1),
  );
}

/**
 * Refuses a SASLInitialResponse whose GS2 flag is `y` ("I support channel
 * binding, the server seems not to") when the database did offer
 * SCRAM-SHA-256-PLUS and LMS hid it. A database on TLS rejects that flag as a
 * downgrade attack, with an error that does not say the proxy is why; libpq
 * sends it by default (`channel_binding=prefer`) whenever its own leg is TLS.
 */
function checkGs2Flag(saslInitial: Uint8Array, databaseOfferedPlus: boolean): void {
  const [mechanism, at] = readCString(saslInitial, 0);
  if (!databaseOfferedPlus || mechanism !== "SCRAM-SHA-256" || saslInitial[at + 4] !== 0x79) {
    return;
  }
  throw new LmsError(
    "NOT_SUPPORTED",
    "SCRAM channel binding cannot pass through LMS: the client offers it over TLS, " +
      "and the database, also on TLS, would refuse the login",
    "set channel_binding=disable in the client's connection string, " +
      "or connect to LMS without TLS",
  );
}

/**
 * Relays authentication until the database's first ReadyForQuery.
 *
 * @param client the client socket; the database's messages are written here
 * @param clientReader reads the client's password/SASL messages
 * @param backend the database socket, StartupMessage already sent
 * @param backendReader reads the database's messages
 * @param proxyKey the cancel key the client gets instead of the database's
 * @param recorder learns the session's identity from the exchange
 */
export async function relayAuthentication(
  client: Duplex,
  clientReader: SocketReader,
  backend: Duplex,
  backendReader: SocketReader,
  proxyKey: { processId: number; secretKey: number },
  recorder: IdentityRecorder,
): Promise<RelayedAuth> {
  const parameters = new Map<string, string>();
  let backendProcessId = 0;
  let backendSecretKey = 0;
  // Messages the client does not answer are sent together: one socket write
  // instead of one per ParameterStatus leaves less garbage per login.
  let queued: Uint8Array[] = [];
  const toClient = (msg: Uint8Array) => queued.push(msg);
  const flush = () => {
    if (queued.length === 0) return;
    client.write(queued.length === 1 ? queued[0] : concat(...queued));
    queued = [];
  };
  const relayClientAnswer = async (check: (body: Uint8Array) => void = () => {}) => {
    flush();
    const answer = await clientReader.next();
    if (answer.type !== CHAR_P) {
      throw new LmsError(
        "PROTOCOL_VIOLATION",
        `expected a password message from the client, got type ${answer.type}`,
      );
    }
    check(answer.body);
    recorder.clientAnswered(answer.body);
    backend.write(message("p", answer.body));
  };
  try {
    for (;;) {
      const msg = await backendReader.next();
      switch (msg.type) {
        case CHAR_R: {
          const code = readInt32(msg.body, 0);
          recorder.serverAsked(code, msg.body);
          if (code === AUTH_SASL) {
            const offered = withoutChannelBinding(msg.body);
            toClient(offered);
            // Shorter than the database's message: SCRAM-SHA-256-PLUS was removed.
            const plus = offered.length < msg.body.length + 5;
            await relayClientAnswer((body) => checkGs2Flag(body, plus));
          } else if (code === AUTH_CLEARTEXT || code === AUTH_MD5 || code === AUTH_SASL_CONTINUE) {
            toClient(message("R", msg.body));
            await relayClientAnswer();
          } else if (code === AUTH_OK || code === AUTH_SASL_FINAL) {
            toClient(message("R", msg.body));
          } else {
            throw new LmsError(
              "BACKEND_UNAVAILABLE",
              `the database asked for authentication method ${code}, which LMS cannot relay`,
              "use trust, password, md5 or scram-sha-256 for connections from the proxy",
            );
          }
          break;
        }
        case CHAR_K:
          backendProcessId = readInt32(msg.body, 0);
          backendSecretKey = readInt32(msg.body, 4);
          break;
        case CHAR_E: {
          toClient(message("E", msg.body));
          const fields = decodeFields(msg.body);
          throw new BackendRejectedError(fields.get("C") ?? "", fields.get("M") ?? "");
        }
        case CHAR_S: {
          const [name, at] = readCString(msg.body, 0);
          parameters.set(name, readCString(msg.body, at)[0]);
          toClient(message("S", msg.body));
          break;
        }
        case CHAR_Z:
          toClient(backendKeyData(proxyKey.processId, proxyKey.secretKey));
          toClient(message("Z", msg.body));
          flush();
          return {
            backendProcessId,
            backendSecretKey,
            parameters,
            txStatus: msg.body[0],
            identity: await recorder.identity(),
          };
        default:
          toClient(message(String.fromCharCode(msg.type), msg.body));
      }
    }
  } catch (err) {
    // What the database said before failing still reaches the client, as it arrived.
    flush();
    throw err;
  }
}
