/**
 * MySQL's named-lock functions in a `SELECT` (`SELECT GET_LOCK('x', 0)`, as
 * Rails' migrations send it): `GET_LOCK`, `RELEASE_LOCK`, `IS_FREE_LOCK` and
 * `RELEASE_ALL_LOCKS` run on the session's `NamedLocks` (named_locks.ts:
 * row locks held by open transactions, since CockroachDB has no advisory
 * locks) before the rest of the select list is evaluated, in source order.
 * Without `ctx.locks`, and always for `IS_USED_LOCK` (which must name the
 * holding connection, unknown across proxies), they are refused with
 * ER 1235 naming the function and the reason.
 *
 * @module
 */

import type { Node } from "../ast.ts";
import { AnswerError, notSupported } from "./result.ts";
import type { AnswerContext } from "./types.ts";

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
  if (name === "IS_USED_LOCK") {
    return notSupported(
      name,
      "the holder's connection id is not known across proxies; use IS_FREE_LOCK",
    );
  }
  return notSupported(
    name,
    "named locks need the session's lock service, which this proxy was started without: " +
      "CockroachDB has no advisory locks",
  );
}

/**
 * Runs the named-lock calls of a select list (in source order) on the
 * session's locks and returns their results by call node, for the
 * evaluator; `args` evaluates a call's arguments.
 */
export async function runLockCalls(
  calls: { node: Node; name: string; args: () => unknown[] }[],
  ctx: AnswerContext,
): Promise<Map<Node, number | null>> {
  const results = new Map<Node, number | null>();
  for (const call of calls) {
    const locks = ctx.locks;
    if (!locks || call.name === "IS_USED_LOCK") throw lockFunction(call.name)!;
    const [name, timeout] = call.args();
    if (call.name === "RELEASE_ALL_LOCKS") {
      results.set(call.node, await locks.releaseAll());
      continue;
    }
    if (name === null || name === undefined) {
      results.set(call.node, null);
      continue;
    }
    switch (call.name) {
      case "GET_LOCK":
        results.set(call.node, await locks.get(String(name), Number(timeout ?? 0)));
        break;
      case "RELEASE_LOCK":
        results.set(call.node, await locks.release(String(name)));
        break;
      case "IS_FREE_LOCK":
        results.set(call.node, await locks.isFree(String(name)));
        break;
    }
  }
  return results;
}
