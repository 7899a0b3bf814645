/**
 * The proxy authenticating to a database with configured credentials
 * (`INIT_SOURCE` / `INIT_TARGET`), for connections that carry no client of
 * their own: a session moved to the new source of truth after a cutover, and
 * later the shadow connection. Supports trust, cleartext, MD5 and
 * SCRAM-SHA-256 (without channel binding).
 *
 * @module
 */

import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import { LmsError } from "../../shared/errors.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { AuthResult } from "./auth.ts";
import { cstring, decodeFields, int32, message, readCString, readInt32 } from "./messages.ts";
import type { SocketReader } from "./reader.ts";

const CHAR_R = 0x52, CHAR_E = 0x45, CHAR_K = 0x4b, CHAR_Z = 0x5a, CHAR_S = 0x53;

function md5Hex(data: string | Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

/** The MD5 password answer: `md5` + md5(md5(password + user) + salt). */
export function md5Password(user: string, password: string, salt: Uint8Array): string {
  const inner = md5Hex(password + user);
  const outer = new Uint8Array(inner.length + 4);
  outer.set(new TextEncoder().encode(inner));
  outer.set(salt, inner.length);
  return "md5" + md5Hex(outer);
}

function hmac(key: Uint8Array, data: string): Uint8Array {
  return createHmac("sha256", key).update(data).digest();
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((v, i) => v ^ b[i]);
}

const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** Client side of one SCRAM-SHA-256 exchange (RFC 5802/7677, no channel binding). */
export class ScramClient {
  readonly #password: string;
  readonly #nonce: string;
  #clientFirstBare = "";
  #serverSignature = "";

  /** @param password the configured password; @param nonce for tests only */
  constructor(password: string, nonce = b64(randomBytes(18))) {
    this.#password = password;
    this.#nonce = nonce;
  }

  /** The client-first-message. */
  first(): string {
    this.#clientFirstBare = `n=,r=${this.#nonce}`;
    return `n,,${this.#clientFirstBare}`;
  }

  /** The client-final-message for a server-first-message. */
  final(serverFirst: string): string {
    const attrs = new Map(serverFirst.split(",").map((kv) => [kv[0], kv.slice(2)]));
    const nonce = attrs.get("r") ?? "";
    const salt = unb64(attrs.get("s") ?? "");
    const iterations = Number(attrs.get("i"));
    if (!nonce.startsWith(this.#nonce) || !Number.isInteger(iterations) || iterations < 1) {
      throw new LmsError("BACKEND_UNAVAILABLE", "the database sent an invalid SCRAM challenge");
    }
    const salted = pbkdf2Sync(this.#password, salt, iterations, 32, "sha256");
    const clientKey = hmac(salted, "Client Key");
    const storedKey = createHash("sha256").update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(storedKey, authMessage));
    this.#serverSignature = b64(hmac(hmac(salted, "Server Key"), authMessage));
    return `${withoutProof},p=${b64(proof)}`;
  }

  /** Checks the server-final-message proves the server knew the password too. */
  verify(serverFinal: string): void {
    if (serverFinal.trim() !== `v=${this.#serverSignature}`) {
      throw new LmsError("BACKEND_UNAVAILABLE", "the database's SCRAM signature did not verify");
    }
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * Authenticates on `backend` (StartupMessage already sent) as `spec.user`
 * with `spec.password`, and reads up to the first ReadyForQuery.
 *
 * @param label names the database in errors
 */
export async function authenticateWithCredentials(
  backend: Duplex,
  reader: SocketReader,
  spec: ConnectionSpec,
  label: string,
): Promise<AuthResult> {
  const parameters = new Map<string, string>();
  let backendProcessId = 0;
  let backendSecretKey = 0;
  let scram: ScramClient | undefined;
  const password = () => {
    if (spec.password === undefined) {
      throw new LmsError(
        "BACKEND_UNAVAILABLE",
        `the ${label} asks for a password, but its connection string has none`,
        "add the password to the connection string",
      );
    }
    return spec.password;
  };
  for (;;) {
    const msg = await reader.next();
    if (msg.type === CHAR_R) {
      const code = readInt32(msg.body, 0);
      if (code === 0) continue;
      if (code === 3) backend.write(message("p", cstring(password())));
      else if (code === 5) {
        backend.write(
          message("p", cstring(md5Password(spec.user, password(), msg.body.subarray(4, 8)))),
        );
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
        scram = new ScramClient(password());
        const first = new TextEncoder().encode(scram.first());
        backend.write(message("p", cstring("SCRAM-SHA-256"), int32(first.length), first));
      } else if (code === 11 && scram) {
        backend.write(
          message("p", new TextEncoder().encode(scram.final(text(msg.body.subarray(4))))),
        );
      } else if (code === 12 && scram) {
        scram.verify(text(msg.body.subarray(4)));
      } else {
        throw new LmsError(
          "BACKEND_UNAVAILABLE",
          `the ${label} asked for authentication method ${code}, which LMS does not support`,
          "use trust, password, md5 or scram-sha-256 for the configured user",
        );
      }
    } else if (msg.type === CHAR_E) {
      const fields = decodeFields(msg.body);
      throw new LmsError(
        "BACKEND_UNAVAILABLE",
        `the ${label} refused ${spec.user}: ${fields.get("M") ?? "unknown error"} (SQLSTATE ${
          fields.get("C") ?? "?"
        })`,
        "check the credentials in the connection string",
      );
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
