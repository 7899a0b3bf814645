/**
 * A MySQL session's backend on CockroachDB, in process: a duplex stream
 * that takes the MySQL command packets the wire forwards and gives back
 * the MySQL packets a server would answer, so the MySQL wire relays to it
 * exactly as it relays to MariaDB (same framing checks, same response
 * tracker, same state tracking). Behind it: one CockroachDB connection
 * (`target_connection.ts`) as the session's mapped user
 * (`target_identity.ts`), the executor and the command handler. Commands
 * are answered one at a time, in order, as a MySQL server does; a client
 * that pipelines just queues.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { Buffer } from "node:buffer";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import { errorMessage, LmsError } from "../../shared/errors.ts";
import { Cap } from "../mysql/constants.ts";
import { PacketSplitter } from "../mysql/framing.ts";
import { LoginFailedError } from "../pg/backend_auth.ts";
import { RowNamedLocks } from "./answer/mod.ts";
import { CommandHandler } from "./commands.ts";
import type { MySqlError } from "./error_map.ts";
import { Executor } from "./executor.ts";
import { PacketOut } from "./packet_out.ts";
import { clientShape, writeErr } from "./result_set.ts";
import { TargetConnection } from "./target_connection.ts";
import { type TargetIdentity } from "./target_identity.ts";
import type { TranslatorPool } from "./translator_pool.ts";
import type { CarriedStatement } from "./commands.ts";
import type { LocalAuthContext } from "../mysql/auth_local.ts";
import { AuthInbox, verifyChangeUser } from "./change_user.ts";
import { writeOk } from "./result_set.ts";
import { Status } from "../mysql/constants.ts";

/** Largest command accepted from the client (MySQL's own ceiling). */
const MAX_COMMAND = 1 << 30;

/** What a translated backend is opened with. */
export interface TranslatedBackendOptions {
  /** The target (INIT_TARGET): host, port, TLS, default database. */
  spec: ConnectionSpec;
  /** How the session logs in there (see target_identity.ts). */
  identity: TargetIdentity;
  /** The session's MySQL user, host, connection id, and the version it was told. */
  user: string;
  host: string;
  connectionId: number;
  serverVersion: string;
  /** The session's current database ("" when none). */
  database: string;
  /** The capabilities the client negotiated. */
  capabilities: number;
  /** MariaDB's extended capabilities the client negotiated (0 with MySQL). */
  mariadbCapabilities: number;
  /** The proxy's translators. */
  pool: TranslatorPool;
  /** Prepared statements to carry over, with the parameter types the client bound last. */
  statements: Iterable<CarriedStatement>;
  /** Session settings to carry over (the `SET` statements that made them), in order. */
  settings: string[];
  /** Hands out the session's statement ids. */
  nextStatementId: () => number;
  /** Verifies COM_CHANGE_USER against the source's recorded accounts; without it, refused. */
  localAuth?: LocalAuthContext;
  /** Whether the client's connection is TLS (caching_sha2_password's full authentication). */
  clientEncrypted?: boolean;
}

/** See the module documentation. */
export class TranslatedBackend extends Duplex {
  readonly #splitter = new PacketSplitter("client", MAX_COMMAND);
  readonly #queue: Uint8Array[] = [];
  readonly #options: TranslatedBackendOptions;
  #parts: Uint8Array[] = [];
  #partsSeq = 0;
  #busy = false;
  #ex!: Executor;
  #handler!: CommandHandler;
  #unregister: () => void = () => {};
  /** The session's MySQL user (COM_CHANGE_USER changes it). */
  #user: string;
  /** The CockroachDB role the session runs as (undefined: the login user). */
  #role: string | undefined;
  /** The client's packets while a COM_CHANGE_USER exchange runs. */
  #inbox: AuthInbox | undefined;

  private constructor(options: TranslatedBackendOptions) {
    super({ allowHalfOpen: false });
    this.#options = options;
    this.#user = options.user;
    this.#role = options.identity.role;
  }

