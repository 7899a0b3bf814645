/**
 * Byte-array helpers shared by the wire code and its tests.
 *
 * @module
 */

/** `chunks` joined into one new array, in order. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
