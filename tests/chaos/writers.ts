/**
 * The recorded writer workload of the fault matrix: `count` writers, each
 * write carrying a unique id, acknowledged to a log with the database that
 * served it (`RETURNING inet_server_port()`), the proxy it went through and
 * when it started. A writer whose connection breaks reconnects to the next
 * proxy, as a driver behind a load balancer does; every error is kept with
 * its SQLSTATE (or `connection` for a broken socket) to judge whether a
 * driver can retry it.
 *
 * Table: `acked (id bigint primary key, client int, tx text)` (tests/helpers/workload.ts).
 *
 * @module
 */

import pg from "pg";

/** One acknowledged write. */
export interface Ack {
  /** Row id. */
  id: number;
  /** Index of the proxy port the session was on. */
  proxy: number;
  /** `Date.now()` when the write was sent. */
  sentAt: number;
  /** Port of the database that answered. */
  servedBy: number;
}

/** One error a writer saw. */
export interface WriterError {
  /** SQLSTATE, or `connection` for a broken or refused socket, `timeout` for no answer. */
  code: string;
  /** The message. */
  message: string;
  /** `Date.now()`. */
  at: number;
}

/** A running workload. */
export interface Writers {
  /** Acknowledged writes, in order. */
  acks: Ack[];
  /** Errors seen. */
  errors: WriterError[];
  /** Stops after the current writes and closes the sessions. */
  stop(): Promise<void>;
}

/**
 * SQLSTATEs a driver can retry after reconnecting or re-running the
 * transaction: connection exceptions (class 08), serialization failure and
 * deadlock (40001, 40P01), operator intervention (57P01 admin shutdown,
 * 57P02 crash shutdown, 57P03 cannot connect now) and too many connections
 * (53300); plus a broken socket or an unanswered query.
 */
export const RETRYABLE: readonly RegExp[] = [
  /^08...$/,
  /^40001$/,
  /^40P01$/,
  /^57P0[123]$/,
  /^53300$/,
  /^connection$/,
  /^timeout$/,
];

/** Whether a driver can retry `code`. */
export function retryable(code: string): boolean {
  return RETRYABLE.some((r) => r.test(code));
}

function classify(err: unknown): string {
  const e = err as { code?: unknown; message?: string };
  if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  const m = e.message ?? "";
  if (/timeout/i.test(m)) return "timeout";
  return "connection";
}

/** Starts `count` writers over `ports` (writer i starts on port i mod n). */
export function startWriters(ports: () => number[], count: number): Writers {
  const acks: Ack[] = [];
  const errors: WriterError[] = [];
  let stopping = false;
  const fail = (err: unknown) =>
    errors.push({ code: classify(err), message: (err as Error).message, at: Date.now() });
  const connect = async (proxy: number): Promise<pg.Client> => {
    const c = new pg.Client({
      host: "127.0.0.1",
      port: ports()[proxy],
      user: "postgres",
      database: "postgres",
      query_timeout: 30_000,
      connectionTimeoutMillis: 10_000,
    });
    c.on("error", () => {}); // surfaced by the query that fails
    await c.connect();
    return c;
  };
  const loops = Array.from({ length: count }, async (_, i) => {
    let proxy = i % ports().length;
    let client: pg.Client | undefined;
    for (let n = 0; !stopping; n++) {
      try {
        client ??= await connect(proxy);
        const id = i * 10_000_000 + n * 2;
        const sentAt = Date.now();
        if (n % 2 === 0) {
          const res = await client.query({
            name: "acked_insert",
            text: "INSERT INTO acked (id, client, tx) VALUES ($1, $2, $3) " +
              "RETURNING inet_server_port() AS port",
            values: [id, i, `a${id}`],
          });
          acks.push({ id, proxy, sentAt, servedBy: Number(res.rows[0].port) });
        } else {
          await client.query("BEGIN");
          await client.query("INSERT INTO acked (id, client, tx) VALUES ($1, $2, $3)", [
            id,
            i,
            `t${id}`,
          ]);
          const res = await client.query(
            "INSERT INTO acked (id, client, tx) VALUES ($1, $2, $3) RETURNING inet_server_port() AS port",
            [id + 1, i, `t${id}`],
          );
          await client.query("COMMIT");
          const servedBy = Number(res.rows[0].port);
          acks.push({ id, proxy, sentAt, servedBy }, { id: id + 1, proxy, sentAt, servedBy });
        }
      } catch (err) {
        fail(err);
        const c = client;
        client = undefined;
        await c?.end().catch(() => {});
        proxy = (proxy + 1) % ports().length;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await client?.end().catch(() => {});
  });
  return {
    acks,
    errors,
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}
