/**
 * The well-behaved client that runs beside the fuzzer: one node-postgres
 * session through the proxy, asking questions whose answers it knows
 * (arithmetic, md5, a transaction, a named prepared statement) as fast as it
 * gets answers. Any error, wrong answer or query slower than its bound counts.
 * The question loop and the recorder are shared with the MySQL witness
 * (`mysql_witness.ts`).
 *
 * @module
 */

import pg from "pg";
import { createHash } from "node:crypto";

/** A span of a round, in seconds since it started. */
export interface Span {
  /** Start. */
  fromS: number;
  /** End. */
  toS: number;
}

/** What the witness saw. */
export interface WitnessReport {
  /** Queries answered correctly. */
  queries: number;
  /** Errors and wrong answers, in order, with when they happened (first 20). */
  errors: string[];
  /** How many errors in all. */
  errorCount: number;
  /** When each error that was a timeout happened, seconds into the round (first 100). */
  timeoutsAtS: number[];
  /** Slowest answer in ms. */
  maxLatencyMs: number;
  /** Answers slower than {@linkcode SLOW_MS}, as `at <s> s: <ms> ms` into the round (first 20). */
  slow: string[];
  /** Questions or connection attempts that waited {@linkcode STALL_MS} or longer (first 100). */
  stalls: Span[];
}

/** An answer slower than this is listed in {@linkcode WitnessReport.slow}. */
export const SLOW_MS = 2000;
/** A wait this long or longer is a stall of what the witness talks to. */
export const STALL_MS = 5000;
const TIMEOUT = /timeout|timed out|ETIMEDOUT/i;

/** A fresh report. */
export function emptyWitnessReport(): WitnessReport {
  return {
    queries: 0,
    errors: [],
    errorCount: 0,
    timeoutsAtS: [],
    maxLatencyMs: 0,
    slow: [],
    stalls: [],
  };
}

/** Whether `span` overlaps any of `spans`. */
export function overlapsAny(spans: readonly Span[], span: Span): boolean {
  return spans.some((s) => s.fromS < span.toS && s.toS > span.fromS);
}

/** Keeps a witness's report, timed against the round's clock. */
export class WitnessRecorder {
  /** The figures so far. */
  readonly report: WitnessReport = emptyWitnessReport();
  readonly #clock: number;
  readonly #stallMs: number;

  /**
   * @param clock the round's start, a `performance.now()` reading
   * @param stallMs a wait this long or longer is a stall; {@linkcode STALL_MS} by default
   */
  constructor(clock: number, stallMs: number = STALL_MS) {
    this.#clock = clock;
    this.#stallMs = stallMs;
  }

  #seconds(t: number): number {
    return Math.round((t - this.#clock) / 100) / 10;
  }

  /** Counts an error; a timeout also keeps its time, to be set beside the direct witness's stalls. */
  fail(what: string): void {
    const r = this.report;
    r.errorCount++;
    const at = this.#seconds(performance.now());
    if (r.errors.length < 20) r.errors.push(`at ${at.toFixed(1)} s: ${what}`);
    if (TIMEOUT.test(what) && r.timeoutsAtS.length < 100) r.timeoutsAtS.push(at);
  }

  /** Runs `f`, timing it; `answer` counts it as a question answered when it succeeds. */
  async time<T>(f: () => Promise<T>, answer = true): Promise<T> {
    const r = this.report;
    const t0 = performance.now();
    let ok = false;
    try {
      const out = await f();
      ok = true;
      return out;
    } finally {
      const t1 = performance.now();
      const ms = t1 - t0;
      if (ok && answer) {
        r.queries++;
        r.maxLatencyMs = Math.max(r.maxLatencyMs, ms);
        if (ms > SLOW_MS && r.slow.length < 20) {
          r.slow.push(`at ${this.#seconds(t0).toFixed(1)} s: ${ms.toFixed(0)} ms`);
        }
      }
      if (ms >= this.#stallMs && r.stalls.length < 100) {
        r.stalls.push({ fromS: this.#seconds(t0), toS: this.#seconds(t1) });
      }
    }
  }
}

/** A running witness. */
export interface Witness {
  /** Stops after the current query and reports. */
  stop(): Promise<WitnessReport>;
}

/** One witness session: how to open it, ask question `n` on it, and close it. */
export interface WitnessSession<C> {
  /** Opens the session. */
  connect(): Promise<C>;
  /** Asks question `n` (timed through the recorder); throws when the session broke. */
  ask(conn: C, n: number): Promise<void>;
  /** Closes the session. */
  end(conn: C): Promise<unknown>;
}

/**
 * Asks `session`'s questions one after the other until stopped; a question
 * that throws counts as an error and the session is opened again (a failed
 * reconnect counts too, and the next question finds out).
 */
export async function runWitness<C>(
  recorder: WitnessRecorder,
  session: WitnessSession<C>,
): Promise<Witness> {
  const fail = (what: string) => recorder.fail(what);
  let conn = await session.connect();
  let stopping = false;
  const loop = (async () => {
    for (let n = 0; !stopping; n++) {
      try {
        await session.ask(conn, n);
      } catch (err) {
        fail(`query ${n}: ${(err as Error).message}`);
        await session.end(conn).catch(() => {});
        if (stopping) break;
        await new Promise((r) => setTimeout(r, 200));
        conn = await recorder.time(session.connect, false).catch((e) => {
          fail(`reconnect: ${(e as Error).message}`);
          return conn;
        });
      }
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      await session.end(conn).catch(() => {});
      return recorder.report;
    },
  };
}

/**
 * Starts the witness against `127.0.0.1:port`; each query must answer within
 * `boundMs`. Times are seconds since `clock` (a `performance.now()` reading).
 */
export async function startWitness(port: number, boundMs: number, clock: number): Promise<Witness> {
  const recorder = new WitnessRecorder(clock);
  const fail = (what: string) => recorder.fail(what);
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
  const timed = (f: () => Promise<void>) => recorder.time(f);
  return await runWitness(recorder, {
    connect,
    end: (conn) => conn.end(),
    ask: async (conn, n) => {
      await timed(async () => {
        const text = `w${n}`;
        const res = await conn.query({
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
          await conn.query("BEGIN");
          const res = await conn.query(
            "SELECT count(*)::int AS c FROM generate_series(1, $1)",
            [
              n % 100 + 1,
            ],
          );
          await conn.query("COMMIT");
          if (res.rows[0].c !== n % 100 + 1) fail(`wrong count for ${n}`);
        });
      }
    },
  });
}
