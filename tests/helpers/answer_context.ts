/**
 * A session context for `answerStatement()` (proxy/translate/answer/): the
 * session state in memory and catalog queries sent to a real server through
 * the given function (unit tests pass one that fails, so a statement that
 * should not need the catalog proves it does not).
 */

import type { AnswerContext } from "../../proxy/translate/answer/types.ts";

/** A context for user `app`@`10.0.0.9`, connection 42, database `app`. */
export function answerContext(
  overrides: Partial<AnswerContext> = {},
): AnswerContext & { queries: string[] } {
  const queries: string[] = [];
  return {
    database: "app",
    user: "app",
    host: "10.0.0.9",
    connectionId: 42,
    serverVersion: "8.0.36-lms",
    variables: new Map(),
    userVariables: new Map(),
    warnings: [],
    inTransaction: false,
    query: (sql: string) => {
      queries.push(sql);
      return Promise.reject(new Error("no catalog in this test"));
    },
    queries,
    ...overrides,
  };
}
