/**
 * The well-behaved client that runs beside the fuzzer: one node-postgres
 * session through the proxy, asking questions whose answers it knows
 * (arithmetic, md5, a transaction, a named prepared statement) as fast as it
 * gets answers. Any error, wrong answer or query slower than its bound counts.
 *
 * @module
 */

import pg from "pg";
import { createHash } from "node:crypto";

/** What the witness saw. */
export interface WitnessReport {
  /** Queries answered correctly. */
  queries: number;
  /** Errors and wrong answers, in order (first 20). */
  errors: string[];
  /** How many errors in all. */
  errorCount: number;
  /** Slowest answer in ms. */
  maxLatencyMs: number;
  /** Answers slower than {@linkcode SLOW_MS}, as `at <s> s: <ms> ms` from the start (first 20). */
  slow: string[];
}

/** An answer slower than this is listed in {@linkcode WitnessReport.slow}. */
export const SLOW_MS = 2000;

/** A fresh report. */
export function emptyWitnessReport(): WitnessReport {
  return { queries: 0, errors: [], errorCount: 0, maxLatencyMs: 0, slow: [] };
}

/**
 * Times one question for `report`: its latency and, when slow, when it was
 * asked (seconds since `started`, a `performance.now()` reading).
 */
export async function timeAnswer(
  report: WitnessReport,
  started: number,
  f: () => Promise<void>,
): Promise<void> {
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  report.maxLatencyMs = Math.max(report.maxLatencyMs, ms);
  report.queries++;
  if (ms > SLOW_MS && report.slow.length < 20) {
    report.slow.push(`at ${((t0 - started) / 1000).toFixed(1)} s: ${ms.toFixed(0)} ms`);
  }
}

/** A running witness. */
export interface Witness {
  /** Stops after the current query and reports. */
  stop(): Promise<WitnessReport>;
}

/** Starts the witness against `127.0.0.1:port`; each query must answer within `boundMs`. */
export async function startWitness(port: number, boundMs: number): Promise<Witness> {
  const report = emptyWitnessReport();
  const started = performance.now();
  // When, so an error can be set beside the direct witness's (a database stall shows in both).
  const fail = (what: string) => {
    report.errorCount++;
    const at = ((performance.now() - started) / 1000).toFixed(1);
    if (report.errors.length < 20) report.errors.push(`at ${at} s: ${what}`);
  };
  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({
      host: "127.0.0.1",
      port,
      user: "postgres",
      database: "postgres",
      query_timeout: boundMs,
      connectionTimeoutMillis: boundMs,
    });
    c.on("error", (err: Error) => fail(`connection: ${err.message}`));
    await c.connect();
    return c;
  };
  let client = await connect();
  let stopping = false;
  const timed = (f: () => Promise<void>) => timeAnswer(report, started, f);
  const loop = (async () => {
    for (let n = 0; !stopping; n++) {
      try {
        await timed(async () => {
          const text = `w${n}`;
          const res = await client.query({
            name: "witness_q",
            text: "SELECT $1::bigint * 3 AS v, md5($2::text) AS h",
            values: [n, text],
          });
          const want = createHash("md5").update(text).digest("hex");
          if (Number(res.rows[0].v) !== n * 3 || res.rows[0].h !== want) {
            fail(`wrong answer for ${n}: ${JSON.stringify(res.rows[0])}`);
          }
        });
        if (n % 10 === 0) {
          await timed(async () => {
            await client.query("BEGIN");
            const res = await client.query(
              "SELECT count(*)::int AS c FROM generate_series(1, $1)",
              [
                n % 100 + 1,
              ],
            );
            await client.query("COMMIT");
            if (res.rows[0].c !== n % 100 + 1) fail(`wrong count for ${n}`);
          });
        }
      } catch (err) {
        fail(`query ${n}: ${(err as Error).message}`);
        await client.end().catch(() => {});
        if (stopping) break;
        await new Promise((r) => setTimeout(r, 200));
        client = await connect().catch((e) => {
          fail(`reconnect: ${(e as Error).message}`);
          return client;
        });
      }
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      await client.end().catch(() => {});
      return report;
    },
  };
}
