/**
 * What the proxy knows about one MySQL session, kept from the protocol: the
 * transaction status and autocommit from every OK/EOF packet's status flags,
 * the current database, prepared statements by id, session variables and
 * `SET NAMES`, user variables, and what ties the session to its connection:
 * `LOCK TABLES`, named locks (`GET_LOCK`) and temporary tables. A session
 * holding any of those cannot be held or moved at a transaction boundary; it
 * blocks a drain and {@link MySqlSessionState.blockingReason} says why.
 *
 * @module
 */

import { Status } from "./constants.ts";
import type { StatementEffect } from "./statements.ts";

/** See the module documentation. */
export class MySqlSessionState {
  /** The user the session authenticated as. */
  user: string;
  /** The current database ("" when none). */
  database: string;
  /** The status flags of the last OK/EOF packet. */
  status = Status.AUTOCOMMIT as number;
  /** `performance.now()` when the open transaction started, or 0. */
  txStartedAt = 0;
  /** Text of the last statement (COM_QUERY, COM_STMT_PREPARE, or the executed statement's text). */
  lastQuery = "";
  /** When `lastQuery` was sent (epoch ms), or 0. */
  lastQueryAt = 0;
  /** Prepared statements: id → statement text. */
  readonly statements = new Map<number, string>();
  /** Session variables set: name → the last `SET` statement naming it. */
  readonly sessionVars = new Map<string, string>();
  /** The last `SET NAMES`/`SET CHARACTER SET` statement. */
  setNames = "";
  /** User variables assigned. */
  readonly userVars = new Set<string>();
  /** `LOCK TABLES` in force. */
  tablesLocked = false;
  /** Named locks taken with `GET_LOCK`. */
  readonly namedLocks = new Set<string>();
  /** Temporary tables created. */
  readonly tempTables = new Set<string>();

  /**
   * @param user the login user
   * @param database the database given at login
   */
  constructor(user: string, database: string) {
    this.user = user;
    this.database = database;
  }

  /** Whether a transaction is open (`SERVER_STATUS_IN_TRANS`). */
  get inTransaction(): boolean {
    return (this.status & Status.IN_TRANS) !== 0;
  }

  /** Whether autocommit is on. */
  get autocommit(): boolean {
    return (this.status & Status.AUTOCOMMIT) !== 0;
  }

  /** Takes the status flags of an OK or EOF packet. */
  onStatus(status: number): void {
    const was = this.inTransaction;
    this.status = status;
    if (!was && this.inTransaction) this.txStartedAt = performance.now();
    else if (!this.inTransaction) this.txStartedAt = 0;
  }

  /** Records a statement the client sent. */
  noteQuery(sql: string): void {
    this.lastQuery = sql;
    this.lastQueryAt = Date.now();
  }

  /** Applies what a statement that succeeded did. */
  apply(effect: StatementEffect): void {
    switch (effect.kind) {
      case "set":
        for (const name of effect.names) this.sessionVars.set(name, effect.text);
        return;
      case "setNames":
        this.setNames = effect.text;
        return;
      case "userVars":
        for (const name of effect.names) this.userVars.add(name);
        return;
      case "use":
        this.database = effect.database;
        return;
      case "lockTables":
        this.tablesLocked = true;
        return;
      case "unlockTables":
      case "beginTransaction":
        this.tablesLocked = false;
        return;
      case "getLock":
        this.namedLocks.add(effect.name);
        return;
      case "releaseLock":
        this.namedLocks.delete(effect.name);
        return;
      case "releaseAllLocks":
        this.namedLocks.clear();
        return;
      case "createTemporary":
        this.tempTables.add(effect.table);
        return;
      case "dropTables":
        for (const t of effect.tables) this.tempTables.delete(t);
        return;
      case "many":
        for (const e of effect.effects) this.apply(e);
        return;
      case "none":
        return;
    }
  }

  /** Forgets everything the session built up (COM_RESET_CONNECTION, COM_CHANGE_USER). */
  reset(user = this.user, database = this.database): void {
    this.user = user;
    this.database = database;
    this.statements.clear();
    this.sessionVars.clear();
    this.setNames = "";
    this.userVars.clear();
    this.tablesLocked = false;
    this.namedLocks.clear();
    this.tempTables.clear();
  }

  /** Why this session cannot be held or moved between transactions, or undefined. */
  blockingReason(): string | undefined {
    const reasons: string[] = [];
    if (this.tablesLocked) reasons.push("holds LOCK TABLES");
    if (this.namedLocks.size > 0) {
      reasons.push(
        `holds named lock(s) ${[...this.namedLocks].map((n) => `'${n}'`).join(", ")} (GET_LOCK)`,
      );
    }
    if (this.tempTables.size > 0) {
      reasons.push(`has temporary table(s) ${[...this.tempTables].join(", ")}`);
    }
    return reasons.length > 0 ? reasons.join("; ") : undefined;
  }
}
