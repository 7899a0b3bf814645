/**
 * A writer workload for cutover tests: clients that insert rows through the
 * proxies — alone (autocommit, with a named prepared statement) and in pairs
 * inside explicit transactions — and record every write the database
 * acknowledged, every error and every reconnect.
 *
 * Table: `acked (id bigint primary key, client int, tx text)`.
 *
 * @module
 */

import pg from "pg";

/** The schema the workload writes to. */
export const WORKLOAD_SCHEMA =
  "CREATE TABLE acked (id bigint PRIMARY KEY, client int NOT NULL, tx text NOT NULL)";

/** A running workload. */
export interface Workload {
  /** Ids of rows whose write was acknowledged. */
  acked: Set<number>;
  /** Errors clients saw. */
  errors: string[];
  /** The clients (one session each, never reconnected). */
  clients: pg.Client[];
  /** Longest time one request took, in ms. */
  maxLatencyMs(): number;
  /** Resets the longest-request measure. */
  resetLatency(): void;
  /** Stops the writers after their current request and closes the clients. */
  stop(): Promise<void>;
}

/** Starts `count` writers spread over the proxy ports. */
export async function startWorkload(ports: number[], count: number): Promise<Workload> {
  const acked = new Set<number>();
  const errors: string[] = [];
  const clients: pg.Client[] = [];
  let maxLatency = 0;
  let stopping = false;
  for (let i = 0; i < count; i++) {
    const client = new pg.Client({
      host: "127.0.0.1",
      port: ports[i % ports.length],
      user: "postgres",
      database: "postgres",
    });
    client.on("error", (err: Error) => errors.push(`client ${i}: ${err.message}`));
    client.on("end", () => {
      if (!stopping) errors.push(`client ${i}: connection ended`);
    });
    await client.connect();
    clients.push(client);
  }
  const timed = async <T>(f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      maxLatency = Math.max(maxLatency, performance.now() - t0);
    }
  };
  const loops = clients.map(async (client, i) => {
    for (let n = 0; !stopping; n++) {
      const id = i * 10_000_000 + n * 2;
      try {
        if (n % 2 === 0) {
          await timed(() =>
            client.query({
              name: "acked_insert",
              text: "INSERT INTO acked (id, client, tx) VALUES ($1, $2, $3)",
              values: [id, i, `a${id}`],
            })
          );
          acked.add(id);
        } else {
          await timed(() => client.query("BEGIN"));
          await timed(() =>
            client.query({
              name: "acked_insert",
              text: "INSERT INTO acked (id, client, tx) VALUES ($1, $2, $3)",
              values: [id, i, `t${id}`],
            })
          );
          await timed(() =>
            client.query("INSERT INTO acked (id, client, tx) VALUES ($1, $2, $3)", [
              id + 1,
              i,
              `t${id}`,
            ])
          );
          await timed(() => client.query("COMMIT"));
          acked.add(id);
          acked.add(id + 1);
        }
      } catch (err) {
        errors.push(`client ${i}: ${(err as Error).message}`);
        await client.query("ROLLBACK").catch(() => {});
      }
    }
  });
  return {
    acked,
    errors,
    clients,
    maxLatencyMs: () => maxLatency,
    resetLatency: () => {
      maxLatency = 0;
    },
    async stop() {
      stopping = true;
      await Promise.all(loops);
      await Promise.all(clients.map((c) => c.end()));
    },
  };
}
