/**
 * SCRAM-SHA-256 pass-through (RFC 5802/7677), as PgBouncer does it: while
 * the proxy relays a client's SCRAM exchange with the source of truth, it
 * keeps the transcript. With the user's verifier (StoredKey and ServerKey,
 * read by the auth query) it recovers the client's ClientKey from the proof,
 * ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and checks
 * H(ClientKey) = StoredKey. Those keys then log the same user in to another
 * database whose verifier is the same (same salt and iterations), without the
 * proxy ever knowing the password.
 *
 * @module
 */

import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from "node:crypto";

/** A user's SCRAM-SHA-256 verifier, as stored in `pg_authid.rolpassword`. */
export interface ScramVerifier {
  /** PBKDF2 iteration count. */
  iterations: number;
  /** The salt, decoded. */
  salt: Uint8Array;
  /** H(ClientKey). */
  storedKey: Uint8Array;
  /** HMAC(SaltedPassword, "Server Key"): checks the server's signature. */
  serverKey: Uint8Array;
}

/** A verifier plus the ClientKey: enough to log in wherever the verifier is the same. */
export interface ScramKeys extends ScramVerifier {
  /** HMAC(SaltedPassword, "Client Key"). */
  clientKey: Uint8Array;
}

const enc = new TextEncoder();

/** Base64 of `bytes`. */
export function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Bytes of base64 `text`; throws on invalid input. */
export function unb64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** HMAC-SHA-256. */
export function hmac(key: Uint8Array, data: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

/** SHA-256. */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/** Byte-wise XOR of two arrays of the same length. */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((v, i) => v ^ b[i]);
}

/** Constant-time comparison of two byte strings. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Parses `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`;
 * undefined for anything else (an MD5 hash, a plain password, garbage).
 */
export function parseScramVerifier(text: string): ScramVerifier | undefined {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(
    text,
  );
  if (!m) return undefined;
  try {
    const v = {
      iterations: Number(m[1]),
      salt: unb64(m[2]),
      storedKey: unb64(m[3]),
      serverKey: unb64(m[4]),
    };
    if (v.iterations < 1 || v.storedKey.length !== 32 || v.serverKey.length !== 32) {
      return undefined;
    }
    return v;
  } catch {
    return undefined;
  }
}

/** The keys a password gives for a salt and iteration count. */
export function keysFromPassword(
  password: string,
  salt: Uint8Array,
  iterations: number,
): ScramKeys {
  const salted = new Uint8Array(pbkdf2Sync(password, salt, iterations, 32, "sha256"));
  const clientKey = hmac(salted, "Client Key");
  return {
    iterations,
    salt,
    clientKey,
    storedKey: sha256(clientKey),
    serverKey: hmac(salted, "Server Key"),
  };
}

/** ClientProof = ClientKey XOR HMAC(H(ClientKey), AuthMessage). */
export function clientProof(clientKey: Uint8Array, authMessage: string): Uint8Array {
  return xor(clientKey, hmac(sha256(clientKey), authMessage));
}

/** ServerSignature = HMAC(ServerKey, AuthMessage). */
export function serverSignature(serverKey: Uint8Array, authMessage: string): Uint8Array {
  return hmac(serverKey, authMessage);
}

/** The attributes of a SCRAM message (`r=…,s=…,i=…`), by their letter. */
export function scramAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(",")) {
    if (part.length >= 2 && part[1] === "=") out.set(part[0], part.slice(2));
  }
  return out;
}

/** The client-first-message without its GS2 header (`n,,` or `n,a=…,`). */
export function clientFirstBare(clientFirst: string): string {
  const first = clientFirst.indexOf(",");
  const second = first < 0 ? -1 : clientFirst.indexOf(",", first + 1);
  return second < 0 ? "" : clientFirst.slice(second + 1);
}

/** The four messages of one relayed exchange, as the proxy saw them. */
export interface ScramTranscript {
  /** client-first-message (with its GS2 header). */
  clientFirst: string;
  /** server-first-message. */
  serverFirst: string;
  /** client-final-message (with the proof). */
  clientFinal: string;
  /** server-final-message. */
  serverFinal: string;
}

