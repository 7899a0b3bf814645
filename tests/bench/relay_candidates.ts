/**
 * The candidate relays of `deno task bench relay`, run one per process:
 * `deno run --allow-net tests/bench/relay_candidates.ts <style> <listenPort> <upstreamPort>`.
 * Each copies bytes between a client and PostgreSQL and nothing else, so the
 * microbenchmark shows what an I/O style costs by itself.
 *
 * - `node-pipe`: `node:net` sockets joined with `pipe()`.
 * - `node-data`: `node:net` with `data` handlers that `write` each chunk (the
 *   proxy's style before the Deno.Conn relay).
 * - `deno-conn`: `Deno.Conn`, one reused 16 KiB buffer per direction, one
 *   awaited write per read.
 * - `deno-large`: the same with a 256 KiB buffer per direction: a read takes
 *   everything that arrived, written with one call.
 *
 * - `conn-duplex`: `Deno.Conn` on both sides behind the `Duplex` adapter of
 *   `proxy/conn_socket.ts`, with `data` handlers as in `node-data`.
 * - `node+conn`: a `node:net` client socket, the adapter towards PostgreSQL
 *   (what the proxy does for clients that may ask for TLS).
 *
 * @module
 */

import net from "node:net";
import type { Duplex } from "node:stream";
import { ConnSocket } from "./conn_socket.ts";

/** The relay styles this file implements. */
export const RELAY_STYLES = [
  "node-pipe",
  "node-data",
  "deno-conn",
  "deno-large",
  "conn-duplex",
  "node+conn",
] as const;

/** One of {@linkcode RELAY_STYLES}. */
export type RelayStyle = typeof RELAY_STYLES[number];

function join(client: Duplex, upstream: Duplex): void {
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close).on("close", close);
  upstream.on("error", close).on("close", close);
  client.on("data", (chunk: Uint8Array) => {
    if (!upstream.write(chunk)) {
      client.pause();
      upstream.once("drain", () => client.resume());
    }
  });
  upstream.on("data", (chunk: Uint8Array) => {
    if (!client.write(chunk)) {
      upstream.pause();
      client.once("drain", () => upstream.resume());
    }
  });
}

async function adapterRelay(listenPort: number, upstreamPort: number, nodeClients: boolean) {
  const upstream = async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort });
    conn.setNoDelay(true);
    return new ConnSocket(conn);
  };
  if (nodeClients) {
    net.createServer((client) => {
      client.setNoDelay(true);
      client.pause();
      upstream().then((u) => {
        join(client, u);
        client.resume();
      }, () => client.destroy());
    }).listen(listenPort, "127.0.0.1");
    return;
  }
  for await (const conn of Deno.listen({ hostname: "127.0.0.1", port: listenPort })) {
    conn.setNoDelay(true);
    const client = new ConnSocket(conn);
    upstream().then((u) => join(client, u), () => client.destroy());
  }
}

function nodeRelay(listenPort: number, upstreamPort: number, piped: boolean): void {
  net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(upstreamPort, "127.0.0.1");
    upstream.setNoDelay(true);
    if (!piped) return join(client, upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    client.pipe(upstream);
    upstream.pipe(client);
  }).listen(listenPort, "127.0.0.1");
}

async function copy(from: Deno.Conn, to: Deno.Conn, buffer: Uint8Array): Promise<void> {
  try {
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      let at = 0;
      while (at < n) at += await to.write(buffer.subarray(at, n));
    }
  } catch {
    // Either side went away: close both below.
  }
  try {
    from.close();
  } catch { /* already closed */ }
  try {
    to.close();
  } catch { /* already closed */ }
}

async function denoRelay(listenPort: number, upstreamPort: number, size: number): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: listenPort });
  for await (const client of listener) {
    client.setNoDelay(true);
    Deno.connect({ hostname: "127.0.0.1", port: upstreamPort }).then((upstream) => {
      upstream.setNoDelay(true);
      void copy(client, upstream, new Uint8Array(size));
      void copy(upstream, client, new Uint8Array(size));
    }, () => client.close());
  }
}

if (import.meta.main) {
  const [style, listen, upstream] = Deno.args;
  const listenPort = Number(listen), upstreamPort = Number(upstream);
  switch (style as RelayStyle) {
    case "node-pipe":
      nodeRelay(listenPort, upstreamPort, true);
      break;
    case "node-data":
      nodeRelay(listenPort, upstreamPort, false);
      break;
    case "deno-conn":
      await denoRelay(listenPort, upstreamPort, 16 * 1024);
      break;
    case "deno-large":
      await denoRelay(listenPort, upstreamPort, 256 * 1024);
      break;
    case "conn-duplex":
      await adapterRelay(listenPort, upstreamPort, false);
      break;
    case "node+conn":
      await adapterRelay(listenPort, upstreamPort, true);
      break;
    default:
      console.error(`unknown relay style ${style}; one of ${RELAY_STYLES.join(", ")}`);
      Deno.exit(2);
  }
}
