/**
 * Logging in without MySQL: once the target (CockroachDB) is the source of
 * truth, the proxy runs the connection phase itself, from the source's
 * accounts recorded in the state store (`auth_accounts.ts`), so the
 * application's own users and passwords keep working after MySQL is gone.
 * (While the source is the source of truth, logins are relayed to it
 * instead, `auth.ts`: the source stays the judge of its own accounts.)
 *
 * The proxy sends its own handshake (a fresh 20-byte scramble, default plugin
 * `mysql_native_password`), finds the account as MySQL would
 * (`auth_hosts.ts`), switches the client to the account's plugin when it
 * answered with another one, and checks the answer (`auth_verify.ts`):
 *
 * - `mysql_native_password`: the scramble answer;
 * - `caching_sha2_password`: the fast path when this proxy saw the password
 *   in full before, else full authentication: over TLS the client sends the
 *   password itself; without TLS it asks for the proxy's RSA public key
 *   (`auth_rsa.ts`) and sends the password encrypted with it;
 * - MariaDB's `ed25519`: a signature of a fresh 32-byte nonce;
 * - any other plugin (PAM, LDAP, GSSAPI, unix_socket, ...) needs the source
 *   itself: refused with ERR 1235 saying so.
 *
 * A wrong password, or no matching account, gets MySQL's own
 * `ERROR 1045 (28000): Access denied for user 'u'@'h' (using password: YES)`.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";
import type { MySqlAccount } from "../../shared/mysql_accounts.ts";
import type { AccountBook } from "./auth_accounts.ts";
import { type CachingSha2Hash, cachingSha2Matches, parseCachingSha2 } from "./auth_sha256_crypt.ts";
import type { RsaKeyPair } from "./auth_rsa.ts";
import { ed25519Matches, type FastAuthCache, nativePasswordMatches } from "./auth_verify.ts";
import { SUPPORTED_CAPABILITIES } from "./constants.ts";
import type { HandshakeResponse, ServerHandshake } from "./handshake.ts";
import { packet, PayloadWriter } from "./packets.ts";

/** How long the client may take for each answer of the exchange. */
const ANSWER_TIMEOUT_MS = 30_000;
/** The version the proxy's own handshake announces. */
export const LOCAL_SERVER_VERSION = "8.0.36-lms";
/** utf8mb4_general_ci, which MySQL and MariaDB clients both know. */
const LOCAL_CHARSET = 45;
const STATUS_AUTOCOMMIT = 0x0002;

/** What verifying logins locally needs; shared by the sessions of one proxy. */
export interface LocalAuthContext {
  /** The source's accounts. */
  accounts: AccountBook;
  /** caching_sha2_password fast-path cache. */
  fastAuth: FastAuthCache;
  /** The proxy's RSA key pair (made when first needed). */
  rsa: () => RsaKeyPair;
  /** The CockroachDB user a MySQL user's sessions run as (`LMS_MYSQL_TARGET_USERS`, else the same name). */
  targetUser(mysqlUser: string): string;
  /** Counts each verification (`lms_mysql_local_logins_total`). */
  count(plugin: string, method: LoginMethod, outcome: "accepted" | "denied" | "unsupported"): void;
}

/** How a password was proven: a scramble answer, caching_sha2's fast path or full authentication, an ed25519 signature. */
export type LoginMethod = "scramble" | "fast" | "full-tls" | "full-rsa" | "signature" | "none";

/** A login the proxy verified itself. */
export interface LocalLogin {
  /** The account it matched. */
  account: MySqlAccount;
  /** The user name the client gave. */
  user: string;
  /** The client's host, as matched. */
  host: string;
  /** How the password was proven. */
  method: LoginMethod;
  /** The CockroachDB user the session runs as: never the LMS service user unless mapped to it. */
  targetUser: string;
  /** The server version the proxy's handshake told the client (what `SELECT VERSION()` answers). */
  serverVersion: string;
  /** The client's HandshakeResponse (capabilities, database, attributes). */
  response: HandshakeResponse;
  /** The sequence id the proxy's next packet to the client (its OK or ERR) must carry. */
  seq: number;
}

/** The client's password was wrong, or no account matched: MySQL's 1045. */
export class AccessDenied extends LmsError {
  /** The text of MySQL's error, which drivers show as is. */
  readonly mysqlMessage: string;
  /** Why, for the proxy's log when it is not just a wrong password (never sent to the client). */
  why: string | undefined;

