/**
 * The MySQL commands of a session served from CockroachDB, each answered
 * with the packets a MySQL server would send, so the wire's response
 * tracker (`proxy/mysql/commands.ts`) follows them as it follows MariaDB:
 * COM_QUERY (several statements when the client enabled
 * CLIENT_MULTI_STATEMENTS, each result flagged `SERVER_MORE_RESULTS_EXISTS`
 * but the last, stopping at the first error), the COM_STMT_* family, COM_PING,
 * COM_INIT_DB and `USE` (a connection to that database), COM_FIELD_LIST,
 * COM_RESET_CONNECTION, COM_SET_OPTION, COM_STATISTICS, COM_DEBUG, and
 * COM_CHANGE_USER (verified by the proxy, `change_user.ts`). Cursors
 * (COM_STMT_FETCH) are refused with 1235.
 *
 * @module
 */

import { Com, Status } from "../mysql/constants.ts";
import { PayloadReader, utf8 } from "../mysql/packets.ts";
import { splitStatements, stripComments } from "../mysql/statements.ts";
import type { MySqlError } from "./error_map.ts";
import { mysqlError } from "./error_map.ts";
import { errorOutcome, type Executor, type Outcome } from "./executor.ts";
import { PacketOut } from "./packet_out.ts";
import {
  executeStatement,
  type PreparedStatement,
  prepareStatement,
  reprepareStatement,
} from "./prepared.ts";
import { MyType } from "../mysql/constants.ts";
import { BINARY, mysqlColumn } from "./result_columns.ts";
import {
  type ClientShape,
  writeColumn,
  writeEnd,
  writeErr,
  writeOk,
  writeResultSet,
} from "./result_set.ts";
import { BadParameter, readParams } from "./stmt_params.ts";
import { quoteIdent } from "./target_connection.ts";

/** What the command handler asks of the backend that owns it. */
export interface CommandHost {
  /** Makes `database` the session's; resolves with the error to answer, or null. */
  switchDatabase(database: string): Promise<MySqlError | null>;
  /** COM_CHANGE_USER: runs its exchange; resolves with the final answer's packets. */
  changeUser(payload: Uint8Array): Promise<Uint8Array>;
  /** The next statement id of the session (never one the client already holds). */
  nextStatementId(): number;
  /** COM_QUIT: the client leaves. */
  quit(): void;
}

/** A prepared statement a session brings along when it moves here. */
export interface CarriedStatement {
  /** The id the client knows. */
  id: number;
  sql: string;
  /** The parameter types (type byte and flags) the client bound last; empty when none. */
  types: number[];
}