/** What pass-through recovered from a relayed exchange, or why it could not. */
export type PassThroughResult = { ok: true; keys: ScramKeys } | { ok: false; reason: string };

/**
 * Recovers the client's keys from a relayed exchange and the verifier the
 * database checked it against. Fails (with a reason free of secrets) when the
 * proof does not match the verifier, or the server's signature does not: then
 * the verifier read is not the one the database used.
 */
export function recoverKeys(t: ScramTranscript, verifier: ScramVerifier): PassThroughResult {
  const server = scramAttributes(t.serverFirst);
  if (server.get("s") !== b64(verifier.salt) || Number(server.get("i")) !== verifier.iterations) {
    return {
      ok: false,
      reason: "the verifier from the auth query has another salt or iteration count " +
        "than the one the database used",
    };
  }
  const at = t.clientFinal.lastIndexOf(",p=");
  if (at < 0) return { ok: false, reason: "the client's SCRAM answer carries no proof" };
  const authMessage = `${clientFirstBare(t.clientFirst)},${t.serverFirst},${
    t.clientFinal.slice(0, at)
  }`;
  let proof: Uint8Array;
  try {
    proof = unb64(t.clientFinal.slice(at + 3));
  } catch {
    return { ok: false, reason: "the client's SCRAM proof is not base64" };
  }
  if (proof.length !== 32) {
    return { ok: false, reason: "the client's SCRAM proof has a bad length" };
  }
  const clientKey = xor(proof, hmac(verifier.storedKey, authMessage));
  if (!sameBytes(sha256(clientKey), verifier.storedKey)) {
    return {
      ok: false,
      reason: "the client's SCRAM proof does not match the verifier from the auth query",
    };
  }
  const v = scramAttributes(t.serverFinal.trim()).get("v") ?? "";
  if (v !== b64(serverSignature(verifier.serverKey, authMessage))) {
    return {
      ok: false,
      reason: "the database's SCRAM signature does not match the verifier from the auth query",
    };
  }
  return { ok: true, keys: { ...verifier, clientKey } };
}

/** Client side of one SCRAM-SHA-256 exchange from keys (no channel binding). */
export class ScramKeysClient {
  readonly #nonce: string;
  readonly #keysFor: (salt: Uint8Array, iterations: number) => ScramKeys | string;
  #clientFirstBare = "";
  #expectedSignature = "";

  /**
   * @param keysFor the keys for the server's salt and iterations, or why there are none
   * @param nonce the client nonce (random per exchange)
   */
  constructor(
    keysFor: (salt: Uint8Array, iterations: number) => ScramKeys | string,
    nonce: string,
  ) {
    this.#keysFor = keysFor;
    this.#nonce = nonce;
  }

  /** The client-first-message; the user name is left empty (the startup packet's counts). */
  first(): Uint8Array {
    this.#clientFirstBare = `n=,r=${this.#nonce}`;
    return enc.encode(`n,,${this.#clientFirstBare}`);
  }

  /**
   * The client-final-message for a server-first-message; a string result is
   * why no answer can be given (keys for other salt/iterations, bad challenge).
   */
  final(serverFirst: string): Uint8Array | string {
    const attrs = scramAttributes(serverFirst);
    const nonce = attrs.get("r") ?? "";
    const iterations = Number(attrs.get("i"));
    let salt: Uint8Array;
    try {
      salt = unb64(attrs.get("s") ?? "");
    } catch {
      return "the database sent an invalid SCRAM challenge";
    }
    if (!nonce.startsWith(this.#nonce) || !Number.isInteger(iterations) || iterations < 1) {
      return "the database sent an invalid SCRAM challenge";
    }
    const keys = this.#keysFor(salt, iterations);
    if (typeof keys === "string") return keys;
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    this.#expectedSignature = b64(serverSignature(keys.serverKey, authMessage));
    return enc.encode(`${withoutProof},p=${b64(clientProof(keys.clientKey, authMessage))}`);
  }

  /** Whether the server-final-message proves the server holds the same verifier. */
  verify(serverFinal: string): boolean {
    return this.#expectedSignature !== "" &&
      scramAttributes(serverFinal.trim()).get("v") === this.#expectedSignature;
  }
}
