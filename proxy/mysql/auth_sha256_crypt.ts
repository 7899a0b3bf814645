/**
 * SHA-256 crypt (Ulrich Drepper's "Unix crypt using SHA-256", the `$5$` of
 * glibc) and MySQL 8's stored form of a `caching_sha2_password` account:
 * `$A$` + the rounds in thousands as three hex digits (`005`: 5000) + `$` +
 * a 20-byte salt + the 43-character digest. MySQL runs the algorithm with its
 * 20-byte salt where glibc stops at 16 bytes; otherwise they are the same.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";

const ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Byte triples of the final digest, in the order the encoding takes them. */
const ORDER = [
  [0, 10, 20],
  [21, 1, 11],
  [12, 22, 2],
  [3, 13, 23],
  [24, 4, 14],
  [15, 25, 5],
  [6, 16, 26],
  [27, 7, 17],
  [18, 28, 8],
  [9, 19, 29],
];

/** SHA-256 of the concatenated `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** `length` bytes of `block` repeated. */
function repeatTo(block: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += block.length) out.set(block.subarray(0, length - i), i);
  return out;
}

function encode(d: Uint8Array): string {
  let out = "";
  const put = (b2: number, b1: number, b0: number, n: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < n; i++) {
      out += ALPHABET[w & 0x3f];
      w >>= 6;
    }
  };
  for (const [a, b, c] of ORDER) put(d[a], d[b], d[c], 4);
  put(0, d[31], d[30], 3);
  return out;
}

/** Rounds run between two yields to the event loop. */
const ROUNDS_PER_SLICE = 250;

/**
 * The 43-character SHA-256 crypt digest of `password` with `salt` and
 * `rounds`. The rounds cost tens of milliseconds of CPU on a busy machine,
 * so they run in slices with the event loop free in between: other sessions
 * of the proxy are not held up by one login.
 */
export async function sha256Crypt(
  password: Uint8Array,
  salt: Uint8Array,
  rounds: number,
): Promise<string> {
  const p = password, s = salt;
  const b = sha256(p, s, p);
  const a = createHash("sha256").update(p).update(s);
  let i = p.length;
  for (; i > 32; i -= 32) a.update(b);
  a.update(b.subarray(0, i));
  for (let n = p.length; n > 0; n >>= 1) a.update(n & 1 ? b : p);
  let c = new Uint8Array(a.digest());
  const dp = createHash("sha256");
  for (let n = 0; n < p.length; n++) dp.update(p);
  const pBytes = repeatTo(new Uint8Array(dp.digest()), p.length);
  const ds = createHash("sha256");
  for (let n = 0; n < 16 + c[0]; n++) ds.update(s);
  const sBytes = repeatTo(new Uint8Array(ds.digest()), s.length);
  for (let r = 0; r < rounds; r++) {
    if (r > 0 && r % ROUNDS_PER_SLICE === 0) await new Promise((done) => setTimeout(done, 0));
    const h = createHash("sha256");
    h.update(r & 1 ? pBytes : c);
    if (r % 3) h.update(sBytes);
    if (r % 7) h.update(pBytes);
    h.update(r & 1 ? c : pBytes);
    c = new Uint8Array(h.digest());
  }
  return encode(c);
}

/** A parsed `$A$rrr$salt+digest` authentication string. */
export interface CachingSha2Hash {
  rounds: number;
  salt: Uint8Array;
  digest: string;
}

/** MySQL's salt length for caching_sha2_password. */
const SALT_LENGTH = 20;
const DIGEST_LENGTH = 43;

/** Parses MySQL 8's stored caching_sha2_password string; undefined when it is not one. */
export function parseCachingSha2(stored: Uint8Array): CachingSha2Hash | undefined {
  const head = new TextDecoder().decode(stored.subarray(0, 7));
  const m = /^\$A\$([0-9A-Fa-f]{3})\$$/.exec(head);
  if (!m || stored.length !== 7 + SALT_LENGTH + DIGEST_LENGTH) return undefined;
  return {
    rounds: parseInt(m[1], 16) * 1000,
    salt: stored.slice(7, 7 + SALT_LENGTH),
    digest: Buffer.from(stored.subarray(7 + SALT_LENGTH)).toString("latin1"),
  };
}

/** Whether `password` is the one `stored` (MySQL 8's `$A$005$...`) was made from. */
export async function cachingSha2Matches(
  stored: CachingSha2Hash,
  password: Uint8Array,
): Promise<boolean> {
  return await sha256Crypt(password, stored.salt, stored.rounds) === stored.digest;
}