const USE = /^\s*USE\s+(?:`((?:[^`]|``)+)`|([A-Za-z0-9_$]+))\s*;?\s*$/i;
const started = Date.now();

/** See the module documentation. */
export class CommandHandler {
  readonly #ex: Executor;
  readonly #shape: ClientShape;
  readonly #host: CommandHost;
  /** Prepared statements by the id the client knows. */
  readonly statements = new Map<number, PreparedStatement>();
  /** CLIENT_MULTI_STATEMENTS, switched by COM_SET_OPTION. */
  multiStatements: boolean;

  /**
   * @param ex runs statements
   * @param shape the client's packet shapes
   * @param multiStatements whether the client negotiated CLIENT_MULTI_STATEMENTS
   * @param host the backend
   */
  constructor(ex: Executor, shape: ClientShape, multiStatements: boolean, host: CommandHost) {
    this.#ex = ex;
    this.#shape = shape;
    this.multiStatements = multiStatements;
    this.#host = host;
  }

  /** Prepares the session's statements again under their ids (after a move). */
  async reprepare(statements: Iterable<CarriedStatement>): Promise<void> {
    for (const { id, sql, types } of statements) {
      const s = await reprepareStatement(this.#ex, id, sql);
      if (types.length === s.paramCount) s.types.types = [...types];
      this.statements.set(id, s);
    }
  }

  /** Answers one command; resolves with the response packets (empty when none is due). */
  async handle(payload: Uint8Array): Promise<Uint8Array> {
    const out = new PacketOut(1);
    const ex = this.#ex;
    const r = new PayloadReader(payload, 1);
    switch (payload[0]) {
      case Com.QUERY:
        await this.#query(out, utf8(payload.subarray(1)));
        break;
      case Com.PING:
      case Com.DEBUG:
        writeOk(out, this.#shape, {
          affectedRows: 0,
          lastInsertId: 0,
          status: ex.status,
          warnings: 0,
        });
        break;
      case Com.INIT_DB: {
        const err = await this.#host.switchDatabase(utf8(r.rest()));
        this.#write(out, err ? { kind: "error", error: err } : this.#ok(), false);
        break;
      }
      case Com.STMT_PREPARE:
        await this.#prepare(out, utf8(payload.subarray(1)));
        break;
      case Com.STMT_EXECUTE:
        await this.#execute(out, r);
        break;
      case Com.STMT_CLOSE: {
        const s = this.statements.get(r.u32("statement id"));
        if (s) {
          this.statements.delete(s.id);
          if (s.pgName) ex.conn.closeStatement(s.pgName);
        }
        break;
      }
      case Com.STMT_SEND_LONG_DATA: {
        const s = this.statements.get(r.u32("statement id"));
        const param = r.u16("parameter number");
        if (s) {
          const parts = s.longData.get(param) ?? [];
          parts.push(r.rest().slice());
          s.longData.set(param, parts);
        }
        break;
      }
      case Com.STMT_RESET: {
        const id = r.u32("statement id");
        const s = this.statements.get(id);
        if (!s) this.#write(out, unknownStatement(id, "mysqld_stmt_reset"), false);
        else {
          s.longData.clear();
          this.#write(out, this.#ok(), false);
        }
        break;
      }
      case Com.SET_OPTION:
        this.multiStatements = r.u16("option") === 0;
        writeEnd(out, this.#shape, ex.status, 0, true);
        break;
      case Com.RESET_CONNECTION:
        await this.#reset();
        this.#write(out, this.#ok(), false);
        break;
      case Com.STATISTICS:
        out.begin().str(
          `Uptime: ${Math.floor((Date.now() - started) / 1000)}  Threads: 1  Questions: 0  ` +
            "Slow queries: 0  Opens: 0  Open tables: 0  Queries per second avg: 0.000",
        ).end();
        break;
      case Com.FIELD_LIST:
        await this.#fieldList(out, r.cstr("table", true));
        break;
      case Com.QUIT:
        this.#host.quit();
        break;
      case Com.CHANGE_USER:
        return this.#host.changeUser(payload);
      default:
        this.#write(
          out,
          errorOutcome(
            1235,
            "42000",
            `LMS: this command is not supported for sessions served from CockroachDB ` +
              `(command byte 0x${payload[0].toString(16)})`,
          ),
          false,
        );
    }
    return out.take();
  }

  #ok(): Outcome {
    return { kind: "ok", affectedRows: 0, lastInsertId: 0, warnings: 0 };
  }

  #write(out: PacketOut, o: Outcome, binary: boolean, more = false): void {
    const status = this.#ex.status | (more ? Status.MORE_RESULTS_EXISTS : 0);
    if (o.kind === "error") writeErr(out, o.error.code, o.error.sqlState, o.error.message);
    else if (o.kind === "ok") {
      writeOk(out, this.#shape, {
        affectedRows: o.affectedRows,
        lastInsertId: o.lastInsertId,
        status,
        warnings: o.warnings,
        info: o.info,
      });
    } else {
      writeResultSet(out, this.#shape, o.columns, o.rows, binary, status, o.warnings, o.bodies);
    }
  }

  async #query(out: PacketOut, sql: string): Promise<void> {
    const parts = this.multiStatements && sql.includes(";")
      ? splitStatements(stripComments(sql))
      : [sql];
    if (parts.length === 0 || parts[0].trim() === "") {
      return this.#write(out, errorOutcome(1065, "42000", "Query was empty"), false);
    }
    for (let i = 0; i < parts.length; i++) {
      const o = await this.#statement(parts[i]);
      this.#write(out, o, false, i < parts.length - 1 && o.kind !== "error");
      if (o.kind === "error") return;
    }
  }

  async #statement(sql: string): Promise<Outcome> {
    const use = USE.exec(sql);
    if (use) {
      const err = await this.#host.switchDatabase(use[1]?.replace(/``/g, "`") ?? use[2]);
      return err ? { kind: "error", error: err } : this.#ok();
    }
    return this.#ex.runText(sql);
  }

  async #prepare(out: PacketOut, sql: string): Promise<void> {
    const id = this.#host.nextStatementId();
    const s = await prepareStatement(this.#ex, id, sql);
    if (!("id" in s)) return writeErr(out, s.code, s.sqlState, s.message);
    this.statements.set(id, s);
    out.begin().u8(0).u32(id).u16(s.columns.length).u16(s.paramCount).u8(0).u16(0).end();
    if (s.paramCount > 0) {
      const param = {
        name: "?",
        type: MyType.VAR_STRING,
        length: 0,
        flags: 128,
        decimals: 0,
        charset: BINARY,
        kind: "text" as const,
      };
      for (let i = 0; i < s.paramCount; i++) writeColumn(out, this.#shape, param);
      writeEnd(out, this.#shape, this.#ex.status, 0, false);
    }
    if (s.columns.length > 0) {
      for (const c of s.columns) writeColumn(out, this.#shape, c);
      writeEnd(out, this.#shape, this.#ex.status, 0, false);
    }
  }

  async #execute(out: PacketOut, r: PayloadReader): Promise<void> {
    const id = r.u32("statement id");
    r.u8("cursor flags");
    r.u32("iteration count");
    const s = this.statements.get(id);
    if (!s) return this.#write(out, unknownStatement(id, "mysqld_stmt_execute"), false);
    let values: (string | null)[];
    try {
      values = readParams(r, s.paramCount, s.types, s.longData);
    } catch (err) {
      if (!(err instanceof BadParameter)) throw err;
      return this.#write(
        out,
        errorOutcome(1210, "HY000", `Incorrect arguments to mysqld_stmt_execute: ${err.message}`),
        false,
      );
    } finally {
      s.longData.clear();
    }
    this.#write(out, await executeStatement(this.#ex, s, values), true);
  }

  async #fieldList(out: PacketOut, table: string): Promise<void> {
    const res = await this.#ex.conn.run([{
      sql: `SELECT * FROM ${quoteIdent(table.toLowerCase())} LIMIT 0`,
      params: [],
    }]);
    if (res.error) {
      const e = mysqlError(res.error.notice, this.#ex);
      return writeErr(out, e.code, e.sqlState, e.message);
    }
    for (const f of res.results[0].fields ?? []) {
      writeColumn(out, this.#shape, mysqlColumn(f), this.#ex.database ?? "", table);
    }
    writeEnd(out, this.#shape, this.#ex.status, 0, true);
  }

  async #reset(): Promise<void> {
    const ex = this.#ex;
    if (ex.conn.txStatus !== "I") await ex.conn.run([{ sql: "ROLLBACK", params: [] }]);
    for (const s of this.statements.values()) if (s.pgName) ex.conn.closeStatement(s.pgName);
    this.statements.clear();
    ex.variables.clear();
    ex.userVariables.clear();
    ex.warnings = [];
    ex.lastInsertId = 0n;
    ex.foundRows = 0;
    ex.transactions.reset();
  }
}

function unknownStatement(id: number, what: string): Outcome {
  return errorOutcome(1243, "HY000", `Unknown prepared statement handler (${id}) given to ${what}`);
}
