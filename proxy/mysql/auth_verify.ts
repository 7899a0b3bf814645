/**
 * Checking a client's proof of its password against an account's stored
 * authentication string, per plugin, as the MySQL or MariaDB server would:
 *
 * - `mysql_native_password`: stored `*` + hex SHA1(SHA1(pw)); the client
 *   answers SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)));
 * - `caching_sha2_password`: the stored SHA-256 crypt digest
 *   (`auth_sha256_crypt.ts`) proves a password sent in full; the scramble
 *   answer XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) + scramble)) can only be
 *   checked against SHA256(SHA256(pw)), which MySQL keeps in memory after a
 *   full authentication, and so does {@linkcode FastAuthCache};
 * - MariaDB's `ed25519`: stored base64 public key; the client signs the
 *   server's 32-byte nonce with the key derived from its password.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, createPublicKey, timingSafeEqual, verify } from "node:crypto";
import type { MySqlAccount } from "../../shared/mysql_accounts.ts";
import { sha256 } from "./auth_sha256_crypt.ts";

function sha1(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha1");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((x, i) => x ^ b[i]);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether `token` answers `scramble` for a `mysql_native_password` account stored as `stored`. */
export function nativePasswordMatches(
  stored: Uint8Array,
  scramble: Uint8Array,
  token: Uint8Array,
): boolean {
  const text = new TextDecoder().decode(stored);
  if (text === "") return token.length === 0;
  if (!/^\*[0-9A-Fa-f]{40}$/.test(text) || token.length !== 20) return false;
  const stage2 = new Uint8Array(Buffer.from(text.slice(1), "hex"));
  return equal(sha1(xor(token, sha1(scramble, stage2))), stage2);
}

/** Whether `signature` is the `ed25519` account's signature of `nonce`. */
export function ed25519Matches(
  stored: Uint8Array,
  nonce: Uint8Array,
  signature: Uint8Array,
): boolean {
  const key = Buffer.from(new TextDecoder().decode(stored), "base64");
  if (key.length !== 32 || signature.length !== 64) return false;
  const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), key]);
  try {
    return verify(
      null,
      nonce,
      createPublicKey({ key: spki, format: "der", type: "spki" }),
      signature,
    );
  } catch {
    return false;
  }
}

/**
 * SHA256(SHA256(pw)) of `caching_sha2_password` accounts that completed a
 * full authentication on this proxy, for the fast path. An entry is dropped
 * when the account's stored string changes (a new password).
 */
export class FastAuthCache {
  readonly #entries = new Map<string, { stored: Uint8Array; digest2: Uint8Array }>();

  /** Remembers `password` for `account` after it proved it in full. */
  remember(account: MySqlAccount, password: Uint8Array): void {
    this.#entries.set(account.name, {
      stored: account.auth,
      digest2: sha256(sha256(password)),
    });
  }

  /**
   * Whether `token` answers `scramble` for `account`: true or false when the
   * account is cached, undefined when it is not (full authentication needed).
   */
  check(account: MySqlAccount, scramble: Uint8Array, token: Uint8Array): boolean | undefined {
    const entry = this.#entries.get(account.name);
    if (!entry) return undefined;
    if (!equal(entry.stored, account.auth)) {
      this.#entries.delete(account.name);
      return undefined;
    }
    if (token.length !== 32) return false;
    return equal(sha256(xor(token, sha256(entry.digest2, scramble))), entry.digest2);
  }
}
