/**
 * The database behind the proxy in a fuzz round, per wire: a throwaway
 * PostgreSQL (schema plus pgbench tables) or MariaDB (schema, sysbench's
 * database, and the password-less `fuzz` user the MySQL corpus logs in as,
 * so a replayed HandshakeResponse authenticates whatever scramble the server
 * sends). Each says how to count the database sessions the proxy holds for
 * fuzzed clients, and brings its corpus, framing and witness.
 *
 * @module
 */

import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { run } from "../helpers/proxy.ts";
import { CORPUS_DIR } from "./corpus.ts";
import { type Framing, FRAMINGS } from "./mutate.ts";
import { startMySqlWitness } from "./mysql_witness.ts";
import { FUZZ_SCHEMA, MYSQL_FUZZ_SETUP, SYSBENCH_TABLE } from "./schema.ts";
import { startWitness, type Witness } from "./witness.ts";

/** A wire the fuzzer can target. */
export type FuzzWire = "postgres" | "mysql";

/** A running database for one round. */
export interface FuzzDatabase extends AsyncDisposable {
  /** Settings that point a proxy at it. */
  proxyEnv: Record<string, string>;
  /** Its own port, for the witness that bypasses the proxy. */
  port: number;
  /** Where this wire's corpus lives. */
  corpusDir: string;
  /** How this wire frames client messages. */
  framing: Framing;
  /** Client sessions open on the database now (the caller subtracts a baseline). */
  sessions(): Promise<number>;
  /**
   * Starts the well-behaved client on `port`: the proxy's, or the database's
   * own; its times are seconds since `clock` (a `performance.now()` reading).
   */
  startWitness(port: number, boundMs: number, clock: number): Promise<Witness>;
}

const PG_SESSIONS = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' " +
  "AND pid <> pg_backend_pid()";
const MYSQL_SESSIONS = "SELECT count(*) FROM information_schema.processlist WHERE user = 'fuzz'";

/** Starts the database for `wire`. */
export async function startFuzzDatabase(wire: FuzzWire): Promise<FuzzDatabase> {
  if (wire === "postgres") {
    const cluster = await startPgCluster({ name: "fuzz" });
    try {
      await cluster.psql(FUZZ_SCHEMA);
      const init = await run("pgbench", ["-i", "-I", "dtGvp", "-s", "1", "-q", cluster.url()]);
      if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    } catch (err) {
      await cluster[Symbol.asyncDispose]();
      throw err;
    }
    return {
      proxyEnv: { INIT_SOURCE: cluster.url() },
      port: cluster.port,
      corpusDir: CORPUS_DIR,
      framing: FRAMINGS.postgres,
      sessions: async () => Number(await cluster.psql(PG_SESSIONS)),
      startWitness,
      [Symbol.asyncDispose]: () => cluster[Symbol.asyncDispose](),
    };
  }
  const server = await startMariaDbServer({
    name: "fuzz",
    initSql: [...MYSQL_FUZZ_SETUP, SYSBENCH_TABLE],
    // Fuzzed sessions lock the same sbtest rows; MariaDB's default 50 s lock wait would hold a
    // session's command (and, by flow control, its client's EOF) past the 10 s hang bound while
    // the database does exactly what it was asked. 2 s keeps such waits far inside the bound.
    settings: { "innodb-lock-wait-timeout": "2", "lock-wait-timeout": "2" },
  });
  return {
    proxyEnv: { LMS_SOURCE_DIALECT: "mysql", INIT_SOURCE: server.url({ database: "app" }) },
    port: server.port,
    corpusDir: `${CORPUS_DIR}mysql/`,
    framing: FRAMINGS.mysql,
    sessions: async () => Number(await server.sql(MYSQL_SESSIONS)),
    startWitness: startMySqlWitness,
    [Symbol.asyncDispose]: () => server.stop(),
  };
}
