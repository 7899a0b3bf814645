import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { LmsError } from "../../shared/errors.ts";
import { loadPem, PEM_FILE_NAMES, resolvePemPath } from "../../shared/tls.ts";

async function openssl(...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/** A temp dir with a throwaway self-signed certificate, its key and variants of both. */
async function makeMaterial(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lms-tls-test-" });
  await openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=lms-test",
    "-keyout",
    join(dir, "server.key"),
    "-out",
    join(dir, "server.crt"),
  );
  await openssl(
    "pkey",
    "-in",
    join(dir, "server.key"),
    "-aes256",
    "-passout",
    "pass:test",
    "-out",
    join(dir, "encrypted.key"),
  );
  await openssl(
    "pkey",
    "-in",
    join(dir, "server.key"),
    "-traditional",
    "-out",
    join(dir, "rsa.key"),
  );
  await openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "ec.key"));
  const secretDir = join(dir, "secret");
  await Deno.mkdir(secretDir);
  await Deno.copyFile(join(dir, "server.crt"), join(secretDir, "tls.crt"));
  await Deno.copyFile(join(dir, "server.key"), join(secretDir, "tls.key"));
  await Deno.copyFile(join(dir, "server.crt"), join(secretDir, "ca.crt"));
  await Deno.writeTextFile(join(dir, "garbage.pem"), "this is not PEM\n");
  await Deno.mkdir(join(dir, "empty"));
  return dir;
}

function failure(fn: () => unknown): LmsError {
  try {
    fn();
  } catch (err) {
    assert(err instanceof LmsError, `expected LmsError, got ${err}`);
    assertEquals(err.code, "TLS_MATERIAL_INVALID");
    return err;
  }
  throw new Error("expected an error, none was thrown");
}

Deno.test("shared/tls", async (t) => {
  const dir = await makeMaterial();
  const secretDir = join(dir, "secret");
  const keyText = await Deno.readTextFile(join(dir, "server.key"));
  const keyBody = keyText.split("\n")[1];
  try {
    await t.step("resolvePemPath maps a directory to the Kubernetes TLS secret names", () => {
      assertEquals(resolvePemPath(secretDir, "cert"), join(secretDir, "tls.crt"));
      assertEquals(resolvePemPath(secretDir, "key"), join(secretDir, "tls.key"));
      assertEquals(resolvePemPath(secretDir, "ca"), join(secretDir, "ca.crt"));
      assertEquals(PEM_FILE_NAMES, { cert: "tls.crt", key: "tls.key", ca: "ca.crt" });
    });
    await t.step("resolvePemPath leaves files and missing paths alone", () => {
      assertEquals(resolvePemPath(join(dir, "server.crt"), "cert"), join(dir, "server.crt"));
      assertEquals(resolvePemPath(join(dir, "nope"), "key"), join(dir, "nope"));
    });
    await t.step("loadPem reads a certificate file and a key file", async () => {
      const cert = loadPem(join(dir, "server.crt"), "cert", "SSL_CERT");
      assertEquals(cert, await Deno.readTextFile(join(dir, "server.crt")));
      assert(cert.includes("-----BEGIN CERTIFICATE-----"));
      assertEquals(loadPem(join(dir, "server.key"), "key", "SSL_KEY"), keyText);
    });
    await t.step("loadPem reads cert, key and CA from one directory", () => {
      assert(loadPem(secretDir, "cert", "TLS_CERT").includes("BEGIN CERTIFICATE"));
      assert(loadPem(secretDir, "key", "TLS_KEY").includes("BEGIN PRIVATE KEY"));
      assert(loadPem(secretDir, "ca", "CA_TLS_CERT").includes("BEGIN CERTIFICATE"));
    });
    await t.step("traditional RSA and EC keys are accepted", () => {
      assert(loadPem(join(dir, "rsa.key"), "key", "SSL_KEY").includes("BEGIN RSA PRIVATE KEY"));
      assert(loadPem(join(dir, "ec.key"), "key", "SSL_KEY").includes("BEGIN EC PRIVATE KEY"));
    });
    await t.step("a missing file names the key and the path", () => {
      const err = failure(() => loadPem(join(dir, "missing.crt"), "cert", "SSL_CERT"));
      assert(err.message.startsWith("SSL_CERT: "), err.message);
      assert(err.message.includes(join(dir, "missing.crt")), err.message);
      assert(err.message.includes("does not exist"), err.message);
    });
    await t.step("a directory without the expected file names that file", () => {
      const err = failure(() => loadPem(join(dir, "empty"), "key", "TLS_KEY"));
      assert(err.message.startsWith("TLS_KEY: "), err.message);
      assert(err.message.includes("has no tls.key"), err.message);
    });
    await t.step("a key where a certificate belongs is rejected without quoting it", () => {
      const err = failure(() => loadPem(join(dir, "server.key"), "ca", "SSL_CA"));
      assert(err.message.includes("holds a private key, not a certificate"), err.message);
      assert(!err.describe().includes(keyBody), "key material must not be quoted");
    });
    await t.step("a certificate where a key belongs is rejected", () => {
      const err = failure(() => loadPem(join(dir, "server.crt"), "key", "SSL_KEY"));
      assert(err.message.includes("holds a certificate, not a private key"), err.message);
    });
    await t.step("an encrypted key is rejected with what to do", () => {
      const err = failure(() => loadPem(join(dir, "encrypted.key"), "key", "SSL_KEY"));
      assert(err.message.includes("encrypted private key"), err.message);
      assert(err.hint.includes("openssl pkey"), err.hint);
    });
    await t.step("text that is not PEM is rejected", () => {
      const cert = failure(() => loadPem(join(dir, "garbage.pem"), "cert", "TLS_CERT"));
      assert(cert.message.includes("holds no PEM certificate"), cert.message);
      const key = failure(() => loadPem(join(dir, "garbage.pem"), "key", "TLS_KEY"));
      assert(key.message.includes("holds no PEM private key"), key.message);
    });
    await t.step("a BEGIN line without its END line is rejected", async () => {
      const cut = join(dir, "cut.crt");
      const text = await Deno.readTextFile(join(dir, "server.crt"));
      await Deno.writeTextFile(cut, text.slice(0, text.indexOf("-----END")));
      failure(() => loadPem(cut, "cert", "SSL_CERT"));
    });
    await t.step("an empty path is rejected", () => {
      const err = failure(() => loadPem("", "cert", "SSL_CERT"));
      assert(err.message.startsWith("SSL_CERT: is empty"), err.message);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
