/**
 * Mutations of captured sessions, driven by a seeded PRNG so that a seed and
 * an input number always give the same bytes: bit flips, byte insertion and
 * deletion, length-field corruption, type-byte changes, message splicing
 * (from another session), duplication, dropping, truncation and re-splitting
 * of the chunk boundaries. Message-aware mutations use the wire's framing:
 * PostgreSQL's type byte and 4-byte length, or MySQL's 3-byte length,
 * sequence number and command byte ({@linkcode FRAMINGS}).
 *
 * @module
 */

import type { CorpusSession } from "./corpus.ts";
import { concatBytes } from "../../shared/bytes.ts";

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/** A small, fast, seedable PRNG (mulberry32). */
export class Rng {
  #s: number;
  /** @param seed any 32-bit integer */
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

/** Where one message sits in a flat stream. */
interface Frame {
  /** Offset of its first byte (the type byte, or the length word of an untyped packet). */
  start: number;
  /** Offset of its length word. */
  lengthAt: number;
  /** Offset just past it (may exceed the stream for a truncated message). */
  end: number;
}

/** Splits a client stream into messages: untyped startup packets first, then typed ones. */
export function frames(buf: Uint8Array): Frame[] {
  const out: Frame[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  let untyped = true;
  while (at + (untyped ? 8 : 5) <= buf.length) {
    const lengthAt = untyped ? at : at + 1;
    const length = view.getUint32(lengthAt);
    if (length < 4) break;
    const end = lengthAt + length;
    out.push({ start: at, lengthAt, end });
    if (untyped) {
      const code = view.getUint32(at + 4);
      untyped = code === SSL_REQUEST || code === GSSENC_REQUEST;
    }
    if (end > buf.length) break;
    at = end;
  }
  return out;
}

/** MySQL packets: 3-byte little-endian payload length, sequence id, payload. */
export function mysqlFrames(buf: Uint8Array): Frame[] {
  const out: Frame[] = [];
  let at = 0;
  while (at + 4 <= buf.length) {
    const length = buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16);
    const end = at + 4 + length;
    // The command byte (first payload byte) plays the part of PostgreSQL's type byte.
    out.push({ start: at, lengthAt: at, end });
    if (end > buf.length) break;
    at = end;
  }
  return out;
}

/** How a wire frames its client messages, for the message-aware mutations. */
export interface Framing {
  /** Splits a flat client stream into messages. */
  frames(buf: Uint8Array): Frame[];
  /** The length word of `f`. */
  length(buf: Uint8Array, f: Frame): number;
  /** Overwrites the length word of `f`. */
  setLength(buf: Uint8Array, f: Frame, length: number): void;
  /** Offset of the byte naming the message's kind, undefined for untyped packets. */
  kindAt(f: Frame): number | undefined;
  /** Kind bytes worth trying. */
  kinds: readonly number[];
  /** Length values worth trying. */
  lengths: readonly number[];
  /**
   * Bytes duplication and splicing may add to one input, all its stacked
   * mutations together. Without it one input could repeat a 19 KB bulk INSERT
   * 200 times, and MariaDB then stalled every connection, the witness's direct
   * ones included, for 10–18 s: the round measured the database, not the proxy.
   */
  growthBudget: number;
}

/** {@linkcode Framing.growthBudget} of both wires: far above any input that kept the database fast. */
export const GROWTH_BUDGET_BYTES = 256 * 1024;

const INTERESTING_LENGTHS = [0, 1, 3, 4, 5, 0x7fff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

/** The framings by wire. */
export const FRAMINGS: Record<"postgres" | "mysql", Framing> = {
  postgres: {
    frames,
    length: (buf, f) => new DataView(buf.buffer, buf.byteOffset).getUint32(f.lengthAt),
    setLength: (buf, f, n) =>
      new DataView(buf.buffer, buf.byteOffset).setUint32(f.lengthAt, n >>> 0),
    kindAt: (f) => (f.start === f.lengthAt ? undefined : f.start),
    kinds: "QPBEDCHSXFdcfp".split("").map((c) => c.charCodeAt(0)),
    lengths: INTERESTING_LENGTHS,
    growthBudget: GROWTH_BUDGET_BYTES,
  },
  mysql: {
    frames: mysqlFrames,
    length: (buf, f) => buf[f.lengthAt] | (buf[f.lengthAt + 1] << 8) | (buf[f.lengthAt + 2] << 16),
    setLength: (buf, f, n) => {
      buf[f.lengthAt] = n & 0xff;
      buf[f.lengthAt + 1] = (n >>> 8) & 0xff;
      buf[f.lengthAt + 2] = (n >>> 16) & 0xff;
    },
    kindAt: (f) => f.start + 4,
    // COM_QUIT, INIT_DB, QUERY, FIELD_LIST, PING, CHANGE_USER, STMT_PREPARE/EXECUTE/SEND_LONG_DATA/
    // CLOSE/RESET, SET_OPTION, STMT_FETCH, RESET_CONNECTION, and an unknown one.
    kinds: [
      0x01,
      0x02,
      0x03,
      0x04,
      0x0e,
      0x11,
      0x16,
      0x17,
      0x18,
      0x19,
      0x1a,
      0x1b,
      0x1c,
      0x1f,
      0xfe,
    ],
    lengths: [0, 1, 3, 4, 0xff, 0xffff, 0xfffffe, 0xffffff],
    growthBudget: GROWTH_BUDGET_BYTES,
  },
};

/** Cuts `buf` at the offsets `cuts` (ascending), dropping empty pieces. */
function cut(buf: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...cuts.filter((c) => c > 0 && c < buf.length), buf.length]) {
    if (c > from) out.push(buf.slice(from, c));
    from = Math.max(from, c);
  }
  return out;
}

