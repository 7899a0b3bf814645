/**
 * The proxy's own RSA key pair for `caching_sha2_password` full
 * authentication without TLS, when the proxy verifies logins itself: the
 * client asks for the public key, encrypts its password XOR the scramble
 * with RSA-OAEP (SHA-1, as MySQL 8.0.5+ clients do) and the proxy decrypts
 * it. The key is `LMS_MYSQL_RSA_KEY` (a PEM private key file) or, without
 * it, one generated when first needed and kept in memory only; clients that
 * pin the server's public key (`--server-public-key-path`,
 * `rsaPublicKey`) need the configured one.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
} from "node:crypto";
import { LmsError } from "../../shared/errors.ts";

/** An RSA key pair. */
export interface RsaKeyPair {
  /** The public key as PEM (SubjectPublicKeyInfo), what MySQL sends. */
  readonly publicPem: string;
  /** Decrypts an RSA-OAEP (SHA-1) ciphertext; throws when it is not one for this key. */
  decrypt(ciphertext: Uint8Array): Uint8Array;
}

function pair(privateKey: KeyObject): RsaKeyPair {
  const publicPem = createPublicKey(privateKey).export({ type: "spki", format: "pem" }) as string;
  return {
    publicPem,
    decrypt: (ciphertext) =>
      new Uint8Array(privateDecrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" },
        Buffer.from(ciphertext),
      )),
  };
}

/**
 * The key pair of `pem` (`LMS_MYSQL_RSA_KEY`, read by the config), or a fresh
 * 2048-bit one at the first call when `pem` is undefined.
 *
 * @throws {LmsError} `TLS_MATERIAL_INVALID` when `pem` is not an RSA private key
 */
export function rsaKeyPair(pem: string | undefined): () => RsaKeyPair {
  let keys: RsaKeyPair | undefined;
  if (pem !== undefined) {
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (err) {
      throw new LmsError(
        "TLS_MATERIAL_INVALID",
        `LMS_MYSQL_RSA_KEY is not a private key: ${(err as Error).message}`,
        "give a PEM RSA private key file (openssl genrsa 2048)",
      );
    }
    if (key.asymmetricKeyType !== "rsa") {
      throw new LmsError(
        "TLS_MATERIAL_INVALID",
        `LMS_MYSQL_RSA_KEY holds a ${key.asymmetricKeyType} key, not an RSA key`,
        "give a PEM RSA private key file (openssl genrsa 2048)",
      );
    }
    keys = pair(key);
  }
  return () => keys ??= pair(generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey);
}
