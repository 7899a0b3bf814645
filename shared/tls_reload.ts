/**
 * Picks up rotated certificates without a restart.
 *
 * Kubernetes updates a mounted Secret in place: it writes the new files into
 * a fresh `..2026_…` directory and swaps the `..data` symlink the visible
 * names point through, in one rename. Watching the files themselves would
 * miss that (their inode never changes), so the directories holding the
 * configured paths are watched, and every change there re-reads the paths as
 * configured. A slow poll backs the watch up for file systems that send no
 * events.
 *
 * New material is checked before use (PEM framing, a parsable certificate,
 * a key that belongs to it, a parsable CA); when it fails, the listener keeps
 * the material it has and the error is logged once per broken version.
 * Connections already open keep the certificate they were made with. The
 * proxy's control-channel client watches its client certificate the same way.
 *
 * @module
 */

import crypto from "node:crypto";
import { dirname } from "node:path";
import { errorMessage, LmsError } from "./errors.ts";
import type { Logger } from "./log.ts";
import { loadPem, type ServerTlsMaterial, type TlsFiles } from "./tls.ts";

/** Backs the file-system watch up; rotations are rare, so slow is fine. */
const POLL_MS = 30_000;
/** Lets a rotation that writes several files land before it is read. */
const SETTLE_MS = 250;

/** Options of {@linkcode watchCertificates}. */
export interface CertificateWatchOptions {
  /** The material in use now; its `files` name what to watch. */
  material: ServerTlsMaterial;
  /** Switches the listener to new, checked material (for new connections). */
  apply: (material: ServerTlsMaterial) => void;
  /** Names the listener in log lines, e.g. "SQL listener". */
  listener: string;
  /** `client` when the material is presented to a server (the control channel); `server` by default. */
  role?: "server" | "client";
  /** Logger. */
  log: Logger;
}

/** A running watch. */
export interface CertificateWatch {
  /** Re-reads the files now; returns true when new material was applied. */
  check(): boolean;
  /** Stops watching. */
  close(): void;
}

/** Reads the configured files and checks that they make a usable server identity. */
export function readTlsFiles(files: TlsFiles): ServerTlsMaterial {
  const cert = loadPem(files.cert.path, "cert", files.cert.key);
  const key = loadPem(files.key.path, "key", files.key.key);
  const ca = files.ca ? loadPem(files.ca.path, "ca", files.ca.key) : undefined;
  let parsed: crypto.X509Certificate;
  try {
    parsed = new crypto.X509Certificate(cert);
  } catch (err) {
    throw new LmsError(
      "TLS_MATERIAL_INVALID",
      `${files.cert.key}: the certificate cannot be parsed: ${errorMessage(err)}`,
      "write a complete PEM certificate",
    );
  }
  let matches: boolean;
  try {
    matches = parsed.checkPrivateKey(crypto.createPrivateKey(key));
  } catch (err) {
    throw new LmsError(
      "TLS_MATERIAL_INVALID",
      `${files.key.key}: the private key cannot be parsed: ${errorMessage(err)}`,
      "write a complete, unencrypted PEM private key",
    );
  }
  if (!matches) {
    throw new LmsError(
      "TLS_MATERIAL_INVALID",
      `${files.key.key} does not belong to the certificate in ${files.cert.key}`,
      "rotate the certificate and its key together",
    );
  }
  if (ca !== undefined) {
    try {
      new crypto.X509Certificate(ca);
    } catch (err) {
      throw new LmsError(
        "TLS_MATERIAL_INVALID",
        `${files.ca!.key}: the CA certificate cannot be parsed: ${errorMessage(err)}`,
        "write a complete PEM CA certificate",
      );
    }
  }
  return ca === undefined ? { cert, key, files } : { cert, key, ca, files };
}

function same(a: ServerTlsMaterial, b: ServerTlsMaterial): boolean {
  return a.cert === b.cert && a.key === b.key && a.ca === b.ca;
}

/** The directories to watch: a configured directory itself, else the file's directory. */
function watchedDirectories(files: TlsFiles): string[] {
  const dirs = new Set<string>();
  for (const entry of [files.cert, files.key, files.ca]) {
    if (!entry) continue;
    let isDirectory = false;
    try {
      isDirectory = Deno.statSync(entry.path).isDirectory;
    } catch {
      // A missing path is reported by the first check; watch where it would appear.
    }
    dirs.add(isDirectory ? entry.path : dirname(entry.path));
  }
  return [...dirs];
}

/**
 * Watches the files of `options.material` (which must carry `files`) and
 * applies each new, valid version; see the module documentation.
 */
export function watchCertificates(options: CertificateWatchOptions): CertificateWatch {
  const files = options.material.files;
  if (!files) throw new LmsError("INTERNAL", "certificate watch without file paths");
  let current = options.material;
  let lastFailure = "";
  let closed = false;
  const check = (): boolean => {
    if (closed) return false;
    let next: ServerTlsMaterial;
    try {
      next = readTlsFiles(files);
    } catch (err) {
      const message = errorMessage(err);
      if (message !== lastFailure) {
        lastFailure = message;
        options.log.error(
          `new TLS material for the ${options.listener} is unusable; still ${
            options.role === "client" ? "presenting" : "serving"
          } the previous certificate`,
          { error: err },
        );
      }
      return false;
    }
    lastFailure = "";
    if (same(next, current)) return false;
    options.apply(next);
    current = next;
    const cert = new crypto.X509Certificate(next.cert);
    options.log.info(`reloaded the TLS certificate of the ${options.listener}`, {
      subject: cert.subject,
      validTo: cert.validTo,
      fingerprint256: cert.fingerprint256,
    });
    return true;
  };

  let settle: ReturnType<typeof setTimeout> | undefined;
  const soon = () => {
    if (settle !== undefined || closed) return;
    settle = setTimeout(() => {
      settle = undefined;
      check();
    }, SETTLE_MS);
  };
  let watcher: Deno.FsWatcher | undefined;
  try {
    watcher = Deno.watchFs(watchedDirectories(files), { recursive: false });
  } catch (err) {
    options.log.warn(`cannot watch the TLS files of the ${options.listener}; polling them`, {
      error: errorMessage(err),
      pollMs: POLL_MS,
    });
  }
  if (watcher) {
    (async () => {
      try {
        for await (const _event of watcher) soon();
      } catch {
        // Closed.
      }
    })();
  }
  const poll = setInterval(check, POLL_MS);
  Deno.unrefTimer(poll);
  return {
    check,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      if (settle !== undefined) clearTimeout(settle);
      try {
        watcher?.close();
      } catch {
        // Already closed.
      }
    },
  };
}
