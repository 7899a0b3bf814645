/**
 * The MySQL connection a session keeps while it is served from the target,
 * so that a reverse cutover can move it back without the client
 * reconnecting. A MySQL client proves its password without sending it
 * (mysql_native_password, caching_sha2_password's fast path), so the proxy
 * can never log in to MySQL as the client again on its own: the connection
 * the client authenticated (relayed) stays open, idle, pinged every
 * {@linkcode PING_INTERVAL_MS} so MySQL's `wait_timeout` does not end it.
 * Moving back revives it: the current database, the session's settings and
 * its prepared statements (those prepared while on the target, and any that
 * MySQL no longer holds) are brought to where the session is, then it
 * relays again. A session without such a connection (it logged in while
 * MySQL was gone), or whose connection was lost, cannot move back: its
 * move is refused with the reason (`IDENTITY_UNAVAILABLE`), so a consistent
 * cutover blocks on it and an immediate one tells it to reconnect.
 *
 * Statement ids: MySQL numbers a connection's statements itself, so a
 * statement prepared again gets a new id; the wire maps the client's id to
 * it (`idMap`). Ids the proxy hands out on the target come from a range
 * MySQL does not reach (from 2^28), so a new MySQL id never collides with
 * one the client holds.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import { Cap, Com } from "./constants.ts";
import { decodeErr, packet, PayloadReader } from "./packets.ts";
import { PacketReader } from "./reader.ts";
import type { MySqlSessionState } from "./session_state.ts";

/** How often a parked connection is pinged. */
export const PING_INTERVAL_MS = 5 * 60_000;
/** First statement id the proxy hands out for sessions on the target. */
export const TARGET_STATEMENT_IDS = 1 << 28;

const encoder = new TextEncoder();

/** A MySQL connection carrying a session again. */
export interface RevivedMySql {
  socket: Duplex;
  thread: number;
  /** Client statement id → MySQL's, where they differ. */
  idMap: Map<number, number>;
}

function unavailable(message: string): LmsError {
  return new LmsError(
    "IDENTITY_UNAVAILABLE",
    message,
    "MySQL sessions can move back only over the MySQL connection they authenticated on; " +
      "reconnect to log in on MySQL again",
  );
}

/** See the module documentation. */
export class ParkedMySql {
  readonly #socket: Duplex;
  readonly #thread: number;
  readonly #deprecateEof: boolean;
  /** Client statement id → MySQL's, for statements MySQL holds on this connection. */
  readonly #statements: Map<number, number>;
  #reader: PacketReader;
  #timer: ReturnType<typeof setInterval>;
  #lost: string | undefined;
  #busy: Promise<void> = Promise.resolve();

  /**
   * @param socket the connection, between commands, with no listener of the wire's
   * @param thread its MySQL thread id
   * @param capabilities what the connection negotiated
   * @param statements client statement id → MySQL's, for the statements it holds
   */
  constructor(
    socket: Duplex,
    thread: number,
    capabilities: number,
    statements: Map<number, number>,
  ) {
    this.#socket = socket;
    this.#thread = thread;
    this.#deprecateEof = (capabilities & Cap.DEPRECATE_EOF) !== 0;
    this.#statements = statements;
    this.#reader = new PacketReader(socket, 1 << 24, "source database");
    socket.on("close", () => this.#lost ??= "the MySQL connection was closed");
    this.#timer = setInterval(() => {
      this.#busy = this.#busy.then(() => this.#ping()).catch((err) => {
        this.#lost ??= errorMessage(err);
      });
    }, PING_INTERVAL_MS);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  async #ping(): Promise<void> {
    await this.#simple(new Uint8Array([Com.PING]), "COM_PING");
  }

  async #simple(payload: Uint8Array, what: string): Promise<void> {
    this.#socket.write(packet(0, payload));
    const first = await this.#reader.next();
    if (first.payload[0] === 0xff) {
      const err = decodeErr(first.payload);
      throw new LmsError(
        "BACKEND_UNAVAILABLE",
        `${what} failed on MySQL: ${err.code} ${err.message}`,
      );
    }
  }

  async #prepare(sql: string): Promise<number> {
    this.#socket.write(packet(0, new Uint8Array([Com.STMT_PREPARE, ...encoder.encode(sql)])));
    const first = await this.#reader.next();
    if (first.payload[0] === 0xff) {
      const err = decodeErr(first.payload);
      throw new LmsError(
        "BACKEND_UNAVAILABLE",
        `MySQL refused to prepare a statement of the session again: ${err.code} ${err.message}`,
      );
    }
    const r = new PayloadReader(first.payload, 1);
    const id = r.u32();
    const columns = r.u16();
    const params = r.u16();
    const eof = this.#deprecateEof ? 0 : 1;
    const rest = (params > 0 ? params + eof : 0) + (columns > 0 ? columns + eof : 0);
    for (let i = 0; i < rest; i++) await this.#reader.next();
    return id;
  }

  /**
   * Brings the connection to the session's state and hands it over.
   *
   * @throws {LmsError} `IDENTITY_UNAVAILABLE` when the connection is gone or fails
   */
  async revive(state: MySqlSessionState): Promise<RevivedMySql> {
    clearInterval(this.#timer);
    await this.#busy;
    if (this.#lost) {
      throw unavailable(
        `LMS cannot move this session back to MySQL: its MySQL connection is gone (${this.#lost})`,
      );
    }
    try {
      await this.#ping();
      if (state.database) {
        await this.#simple(
          new Uint8Array([Com.INIT_DB, ...encoder.encode(state.database)]),
          "COM_INIT_DB",
        );
      }
      const settings = new Set([state.setNames, ...state.sessionVars.values()]);
      for (const text of settings) {
        if (text) {
          await this.#simple(new Uint8Array([Com.QUERY, ...encoder.encode(text)]), `\`${text}\``);
        }
      }
      const idMap = new Map<number, number>();
      for (const [clientId, backendId] of this.#statements) {
        if (!state.statements.has(clientId)) {
          const close = new Uint8Array(5);
          close[0] = Com.STMT_CLOSE;
          new DataView(close.buffer).setUint32(1, backendId, true);
          this.#socket.write(packet(0, close));
          this.#statements.delete(clientId);
        }
      }
      for (const [clientId, sql] of state.statements) {
        const backendId = this.#statements.get(clientId) ?? await this.#prepare(sql);
        if (backendId !== clientId) idMap.set(clientId, backendId);
      }
      const pending = this.#reader.detach();
      if (pending.length > 0) throw new Error("MySQL sent data nobody asked for");
      return { socket: this.#socket, thread: this.#thread, idMap };
    } catch (err) {
      this.close();
      throw unavailable(`LMS cannot move this session back to MySQL: ${errorMessage(err)}`);
    }
  }

  /** Ends the connection (the session ended, or it will not move back). */
  close(): void {
    clearInterval(this.#timer);
    this.#reader.detach();
    if (!this.#socket.destroyed) {
      this.#socket.end(packet(0, new Uint8Array([Com.QUIT])));
      setTimeout(() => this.#socket.destroy(), 1_000).unref?.();
    }
  }
}