  /**
   * Logs in on the target as the session's mapped user, carries the
   * session's settings and prepared statements over, and returns the
   * backend ready for the session's next command.
   *
   * @throws {LmsError} `IDENTITY_UNAVAILABLE` when the session cannot run as its own user there;
   *   `NOT_SUPPORTED` when a setting cannot be carried over; the connection's errors otherwise
   */
  static async open(options: TranslatedBackendOptions): Promise<TranslatedBackend> {
    const b = new TranslatedBackend(options);
    const conn = await b.#connect(options.database || options.spec.database, options.identity.role);
    b.#begin(conn, options.database || null);
    b.#ex.locks = new RowNamedLocks(async () => {
      const c = await TargetConnection.open({
        spec: options.spec,
        login: options.identity.login,
        role: undefined,
        database: options.spec.database,
      });
      return {
        query: async (sql: string, params: unknown[]) => {
          const r = await c.run([{
            sql,
            params: params.map((p) => p === null ? null : String(p)),
          }]);
          if (r.error) throw Object.assign(r.error, { code: r.error.notice.sqlstate });
          return r.results[0]?.rows;
        },
        close: () => Promise.resolve(c.close()),
      };
    });
    try {
      for (const text of options.settings) {
        const answered = await b.#ex.answer(text);
        if (!answered || answered.kind === "error") {
          throw new LmsError(
            "NOT_SUPPORTED",
            `LMS cannot carry the session setting \`${text.slice(0, 200)}\` to CockroachDB: ${
              answered?.kind === "error" ? answered.error.message : "the proxy does not answer it"
            }`,
            "reconnect after the cutover, or leave the setting out",
          );
        }
      }
      await b.#handler.reprepare(options.statements);
    } catch (err) {
      b.destroy();
      throw err;
    }
    return b;
  }

  /** A fresh MySQL session state (executor, prepared statements) on `conn`. */
  #begin(conn: TargetConnection, database: string | null): void {
    const o = this.#options;
    const locks = this.#ex?.locks;
    this.#ex = new Executor(conn, o.pool, {
      user: this.#user,
      host: o.host,
      connectionId: o.connectionId,
      serverVersion: o.serverVersion,
      clientFoundRows: (o.capabilities & Cap.FOUND_ROWS) !== 0,
    }, database);
    this.#ex.locks = locks;
    this.#handler = new CommandHandler(
      this.#ex,
      clientShape(o.capabilities, o.mariadbCapabilities),
      (o.capabilities & Cap.MULTI_STATEMENTS) !== 0,
      {
        switchDatabase: (name) => this.#switchDatabase(name),
        changeUser: (payload) => this.#changeUser(payload),
        nextStatementId: o.nextStatementId,
        quit: () => this.destroy(),
      },
    );
  }

  /**
   * COM_CHANGE_USER (`change_user.ts`): verified by the proxy, then the
   * session starts over as MySQL's does (transaction rolled back, named
   * locks released, prepared statements, variables and the database reset)
   * on a new connection as the CockroachDB user mapped from the new user.
   * A refused one leaves the session as it was. Resolves with the answer.
   */
  async #changeUser(payload: Uint8Array): Promise<Uint8Array> {
    const o = this.#options;
    if (!o.localAuth) {
      const out = new PacketOut(1);
      writeErr(
        out,
        1235,
        "42000",
        "LMS cannot verify COM_CHANGE_USER for this session: the proxy has no MySQL accounts " +
          "to check it against (INIT_TARGET is not set); reconnect as the other user",
      );
      return out.take();
    }
    this.#inbox = new AuthInbox();
    let outcome;
    try {
      outcome = await verifyChangeUser(
        payload,
        o.capabilities,
        o.clientEncrypted ?? false,
        o.host,
        o.localAuth,
        (bytes) => this.push(bytes),
        this.#inbox,
      );
    } finally {
      this.#inbox = undefined;
    }
    const out = new PacketOut(outcome.seq);
    if (outcome.kind === "error") {
      writeErr(out, outcome.error.code, outcome.error.sqlState, outcome.error.message);
      return out.take();
    }
    const { login, request } = outcome;
    const role = login.targetUser === o.spec.user ? undefined : login.targetUser;
    let conn: TargetConnection;
    try {
      conn = await this.#connect(request.database || o.spec.database, role);
    } catch (err) {
      const error = err instanceof LoginFailedError && err.server.sqlstate === "3D000"
        ? { code: 1049, sqlState: "42000", message: `Unknown database '${request.database}'` }
        : { code: 1105, sqlState: "HY000", message: `LMS: ${errorMessage(err)}` };
      writeErr(out, error.code, error.sqlState, error.message);
      return out.take();
    }
    const old = this.#ex;
    await old.locks?.releaseAll().catch(() => {});
    old.conn.onClose = undefined;
    old.conn.close();
    this.#user = login.user;
    this.#role = role;
    this.#begin(conn, request.database || null);
    writeOk(out, clientShape(o.capabilities, o.mariadbCapabilities), {
      affectedRows: 0,
      lastInsertId: 0,
      status: Status.AUTOCOMMIT,
      warnings: 0,
    });
    return out.take();
  }

  async #connect(database: string, role: string | undefined): Promise<TargetConnection> {
    const o = this.#options;
    const conn = await TargetConnection.open({
      spec: o.spec,
      login: o.identity.login,
      role,
      database,
    });
    this.#unregister();
    this.#unregister = o.pool.register(conn);
    conn.onClose = () => {
      if (conn === this.#ex?.conn || !this.#ex) this.destroy();
    };
    return conn;
  }

  async #switchDatabase(name: string): Promise<MySqlError | null> {
    const ex = this.#ex;
    if (name === (ex.database ?? "")) return null;
    // A transaction begun but not yet on the target (transaction_control.ts) moves along.
    if (ex.conn.txStatus !== "I") {
      // Each database is served on a connection of its own (the PostgreSQL stand-in cannot
      // switch a connection's database): the transaction cannot follow. Nothing is sent, so it
      // stays open and usable on the current database.
      return {
        code: 1235,
        sqlState: "42000",
        message: `LMS cannot change the database to '${name}' inside a transaction: the ` +
          `transaction is open on '${ex.database ?? ""}' on a CockroachDB connection of that ` +
          "database, and it goes on there; COMMIT or ROLLBACK first, then USE",
      };
    }
    const old = ex.conn;
    let conn: TargetConnection;
    try {
      conn = await this.#connect(name, this.#role);
    } catch (err) {
      if (err instanceof LoginFailedError && err.server.sqlstate === "3D000") {
        return { code: 1049, sqlState: "42000", message: `Unknown database '${name}'` };
      }
      return { code: 1105, sqlState: "HY000", message: `LMS: ${errorMessage(err)}` };
    }
    ex.databaseChanged(name, conn);
    const statements = [...this.#handler.statements.values()].map((s) => ({
      id: s.id,
      sql: s.sql,
      types: s.types.types,
    }));
    old.onClose = undefined;
    old.close();
    await this.#handler.reprepare(statements);
    return null;
  }

  /** The session's executor (its state: database, variables, last insert id). */
  get executor(): Executor {
    return this.#ex;
  }

  /** Asks CockroachDB to cancel the running statement. */
  cancel(): Promise<void> {
    return this.#ex.conn.cancel();
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    let packets;
    try {
      packets = this.#splitter.push(chunk);
    } catch (err) {
      return callback(err as Error);
    }
    for (const p of packets) {
      if (this.#parts.length === 0) this.#partsSeq = p.seq;
      this.#parts.push(p.payload.slice());
      if (p.continues) continue;
      const payload = this.#parts.length === 1 ? this.#parts[0] : Buffer.concat(this.#parts);
      this.#parts = [];
      // During COM_CHANGE_USER's exchange the client's packets answer it: they are no commands.
      if (this.#inbox) this.#inbox.push({ seq: this.#partsSeq, payload });
      else this.#queue.push(payload);
    }
    if (!this.#busy) void this.#drain();
    callback();
  }

  override _read(): void {}

  async #drain(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#queue.length > 0 && !this.destroyed) {
        const payload = this.#queue.shift()!;
        let bytes: Uint8Array;
        try {
          bytes = await this.#handler.handle(payload);
        } catch (err) {
          if (this.destroyed) return;
          if (err instanceof LmsError && err.code === "BACKEND_LOST") {
            this.destroy();
            return;
          }
          const out = new PacketOut(1);
          writeErr(out, 1105, "HY000", `LMS: ${errorMessage(err)}`);
          bytes = out.take();
        }
        if (bytes.length > 0 && !this.destroyed) this.push(bytes);
      }
    } finally {
      this.#busy = false;
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.destroy();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#unregister();
    void this.#ex?.locks?.releaseAll().catch(() => {});
    this.#ex?.conn.close();
    callback(err);
  }
}
