/**
 * A TCP relay that records what clients send: every accepted connection is
 * piped to `upstream`, and the client→upstream chunks are kept, in order and
 * with their boundaries, one list per connection.
 *
 * @module
 */

/** One relayed connection's client→upstream chunks. */
export interface RecordedConnection {
  /** Accept order, from 1. */
  index: number;
  /** The chunks, as read from the client socket. */
  chunks: Uint8Array[];
  /** Resolves when both directions have ended. */
  done: Promise<void>;
}

/** A running recording relay. */
export interface RecordingRelay extends AsyncDisposable {
  /** Port clients connect to. */
  port: number;
  /** Connections so far. */
  connections: RecordedConnection[];
  /** Waits for every connection to end and forgets them. */
  drain(): Promise<RecordedConnection[]>;
  /** Stops listening. */
  close(): Promise<void>;
}

async function pipe(
  from: Deno.Conn,
  to: Deno.Conn,
  record?: Uint8Array[],
): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      const chunk = buf.slice(0, n);
      record?.push(chunk);
      let at = 0;
      while (at < n) at += await to.write(chunk.subarray(at));
    }
  } catch {
    // either side reset: the session is over
  }
  try {
    await to.closeWrite();
  } catch {
    // already closed
  }
}

/** Starts a relay on a free loopback port in front of `127.0.0.1:upstream`. */
export function startRecordingRelay(upstream: number): RecordingRelay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections: RecordedConnection[] = [];
  let count = 0;
  const accepting = (async () => {
    for await (const client of listener) {
      const chunks: Uint8Array[] = [];
      const done = (async () => {
        const server = await Deno.connect({ hostname: "127.0.0.1", port: upstream });
        await Promise.all([pipe(client, server, chunks), pipe(server, client)]);
        client.close();
        server.close();
      })();
      connections.push({ index: ++count, chunks, done });
    }
  })().catch(() => {});
  const close = async () => {
    try {
      listener.close();
    } catch {
      // closed before
    }
    await accepting;
  };
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connections() {
      return connections;
    },
    async drain() {
      const out = connections;
      connections = [];
      await Promise.all(out.map((c) => c.done));
      return out;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
