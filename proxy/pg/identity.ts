/**
 * Which credential a session carries: the proof that lets the proxy log in
 * to another database as the very user the client authenticated as, when the
 * session moves after a cutover or opens its shadow. Never the service user.
 *
 * It is learnt while the client's authentication is relayed to the source of
 * truth (see auth.ts), as PgBouncer users know it:
 * - trust: no password; another database must trust the user too;
 * - `password` (cleartext): the proxy saw the password and keeps it, in
 *   memory only, for the life of the session;
 * - MD5: the stored `md5…` hash, read with the auth query, answers any MD5
 *   challenge for that user;
 * - SCRAM-SHA-256: the client's keys, recovered from its proof and the
 *   verifier read with the auth query (scram_passthrough.ts); they work where
 *   the user has the same verifier.
 *
 * Where none works, the session core (`proxy/session/identity_context.ts`)
 * does not move the session and its shadow is not opened. Secrets never
 * leave this object: it serialises to the user, the method and the reason.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import type { PasswordLookup } from "../session/identity_context.ts";
import { type Credential, type LoginOptions, md5Answer } from "./backend_auth.ts";
import { readCString, readInt32 } from "./messages.ts";
import { parseScramVerifier, recoverKeys, type ScramTranscript } from "./scram_passthrough.ts";

/** How the client authenticated to the source of truth. */
export type AuthMethod = "trust" | "password" | "md5" | "scram-sha-256";

/** A session has no credential for another database; the message says why. */
export class IdentityUnavailableError extends LmsError {
  constructor(message: string) {
    super(
      "IDENTITY_UNAVAILABLE",
      message,
      "see the Identity section of the README: auth query access, copied verifiers",
    );
  }
}

/** What the session carries; see the module documentation. */
export class SessionIdentity {
  /** The role the client authenticated as. */
  readonly user: string;
  /** How it authenticated. */
  readonly method: AuthMethod;
  /** Why the session cannot log in anywhere else; undefined when it holds a credential. */
  readonly unavailable: string | undefined;
  readonly #credential: Credential;

  /**
   * @param user the role
   * @param method how it authenticated to the source of truth
   * @param credential what answers another database, or why there is none
   */
  constructor(user: string, method: AuthMethod, credential: Credential | { reason: string }) {
    this.user = user;
    this.method = method;
    if ("reason" in credential) {
      this.#credential = { kind: "none" };
      this.unavailable = credential.reason;
    } else {
      this.#credential = credential;
      this.unavailable = undefined;
    }
  }

  /**
   * How to log in as this session's user on the database `label` names.
   * Throws {@linkcode IdentityUnavailableError} when the session holds no
   * credential at all, before any connection is made.
   */
  login(label: string): LoginOptions {
    if (this.unavailable !== undefined) {
      throw new IdentityUnavailableError(
        `LMS cannot log in as ${this.user} on the ${label}: ${this.unavailable}`,
      );
    }
    return {
      user: this.user,
      credential: this.#credential,
      label,
      origin: "the session",
      hint: "give the user the same password (verifier) on both databases; " +
        "see the Identity section of the README",
    };
  }

