/**
 * Test certificates made with the `openssl` CLI in a temporary directory: a
 * CA, a server certificate for `localhost` / `127.0.0.1`, client certificates
 * signed by the same CA, and an unrelated CA for "wrong certificate" tests.
 *
 * Keys are RSA 2048, mode 0600 and owned by the current user; certificates are
 * world-readable. A server that runs as another user (PostgreSQL, MariaDB)
 * must get its own copy of the key, as `startPgCluster` does.
 *
 * @module
 */

/** Paths of the generated material, plus makers for more of it. */
export interface CertFiles {
  /** The CA certificate (PEM) every other certificate here chains to. */
  caCert: string;
  /** The CA's private key. */
  caKey: string;
  /** Server certificate: CN=localhost, SAN DNS:localhost and IP:127.0.0.1, server+client auth. */
  serverCert: string;
  /** The server certificate's private key. */
  serverKey: string;
  /** The temporary directory holding every file. */
  dir: string;
  /** A client certificate for `cn` (clientAuth), signed by the same CA. */
  client(cn: string): Promise<{ cert: string; key: string }>;
  /** A new, unrelated CA and a client certificate (CN `cn`, default `lms_cert`) it signed. */
  otherCa(cn?: string): Promise<{ caCert: string; clientCert: string; clientKey: string }>;
  /** Removes the directory. Idempotent. */
  cleanup(): Promise<void>;
}

const CA_CONFIG = `[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;

const SERVER_EXTENSIONS = `basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
`;

const CLIENT_EXTENSIONS = `basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
`;

/** Creates a CA, a server certificate and the makers for client certificates. */
export async function makeCerts(): Promise<CertFiles> {
  const dir = await Deno.makeTempDir({ prefix: "lms-certs-" });
  await Deno.chmod(dir, 0o755);
  let serial = 0;
  const next = () => ++serial;
  try {
    await Deno.writeTextFile(`${dir}/ca.cnf`, CA_CONFIG);
    await Deno.writeTextFile(`${dir}/server.ext`, SERVER_EXTENSIONS);
    await Deno.writeTextFile(`${dir}/client.ext`, CLIENT_EXTENSIONS);
    const ca = await makeCa(dir, "ca", "LMS Test CA");
    const server = await makeLeaf(dir, "server", "localhost", ca, "server.ext");
    return {
      caCert: ca.cert,
      caKey: ca.key,
      serverCert: server.cert,
      serverKey: server.key,
      dir,
      client: (cn) => makeLeaf(dir, `client-${next()}-${fileName(cn)}`, cn, ca, "client.ext"),
      otherCa: async (cn = "lms_cert") => {
        const n = next();
        const other = await makeCa(dir, `other-ca-${n}`, `LMS Unrelated CA ${n}`);
        const leaf = await makeLeaf(dir, `other-client-${n}`, cn, other, "client.ext");
        return { caCert: other.cert, clientCert: leaf.cert, clientKey: leaf.key };
      },
      cleanup: () => Deno.remove(dir, { recursive: true }).catch(ignoreNotFound),
    };
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(ignoreNotFound);
    throw err;
  }
}

interface KeyPair {
  cert: string;
  key: string;
}

async function makeCa(dir: string, base: string, cn: string): Promise<KeyPair> {
  const pair = { cert: `${dir}/${base}.crt`, key: `${dir}/${base}.key` };
  await newKey(pair.key);
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-sha256",
    "-key",
    pair.key,
    "-out",
    pair.cert,
    "-days",
    "3650",
    "-subj",
    subject(cn),
    "-config",
    `${dir}/ca.cnf`,
    "-extensions",
    "v3_ca",
  ]);
  await Deno.chmod(pair.cert, 0o644);
  return pair;
}

async function makeLeaf(
  dir: string,
  base: string,
  cn: string,
  ca: KeyPair,
  extensions: string,
): Promise<KeyPair> {
  const pair = { cert: `${dir}/${base}.crt`, key: `${dir}/${base}.key` };
  const csr = `${dir}/${base}.csr`;
  await newKey(pair.key);
  await openssl(dir, [
    "req",
    "-new",
    "-key",
    pair.key,
    "-out",
    csr,
    "-subj",
    subject(cn),
    "-config",
    `${dir}/ca.cnf`,
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-sha256",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    // An explicit random serial avoids a shared serial file that parallel calls would race on.
    "-set_serial",
    randomSerial(),
    "-days",
    "825",
    "-extfile",
    `${dir}/${extensions}`,
    "-out",
    pair.cert,
  ]);
  await Deno.remove(csr);
  await Deno.chmod(pair.cert, 0o644);
  return pair;
}

async function newKey(path: string): Promise<void> {
  await openssl(".", [
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    path,
  ]);
  await Deno.chmod(path, 0o600);
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args[0]} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

function subject(cn: string): string {
  return `/CN=${cn.replace(/[\\/+=,]/g, (c) => `\\${c}`)}`;
}

function fileName(cn: string): string {
  return cn.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 40);
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof Deno.errors.NotFound)) throw err;
}
