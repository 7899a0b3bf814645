/**
 * The auth query (PgBouncer's `auth_query`): reads a user's stored password
 * (an MD5 hash or a SCRAM-SHA-256 verifier) from a database, logged in as the
 * configured service user of that database. One connection per database is
 * kept open and reused; lookups run one at a time on it.
 *
 * The service user needs read access to `pg_shadow` (a superuser has it), or
 * `LMS_AUTH_QUERY` names a SECURITY DEFINER function that returns the two
 * columns for one user.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import type { PasswordLookup, PasswordLookups } from "../session/identity_context.ts";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import { connectBackend } from "./backend.ts";
import { authenticateWithCredentials } from "./backend_auth.ts";
import {
  cstring,
  decodeFields,
  int32,
  message,
  readInt16,
  readInt32,
  SYNC,
  TERMINATE,
} from "./messages.ts";
import { SocketReader } from "./reader.ts";
import { encodeStartupMessage } from "./startup.ts";

/** How long one lookup may take, connection included. */
const LOOKUP_TIMEOUT_MS = 10_000;

const CHAR_D = 0x44, CHAR_E = 0x45, CHAR_Z = 0x5a;

interface Connection {
  socket: Duplex;
  reader: SocketReader;
}

function int16(v: number): Uint8Array {
  return new Uint8Array([(v >> 8) & 0xff, v & 0xff]);
}

/** Runs the auth query on one database; see the module documentation. */
export class AuthQuery {
  readonly #spec: ConnectionSpec;
  readonly #sql: string;
  readonly #label: string;
  #conn: Promise<Connection> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  /**
   * @param spec the database and its service credentials
   * @param sql the query; `$1` is the user name, the second column the stored password
   * @param label names the database in errors, e.g. "source database"
   */
  constructor(spec: ConnectionSpec, sql: string, label: string) {
    this.#spec = spec;
    this.#sql = sql;
    this.#label = label;
  }

  /**
   * The stored password of `user`: the second column of the first row, null
   * when the row has none, undefined when there is no row. Throws an
   * {@linkcode LmsError} whose message names the problem (never a secret).
   */
  lookup(user: string): Promise<string | null | undefined> {
    const run = this.#queue.then(() => this.#lookup(user, true));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #lookup(user: string, retry: boolean): Promise<string | null | undefined> {
    if (this.#closed) throw new LmsError("BACKEND_UNAVAILABLE", "the proxy is shutting down");
    const reused = this.#conn !== undefined;
    this.#conn ??= this.#connect();
    let conn: Connection;
    try {
      conn = await this.#conn;
    } catch (err) {
      this.#conn = undefined;
      throw new LmsError(
        "BACKEND_UNAVAILABLE",
        `the auth query cannot connect to the ${this.#label}: ${errorMessage(err)}`,
      );
    }
    try {
      return await this.#run(conn, user);
    } catch (err) {
      if (err instanceof LmsError && err.code === "AUTH_REFUSED") throw err;
      this.#drop(conn);
      // A connection kept open may have been closed by the database meanwhile.
      if (reused && retry && err instanceof LmsError && err.code === "BACKEND_LOST") {
        return this.#lookup(user, false);
      }
      throw err;
    }
  }

  async #connect(): Promise<Connection> {
    const socket = await connectBackend(this.#spec, this.#label);
    socket.on("error", () => {});
    const reader = new SocketReader(socket, 1 << 20, this.#label);
    try {
      socket.write(encodeStartupMessage(
        new Map([
          ["user", this.#spec.user],
          ["database", this.#spec.database],
          ["application_name", "lms-auth-query"],
        ]),
      ));
      await authenticateWithCredentials(socket, reader, this.#spec, this.#label);
      return { socket, reader };
    } catch (err) {
      reader.detach();
      socket.destroy();
      throw err;
    }
  }

  async #run(conn: Connection, user: string): Promise<string | null | undefined> {
    const param = new TextEncoder().encode(user);
    conn.socket.write(message("P", cstring(""), cstring(this.#sql), int16(0)));
    conn.socket.write(
      message(
        "B",
        cstring(""),
        cstring(""),
        int16(0),
        int16(1),
        int32(param.length),
        param,
        int16(0),
      ),
    );
    conn.socket.write(message("E", cstring(""), int32(2)));
    conn.socket.write(SYNC);
    let row: (string | null)[] | undefined;
    let failure: LmsError | undefined;
    for (;;) {
      const msg = await conn.reader.next(LOOKUP_TIMEOUT_MS);
      if (msg.type === CHAR_D && row === undefined) row = decodeRow(msg.body);
      else if (msg.type === CHAR_E) {
        const f = decodeFields(msg.body);
        failure = new LmsError(
          "AUTH_REFUSED",
          `the auth query failed on the ${this.#label}: ${f.get("M") ?? "unknown error"} ` +
            `(SQLSTATE ${f.get("C") ?? "?"})`,
          "give the service user of that database read access to pg_shadow, or set " +
            "LMS_AUTH_QUERY to a SECURITY DEFINER function (see README, Identity)",
        );
      } else if (msg.type === CHAR_Z) break;
    }
    if (failure) throw failure;
    if (row === undefined) return undefined;
    if (row.length < 2) {
      throw new LmsError(
        "AUTH_REFUSED",
        `the auth query returned ${row.length} column(s); it must return the user name and ` +
          "the stored password",
        "fix LMS_AUTH_QUERY",
      );
    }
    return row[1];
  }

  #drop(conn: Connection): void {
    this.#conn = undefined;
    conn.reader.detach();
    conn.socket.destroy();
  }

  /** Closes the kept connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending = this.#conn;
    this.#conn = undefined;
    const conn = await pending?.catch(() => undefined);
    if (!conn) return;
    conn.reader.detach();
    conn.socket.end(TERMINATE);
    conn.socket.destroy();
  }
}

function decodeRow(body: Uint8Array): (string | null)[] {
  const n = readInt16(body, 0);
  const out: (string | null)[] = [];
  let at = 2;
  const dec = new TextDecoder();
  for (let i = 0; i < n; i++) {
    const len = readInt32(body, at);
    at += 4;
    if (len < 0) out.push(null);
    else {
      out.push(dec.decode(body.subarray(at, at + len)));
      at += len;
    }
  }
  return out;
}

/** The auth queries of one proxy: one {@linkcode AuthQuery} per configured database, opened lazily. */
export class AuthQueries implements PasswordLookups {
  readonly #specs: Record<DatabaseSide, ConnectionSpec | undefined>;
  readonly #sql: string;
  readonly #queries: Partial<Record<DatabaseSide, AuthQuery>> = {};

  /**
   * @param specs the databases and their service credentials
   * @param sql `LMS_AUTH_QUERY`
   */
  constructor(specs: Record<DatabaseSide, ConnectionSpec | undefined>, sql: string) {
    this.#specs = specs;
    this.#sql = sql;
  }

  /** @inheritdoc */
  on(side: DatabaseSide): PasswordLookup | undefined {
    const spec = this.#specs[side];
    if (!spec) return undefined;
    const query = this.#queries[side] ??= new AuthQuery(spec, this.#sql, `${side} database`);
    return (user) => query.lookup(user);
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    await Promise.all(Object.values(this.#queries).map((q) => q.close()));
  }
}
