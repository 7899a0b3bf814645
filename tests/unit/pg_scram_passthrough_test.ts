/**
 * SCRAM-SHA-256 pass-through against RFC 7677's test vector (user "user",
 * password "pencil"): the ClientKey recovered from the relayed proof and the
 * verifier is the one the password gives, and those keys alone reproduce the
 * RFC's proof and check its server signature. Also the MD5 answer from a
 * stored hash, and identities that never show their secrets.
 */

import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import {
  b64,
  clientProof,
  keysFromPassword,
  parseScramVerifier,
  recoverKeys,
  type ScramTranscript,
  serverSignature,
  unb64,
} from "../../proxy/pg/scram_passthrough.ts";
import { md5Answer, md5Hash, md5Password } from "../../proxy/pg/backend_auth.ts";
import { IdentityRecorder, SessionIdentity } from "../../proxy/pg/identity.ts";
import { cstring, int32 } from "../../proxy/pg/messages.ts";

const RFC: ScramTranscript = {
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverFirst:
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};
const AUTH_MESSAGE = "n=user,r=rOprNGfwEbeRWgbNEkqO," + RFC.serverFirst + "," +
  "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

/** The verifier PostgreSQL would store for "pencil", computed here with node:crypto alone. */
function rfcVerifierText(): string {
  const salted = pbkdf2Sync("pencil", unb64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = new Uint8Array(createHash("sha256").update(clientKey).digest());
  const serverKey = new Uint8Array(createHmac("sha256", salted).update("Server Key").digest());
  return `SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$${b64(storedKey)}:${b64(serverKey)}`;
}

Deno.test("pass-through recovers the ClientKey of RFC 7677's exchange", () => {
  const verifier = parseScramVerifier(rfcVerifierText());
  assert.ok(verifier, "the verifier parses");
  const recovered = recoverKeys(RFC, verifier);
  assert.ok(recovered.ok, recovered.ok ? "" : recovered.reason);
  const fromPassword = keysFromPassword("pencil", verifier.salt, 4096);
  assert.equal(b64(recovered.keys.clientKey), b64(fromPassword.clientKey));
  // The recovered keys alone reproduce the RFC's proof and its server signature.
  assert.equal(
    b64(clientProof(recovered.keys.clientKey, AUTH_MESSAGE)),
    "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  assert.equal(
    b64(serverSignature(recovered.keys.serverKey, AUTH_MESSAGE)),
    "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  );
});

Deno.test("pass-through refuses a proof, a signature or a salt that does not match", () => {
  const verifier = parseScramVerifier(rfcVerifierText())!;
  const badProof = { ...RFC, clientFinal: RFC.clientFinal.replace("p=dH", "p=dX") };
  const r1 = recoverKeys(badProof, verifier);
  assert.equal(r1.ok, false);
  assert.match(r1.ok ? "" : r1.reason, /proof does not match/);
  const badSignature = { ...RFC, serverFinal: "v=" + b64(new Uint8Array(32)) };
  const r2 = recoverKeys(badSignature, verifier);
  assert.match(r2.ok ? "" : r2.reason, /signature does not match/);
  const otherSalt = parseScramVerifier(
    rfcVerifierText().replace("W22ZaJ0SNY7soEsUEjb6gQ==", b64(new Uint8Array(16))),
  )!;
  const r3 = recoverKeys(RFC, otherSalt);
  assert.match(r3.ok ? "" : r3.reason, /another salt or iteration count/);
});

Deno.test("verifiers: only SCRAM-SHA-256$iter:salt$stored:server parses", () => {
  assert.equal(parseScramVerifier("md5" + "0".repeat(32)), undefined);
  assert.equal(parseScramVerifier("pencil"), undefined);
  assert.equal(parseScramVerifier("SCRAM-SHA-256$0:AAAA$AAAA:AAAA"), undefined);
  const v = parseScramVerifier(rfcVerifierText())!;
  assert.equal(v.iterations, 4096);
  assert.equal(v.storedKey.length, 32);
});

Deno.test("MD5: the stored hash answers a challenge as the password does", () => {
  const salt = new Uint8Array([1, 2, 3, 4]);
  const hash = md5Hash("appuser", "s3cret");
  assert.match(hash, /^md5[0-9a-f]{32}$/);
  assert.equal(md5Answer(hash, salt), md5Password("appuser", "s3cret", salt));
});

Deno.test("an identity recorded from a relayed SCRAM exchange holds the keys, shows none", async () => {
  const rec = new IdentityRecorder("user", () => Promise.resolve(rfcVerifierText()));
  const enc = new TextEncoder();
  rec.serverAsked(10, new Uint8Array([0, 0, 0, 10, ...cstring("SCRAM-SHA-256"), 0]));
  const first = enc.encode(RFC.clientFirst);
  rec.clientAnswered(
    new Uint8Array([...cstring("SCRAM-SHA-256"), ...int32(first.length), ...first]),
  );
  rec.serverAsked(11, new Uint8Array([0, 0, 0, 11, ...enc.encode(RFC.serverFirst)]));
  rec.clientAnswered(enc.encode(RFC.clientFinal));
  rec.serverAsked(12, new Uint8Array([0, 0, 0, 12, ...enc.encode(RFC.serverFinal)]));
  const identity = await rec.identity();
  assert.equal(identity.unavailable, undefined);
  const login = identity.login("target database");
  assert.equal(login.credential.kind, "scram");
  const shown = JSON.stringify(identity) + Deno.inspect(identity) + String(identity);
  const keys = login.credential.kind === "scram" ? login.credential.keys : undefined;
  for (const secret of [keys!.clientKey, keys!.storedKey, keys!.serverKey]) {
    assert.ok(!shown.includes(b64(secret)), "no key in the identity's rendering");
  }
  assert.deepEqual(JSON.parse(JSON.stringify(identity)), { user: "user", method: "scram-sha-256" });
});

Deno.test("an identity without a credential refuses to log in, naming why", () => {
  const identity = new SessionIdentity("appuser", "md5", {
    reason: "the auth query found no stored password for appuser",
  });
  assert.throws(
    () => identity.login("target database"),
    /cannot log in as appuser on the target database: the auth query found no stored password/,
  );
});
