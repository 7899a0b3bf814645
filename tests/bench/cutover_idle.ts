/**
 * Idle client sessions for the cutover benchmark at fleet scale: logged in
 * through the proxies and doing nothing, as most of a real application's pool
 * does. Every cutover has to move them too; at the end each must still answer.
 *
 * @module
 */

import pg from "pg";
import { errorMessage } from "../../shared/errors.ts";

/** The open idle sessions. */
export interface IdleSessions {
  /** How many were opened. */
  readonly count: number;
  /** Errors and unexpected ends the sessions saw, in order. */
  readonly errors: string[];
  /** Asks every session `SELECT 1`; returns one line per session that failed. */
  check(): Promise<string[]>;
  /** Closes every session. */
  close(): Promise<void>;
}

/** Logins at a time: a burst of hundreds would measure connection setup, not cutovers. */
const CONNECT_BATCH = 25;

/** Opens `perProxy[i]` idle sessions through the proxy on `ports[i]`. */
export async function openIdleSessions(ports: number[], perProxy: number[]): Promise<IdleSessions> {
  const errors: string[] = [];
  const clients: pg.Client[] = [];
  let closing = false;
  const specs = ports.flatMap((port, i) =>
    Array.from({ length: perProxy[i] }, (_, n) => ({ port, name: `idle ${port}/${n}` }))
  );
  for (let at = 0; at < specs.length; at += CONNECT_BATCH) {
    await Promise.all(
      specs.slice(at, at + CONNECT_BATCH).map(async ({ port, name }) => {
        const client = new pg.Client({
          host: "127.0.0.1",
          port,
          user: "postgres",
          database: "postgres",
        });
        client.on("error", (err: Error) => errors.push(`${name}: ${err.message}`));
        client.on("end", () => {
          if (!closing) errors.push(`${name}: connection ended`);
        });
        await client.connect();
        clients.push(client);
      }),
    );
  }
  return {
    count: clients.length,
    errors,
    async check() {
      const failed: string[] = [];
      for (let at = 0; at < clients.length; at += CONNECT_BATCH) {
        await Promise.all(
          clients.slice(at, at + CONNECT_BATCH).map(async (c, i) => {
            try {
              await c.query("SELECT 1");
            } catch (err) {
              failed.push(`idle session ${at + i} after the cutovers: ${errorMessage(err)}`);
            }
          }),
        );
      }
      return failed;
    },
    async close() {
      closing = true;
      await Promise.allSettled(clients.map((c) => c.end()));
    },
  };
}
