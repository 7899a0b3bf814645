/**
 * Resident memory a server process spends per idle client connection: read
 * the process's VmRSS, open many clients that log in (trust) and run one
 * `SELECT 1`, let the process settle, read VmRSS again.
 *
 * The clients are raw sockets speaking just enough protocol 3.0 to log in, so
 * the benchmark process itself stays small and the server sees nothing but
 * the startup exchange and one query per client. The one query matters for
 * PgBouncer: in session mode it links a client to a server connection only
 * once the client sends something, and the LMS proxy always holds its
 * database connection, so "used once, then idle" compares like with like.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";
import { readRssKiB } from "./proc_stats.ts";

/** Memory before and after opening the idle clients. */
export interface IdleMemoryResult {
  /** Clients held open while measuring. */
  connections: number;
  /** VmRSS before any client connected, KiB. */
  rssBeforeKiB: number;
  /** VmRSS with every client connected and idle, KiB. */
  rssAfterKiB: number;
  /** `(after - before) / connections`, KiB. */
  perConnectionKiB: number;
  /** VmRSS after a forced full collection, KiB; `null` without a garbage collector to drive. */
  rssAfterGcKiB: number | null;
  /** `(afterGc - before) / connections`, KiB; `null` without a garbage collector to drive. */
  perConnectionAfterGcKiB: number | null;
}

/** Open idle client connections. */
export interface IdleClients {
  /** How many are open. */
  readonly count: number;
  /** Closes every connection. */
  close(): void;
}

const PROTOCOL_3_0 = 196608;
const CONNECT_BATCH = 50;
const LOGIN_TIMEOUT_MS = 30_000;
const SETTLE_MIN_MS = 2_000;
const SETTLE_MAX_MS = 20_000;
const SETTLE_STEP_MS = 500;
const SETTLE_TOLERANCE = 0.005;

/**
 * Measures `pid`'s resident memory per idle client at `count` clients
 * connected to `port`; the clients are closed before this returns.
 *
 * With `collectGarbage` (a way to force a full collection in the process),
 * the baseline is taken after one, and a second reading after another with
 * the clients still connected: the first "after" reading is what the process
 * holds right after the logins, the second what it holds for the sessions.
 *
 * @throws {LmsError} `TIMEOUT` / `BACKEND_UNAVAILABLE` when a client cannot log in.
 */
export async function measureIdleMemory(
  pid: number,
  port: number,
  count: number,
  collectGarbage?: () => Promise<void>,
): Promise<IdleMemoryResult> {
  await collectGarbage?.();
  const rssBeforeKiB = await settledRssKiB(pid);
  const clients = await openIdleClients(port, count);
  try {
    const rssAfterKiB = await settledRssKiB(pid);
    let rssAfterGcKiB: number | null = null;
    if (collectGarbage) {
      await collectGarbage();
      rssAfterGcKiB = await settledRssKiB(pid);
    }
    return {
      connections: count,
      rssBeforeKiB,
      rssAfterKiB,
      perConnectionKiB: (rssAfterKiB - rssBeforeKiB) / count,
      rssAfterGcKiB,
      perConnectionAfterGcKiB: rssAfterGcKiB === null
        ? null
        : (rssAfterGcKiB - rssBeforeKiB) / count,
    };
  } finally {
    clients.close();
  }
}

/**
 * VmRSS once it stops moving: after a short pause, samples until two
 * consecutive readings differ by less than 0.5 % (or 20 s have passed), so
 * collections and lazily freed buffers triggered by the last logins are over.
 */
export async function settledRssKiB(pid: number): Promise<number> {
  await sleep(SETTLE_MIN_MS);
  const deadline = Date.now() + SETTLE_MAX_MS;
  let last = await readRssKiB(pid);
  while (Date.now() < deadline) {
    await sleep(SETTLE_STEP_MS);
    const now = await readRssKiB(pid);
    if (Math.abs(now - last) <= last * SETTLE_TOLERANCE) return now;
    last = now;
  }
  return last;
}

/**
 * Opens `count` connections to 127.0.0.1:`port`, each logged in as
 * `postgres` to database `postgres` with trust authentication and having run
 * `SELECT 1`. Connects 50 at a time so listen backlogs do not overflow.
 */