  /**
   * @param user the user name the client gave
   * @param host the client's host
   * @param usingPassword whether the client sent a password
   */
  constructor(user: string, host: string, usingPassword: boolean) {
    const text = `Access denied for user '${user}'@'${host}' (using password: ${
      usingPassword ? "YES" : "NO"
    })`;
    super("AUTH_REFUSED", text);
    this.mysqlMessage = text;
  }

  /** Counted against LMS_AUTH_FAILURE_LIMIT, like the database's own 1045. */
  get authFailure(): boolean {
    return true;
  }
}

/** A 20-byte scramble as MySQL makes it: 7-bit bytes, never NUL or `$`. */
export function newScramble(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(20)).map((b) => {
    const c = b & 0x7f;
    return c === 0 || c === 0x24 ? c + 1 : c;
  });
}

/** The proxy's own handshake with `scramble` (the connection id is the session's, set when sent). */
export function localHandshake(scramble: Uint8Array): ServerHandshake {
  return {
    serverVersion: LOCAL_SERVER_VERSION,
    connectionId: 0,
    scramble,
    capabilities: SUPPORTED_CAPABILITIES,
    mariadbCapabilities: undefined,
    charset: LOCAL_CHARSET,
    status: STATUS_AUTOCOMMIT,
    authPlugin: "mysql_native_password",
  };
}

/** The plugin the client runs for each server plugin the proxy verifies. */
const CLIENT_PLUGIN: Record<string, string> = {
  mysql_native_password: "mysql_native_password",
  caching_sha2_password: "caching_sha2_password",
  ed25519: "client_ed25519",
};

/**
 * Where the exchange with the client runs: the client's socket and its
 * packet reader at login, or a translated backend's stream for
 * COM_CHANGE_USER (`proxy/translate/change_user.ts`).
 */
export interface AuthChannel {
  socket: { write(bytes: Uint8Array): unknown };
  reader: { next(timeoutMs?: number): Promise<{ seq: number; payload: Uint8Array }> };
}

class Exchange {
  readonly #leg: AuthChannel;
  readonly #seen: (seq: number) => void;
  seq: number;

  constructor(leg: AuthChannel, firstSeq: number, seen: (seq: number) => void) {
    this.#leg = leg;
    this.#seen = seen;
    this.seq = (firstSeq + 1) & 0xff;
  }

  send(payload: Uint8Array): void {
    this.#leg.socket.write(packet(this.seq, payload));
    this.seq = (this.seq + 1) & 0xff;
  }

  async receive(): Promise<Uint8Array> {
    const p = await this.#leg.reader.next(ANSWER_TIMEOUT_MS);
    if (p.seq !== this.seq) {
      throw new LmsError(
        "PROTOCOL_VIOLATION",
        `client sent packet sequence id ${p.seq} where ${this.seq} belongs`,
      );
    }
    this.#seen(p.seq);
    this.seq = (p.seq + 1) & 0xff;
    return p.payload;
  }

  /** AuthSwitchRequest to `plugin` with `data`; returns the client's answer. */
  switchTo(plugin: string, data: Uint8Array): Promise<Uint8Array> {
    this.send(new PayloadWriter().u8(0xfe).cstr(plugin).bytes(data).build());
    return this.receive();
  }
}

/**
 * Verifies the client whose HandshakeResponse (sequence id `firstSeq`)
 * answered `scramble`; returns the login, after which the caller sends OK.
 *
 * @param seen called with the sequence id of each client packet
 * @throws {AccessDenied} for a wrong password or an unknown account
 * @throws {LmsError} `NOT_SUPPORTED` for an account whose plugin the proxy cannot verify
 */
