/**
 * MySQL's named locks (`GET_LOCK`, `RELEASE_LOCK`, `IS_FREE_LOCK`,
 * `IS_USED_LOCK`, `RELEASE_ALL_LOCKS`): refused, by decision.
 *
 * MySQL's named locks belong to a connection, are held outside any
 * transaction and vanish when the connection drops. CockroachDB has no
 * advisory locks (PostgreSQL's `pg_advisory_lock` does not exist there), and
 * a lock row in a table would be written inside or outside the session's
 * transaction, both wrong: inside, a rollback releases it and other sessions
 * do not see it until commit; outside, a proxy that dies leaves it held for
 * ever unless leases and fencing are added across the fleet. Rather than a
 * lock that sometimes does not exclude, the statement gets ER 1235 naming
 * the function and the reason, so the application (Rails' migration lock,
 * job queues) fails visibly and can be configured without it (Rails:
 * `advisory_locks: false`).
 *
 * @module
 */

import { AnswerError, notSupported } from "./result.ts";

const LOCK_FUNCTIONS = new Set([
  "GET_LOCK",
  "RELEASE_LOCK",
  "IS_FREE_LOCK",
  "IS_USED_LOCK",
  "RELEASE_ALL_LOCKS",
]);

/** True for the names of MySQL's named-lock functions (upper case). */
export function isLockFunction(name: string): boolean {
  return LOCK_FUNCTIONS.has(name);
}

/** The refusal for a named-lock function, or null for any other function. */
export function lockFunction(name: string): AnswerError | null {
  if (!LOCK_FUNCTIONS.has(name)) return null;
  return notSupported(
    name,
    "named locks are not available once CockroachDB serves the database: it has no advisory " +
      "locks, and LMS does not emulate them; turn the application's named locks off",
  );
}