export async function openIdleClients(port: number, count: number): Promise<IdleClients> {
  const conns: Deno.Conn[] = [];
  const close = () => {
    for (const c of conns.splice(0)) {
      try {
        c.close();
      } catch {
        // Already closed by the peer.
      }
    }
  };
  try {
    for (let done = 0; done < count; done += CONNECT_BATCH) {
      const batch = Math.min(CONNECT_BATCH, count - done);
      const results = await Promise.allSettled(
        Array.from({ length: batch }, () => loginClient(port)),
      );
      for (const r of results) if (r.status === "fulfilled") conns.push(r.value);
      const failure = results.find((r) => r.status === "rejected");
      if (failure) throw (failure as PromiseRejectedResult).reason;
    }
  } catch (err) {
    close();
    throw err;
  }
  return { count: conns.length, close };
}

async function loginClient(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port, transport: "tcp" });
  const timer = setTimeout(() => conn.close(), LOGIN_TIMEOUT_MS);
  try {
    conn.setNoDelay(true);
    const reader = new MessageReader(conn, port);
    await writeAll(conn, startupMessage({ user: "postgres", database: "postgres" }));
    for (;;) {
      const msg = await reader.next();
      if (msg.type === 0x52 && readInt32(msg.body, 0) !== 0) {
        throw new LmsError(
          "BACKEND_UNAVAILABLE",
          `the server on port ${port} asked for authentication (method ${readInt32(msg.body, 0)})`,
          "the idle-memory benchmark needs trust authentication",
        );
      }
      if (msg.type === 0x5a) break;
    }
    await writeAll(conn, queryMessage("SELECT 1"));
    while ((await reader.next()).type !== 0x5a) {
      // Row description, data row and command tag of SELECT 1 are not needed.
    }
    return conn;
  } catch (err) {
    try {
      conn.close();
    } catch {
      // The timer closed it already.
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads whole typed messages from a connection; fails on ErrorResponse and EOF. */
class MessageReader {
  readonly #conn: Deno.Conn;
  readonly #port: number;
  #buf = new Uint8Array(0);

  constructor(conn: Deno.Conn, port: number) {
    this.#conn = conn;
    this.#port = port;
  }

  async next(): Promise<{ type: number; body: Uint8Array }> {
    for (;;) {
      if (this.#buf.length >= 5) {
        const length = readInt32(this.#buf, 1);
        if (this.#buf.length >= length + 1) {
          const type = this.#buf[0];
          const body = this.#buf.slice(5, length + 1);
          this.#buf = this.#buf.slice(length + 1);
          if (type === 0x45) {
            throw new LmsError(
              "BACKEND_UNAVAILABLE",
              `the server on port ${this.#port} refused an idle client: ${errorText(body)}`,
              "raise max_connections / max_client_conn for the number of idle clients",
            );
          }
          return { type, body };
        }
      }
      const chunk = new Uint8Array(8192);
      const n = await this.#conn.read(chunk);
      if (n === null) {
        throw new LmsError(
          "BACKEND_UNAVAILABLE",
          `the server on port ${this.#port} closed an idle client during login`,
          "look at the server's log",
        );
      }
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }
}

function startupMessage(params: Record<string, string>): Uint8Array {
  const enc = new TextEncoder();
  const parts = Object.entries(params).flatMap(([k, v]) => [enc.encode(k), enc.encode(v)]);
  const length = 8 + parts.reduce((n, p) => n + p.length + 1, 0) + 1;
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setInt32(0, length);
  view.setInt32(4, PROTOCOL_3_0);
  let at = 8;
  for (const p of parts) {
    out.set(p, at);
    at += p.length + 1;
  }
  return out;
}

function queryMessage(sql: string): Uint8Array {
  const text = new TextEncoder().encode(sql);
  const out = new Uint8Array(text.length + 6);
  out[0] = 0x51;
  new DataView(out.buffer).setInt32(1, text.length + 5);
  out.set(text, 5);
  return out;
}

function errorText(body: Uint8Array): string {
  const dec = new TextDecoder();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const end = body.indexOf(0, at + 1);
    if (body[at] === 0x4d) return dec.decode(body.subarray(at + 1, end));
    at = end + 1;
  }
  return "(no message)";
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function readInt32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