export async function verifyLocally(
  leg: AuthChannel,
  response: HandshakeResponse,
  firstSeq: number,
  scramble: Uint8Array,
  host: string,
  clientEncrypted: boolean,
  ctx: LocalAuthContext,
  seen: (seq: number) => void,
): Promise<LocalLogin> {
  const { user } = response;
  const denied = (usingPassword: boolean) => new AccessDenied(user, host, usingPassword);
  const account = await ctx.accounts.lookup(user, host);
  if (!account) {
    ctx.count("unknown", "none", "denied");
    const err = denied(response.authResponse.length > 0);
    if (ctx.accounts.size === 0) {
      err.why =
        "no MySQL accounts are recorded in the state store: run `molt-lms-cli initialize` " +
        "while the source is reachable, or let a proxy reach it once";
    }
    throw err;
  }
  const clientPlugin = CLIENT_PLUGIN[account.plugin];
  if (!clientPlugin) {
    ctx.count(account.plugin, "none", "unsupported");
    throw new LmsError(
      "NOT_SUPPORTED",
      `the account ${account.name} authenticates with ${account.plugin}, which only the MySQL ` +
        "source can check, and the target is the source of truth now; LMS verifies " +
        "mysql_native_password, caching_sha2_password and ed25519 accounts itself",
      "give the account one of those plugins on the source before the cutover, " +
        "or cut back over to the source",
    );
  }
  const x = new Exchange(leg, firstSeq, seen);
  const nonce = account.plugin === "ed25519"
    ? crypto.getRandomValues(new Uint8Array(32))
    : scramble;
  let token = response.authResponse;
  if (response.authPlugin !== clientPlugin) {
    const data = account.plugin === "ed25519" ? nonce : new Uint8Array([...scramble, 0]);
    token = await x.switchTo(clientPlugin, data);
  }
  let method: LoginMethod = account.plugin === "ed25519" ? "signature" : "scramble";
  let proven: boolean;
  switch (account.plugin) {
    case "mysql_native_password":
      proven = nativePasswordMatches(account.auth, scramble, token);
      break;
    case "ed25519":
      proven = ed25519Matches(account.auth, nonce, token);
      break;
    default: {
      const outcome = await cachingSha2(x, account, scramble, token, clientEncrypted, ctx);
      method = outcome.method;
      proven = outcome.proven;
    }
  }
  ctx.count(account.plugin, method, proven ? "accepted" : "denied");
  if (!proven) throw denied(token.length > 0);
  return {
    account,
    user,
    host,
    response,
    method,
    targetUser: ctx.targetUser(user),
    serverVersion: LOCAL_SERVER_VERSION,
    seq: x.seq,
  };
}

/** AuthMoreData: fast authentication succeeded; and: perform full authentication. */
const FAST_AUTH_OK = new Uint8Array([0x01, 0x03]);
const FULL_AUTH = new Uint8Array([0x01, 0x04]);
const REQUEST_PUBLIC_KEY = 0x02;

async function cachingSha2(
  x: Exchange,
  account: MySqlAccount,
  scramble: Uint8Array,
  token: Uint8Array,
  clientEncrypted: boolean,
  ctx: LocalAuthContext,
): Promise<{ proven: boolean; method: LoginMethod }> {
  if (account.auth.length === 0 || token.length === 0) {
    return { proven: account.auth.length === 0 && token.length === 0, method: "scramble" };
  }
  const stored: CachingSha2Hash | undefined = parseCachingSha2(account.auth);
  if (!stored) return { proven: false, method: "none" };
  const fast = ctx.fastAuth.check(account, scramble, token);
  if (fast !== undefined) {
    if (fast) x.send(FAST_AUTH_OK);
    return { proven: fast, method: "fast" };
  }
  x.send(FULL_AUTH);
  let answer = await x.receive();
  let password: Uint8Array;
  if (clientEncrypted) {
    password = answer[answer.length - 1] === 0 ? answer.subarray(0, answer.length - 1) : answer;
  } else {
    if (answer.length === 1 && answer[0] === REQUEST_PUBLIC_KEY) {
      x.send(new PayloadWriter().u8(0x01).str(ctx.rsa().publicPem).build());
      answer = await x.receive();
    }
    let plain: Uint8Array;
    try {
      plain = ctx.rsa().decrypt(answer);
    } catch {
      return { proven: false, method: "full-rsa" };
    }
    const unmasked = plain.map((b, i) => b ^ scramble[i % scramble.length]);
    password = unmasked[unmasked.length - 1] === 0
      ? unmasked.subarray(0, unmasked.length - 1)
      : unmasked;
  }
  const method = clientEncrypted ? "full-tls" : "full-rsa";
  if (!(await cachingSha2Matches(stored, password))) return { proven: false, method };
  ctx.fastAuth.remember(account, password);
  return { proven: true, method };
}