/** The chunk boundaries of `chunks` as offsets into their concatenation. */
function boundaries(chunks: Uint8Array[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const c of chunks) out.push(at += c.length);
  return out;
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x51, 0x50, 0x42, 0x45, 0x64, 0x63];

/**
 * One mutation: the session's flat bytes and chunk cuts in, new ones out.
 * `budget` is how many bytes it may still add by repeating or splicing messages.
 */
type Mutation = (
  rng: Rng,
  buf: Uint8Array,
  cuts: number[],
  donor: Uint8Array,
  framing: Framing,
  budget: number,
) => { buf: Uint8Array; cuts: number[] };

/** Replaces `buf[from, to)` with `insert` and moves the cuts after it. */
function edit(
  buf: Uint8Array,
  cuts: number[],
  from: number,
  to: number,
  insert: Uint8Array,
): { buf: Uint8Array; cuts: number[] } {
  const out = new Uint8Array(buf.length - (to - from) + insert.length);
  out.set(buf.subarray(0, from), 0);
  out.set(insert, from);
  out.set(buf.subarray(to), from + insert.length);
  const delta = insert.length - (to - from);
  return { buf: out, cuts: cuts.map((c) => (c <= from ? c : Math.max(from, c + delta))) };
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = rng.next() < 0.5 ? rng.pick(INTERESTING_BYTES) : rng.int(256);
  }
  return out;
}

