/**
 * The fuzz corpus: captured client→proxy byte streams, one session per file
 * under `tests/fuzz/corpus/`, each chunk as the client's socket wrote it
 * (chunk boundaries are part of what is fuzzed).
 *
 * File format (JSON): `{ "client": "psql", "note": "...", "chunks": ["<base64>", ...] }`.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "./base64.ts";
import type { RecordingRelay } from "./recording_relay.ts";

/** One captured session. */
export interface CorpusSession {
  /** File name without directory, e.g. `psql-1.json`. */
  name: string;
  /** The client program that produced it (`psql`, `pgbench-prepared`, `node-postgres`, …). */
  client: string;
  /** What the client did in this session. */
  note: string;
  /** The bytes the client sent, chunk by chunk. */
  chunks: Uint8Array[];
}

/** Where the committed corpus lives. */
export const CORPUS_DIR: string = new URL("./corpus/", import.meta.url).pathname;

/** Serialises a session for its corpus file. */
export function encodeSession(s: Omit<CorpusSession, "name">): string {
  return JSON.stringify(
    { client: s.client, note: s.note, chunks: s.chunks.map(encodeBase64) },
    null,
    1,
  ) + "\n";
}

/** Reads every `*.json` session of `dir`, sorted by name (so seeds replay the same inputs). */
export async function loadCorpus(dir: string = CORPUS_DIR): Promise<CorpusSession[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".json")) names.push(e.name);
  }
  names.sort();
  const out: CorpusSession[] = [];
  for (const name of names) {
    const raw = JSON.parse(await Deno.readTextFile(`${dir}${name}`)) as {
      client: string;
      note: string;
      chunks: string[];
    };
    out.push({ name, client: raw.client, note: raw.note, chunks: raw.chunks.map(decodeBase64) });
  }
  if (out.length === 0) {
    throw new Error(`no corpus sessions in ${dir}; run deno run -A tests/fuzz/capture.ts`);
  }
  return out;
}

/** One client run of a capture: who it is, what it does, and doing it. */
export interface CaptureStep {
  /** Client program, the prefix of its corpus files. */
  client: string;
  /** What it does, kept in each file. */
  note: string;
  /** Runs the client through the relay. */
  go(): Promise<void>;
}

/**
 * Runs each step through `relay` and writes every connection it opened that
 * sent anything as `<dir><client>-<n>.json`, logging what it wrote.
 */
export async function captureSteps(
  relay: RecordingRelay,
  steps: CaptureStep[],
  dir: string,
): Promise<void> {
  for (const step of steps) {
    await step.go();
    const conns = await relay.drain();
    let n = 0;
    for (const c of conns) {
      if (c.chunks.length === 0) continue;
      const file = `${dir}${step.client}-${++n}.json`;
      await Deno.writeTextFile(file, encodeSession({ ...step, chunks: c.chunks }));
      const bytes = c.chunks.reduce((a, b) => a + b.length, 0);
      console.log(`${file}: ${c.chunks.length} chunks, ${bytes} bytes`);
    }
  }
}
