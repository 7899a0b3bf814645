/**
 * What a client session has told its database that a different database
 * would need to hear again: transaction status, named prepared statements and
 * session settings. Fed with the messages that pass in both directions; it
 * never sees the bytes of rows or COPY data.
 *
 * @module
 */

import {
  decodeClose,
  decodeParameterStatus,
  decodeParse,
  decodeText,
  type ParseMessage,
  readCString,
} from "./messages.ts";
import { type SessionCommand, sessionCommands, withoutRolledBack } from "./sql_session_commands.ts";
import type { SessionFacts, WireActivity } from "../session/wire.ts";
import { interned } from "./interned.ts";

/** Transaction status as reported by ReadyForQuery. */
export type TxStatus = "I" | "T" | "E";

type PendingOp =
  | { kind: "parse"; msg: ParseMessage }
  | { kind: "close"; statement: boolean; name: string }
  | { kind: "sync"; startedAt: number; commands: SessionCommand[] };

/** What {@linkcode SessionState.settings} and `prepared` read as before anything was set. */
const NONE: ReadonlyMap<string, never> = new Map<string, never>();

const ROLLBACK_TAG = new TextEncoder().encode("ROLLBACK\0");

/** Whether a CommandComplete body is exactly `ROLLBACK`, without decoding it. */
function isRollbackTag(body: Uint8Array): boolean {
  if (body.length !== ROLLBACK_TAG.length) return false;
  for (let i = 0; i < body.length; i++) if (body[i] !== ROLLBACK_TAG[i]) return false;
  return true;
}

/** Outcome of one request (a Query, or an extended-protocol batch up to Sync). */
export interface RequestOutcome {
  /** `performance.now()` when the request's first message passed. */
  startedAt: number;
  /** Whether the database answered it with an ErrorResponse. */
  failed: boolean;
}

const CHAR_Z = 0x5a, CHAR_S = 0x53, CHAR_E = 0x45, CHAR_1 = 0x31, CHAR_3 = 0x33, CHAR_C = 0x43;
const CHAR_Q = 0x51, CHAR_P = 0x50, CHAR_F = 0x46, CHAR_B = 0x42;

/** Session state tracker; see the module documentation. */
export class SessionState implements SessionFacts {
  /** Parameters the client sent in its StartupMessage. */
  readonly startupParams: Map<string, string>;
  /** ParameterStatus values last reported by the database. */
  readonly serverParameters: Map<string, string> = new Map();
  /** Made on the first SET / PREPARE: most sessions never have either, and each map costs memory. */
  #settings: Map<string, string> | undefined;
  #prepared: Map<string, ParseMessage> | undefined;
  /** Transaction status from the last ReadyForQuery. */
  txStatus: TxStatus = "I";
  /** When the current transaction block started (`performance.now()`), if in one. */
  txStartedAt = 0;
  /** Most recent SQL the client ran. */
  lastQuery = "";

  #ops: PendingOp[] = [];
  #staged: SessionCommand[] = [];
  /** Session commands bound since the last Sync: extended-protocol SETs count too. */
  #bound: SessionCommand[] = [];
  #unnamedSql = "";
  #failed = false;
  #lastWasRollback = false;
  #lastQueryClock = 0;
  #onRequestDone: (outcome: RequestOutcome) => void;

  /**
   * @param startupParams the client's StartupMessage parameters
   * @param onRequestDone called at each ReadyForQuery that ends a request
   */
  constructor(
    startupParams: Map<string, string>,
    onRequestDone: (outcome: RequestOutcome) => void = () => {},
  ) {
    this.startupParams = startupParams;
    this.#onRequestDone = onRequestDone;
  }

  /** Session settings in force, by setting name, as the statement that set them. */
  get settings(): ReadonlyMap<string, string> {
    return this.#settings ?? NONE;
  }

  /** Named prepared statements in force. */
  get prepared(): ReadonlyMap<string, ParseMessage> {
    return this.#prepared ?? NONE;
  }

  /** The user name the client logged in as. */
  get user(): string {
    return this.startupParams.get("user") ?? "";
  }

  /** The database the client asked for (PostgreSQL's default: the user's name). */
  get database(): string {
    return this.startupParams.get("database") ?? this.user;
  }

  /** What the client is doing, for listings. */
  get activity(): WireActivity {
    if (this.txStatus !== "I") return "in transaction";
    return this.pendingRequests > 0 ? "active" : "idle";
  }

