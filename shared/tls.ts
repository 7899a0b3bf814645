/**
 * Loading of the PEM certificates and keys named by `SSL_CA`, `SSL_CERT`, `SSL_KEY`,
 * `CA_TLS_CERT`, `TLS_CERT` and `TLS_KEY`.
 *
 * The product docs mount every certificate at `/app/certs` and point each key at that
 * directory, so a path may name a directory; inside it the file names Kubernetes TLS
 * secrets use are looked up (`tls.crt`, `tls.key`, `ca.crt`).
 *
 * Only the PEM framing is checked here, never the key's content, and no message quotes
 * file content.
 *
 * @module
 */

import { join } from "node:path";
import { LmsError } from "./errors.ts";

/** What a PEM file is expected to hold. */
export type PemKind = "cert" | "key" | "ca";

/** Server-side TLS material as PEM text. */
export interface ServerTlsMaterial {
  /** Certificate chain presented by the server. */
  cert: string;
  /** Unencrypted private key of `cert`. */
  key: string;
  /** When set, clients must present a certificate signed by this CA. */
  ca?: string;
  /** Where the PEM came from, so a rotation of the mounted files can be picked up. */
  files?: TlsFiles;
}

/** The configured paths (file or directory) and the config keys naming them. */
export interface TlsFiles {
  /** Certificate path and its key, e.g. `{ path: "/app/certs", key: "SSL_CERT" }`. */
  cert: { path: string; key: string };
  /** Private key path and its config key. */
  key: { path: string; key: string };
  /** Client CA path and its config key, when one is configured. */
  ca?: { path: string; key: string };
}

/** File names looked up inside a directory, as in a Kubernetes TLS secret. */
export const PEM_FILE_NAMES: Readonly<Record<PemKind, string>> = {
  cert: "tls.crt",
  key: "tls.key",
  ca: "ca.crt",
};

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----\s*[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/;
const KEY_BLOCK =
  /-----BEGIN ((?:RSA |EC )?)PRIVATE KEY-----\s*[A-Za-z0-9+/=\s]+?-----END \1PRIVATE KEY-----/;
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/;

/** A path may name a file or a directory; for a directory use the Kubernetes TLS secret names tls.crt / tls.key / ca.crt. */
export function resolvePemPath(path: string, kind: PemKind): string {
  let isDirectory: boolean;
  try {
    isDirectory = Deno.statSync(path).isDirectory;
  } catch {
    return path;
  }
  return isDirectory ? join(path, PEM_FILE_NAMES[kind]) : path;
}

/** Reads and sanity-checks PEM (must contain a "-----BEGIN" block of the right sort); `key` is the config key named in errors. Throws LmsError TLS_MATERIAL_INVALID. */
export function loadPem(path: string, kind: PemKind, key: string): string {
  const fail = (problem: string, hint: string): never => {
    throw new LmsError("TLS_MATERIAL_INVALID", `${key}: ${problem}`, hint);
  };
  const fileName = PEM_FILE_NAMES[kind];
  if (path.trim() === "") {
    fail("is empty", `set it to a PEM file or to a directory holding ${fileName}`);
  }
  const resolved = resolvePemPath(path, kind);
  let text: string;
  try {
    text = Deno.readTextFileSync(resolved);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      if (resolved !== path) {
        return fail(
          `directory ${path} has no ${fileName}`,
          `a directory must hold the Kubernetes TLS secret file names tls.crt, tls.key and ca.crt; ` +
            `or point ${key} at the file itself`,
        );
      }
      return fail(`${path} does not exist`, "mount the file or fix the path");
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      return fail(`cannot read ${resolved}: permission denied`, "make it readable by LMS");
    }
    return fail(
      `cannot read ${resolved}: ${err instanceof Error ? err.message : String(err)}`,
      "point it at a readable PEM file",
    );
  }
  checkPem(text, kind, resolved, fail);
  return text;
}

function checkPem(
  text: string,
  kind: PemKind,
  path: string,
  fail: (problem: string, hint: string) => never,
): void {
  if (kind === "key") {
    if (KEY_BLOCK.test(text)) return;
    if (ENCRYPTED_KEY.test(text)) {
      fail(
        `${path} holds an encrypted private key`,
        "LMS needs an unencrypted key; decrypt it with `openssl pkey -in KEY -out tls.key`",
      );
    }
    if (CERT_BLOCK.test(text)) {
      fail(`${path} holds a certificate, not a private key`, "point it at the key (tls.key)");
    }
    fail(
      `${path} holds no PEM private key`,
      "expected a -----BEGIN PRIVATE KEY----- (or RSA/EC PRIVATE KEY) block",
    );
  }
  if (CERT_BLOCK.test(text)) return;
  if (/PRIVATE KEY-----/.test(text)) {
    fail(
      `${path} holds a private key, not a certificate`,
      `point it at the certificate (${PEM_FILE_NAMES[kind]})`,
    );
  }
  fail(`${path} holds no PEM certificate`, "expected a -----BEGIN CERTIFICATE----- block");
}
