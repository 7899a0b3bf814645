/**
 * A TCP relay for the control channel that can stop forwarding: while
 * stalled, connections stay open and bytes are neither delivered nor
 * refused in either direction (a silent network partition); on resume the
 * held bytes flow again.
 *
 * @module
 */

/** A running relay. */
export interface StallRelay extends AsyncDisposable {
  /** Port to connect to instead of the upstream. */
  port: number;
  /** The upstream port; may be set after the relay starts. */
  upstream: number;
  /** Stops forwarding. */
  stall(): void;
  /** Forwards again (held bytes first). */
  resume(): void;
  /** Closes the listener and every relayed connection. */
  close(): Promise<void>;
}

/** Starts a relay on a free loopback port. */
export function startStallRelay(upstream = 0): StallRelay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let stalled = false;
  let wake: (() => void)[] = [];
  const flowing = async () => {
    while (stalled) await new Promise<void>((r) => wake.push(r));
  };
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        await flowing();
        let at = 0;
        while (at < n) at += await to.write(buf.subarray(at, n));
      }
    } catch {
      // one side gone
    }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch {
        // closed already
      }
      conns.delete(c);
    }
  };
  const relay: StallRelay = {
    port: (listener.addr as Deno.NetAddr).port,
    upstream,
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      const w = wake;
      wake = [];
      for (const r of w) r();
    },
    async close() {
      relay.resume();
      try {
        listener.close();
      } catch {
        // closed already
      }
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed already
        }
      }
      await accepting;
    },
    [Symbol.asyncDispose]: () => relay.close(),
  };
  const accepting = (async () => {
    for await (const client of listener) {
      conns.add(client);
      Deno.connect({ hostname: "127.0.0.1", port: relay.upstream }).then((server) => {
        conns.add(server);
        pipe(client, server);
        pipe(server, client);
      }, () => client.close());
    }
  })().catch(() => {});
  return relay;
}
