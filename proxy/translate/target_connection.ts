/**
 * One connection to CockroachDB (or the PostgreSQL cluster standing in for
 * it) for a MySQL session served through translation. It speaks the extended
 * protocol only: every request is a batch of Parse/Bind/Describe/Execute
 * steps closed by one Sync, so the steps of a batch run in one implicit
 * transaction (DDL follow-ups) and a failing step skips the rest. Requests
 * are pipelined: the next batch is written before the previous one answered,
 * and answers are matched in order.
 *
 * Values come back in text format; `result_values.ts` turns them into
 * MySQL's text or binary encodings. A step may keep its DataRows as they
 * came (`raw`), so result rows go from CockroachDB's bytes to MySQL's
 * without a string per value in between.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import { serialize } from "pg-protocol";
import { LmsError } from "../../shared/errors.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import { connectBackend } from "../pg/backend.ts";
import { logIn, type LoginOptions } from "../pg/backend_auth.ts";
import { readCString, readInt16, readInt32 } from "../pg/messages.ts";
import { decodeNotice, decodeRowDescription, MessageWalker } from "./pg_messages.ts";
import { encodeBatch } from "./pg_batch.ts";
import { SocketReader } from "../pg/reader.ts";
import { encodeCancelRequest, encodeStartupMessage } from "../pg/startup.ts";

/** A result column as the RowDescription gave it. */
export interface PgField {
  name: string;
  typeOid: number;
  typmod: number;
  /** The table's OID, 0 for an expression. */
  tableOid: number;
}

/** A field of an ErrorResponse or NoticeResponse. */
export interface PgNotice {
  sqlstate: string;
  message: string;
  detail?: string;
  constraint?: string;
  table?: string;
  column?: string;
  severity?: string;
}

/** The database refused a statement (an ErrorResponse). */
export class PgServerError extends Error {
  /** The ErrorResponse's fields. */
  readonly notice: PgNotice;

  /** @param notice the ErrorResponse's fields */
  constructor(notice: PgNotice) {
    super(notice.message);
    this.name = "PgServerError";
    this.notice = notice;
  }
}

/** One Bind/Execute of a batch. */
export interface PgStep {
  /** Text to parse as the unnamed statement; absent when `statement` names a prepared one. */
  sql?: string;
  /** A statement prepared with {@linkcode TargetConnection.prepare}. */
  statement?: string;
  /** Parameter values in text format (null is NULL). */
  params: (string | Uint8Array | null)[];
  /** Parameter type OIDs for Parse (0: let the database infer). */
  paramTypes?: number[];
  /** The result columns, when known from preparing (no Describe is sent then). */
  fields?: PgField[] | null;
  /** Keep the DataRow bodies undecoded in {@linkcode PgStepResult.bodies}, not in `rows`. */
  raw?: boolean;
}

/** What one step produced. */
export interface PgStepResult {
  /** Columns, or null when the statement returns no rows. */
  fields: PgField[] | null;
  rows: (string | null)[][];
  /** DataRow bodies as received (column count, then length and bytes per value), when `raw`. */
  bodies: Uint8Array[];
  /** The CommandComplete tag ("" for an empty query). */
  tag: string;
}

/** What a batch produced. */
export interface PgBatchResult {
  /** Results of the steps that ran, in order. */
  results: PgStepResult[];
  /** The error that stopped the batch, if any (the failing step is `results.length`). */
  error: PgServerError | undefined;
  /** Warnings and notices the database sent. */
  notices: PgNotice[];
  /** ReadyForQuery status: `I` idle, `T` in a transaction, `E` failed transaction. */
  txStatus: string;
}

/** What a Describe of a prepared statement said. */
export interface PgDescription {
  paramTypes: number[];
  fields: PgField[] | null;
}

interface Pending {
  /** Per step: its columns when known without a Describe. */
  known: (PgField[] | null | undefined)[];
  /** Per step: whether it keeps its DataRows undecoded. */
  raw: boolean[];
  results: PgStepResult[];
  current: (PgStepResult & { raw: boolean }) | undefined;
  error: PgServerError | undefined;
  notices: PgNotice[];
  params: number[] | undefined;
  fields: PgField[] | null | undefined;
  resolve: (r: PgBatchResult & { params?: number[]; fields?: PgField[] | null }) => void;
  reject: (err: Error) => void;
}

const decoder = new TextDecoder();
/** Largest message accepted from the database (1 GiB, PostgreSQL's own field limit). */
const MAX_MESSAGE = 1 << 30;

