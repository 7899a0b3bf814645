/**
 * The well-behaved MySQL client beside the fuzzer: one mysql2 session through
 * the proxy (as root, apart from the fuzzed `fuzz` user) asking questions
 * whose answers it knows — arithmetic and md5 through a prepared statement,
 * a transaction — as fast as it gets answers. Any error, wrong answer or
 * query slower than its bound counts.
 *
 * @module
 */

import mysql from "mysql2/promise";
import { createHash } from "node:crypto";
import { runWitness, type Witness, WitnessRecorder } from "./witness.ts";

/**
 * Starts the witness against `127.0.0.1:port`; each query must answer within
 * `boundMs`. Times are seconds since `clock` (a `performance.now()` reading).
 */
export async function startMySqlWitness(
  port: number,
  boundMs: number,
  clock: number,
): Promise<Witness> {
  const recorder = new WitnessRecorder(clock);
  const fail = (what: string) => recorder.fail(what);
  const connect = async (): Promise<mysql.Connection> => {
    const c = await mysql.createConnection({
      host: "127.0.0.1",
      port,
      user: "root",
      database: "app",
      connectTimeout: boundMs,
    });
    c.on("error", (err: Error) => fail(`connection: ${err.message}`));
    return c;
  };
  const timed = (f: () => Promise<void>) => recorder.time(f);
  return await runWitness(recorder, {
    connect,
    end: (conn) => conn.end(),
    ask: async (conn, n) => {
      await timed(async () => {
        const text = `w${n}`;
        const [rows] = await conn.execute<mysql.RowDataPacket[]>({
          sql: "SELECT ? * 3 AS v, md5(?) AS h",
          values: [n, text],
          timeout: boundMs,
        });
        const want = createHash("md5").update(text).digest("hex");
        if (Number(rows[0].v) !== n * 3 || rows[0].h !== want) {
          fail(`wrong answer for ${n}: ${JSON.stringify(rows[0])}`);
        }
      });
      if (n % 10 === 0) {
        await timed(async () => {
          await conn.query("START TRANSACTION");
          const [rows] = await conn.query<mysql.RowDataPacket[]>({
            sql: "SELECT ? + 1 AS c",
            values: [n],
            timeout: boundMs,
          });
          await conn.query("COMMIT");
          if (Number(rows[0].c) !== n + 1) fail(`wrong sum for ${n}`);
        });
      }
    },
  });
}