  /**
   * A SHA-256 digest of the user and credential: equal for two sessions
   * exactly when a login of one proves the other's (see
   * `proxy/session/login_proofs.ts`). Undefined when the session holds no
   * credential. Kept in memory only, never logged.
   */
  loginDigest(): string | undefined {
    if (this.unavailable !== undefined) return undefined;
    const hash = createHash("sha256").update(this.user).update("\u0000")
      .update(this.#credential.kind).update("\u0000");
    const c = this.#credential;
    if (c.kind === "password") hash.update(c.password);
    else if (c.kind === "md5") hash.update(c.hash);
    else if (c.kind === "scram") hash.update(c.keys.clientKey).update(c.keys.serverKey);
    return hash.digest("base64");
  }

  /** What may be logged: never the credential. */
  toJSON(): { user: string; method: AuthMethod; unavailable?: string } {
    return { user: this.user, method: this.method, unavailable: this.unavailable };
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * How long a login waits for the auth query before the session starts
 * without a credential for other databases: a slow auth query must not stop
 * clients from working on the source of truth.
 */
const IDENTITY_WAIT_MS = 10_000;

/**
 * Watches one relayed authentication and turns it into a
 * {@linkcode SessionIdentity}. auth.ts calls it for every authentication
 * request of the database and every answer of the client.
 */
export class IdentityRecorder {
  readonly #user: string;
  readonly #lookup: PasswordLookup | undefined;
  #method: AuthMethod = "trust";
  #stored: Promise<string | null | undefined> | undefined;
  #password = "";
  #md5Salt = new Uint8Array(4);
  #md5Answer = "";
  readonly #scram: ScramTranscript = {
    clientFirst: "",
    serverFirst: "",
    clientFinal: "",
    serverFinal: "",
  };
  #lastCode = 0;

  /**
   * @param user the startup packet's user
   * @param lookup reads stored passwords on the source of truth; undefined when no other
   *   database is configured, so no identity is needed
   */
  constructor(user: string, lookup: PasswordLookup | undefined) {
    this.#user = user;
    this.#lookup = lookup;
  }

  /** The database sent an Authentication request with `code` (body after the code). */
  serverAsked(code: number, body: Uint8Array): void {
    this.#lastCode = code;
    if (code === 3) this.#method = "password";
    else if (code === 5) {
      this.#method = "md5";
      this.#md5Salt = body.slice(4, 8);
      this.#startLookup();
    } else if (code === 10) {
      this.#method = "scram-sha-256";
      this.#startLookup();
    } else if (code === 11) this.#scram.serverFirst = text(body.subarray(4));
    else if (code === 12) this.#scram.serverFinal = text(body.subarray(4));
  }

  /** The client answered the last request (a PasswordMessage / SASL body). */
  clientAnswered(body: Uint8Array): void {
    if (this.#lastCode === 3) this.#password = readCString(body, 0)[0];
    else if (this.#lastCode === 5) this.#md5Answer = readCString(body, 0)[0];
    else if (this.#lastCode === 10) {
      const [, at] = readCString(body, 0);
      const len = readInt32(body, at);
      this.#scram.clientFirst = len < 0 ? "" : text(body.subarray(at + 4, at + 4 + len));
    } else if (this.#lastCode === 11) this.#scram.clientFinal = text(body);
  }

  #startLookup(): void {
    if (!this.#lookup || this.#stored) return;
    this.#stored = this.#lookup(this.#user);
    this.#stored.catch(() => {});
  }

  /** The identity, once the database accepted the client. */
  async identity(): Promise<SessionIdentity> {
    const user = this.#user;
    const method = this.#method;
    if (method === "trust") return new SessionIdentity(user, method, { kind: "none" });
    if (method === "password") {
      return new SessionIdentity(user, method, { kind: "password", password: this.#password });
    }
    if (!this.#lookup) {
      return new SessionIdentity(user, method, { reason: "no other database is configured" });
    }
    let stored: string | null | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      stored = await Promise.race([
        this.#stored,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new LmsError(
                  "TIMEOUT",
                  `the auth query did not answer within ${IDENTITY_WAIT_MS / 1000} s`,
                ),
              ),
            IDENTITY_WAIT_MS,
          );
        }),
      ]);
    } catch (err) {
      return new SessionIdentity(user, method, { reason: errorMessage(err) });
    } finally {
      clearTimeout(timer);
    }
    if (stored === undefined) {
      return new SessionIdentity(user, method, {
        reason: `the auth query found no stored password for ${user}`,
      });
    }
    if (stored === null) {
      return new SessionIdentity(user, method, {
        reason: `the auth query returned no password for ${user}`,
      });
    }
    if (method === "md5") {
      if (!/^md5[0-9a-f]{32}$/.test(stored)) {
        return new SessionIdentity(user, method, {
          reason: `the stored password of ${user} is not an MD5 hash`,
        });
      }
      if (md5Answer(stored, this.#md5Salt) !== this.#md5Answer) {
        return new SessionIdentity(user, method, {
          reason: "the MD5 hash from the auth query does not match the one the database used",
        });
      }
      return new SessionIdentity(user, method, { kind: "md5", hash: stored });
    }
    const verifier = parseScramVerifier(stored);
    if (!verifier) {
      return new SessionIdentity(user, method, {
        reason: `the stored password of ${user} is not a SCRAM-SHA-256 verifier`,
      });
    }
    const recovered = recoverKeys(this.#scram, verifier);
    if (!recovered.ok) return new SessionIdentity(user, method, { reason: recovered.reason });
    return new SessionIdentity(user, method, { kind: "scram", keys: recovered.keys });
  }
}