/** How to open a {@linkcode TargetConnection}. */
export interface TargetLogin {
  /** Host, port and TLS of the target (INIT_TARGET). */
  spec: ConnectionSpec;
  /** Who logs in and with what (the service user or a mapped user's credential). */
  login: LoginOptions;
  /** Database to connect to. */
  database: string;
  /** Role to `SET ROLE` to after login, or undefined to stay the login user. */
  role: string | undefined;
}

/** See the module documentation. */
export class TargetConnection {
  readonly #socket: Duplex;
  readonly #messages = new MessageWalker(MAX_MESSAGE);
  readonly #onMessage = (type: number, body: Uint8Array): void => this.#message(type, body);
  readonly #queue: Pending[] = [];
  readonly #processId: number;
  readonly #secretKey: number;
  readonly #spec: ConnectionSpec;
  #closed = false;
  #failure: Error | undefined;
  /** Server parameters (ParameterStatus), e.g. `server_version`, `crdb_version`. */
  readonly parameters: Map<string, string>;
  /** The database this connection is on. */
  readonly database: string;
  /** Status of the last ReadyForQuery. */
  txStatus = "I";
  /** Called once when the connection is lost or closed. */
  onClose: ((err: Error | undefined) => void) | undefined;

  private constructor(
    socket: Duplex,
    spec: ConnectionSpec,
    database: string,
    auth: { backendProcessId: number; backendSecretKey: number; parameters: Map<string, string> },
  ) {
    this.#socket = socket;
    this.#spec = spec;
    this.database = database;
    this.#processId = auth.backendProcessId;
    this.#secretKey = auth.backendSecretKey;
    this.parameters = auth.parameters;
  }

  /**
   * Connects, logs in and switches to the mapped role.
   *
   * @throws {LmsError} when the database cannot be reached or refuses the login or the role
   */
  static async open(how: TargetLogin): Promise<TargetConnection> {
    const label = how.login.label;
    const socket = await connectBackend(how.spec, label);
    socket.on("error", () => {});
    const reader = new SocketReader(socket, 1 << 20, `the ${label}`);
    let conn: TargetConnection;
    try {
      socket.write(encodeStartupMessage(
        new Map([
          ["user", how.login.user],
          ["database", how.database],
          ["application_name", "molt-lms (MySQL session)"],
          ["client_encoding", "UTF8"],
          ["DateStyle", "ISO, YMD"],
          ["IntervalStyle", "postgres"],
          ["extra_float_digits", "1"],
        ]),
      ));
      const auth = await logIn(socket, reader, how.login);
      const rest = reader.detach();
      conn = new TargetConnection(socket, how.spec, how.database, auth);
      conn.#start(rest);
    } catch (err) {
      reader.detach();
      socket.destroy();
      throw err;
    }
    if (how.role !== undefined && how.role !== how.login.user) {
      const set = await conn.run([{ sql: `SET ROLE ${quoteIdent(how.role)}`, params: [] }]);
      if (set.error) {
        conn.close();
        throw new LmsError(
          "IDENTITY_UNAVAILABLE",
          `LMS cannot run as ${how.role} on the ${label}: SET ROLE ${how.role} as ` +
            `${how.login.user} failed: ${set.error.message} (SQLSTATE ${set.error.notice.sqlstate})`,
          `create the role ${how.role} on the target and let ${how.login.user} assume it ` +
            "(CockroachDB: an admin user; PostgreSQL: GRANT the role), or map the MySQL user " +
            "to a role that exists (LMS_MYSQL_TARGET_USERS)",
        );
      }
    }
    return conn;
  }