  /** Requests sent and not yet answered by ReadyForQuery. */
  get pendingRequests(): number {
    let n = 0;
    for (const op of this.#ops) if (op.kind === "sync") n++;
    return n;
  }

  /** True when the session is between transactions with nothing in flight. */
  get idle(): boolean {
    return this.txStatus === "I" && this.#ops.length === 0;
  }

  /** Feeds one whole frontend message; it acts on Q, P, B, C, S and F. */
  onFrontend(type: number, body: Uint8Array): void {
    switch (type) {
      case CHAR_Q: {
        const sql = decodeText(body);
        this.#noteQuery(sql);
        this.#ops.push({
          kind: "sync",
          startedAt: performance.now(),
          commands: sessionCommands(sql),
        });
        break;
      }
      case CHAR_P: {
        const msg = decodeParse(body);
        this.#noteQuery(msg.sql);
        if (msg.name === "") this.#unnamedSql = msg.sql;
        this.#ops.push({ kind: "parse", msg });
        break;
      }
      case CHAR_B: {
        const [, at] = readCString(body, 0);
        const sql = this.#statementSql(readCString(body, at)[0]);
        if (sql !== undefined) {
          this.#noteQuery(sql);
          this.#bound.push(...sessionCommands(sql));
        }
        break;
      }
      case CHAR_C: {
        const { kind, name } = decodeClose(body);
        this.#ops.push({ kind: "close", statement: kind === "S", name });
        break;
      }
      case CHAR_S:
        this.#ops.push({ kind: "sync", startedAt: performance.now(), commands: this.#bound });
        this.#bound = [];
        break;
      case CHAR_F:
        this.#ops.push({ kind: "sync", startedAt: performance.now(), commands: [] });
        break;
    }
  }

  /** SQL of a statement a Bind names, including one parsed earlier in the same batch. */
  #statementSql(name: string): string | undefined {
    if (name === "") return this.#unnamedSql;
    for (let i = this.#ops.length - 1; i >= 0; i--) {
      const op = this.#ops[i];
      if (op.kind === "parse" && op.msg.name === name) return op.msg.sql;
    }
    return this.#prepared?.get(name)?.sql;
  }

  /** Feeds one whole backend message; it acts on Z, S, E, 1, 3 and C. */
  onBackend(type: number, body: Uint8Array): void {
    switch (type) {
      case CHAR_1: {
        const op = this.#shiftUntil("parse");
        if (op?.kind === "parse" && op.msg.name !== "") {
          (this.#prepared ??= new Map()).set(op.msg.name, op.msg);
        }
        break;
      }
      case CHAR_3: {
        const op = this.#shiftUntil("close");
        if (op?.kind === "close" && op.statement) this.#prepared?.delete(op.name);
        break;
      }
      case CHAR_E:
        this.#failed = true;
        while (this.#ops.length > 0 && this.#ops[0].kind !== "sync") this.#ops.shift();
        break;
      case CHAR_C:
        this.#lastWasRollback = isRollbackTag(body);
        break;
      case CHAR_S: {
        const [name, value] = decodeParameterStatus(body);
        this.serverParameters.set(interned(name), interned(value));
        break;
      }
      case CHAR_Z:
        this.#readyForQuery(String.fromCharCode(body[0]) as TxStatus);
        break;
    }
  }

  #noteQuery(sql: string): void {
    this.lastQuery = sql;
    this.#lastQueryClock = performance.now();
  }

  /** When the most recent query was sent (epoch milliseconds), or 0. */
  get lastQueryAt(): number {
    return this.#lastQueryClock === 0
      ? 0
      : Math.round(performance.timeOrigin + this.#lastQueryClock);
  }

  #shiftUntil(kind: "parse" | "close"): PendingOp | undefined {
    while (this.#ops.length > 0) {
      const op = this.#ops[0];
      if (op.kind === "sync") return undefined;
      this.#ops.shift();
      if (op.kind === kind) return op;
    }
    return undefined;
  }

  #readyForQuery(status: TxStatus): void {
    let sync: PendingOp | undefined;
    while (this.#ops.length > 0) {
      const op = this.#ops.shift()!;
      if (op.kind === "sync") {
        sync = op;
        break;
      }
    }
    const failed = this.#failed;
    this.#failed = false;
    if (sync?.kind === "sync") {
      // Prepared statements are not transactional: DEALLOCATE holds even if
      // its transaction rolls back.
      for (const cmd of failed ? [] : sync.commands) {
        if (cmd.kind === "deallocate" || cmd.kind === "deallocate-all") this.#apply([cmd]);
        else this.#staged.push(cmd);
      }
      this.#onRequestDone({ startedAt: sync.startedAt, failed });
    }
    if (status === "I") {
      if (!failed && !this.#lastWasRollback) this.#apply(withoutRolledBack(this.#staged));
      this.#staged = [];
      this.txStartedAt = 0;
    } else if (this.txStatus === "I") {
      this.txStartedAt = sync?.kind === "sync" ? sync.startedAt : performance.now();
    }
    this.txStatus = status;
  }

  #apply(commands: SessionCommand[]): void {
    for (const cmd of commands) {
      switch (cmd.kind) {
        case "set":
          (this.#settings ??= new Map()).set(cmd.name, cmd.statement);
          break;
        case "reset":
          this.#settings?.delete(cmd.name);
          break;
        case "reset-all":
          this.#settings = undefined;
          break;
        case "discard-all":
          this.#settings = undefined;
          this.#prepared = undefined;
          break;
        case "deallocate":
          this.#prepared?.delete(cmd.name);
          break;
        case "deallocate-all":
          this.#prepared = undefined;
          break;
      }
    }
  }
}
