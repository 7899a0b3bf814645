/**
 * A data-path probe for the cutover benchmark: one client session through one
 * proxy that asks `SELECT inet_server_port()` back to back and timestamps the
 * first answer from a given database. Source and target are local clusters on
 * different ports, so the answer names the database the session is on. A probe
 * query held by the pause gate is answered only once the session has moved,
 * so the timestamp is what a client experiences, not what a heartbeat reports.
 *
 * @module
 */

import pg from "pg";
import { errorMessage } from "../../shared/errors.ts";

/** A running probe. */
export interface Probe {
  /** The proxy port the probe's session goes through. */
  readonly proxyPort: number;
  /**
   * Resolves with the `performance.now()` time of the first answer from the
   * database on `dbPort` that arrives after this call, or `undefined` after
   * `timeoutMs`. One wait at a time.
   */
  nextAnswerFrom(dbPort: number, timeoutMs: number): Promise<number | undefined>;
  /** Errors the probe's session saw. */
  readonly errors: string[];
  /** Ends the loop and closes the session. */
  stop(): Promise<void>;
}

interface Waiter {
  dbPort: number;
  resolve: (at: number | undefined) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Connects through the proxy on `proxyPort` and starts asking. */
export async function startProbe(proxyPort: number): Promise<Probe> {
  const client = new pg.Client({
    host: "127.0.0.1",
    port: proxyPort,
    user: "postgres",
    database: "postgres",
  });
  const errors: string[] = [];
  let stopping = false;
  let waiter: Waiter | undefined;
  client.on("error", (err: Error) => errors.push(err.message));
  await client.connect();

  const settle = (at: number | undefined) => {
    const w = waiter;
    if (!w) return;
    waiter = undefined;
    clearTimeout(w.timer);
    w.resolve(at);
  };
  const loop = (async () => {
    while (!stopping) {
      try {
        const res = await client.query<{ port: number }>("SELECT inet_server_port() AS port");
        const at = performance.now();
        if (waiter && Number(res.rows[0].port) === waiter.dbPort) settle(at);
      } catch (err) {
        if (stopping) return;
        errors.push(errorMessage(err));
        // A broken session would otherwise spin; the error is reported in the results.
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  })();

  return {
    proxyPort,
    errors,
    nextAnswerFrom(dbPort, timeoutMs) {
      settle(undefined);
      return new Promise((resolve) => {
        waiter = { dbPort, resolve, timer: setTimeout(() => settle(undefined), timeoutMs) };
      });
    },
    async stop() {
      stopping = true;
      settle(undefined);
      await loop;
      await client.end().catch(() => {});
    },
  };
}
