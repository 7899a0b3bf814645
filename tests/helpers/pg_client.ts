/**
 * node-postgres clients for tests that talk to proxies.
 *
 * @module
 */

import pg from "pg";

/**
 * A client for `postgres@127.0.0.1:port` that swallows connection-level
 * 'error' events (a test that disconnects sessions on purpose asserts on the
 * failing query instead; an unhandled event would crash the test runner).
 */
export function pgClient(port: number): pg.Client {
  const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres" });
  client.on("error", () => {});
  return client;
}
