/**
 * The TLS versions and cipher suites every LMS listener accepts: TLS 1.2 and
 * 1.3 only, with forward-secret AEAD suites only (no CBC, RC4, 3DES, static
 * RSA key exchange or export suites).
 *
 * Deno's TLS (rustls) supports nothing weaker in the first place; the options
 * are still set so the policy holds on any runtime and is stated in one place.
 *
 * @module
 */

/** Lowest protocol version a client may negotiate. */
export const MIN_TLS_VERSION = "TLSv1.2";

/** OpenSSL names of the TLS 1.2 suites allowed (TLS 1.3 suites are all AEAD). */
export const TLS12_CIPHERS: readonly string[] = [
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
];

/** Options to spread into every `tls.createServer` / `https.createServer`. */
export const SERVER_TLS_POLICY: {
  readonly minVersion: "TLSv1.2";
  readonly ciphers: string;
  readonly honorCipherOrder: true;
} = {
  minVersion: MIN_TLS_VERSION,
  ciphers: [
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    ...TLS12_CIPHERS,
  ].join(":"),
  honorCipherOrder: true,
};
