/**
 * TLS on both legs of a PostgreSQL session: upgrading an accepted client
 * socket after SSLRequest, and upgrading a backend socket after the database
 * answered `S`, honouring libpq's `sslmode` semantics.
 *
 * @module
 */

import type net from "node:net";
import tls from "node:tls";
import { LmsError } from "../../shared/errors.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { ServerTlsMaterial } from "../../shared/tls.ts";
import { SERVER_TLS_POLICY } from "../../shared/tls_policy.ts";

type Pending = {
  resolve: (socket: tls.TLSSocket) => void;
  reject: (err: Error) => void;
};

/** The socket a server-side TLSSocket wraps; Node keeps it as `_parent`. */
function parentOf(socket: tls.TLSSocket): net.Socket | undefined {
  return (socket as unknown as { _parent?: net.Socket })._parent;
}

/**
 * A client finished the TLS handshake with a certificate `SSL_CA` did not
 * sign, or with none. The encrypted socket is kept so the refusal can be
 * told to the client as a PostgreSQL error it can read.
 */
export class ClientCertificateRejected extends LmsError {
  /** The encrypted socket, to write the refusal on and close. */
  readonly socket: tls.TLSSocket;

  /**
   * @param socket the encrypted client socket
   * @param reason why the certificate was not accepted
   */
  constructor(socket: tls.TLSSocket, reason: string) {
    super(
      "CLIENT_TLS_REQUIRED",
      `client certificate rejected: ${reason}`,
      "connect with sslcert/sslkey naming a certificate signed by the proxy's SSL_CA",
    );
    this.socket = socket;
  }
}

/**
 * Upgrades accepted plain sockets to TLS. It feeds each socket to one
 * `tls.Server` because, on Deno, only that path verifies client certificates
 * against the CA; a bare `TLSSocket` accepts any certificate.
 */
export class ClientTlsUpgrader {
  readonly #server: tls.Server;
  readonly #pending = new Map<net.Socket, Pending>();
  /** Whether clients must present a certificate signed by `SSL_CA`. */
  readonly verifiesClients: boolean;

  /** @param material listener certificate, key and optional client CA (PEM) */
  constructor(material: ServerTlsMaterial) {
    this.verifiesClients = material.ca !== undefined;
    this.#server = tls.createServer({
      ...SERVER_TLS_POLICY,
      cert: material.cert,
      key: material.key,
      // The check happens in "secureConnection": refusing inside the handshake
      // makes Deno drop the connection without an alert, and the client would
      // only see an EOF instead of the reason.
      ...(material.ca ? { ca: material.ca, requestCert: true, rejectUnauthorized: false } : {}),
    });
    this.#server.on("secureConnection", (socket: tls.TLSSocket) => {
      const parent = parentOf(socket);
      const waiter = parent && this.#pending.get(parent);
      if (!waiter || !parent) return socket.destroy();
      this.#pending.delete(parent);
      if (this.verifiesClients && !socket.authorized) {
        socket.on("error", () => {});
        const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
        const reason = presented
          ? `not signed by SSL_CA (${String(socket.authorizationError ?? "unverified")})`
          : "the client presented no certificate";
        return waiter.reject(new ClientCertificateRejected(socket, reason));
      }
      waiter.resolve(socket);
    });
    this.#server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
      const parent = parentOf(socket);
      const waiter = parent && this.#pending.get(parent);
      if (!waiter || !parent) return;
      this.#pending.delete(parent);
      waiter.reject(
        new LmsError(
          "CLIENT_TLS_REQUIRED",
          `TLS handshake with client failed: ${err.message}`,
          this.verifiesClients ? "the client must present a certificate signed by SSL_CA" : "",
        ),
      );
    });
  }

  /**
   * Serves `material` to clients that connect from now on (a rotated
   * certificate); sessions already encrypted keep theirs.
   */
  setMaterial(material: ServerTlsMaterial): void {
    this.#server.setSecureContext({
      ...SERVER_TLS_POLICY,
      cert: material.cert,
      key: material.key,
      ...(material.ca ? { ca: material.ca } : {}),
    });
  }

  /**
   * Hands `socket` (paused, with no data listener of ours) to the TLS server
   * and resolves with the encrypted socket once the handshake succeeded.
   */
  upgrade(socket: net.Socket, timeoutMs = 10_000): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(socket);
        socket.destroy();
        reject(new LmsError("CLIENT_TLS_REQUIRED", "TLS handshake with client timed out"));
      }, timeoutMs);
      const done = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        f(v);
      };
      this.#pending.set(socket, { resolve: done(resolve), reject: done(reject) });
      this.#server.emit("connection", socket);
    });
  }
}

const pemCache = new Map<string, string>();

function readPem(path: string): string {
  let pem = pemCache.get(path);
  if (pem === undefined) {
    try {
      pem = Deno.readTextFileSync(path);
    } catch (err) {
      throw new LmsError(
        "TLS_MATERIAL_INVALID",
        `cannot read ${path}: ${(err as Error).message}`,
        "check sslrootcert/sslcert/sslkey in the connection string",
      );
    }
    pemCache.set(path, pem);
  }
  return pem;
}

/** Whether an sslmode asks the proxy to try TLS with the database. */
export function wantsTls(spec: ConnectionSpec): boolean {
  return spec.sslmode !== "disable" && spec.sslmode !== "allow";
}

/** Whether an sslmode refuses to continue without TLS. */
export function requiresTls(spec: ConnectionSpec): boolean {
  return spec.sslmode === "require" || spec.sslmode === "verify-ca" ||
    spec.sslmode === "verify-full";
}

/**
 * Upgrades a connected backend socket to TLS after the database accepted an
 * SSLRequest, verifying as `sslmode` says: `require` encrypts only (as libpq,
 * unless `sslrootcert` is given, then it verifies the chain), `verify-ca`
 * checks the chain, `verify-full` also checks the host name.
 */
export function upgradeBackend(socket: net.Socket, spec: ConnectionSpec): Promise<tls.TLSSocket> {
  const verifyChain = spec.sslmode === "verify-ca" || spec.sslmode === "verify-full" ||
    (spec.sslmode === "require" && spec.sslrootcert !== undefined);
  const options: tls.ConnectionOptions = {
    socket,
    servername: /^[\d.]+$|:/.test(spec.host) ? undefined : spec.host,
    rejectUnauthorized: verifyChain,
    ...(spec.sslrootcert ? { ca: readPem(spec.sslrootcert) } : {}),
    ...(spec.sslcert ? { cert: readPem(spec.sslcert) } : {}),
    ...(spec.sslkey ? { key: readPem(spec.sslkey) } : {}),
    ...(spec.sslmode !== "verify-full"
      ? { checkServerIdentity: () => undefined }
      : spec.host.match(/^[\d.]+$|:/)
      ? {
        checkServerIdentity: (_host: string, cert: tls.PeerCertificate) =>
          tls.checkServerIdentity(spec.host, cert),
      }
      : {}),
  };
  return new Promise((resolve, reject) => {
    const secure = tls.connect(options, () => {
      secure.removeListener("error", onError);
      resolve(secure);
    });
    const onError = (err: Error) =>
      reject(
        new LmsError(
          "BACKEND_UNAVAILABLE",
          `TLS handshake with ${spec.host}:${spec.port} failed: ${err.message}`,
          "check sslmode and sslrootcert in the connection string",
        ),
      );
    secure.once("error", onError);
  });
}
