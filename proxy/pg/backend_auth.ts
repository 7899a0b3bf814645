/**
 * The proxy authenticating to a database with a credential it holds: the
 * configured password of the service user (`INIT_SOURCE` / `INIT_TARGET`,
 * for the auth query and the state store's own needs), or a session's own
 * credential (see identity.ts) when a session moves or opens its shadow.
 * Supports trust, cleartext, MD5 and SCRAM-SHA-256 (without channel binding).
 *
 * @module
 */

import { createHash, randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import { LmsError } from "../../shared/errors.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { AuthResult } from "./auth.ts";
import { cstring, decodeFields, int32, message, readCString, readInt32 } from "./messages.ts";
import type { SocketReader } from "./reader.ts";
import { b64, keysFromPassword, type ScramKeys, ScramKeysClient } from "./scram_passthrough.ts";

const CHAR_R = 0x52, CHAR_E = 0x45, CHAR_K = 0x4b, CHAR_Z = 0x5a, CHAR_S = 0x53;

/**
 * What the proxy can answer a database's password request with. Never
 * logged: {@linkcode describeCredential} says what kind it is.
 */
export type Credential =
  | { kind: "none" }
  | { kind: "password"; password: string }
  | { kind: "md5"; hash: string }
  | { kind: "scram"; keys: ScramKeys };

/** The kind of a credential, for messages (never its value). */
export function describeCredential(c: Credential): string {
  switch (c.kind) {
    case "none":
      return "no password";
    case "password":
      return "the password";
    case "md5":
      return "the MD5 hash of the password";
    case "scram":
      return "SCRAM-SHA-256 keys";
  }
}

/** The ErrorResponse a database ended a login with. */
export interface ServerError {
  /** Its SQLSTATE. */
  sqlstate: string;
  /** Its message, as the database wrote it. */
  message: string;
}

/** A database did not accept the credential (SQLSTATE class 28, or no answer possible). */
export class LoginRefusedError extends LmsError {
  /** The database's own error, when it sent one. */
  readonly server: ServerError | undefined;
  constructor(message: string, hint: string, server?: ServerError) {
    super("AUTH_REFUSED", message, hint);
    this.server = server;
  }
}

/** A database ended a login with an error that is not about the credential. */
export class LoginFailedError extends LmsError {
  /** The database's own error. */
  readonly server: ServerError;
  constructor(message: string, hint: string, server: ServerError) {
    super("BACKEND_UNAVAILABLE", message, hint);
    this.server = server;
  }
}

function md5Hex(data: string | Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

/** `md5` + md5(password + user): what `pg_authid` stores for an MD5 password. */
export function md5Hash(user: string, password: string): string {
  return "md5" + md5Hex(password + user);
}

/** The MD5 answer to a challenge from the stored hash: `md5` + md5(hex + salt). */
export function md5Answer(hash: string, salt: Uint8Array): string {
  const inner = new TextEncoder().encode(hash.slice(3));
  const outer = new Uint8Array(inner.length + 4);
  outer.set(inner);
  outer.set(salt, inner.length);
  return "md5" + md5Hex(outer);
}

/** The MD5 password answer: `md5` + md5(md5(password + user) + salt). */
export function md5Password(user: string, password: string, salt: Uint8Array): string {
  return md5Answer(md5Hash(user, password), salt);
}

const METHOD_NAMES: Record<number, string> = {
  3: "a cleartext password",
  5: "an MD5 password",
  10: "SCRAM-SHA-256",
};

/** How to log in. */
export interface LoginOptions {
  /** The role to log in as (the startup packet's `user`). */
  user: string;
  /** What to answer password requests with. */
  credential: Credential;
  /** Names the database in errors, e.g. "target database". */
  label: string;
  /** Where the credential came from, for errors, e.g. "its connection string". */
  origin: string;
  /** What the operator should do when the database refuses. */
  hint: string;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * Authenticates on `backend` (StartupMessage for `opts.user` already sent)
 * and reads up to the first ReadyForQuery. A database that asks for what the
 * credential cannot give, or refuses it, raises {@linkcode LoginRefusedError}.
 */
export async function logIn(
  backend: Duplex,
  reader: SocketReader,
  opts: LoginOptions,
): Promise<AuthResult> {
  const { user, credential, label } = opts;
  const parameters = new Map<string, string>();
  let backendProcessId = 0;
  let backendSecretKey = 0;
  let scram: ScramKeysClient | undefined;
  const refuse = (why: string): never => {
    throw new LoginRefusedError(why, opts.hint);
  };
  const cannot = (code: number): never =>
    refuse(
      `the ${label} asks ${user} for ${METHOD_NAMES[code]}, and ${opts.origin} holds ` +
        `${describeCredential(credential)}`,
    );
  for (;;) {
    const msg = await reader.next();
    if (msg.type === CHAR_R) {
      const code = readInt32(msg.body, 0);
      if (code === 0) continue;
      if (code === 3) {
        if (credential.kind !== "password") cannot(code);
        else backend.write(message("p", cstring(credential.password)));
      } else if (code === 5) {
        const salt = msg.body.subarray(4, 8);
        if (credential.kind === "password") {
          backend.write(message("p", cstring(md5Password(user, credential.password, salt))));
        } else if (credential.kind === "md5") {
          backend.write(message("p", cstring(md5Answer(credential.hash, salt))));
        } else cannot(code);
      } else if (code === 10) {
        const mechanisms: string[] = [];
        for (let at = 4; at < msg.body.length && msg.body[at] !== 0;) {
          const [name, next] = readCString(msg.body, at);
          mechanisms.push(name);
          at = next;
        }
        if (!mechanisms.includes("SCRAM-SHA-256")) {
          throw new LmsError("BACKEND_UNAVAILABLE", `the ${label} offers no SCRAM-SHA-256`);
        }
        if (credential.kind !== "password" && credential.kind !== "scram") cannot(code);
        scram = new ScramKeysClient(
          (salt, iterations) => keysFor(credential, salt, iterations, opts),
          b64(randomBytes(18)),
        );
        const first = scram.first();
        backend.write(message("p", cstring("SCRAM-SHA-256"), int32(first.length), first));
      } else if (code === 11 && scram) {
        const final = scram.final(text(msg.body.subarray(4)));
        if (typeof final === "string") refuse(final);
        else backend.write(message("p", final));
      } else if (code === 12 && scram) {
        if (!scram.verify(text(msg.body.subarray(4)))) {
          refuse(
            `the ${label}'s SCRAM signature for ${user} did not verify: ` +
              "it does not hold the verifier the credential was made for",
          );
        }
      } else {
        throw new LmsError(
          "BACKEND_UNAVAILABLE",
          `the ${label} asked for authentication method ${code}, which LMS does not support`,
          "use trust, password, md5 or scram-sha-256",
        );
      }
    } else if (msg.type === CHAR_E) {
      const fields = decodeFields(msg.body);
      const server = {
        sqlstate: fields.get("C") ?? "?",
        message: fields.get("M") ?? "unknown error",
      };
      const why = `the ${label} refused ${user}: ${server.message} (SQLSTATE ${server.sqlstate})`;
      if (server.sqlstate.startsWith("28")) throw new LoginRefusedError(why, opts.hint, server);
      throw new LoginFailedError(why, opts.hint, server);
    } else if (msg.type === CHAR_K) {
      backendProcessId = readInt32(msg.body, 0);
      backendSecretKey = readInt32(msg.body, 4);
    } else if (msg.type === CHAR_S) {
      const [name, at] = readCString(msg.body, 0);
      parameters.set(name, readCString(msg.body, at)[0]);
    } else if (msg.type === CHAR_Z) {
      return { backendProcessId, backendSecretKey, parameters, txStatus: msg.body[0] };
    }
  }
}

function keysFor(
  credential: Credential,
  salt: Uint8Array,
  iterations: number,
  opts: LoginOptions,
): ScramKeys | string {
  if (credential.kind === "password") {
    return keysFromPassword(credential.password, salt, iterations);
  }
  if (credential.kind !== "scram") return "no SCRAM keys";
  const k = credential.keys;
  if (k.iterations === iterations && b64(k.salt) === b64(salt)) return k;
  return `the SCRAM verifier of ${opts.user} on the ${opts.label} differs from the one ` +
    `${opts.origin} authenticated against (another salt or iteration count)`;
}

/**
 * Authenticates on `backend` (StartupMessage already sent) as `spec.user`
 * with `spec.password`: the configured service user.
 *
 * @param label names the database in errors
 */
export function authenticateWithCredentials(
  backend: Duplex,
  reader: SocketReader,
  spec: ConnectionSpec,
  label: string,
): Promise<AuthResult> {
  return logIn(backend, reader, {
    user: spec.user,
    credential: spec.password === undefined
      ? { kind: "none" }
      : { kind: "password", password: spec.password },
    label,
    origin: "its connection string",
    hint: "check the credentials in the connection string",
  });
}