  #start(rest: Uint8Array): void {
    const socket = this.#socket;
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    socket.on(
      "close",
      () => this.#fail(new LmsError("BACKEND_LOST", "the target database closed the connection")),
    );
    socket.on(
      "error",
      (err: Error) =>
        this.#fail(new LmsError("BACKEND_LOST", `the target database: ${err.message}`)),
    );
    socket.resume();
    if (rest.length > 0) this.#onData(rest);
  }

  /** Whether the connection is closed or lost. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Requests waiting for their answer. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Runs `steps` as one batch (one Sync). Rejects only when the connection is lost. */
  run(steps: PgStep[]): Promise<PgBatchResult> {
    return this.#send(
      [encodeBatch(steps)],
      steps.map((s) => s.fields),
      steps.map((s) => s.raw === true),
    );
  }

  /** Parses `sql` as the named statement `name` and describes it. */
  async prepare(name: string, sql: string): Promise<PgDescription> {
    const r = await this.#send([
      serialize.parse({ name, text: sql, types: [] }),
      serialize.describe({ type: "S", name }),
      serialize.sync(),
    ]);
    if (r.error) throw r.error;
    return { paramTypes: r.params ?? [], fields: r.fields ?? null };
  }

  /** Closes the named statement `name` (the answer is not waited for). */
  closeStatement(name: string): void {
    void this.#send([
      serialize.close({ type: "S", name }),
      serialize.sync(),
    ]).catch(() => {});
  }

  #send(
    parts: Uint8Array[],
    known: (PgField[] | null | undefined)[] = [],
    raw: boolean[] = [],
  ): Promise<PgBatchResult & { params?: number[]; fields?: PgField[] | null }> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#queue.push({
        known,
        raw,
        results: [],
        current: undefined,
        error: undefined,
        notices: [],
        params: undefined,
        fields: undefined,
        resolve,
        reject,
      });
      if (parts.length === 1) this.#socket.write(parts[0]);
      else {
        this.#socket.cork();
        for (const p of parts) this.#socket.write(p);
        this.#socket.uncork();
      }
    });
  }

  #onData(chunk: Uint8Array): void {
    try {
      this.#messages.push(chunk, this.#onMessage);
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
      this.#socket.destroy();
    }
  }

  #message(type: number, body: Uint8Array): void {
    const head = this.#queue[0];
    switch (type) {
      case 0x44: { // D DataRow
        const current = head?.current;
        if (current?.raw) {
          current.bodies.push(body);
          return;
        }
        const row: (string | null)[] = [];
        const n = readInt16(body, 0);
        let at = 2;
        for (let i = 0; i < n; i++) {
          const len = readInt32(body, at);
          at += 4;
          if (len < 0) row.push(null);
          else {
            row.push(decoder.decode(body.subarray(at, at + len)));
            at += len;
          }
        }
        current?.rows.push(row);
        return;
      }
      case 0x54: { // T RowDescription
        const fields = decodeRowDescription(body);
        if (!head) return;
        if (head.current) head.current.fields = fields;
        else head.fields = fields;
        return;
      }
      case 0x32: // 2 BindComplete: a step starts
        if (head) {
          const step = head.results.length;
          head.current = {
            fields: head.known[step] ?? null,
            rows: [],
            bodies: [],
            tag: "",
            raw: head.raw[step] === true,
          };
        }
        return;
      case 0x6e: // n NoData
        if (head && !head.current) head.fields = null;
        return;
      case 0x74: { // t ParameterDescription
        const n = readInt16(body, 0);
        const types: number[] = [];
        for (let i = 0; i < n; i++) types.push(readInt32(body, 2 + 4 * i) >>> 0);
        if (head) head.params = types;
        return;
      }
      case 0x43: // C CommandComplete
      case 0x49: // I EmptyQueryResponse
        if (head?.current) {
          head.current.tag = type === 0x43 ? readCString(body, 0)[0] : "";
          head.results.push(head.current);
          head.current = undefined;
        }
        return;
      case 0x45: // E ErrorResponse
        if (head) {
          head.error = new PgServerError(decodeNotice(body));
          head.current = undefined;
        }
        return;
      case 0x4e: // N NoticeResponse
        head?.notices.push(decodeNotice(body));
        return;
      case 0x5a: { // Z ReadyForQuery
        this.txStatus = String.fromCharCode(body[0]);
        const done = this.#queue.shift();
        done?.resolve({
          results: done.results,
          error: done.error,
          notices: done.notices,
          txStatus: this.txStatus,
          params: done.params,
          fields: done.fields,
        });
        return;
      }
      case 0x53: { // S ParameterStatus
        const [name, at] = readCString(body, 0);
        this.parameters.set(name, readCString(body, at)[0]);
        return;
      }
      default:
        // ParseComplete, CloseComplete, PortalSuspended, notifications: nothing to keep.
        return;
    }
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failure = err;
    for (const p of this.#queue.splice(0)) p.reject(err);
    this.onClose?.(err);
  }

  /** Asks the database to cancel the running statement (a CancelRequest on a new connection). */
  async cancel(): Promise<void> {
    if (this.#closed || this.#queue.length === 0) return;
    const socket = await connectBackend(this.#spec, "target database");
    socket.on("error", () => {});
    socket.end(encodeCancelRequest(this.#processId, this.#secretKey));
  }

  /** Ends the connection (Terminate). */
  close(): void {
    if (this.#closed) return;
    this.#fail(new LmsError("BACKEND_LOST", "the connection to the target database was closed"));
    this.#socket.end(serialize.end());
    setTimeout(() => this.#socket.destroy(), 1_000).unref?.();
  }
}

/** Quotes an identifier for CockroachDB/PostgreSQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
