/**
 * Cancel keys that name their proxy.
 *
 * Kubernetes balances every TCP connection on its own, so a PostgreSQL
 * CancelRequest often reaches a different proxy than the session it targets.
 * The process id each proxy hands its clients therefore carries a 10-bit tag
 * derived from the proxy's id in bits 21..30; any proxy can tell whose key it
 * is and forward the request over the control channel.
 *
 * @module
 */

const TAG_BITS = 10;
const SEQ_BITS = 21;
const TAG_MASK = (1 << TAG_BITS) - 1;
const SEQ_MASK = (1 << SEQ_BITS) - 1;

/** The 10-bit tag of a proxy id: 32-bit FNV-1a of its UTF-8 bytes, xor-folded to 10 bits. */
export function proxyTag(proxyId: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(proxyId)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash ^ (hash >>> 10) ^ (hash >>> 20) ^ (hash >>> 30)) & TAG_MASK;
}

/**
 * The process id for the `sessionSeq`-th session of `proxyId`: the proxy's tag
 * in the high bits and the sequence in the low 21 bits. The low part skips
 * zero (sequence numbers wrap within 1..2^21-1), so the result is always a
 * positive int32.
 */
export function processIdFor(proxyId: string, sessionSeq: number): number {
  const seq = ((Math.trunc(sessionSeq) - 1) % SEQ_MASK + SEQ_MASK) % SEQ_MASK + 1;
  return ((proxyTag(proxyId) << SEQ_BITS) | seq) >>> 0;
}

/** The proxy tag carried by a process id made by {@linkcode processIdFor}. */
export function proxyTagOf(processId: number): number {
  return (processId >>> SEQ_BITS) & TAG_MASK;
}
