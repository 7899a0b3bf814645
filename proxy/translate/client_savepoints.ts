/**
 * The client's savepoints, kept by the proxy as MySQL keeps them, so a
 * RELEASE or ROLLBACK TO of a savepoint MySQL does not have gets MySQL's
 * ERR 1305 (`SAVEPOINT x does not exist`) with the transaction going on.
 * Sent to CockroachDB, it would fail there and abort the whole transaction.
 *
 * MySQL's rules, which the list follows: names are case-insensitive; a
 * SAVEPOINT of a name already set deletes the old one and sets the name
 * anew as the newest (the ones set between stay); ROLLBACK TO x deletes
 * the savepoints set after x, RELEASE x deletes x and those after it;
 * the end of the transaction deletes all. Outside a transaction with
 * autocommit on, SAVEPOINT does nothing (a later RELEASE gets 1305); with
 * autocommit off, it belongs to the transaction the next statement opens,
 * so here it is kept _pending_ and set on the target right after the
 * implicit BEGIN (`pendingSteps`).
 *
 * CockroachDB and PostgreSQL keep a re-set name twice (the newer one
 * shadows the older): every name on the list is the newest of its name on
 * the target, so what the client's RELEASE and ROLLBACK TO reach there is
 * what they reach in MySQL; an older shadowed one only lingers until
 * something before it is released or rolled back to.
 *
 * @module
 */

import { objectName } from "./identifiers.ts";
import type { PgStep } from "./target_connection.ts";

/** What to do with a client's SAVEPOINT, RELEASE or ROLLBACK TO. */
export type SavepointDecision =
  /** Send the statement to the target. */
  | { kind: "send" }
  /** Answer OK without sending (MySQL has nothing to do on the target yet). */
  | { kind: "ok" }
  /** MySQL's ERR 1305: no savepoint of that name. */
  | { kind: "unknown"; message: string };

/** MySQL's `ER_SP_DOES_NOT_EXIST`, the error for an unknown savepoint. */
export const ER_SP_DOES_NOT_EXIST = 1305;

/** One session's client savepoints; see the module documentation. */
export class ClientSavepoints {
  /** Lower-cased names, oldest first. */
  #names: string[] = [];
  /** The names are for autocommit-off's next transaction and not yet on the target. */
  #pending = false;

  /** The transaction ended (COMMIT, ROLLBACK, BEGIN, DDL): its savepoints went with it. */
  forget(): void {
    this.#names = [];
    this.#pending = false;
  }

  /**
   * No transaction is open on the target: its savepoints are gone; pending
   * ones stay while autocommit is off (the next statement opens theirs).
   */
  outsideTransaction(autocommit: boolean): void {
    if (!this.#pending || autocommit) this.forget();
  }

  /**
   * Records the client's `action` on savepoint `name` (as written) and says
   * whether the statement goes to the target.
   */
  decide(
    action: "savepoint" | "release" | "rollback_to",
    name: string,
    inTransaction: boolean,
    autocommit: boolean,
  ): SavepointDecision {
    const key = name.toLowerCase();
    const at = this.#names.indexOf(key);
    if (action === "savepoint") {
      if (!inTransaction && autocommit) return { kind: "ok" };
      if (at >= 0) this.#names.splice(at, 1);
      this.#names.push(key);
      if (inTransaction) return { kind: "send" };
      this.#pending = true;
      return { kind: "ok" };
    }
    if (at < 0) return { kind: "unknown", message: `SAVEPOINT ${name} does not exist` };
    this.#names.splice(action === "release" ? at : at + 1);
    return this.#pending ? { kind: "ok" } : { kind: "send" };
  }

  /** The SAVEPOINTs to set right after autocommit-off's implicit BEGIN. */
  pendingSteps(): PgStep[] {
    if (!this.#pending) return [];
    this.#pending = false;
    return this.#names.map((n) => ({
      sql: `SAVEPOINT ${objectName(n)}`,
      params: [],
      fields: null,
    }));
  }
}
