/**
 * Sends one (mutated) session to a proxy and classifies how the connection
 * ended. The client writes every chunk, waits briefly for answers, then
 * half-closes its side; a proxy that has not closed the connection
 * `endBoundMs` after that has hung.
 *
 * @module
 */

/** How one fuzzed connection ended. */
export type ReplayOutcome =
  /** The proxy closed the connection (after an answer, an error or EOF). */
  | "closed"
  /** The proxy reset the connection or refused writes. */
  | "reset"
  /** Still open `endBoundMs` after the client half-closed. */
  | "hang"
  /** The proxy did not accept the connection at all. */
  | "refused";

/** What {@linkcode replay} saw. */
export interface ReplayResult {
  /** How the connection ended. */
  outcome: ReplayOutcome;
  /** Bytes the proxy sent back. */
  received: number;
  /** Milliseconds from connect to the end. */
  ms: number;
}

/** Bounds of one replay. */
export interface ReplayBounds {
  /** After the last chunk, how long to wait for the proxy to go quiet before half-closing. */
  quietMs: number;
  /** After half-closing, how long the proxy has to close the connection. */
  endBoundMs: number;
}

/** Replays `chunks` against `127.0.0.1:port`. */
export async function replay(
  port: number,
  chunks: Uint8Array[],
  bounds: ReplayBounds,
): Promise<ReplayResult> {
  const t0 = performance.now();
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return { outcome: "refused", received: 0, ms: performance.now() - t0 };
  }
  let received = 0;
  let lastByte = performance.now();
  let reset = false;
  const reading = (async () => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        received += n;
        lastByte = performance.now();
      }
    } catch {
      reset = true;
    }
  })();
  let ended = false;
  reading.then(() => (ended = true));
  try {
    for (const chunk of chunks) {
      if (ended) break;
      let at = 0;
      while (at < chunk.length) at += await conn.write(chunk.subarray(at));
    }
  } catch {
    reset = true;
  }
  const sentAt = performance.now();
  const giveUp = sentAt + bounds.endBoundMs;
  while (
    !ended && performance.now() < giveUp &&
    performance.now() - Math.max(lastByte, sentAt) < bounds.quietMs
  ) {
    await Promise.race([reading, new Promise((r) => setTimeout(r, 20))]);
  }
  try {
    if (!ended) await conn.closeWrite();
  } catch {
    reset = true;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = await Promise.race([
    reading.then(() => false),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), bounds.endBoundMs))),
  ]);
  clearTimeout(timer);
  try {
    conn.close();
  } catch {
    // closed by the reader
  }
  await reading;
  const outcome: ReplayOutcome = hung ? "hang" : reset ? "reset" : "closed";
  return { outcome, received, ms: performance.now() - t0 };
}
