/**
 * A tiny raw-socket PostgreSQL client for tests that craft bytes by hand:
 * malformed frames, half messages, CancelRequests. It speaks just enough of
 * the protocol to log in with trust authentication and read what comes back,
 * message by message, with a timeout on every wait so a proxy that hangs
 * fails the test instead of stalling it.
 *
 * The encoders are the proxy's own (`proxy/pg/messages.ts`, `startup.ts`).
 *
 * @module
 */

import { decodeFields, query, readInt32 } from "../../proxy/pg/messages.ts";
import { encodeCancelRequest, encodeStartupMessage } from "../../proxy/pg/startup.ts";

/** One typed message as received. */
export interface RawMessage {
  /** The type byte as a character, e.g. `"E"`. */
  type: string;
  /** The body, without type byte and length word. */
  body: Uint8Array;
}

/** What the server told the client while logging in. */
export interface RawSession {
  /** Process id from BackendKeyData (0 when none was sent). */
  processId: number;
  /** Secret key from BackendKeyData. */
  secretKey: number;
  /** ParameterStatus values. */
  parameters: Map<string, string>;
}

/** Result of a simple query: text rows, or the error fields. */
export interface RawQueryResult {
  /** Data rows as text (NULL as `null`). */
  rows: (string | null)[][];
  /** ErrorResponse fields by code letter, when the query failed. */
  error?: Map<string, string>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const decoder = new TextDecoder();

/** Fields of an ErrorResponse or NoticeResponse message, by code letter (`C`, `M`, …). */
export function errorFields(msg: RawMessage): Map<string, string> {
  return decodeFields(msg.body);
}

/** A raw connection to a PostgreSQL server or proxy. */
export class RawPgClient implements AsyncDisposable {
  readonly #conn: Deno.TcpConn;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;
  #wake: (() => void) | undefined;
  readonly #pump: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#pump = this.#readLoop();
  }

  /** Opens a TCP connection to `host:port`. */
  static async connect(port: number, host = "127.0.0.1"): Promise<RawPgClient> {
    return new RawPgClient(await Deno.connect({ hostname: host, port }));
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        const next = new Uint8Array(this.#buf.length + n);
        next.set(this.#buf);
        next.set(chunk.subarray(0, n), this.#buf.length);
        this.#buf = next;
        this.#wake?.();
      }
    } catch {
      // A reset or our own close ends the stream like EOF does.
    }
    this.#eof = true;
    this.#wake?.();
  }

  /** True once the server closed the connection (and every byte was read). */
  get closed(): boolean {
    return this.#eof && this.#buf.length === 0;
  }

  async #until<T>(take: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = take();
      if (value !== undefined) return value;
      const wait = deadline - Date.now();
      if (wait <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }

  /** Sends raw bytes; resolves once written (rejects when the peer is gone). */
  async send(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) at += await this.#conn.write(bytes.subarray(at));
  }

  /** Sends bytes, ignoring a peer that already closed (it may have answered first). */
  async sendIgnoringReset(bytes: Uint8Array): Promise<void> {
    try {
      await this.send(bytes);
    } catch {
      // The server may close while we write; what it answered is still readable.
    }
  }

  /** The next single byte (the answer to SSLRequest/GSSENCRequest), or null at EOF. */
  readByte(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<number | null> {
    return this.#until(
      () => {
        if (this.#buf.length > 0) {
          const b = this.#buf[0];
          this.#buf = this.#buf.subarray(1);
          return b;
        }
        return this.#eof ? null : undefined;
      },
      timeoutMs,
      "a byte",
    );
  }

  /** The next typed message, or null when the server closed the connection. */
  readMessage(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawMessage | null> {
    return this.#until(
      () => {
        const buf = this.#buf;
        if (buf.length >= 5) {
          const length = readInt32(buf, 1);
          if (buf.length >= length + 1) {
            const msg = { type: String.fromCharCode(buf[0]), body: buf.slice(5, length + 1) };
            this.#buf = buf.subarray(length + 1);
            return msg;
          }
        }
        if (this.#eof) return null;
        return undefined;
      },
      timeoutMs,
      "a message",
    );
  }

  /**
   * Reads messages until the server closes the connection and returns them.
   * Throws when the connection is still open after `timeoutMs`.
   */
  async expectClose(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawMessage[]> {
    const deadline = Date.now() + timeoutMs;
    const out: RawMessage[] = [];
    for (;;) {
      const msg = await this.readMessage(Math.max(1, deadline - Date.now()));
      if (msg === null) return out;
      out.push(msg);
    }
  }

  /** Reads until a message of `type` arrives and returns every message read, that one last. */
  async readUntil(type: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawMessage[]> {
    const deadline = Date.now() + timeoutMs;
    const out: RawMessage[] = [];
    for (;;) {
      const msg = await this.readMessage(Math.max(1, deadline - Date.now()));
      if (msg === null) {
        throw new Error(
          `connection closed while waiting for '${type}'; got ${out.map((m) => m.type).join("")}`,
        );
      }
      out.push(msg);
      if (msg.type === type) return out;
    }
  }

  /**
   * Logs in with trust authentication: sends a StartupMessage and reads up to
   * ReadyForQuery. Throws with the server's message on an ErrorResponse.
   */
  async startup(
    user = "postgres",
    database = "postgres",
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<RawSession> {
    await this.send(encodeStartupMessage(new Map([["user", user], ["database", database]])));
    const session: RawSession = { processId: 0, secretKey: 0, parameters: new Map() };
    for (const msg of await this.readUntil("Z", timeoutMs)) {
      if (msg.type === "E") {
        const f = errorFields(msg);
        throw new Error(`startup refused: ${f.get("C")} ${f.get("M")}`);
      }
      if (msg.type === "R" && readInt32(msg.body, 0) !== 0) {
        throw new Error(`server asked for authentication ${readInt32(msg.body, 0)}, not trust`);
      }
      if (msg.type === "K") {
        session.processId = readInt32(msg.body, 0);
        session.secretKey = readInt32(msg.body, 4);
      }
      if (msg.type === "S") {
        const nul = msg.body.indexOf(0);
        session.parameters.set(
          decoder.decode(msg.body.subarray(0, nul)),
          decoder.decode(msg.body.subarray(nul + 1, msg.body.length - 1)),
        );
      }
    }
    return session;
  }

  /** Runs one simple query and collects its text rows up to ReadyForQuery. */
  async query(sql: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawQueryResult> {
    await this.send(query(sql));
    const result: RawQueryResult = { rows: [] };
    for (const msg of await this.readUntil("Z", timeoutMs)) {
      if (msg.type === "E") result.error = errorFields(msg);
      if (msg.type === "D") result.rows.push(decodeDataRow(msg.body));
    }
    return result;
  }

  /** Closes the connection and waits for the reader to stop. Idempotent. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#pump;
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function decodeDataRow(body: Uint8Array): (string | null)[] {
  const count = (body[0] << 8) | body[1];
  const row: (string | null)[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    const len = readInt32(body, at);
    at += 4;
    if (len < 0) {
      row.push(null);
    } else {
      row.push(decoder.decode(body.subarray(at, at + len)));
      at += len;
    }
  }
  return row;
}

/**
 * Sends a CancelRequest for `processId`/`secretKey` to `host:port` on a
 * connection of its own and waits until the server closes it, as libpq does.
 */
export async function sendCancel(
  port: number,
  processId: number,
  secretKey: number,
  host = "127.0.0.1",
): Promise<void> {
  await using client = await RawPgClient.connect(port, host);
  await client.send(encodeCancelRequest(processId, secretKey));
  await client.expectClose();
}