/** The mutations by name, so a found input can say how it was made. */
export const MUTATIONS: Record<string, Mutation> = {
  bitFlip(rng, buf, cuts) {
    if (buf.length === 0) return { buf, cuts };
    const out = buf.slice();
    const i = rng.int(out.length);
    out[i] ^= 1 << rng.int(8);
    return { buf: out, cuts };
  },
  byteSet(rng, buf, cuts) {
    if (buf.length === 0) return { buf, cuts };
    const out = buf.slice();
    out[rng.int(out.length)] = rng.pick(INTERESTING_BYTES);
    return { buf: out, cuts };
  },
  byteInsert(rng, buf, cuts) {
    const at = rng.int(buf.length + 1);
    return edit(buf, cuts, at, at, randomBytes(rng, 1 + rng.int(16)));
  },
  byteDelete(rng, buf, cuts) {
    const at = rng.int(buf.length + 1);
    return edit(buf, cuts, at, Math.min(buf.length, at + 1 + rng.int(16)), new Uint8Array(0));
  },
  lengthField(rng, buf, cuts, _donor, framing) {
    const fs = framing.frames(buf);
    if (fs.length === 0) return { buf, cuts };
    const f = rng.pick(fs);
    const length = framing.length(buf, f);
    const choices = [...framing.lengths, length - 1, length + 1, length * 2, rng.int(1 << 20)];
    const out = buf.slice();
    framing.setLength(out, f, rng.pick(choices));
    return { buf: out, cuts };
  },
  typeByte(rng, buf, cuts, _donor, framing) {
    const at = framing.frames(buf).map(framing.kindAt).filter((k): k is number =>
      k !== undefined && k < buf.length
    );
    if (at.length === 0) return { buf, cuts };
    const out = buf.slice();
    out[rng.pick(at)] = rng.next() < 0.7 ? rng.pick(framing.kinds) : rng.int(256);
    return { buf: out, cuts };
  },
  splice(rng, buf, cuts, donor, framing, budget) {
    const mine = framing.frames(buf).filter((f) => f.end <= buf.length);
    const theirs = framing.frames(donor).filter((f) =>
      framing.kindAt(f) !== undefined && f.end <= donor.length
    );
    if (mine.length === 0 || theirs.length === 0) return { buf, cuts };
    const at = rng.pick(mine).end;
    const from = rng.pick(theirs);
    const first = theirs.indexOf(from);
    let to = Math.min(theirs.length, first + 1 + rng.int(4));
    while (to > first && theirs[to - 1].end - from.start > budget) to--;
    if (to === first) return { buf, cuts };
    return edit(buf, cuts, at, at, donor.slice(from.start, theirs[to - 1].end));
  },
  duplicate(rng, buf, cuts, _donor, framing, budget) {
    const fs = framing.frames(buf).filter((f) => f.end <= buf.length);
    if (fs.length === 0) return { buf, cuts };
    const f = rng.pick(fs);
    // Drawn before the budget clamps it, so inputs within the budget are the bytes they always were.
    const drawn = 1 + rng.int(rng.next() < 0.1 ? 200 : 3);
    const copies = Math.min(drawn, Math.floor(budget / Math.max(1, f.end - f.start)));
    if (copies === 0) return { buf, cuts };
    const piece = buf.slice(f.start, f.end);
    const insert = new Uint8Array(piece.length * copies);
    for (let i = 0; i < copies; i++) insert.set(piece, i * piece.length);
    return edit(buf, cuts, f.end, f.end, insert);
  },
  drop(rng, buf, cuts, _donor, framing) {
    const fs = framing.frames(buf).filter((f) => f.end <= buf.length);
    if (fs.length === 0) return { buf, cuts };
    const f = rng.pick(fs);
    return edit(buf, cuts, f.start, f.end, new Uint8Array(0));
  },
  truncate(rng, buf, cuts) {
    const at = rng.int(buf.length + 1);
    return { buf: buf.slice(0, at), cuts: cuts.filter((c) => c < at) };
  },
  resplit(rng, buf) {
    const cuts: number[] = [];
    const max = rng.pick([1, 2, 7, 64, 512]);
    for (let at = 1 + rng.int(max); at < buf.length; at += 1 + rng.int(max)) cuts.push(at);
    return { buf, cuts };
  },
  coalesce(_rng, buf) {
    return { buf, cuts: [] };
  },
};

const NAMES = Object.keys(MUTATIONS);

/** A mutated session, ready to send. */
export interface FuzzInput {
  /** Input number within the seed. */
  index: number;
  /** The corpus session it came from. */
  base: string;
  /** The mutations applied, in order. */
  mutations: string[];
  /** The bytes to send, chunk by chunk. */
  chunks: Uint8Array[];
}

/**
 * Input number `index` of `seed`: a corpus session with 1–4 stacked
 * mutations, grown by at most `framing.growthBudget` bytes of repeated or
 * spliced messages. Deterministic in (seed, index, corpus).
 */
export function makeInput(
  corpus: CorpusSession[],
  seed: number,
  index: number,
  framing: Framing = FRAMINGS.postgres,
): FuzzInput {
  const rng = new Rng((seed * 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b));
  const base = rng.pick(corpus);
  const donor = concatBytes(rng.pick(corpus).chunks);
  let buf = concatBytes(base.chunks);
  const baseLength = buf.length;
  let cuts = boundaries(base.chunks);
  const mutations: string[] = [];
  const count = 1 + rng.int(4);
  for (let i = 0; i < count; i++) {
    const name = rng.pick(NAMES);
    const budget = Math.max(0, framing.growthBudget - (buf.length - baseLength));
    ({ buf, cuts } = MUTATIONS[name](rng, buf, cuts, donor, framing, budget));
    mutations.push(name);
  }
  return { index, base: base.name, mutations, chunks: cut(buf, [...cuts].sort((a, b) => a - b)) };
}
