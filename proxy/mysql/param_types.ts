/**
 * The parameter types of a session's prepared statements, kept across
 * moves. Clients send a statement's parameter types only with its first
 * COM_STMT_EXECUTE after the prepare (or when they change); a statement
 * prepared again on the other side after a move has never seen them, so
 * the wire adds the kept types to the first execute there.
 *
 * @module
 */

import type { Packet } from "./framing.ts";

/** One statement's parameter count and the types (2 bytes each) the client bound last. */
export interface KeptParamTypes {
  count: number;
  types: Uint8Array | undefined;
}

/** Whether `kept` is there and equals `bytes` from `at` on. */
function sameBytes(kept: Uint8Array | undefined, bytes: Uint8Array, at: number): boolean {
  if (!kept || at + kept.length > bytes.length) return false;
  for (let i = 0; i < kept.length; i++) if (kept[i] !== bytes[at + i]) return false;
  return true;
}

/** See the module documentation. */
export class ParamTypes {
  readonly #byId = new Map<number, KeptParamTypes>();
  /** Statements whose connection has not been sent their parameter types since a move. */
  #unsent = new Set<number>();

  /** Per statement id: what is kept (for a move's re-prepare). */
  get kept(): ReadonlyMap<number, KeptParamTypes> {
    return this.#byId;
  }

  /** A statement was prepared with `count` parameters. */
  prepared(id: number, count: number): void {
    this.#byId.set(id, { count, types: undefined });
  }

  /** A statement was closed. */
  closed(id: number): void {
    this.#byId.delete(id);
  }

  /** The session moved: no statement's new connection has had its types. */
  moved(): void {
    this.#unsent = new Set(this.#byId.keys());
  }

  /**
   * Keeps the types a COM_STMT_EXECUTE of statement `id` binds (its
   * new-params-bound flag after the null bitmap starting at `at`), or adds
   * the kept ones when the client sends none and the connection has not had
   * them: returns the payload to send (`p.payload` when unchanged).
   */
  withTypes(p: Packet, id: number, at: number): Uint8Array {
    const info = this.#byId.get(id);
    if (!info || info.count === 0 || p.continues) return p.payload;
    const flagAt = at + ((info.count + 7) >> 3);
    if (flagAt >= p.payload.length) return p.payload;
    if (p.payload[flagAt] === 1) {
      // Clients send the same types with every execute: keep a copy only when they change.
      if (!sameBytes(info.types, p.payload, flagAt + 1)) {
        info.types = p.payload.slice(flagAt + 1, flagAt + 1 + 2 * info.count);
      }
      this.#unsent.delete(id);
      return p.payload;
    }
    if (!info.types || !this.#unsent.has(id)) return p.payload;
    this.#unsent.delete(id);
    const out = new Uint8Array(p.payload.length + info.types.length);
    out.set(p.payload.subarray(0, flagAt));
    out[flagAt] = 1;
    out.set(info.types, flagAt + 1);
    out.set(p.payload.subarray(flagAt + 1), flagAt + 1 + info.types.length);
    return out;
  }
}
