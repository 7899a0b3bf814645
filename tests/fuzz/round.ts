/**
 * One fuzz round: a throwaway database of the wire's kind (PostgreSQL or
 * MariaDB, see {@linkcode ./databases.ts}), a real proxy process in front of
 * it, a well-behaved witness client, and `concurrency` workers feeding
 * mutated corpus sessions to the proxy until the time is up. Crashes (the
 * process died) and hangs (a connection not closed in time) keep their
 * inputs; RSS is sampled throughout; at the end the proxy must hold no
 * database connection for a fuzzed session.
 *
 * @module
 */

import { encodeBase64 } from "./base64.ts";
import { type CorpusSession, loadCorpus } from "./corpus.ts";
import { type FuzzWire, startFuzzDatabase } from "./databases.ts";
import { type FuzzInput, makeInput } from "./mutate.ts";
import { replay, type ReplayBounds, type ReplayOutcome } from "./replay.ts";
import { startWatchedProxy, type WatchedProxy } from "../helpers/watched_proxy.ts";
import { emptyWitnessReport, overlapsAny, type Span, type WitnessReport } from "./witness.ts";

/** Settings of a round. */
export interface FuzzOptions {
  /** How long to keep feeding inputs. */
  seconds: number;
  /** PRNG seed; a seed replays the same inputs. */
  seed: number;
  /** The front to fuzz. Default `postgres`. */
  wire?: FuzzWire;
  /** Fuzzed connections at once. Default 4. */
  concurrency?: number;
  /** Per-connection bounds. Default 100 ms quiet, 10 s to close. */
  bounds?: ReplayBounds;
  /** The witness's per-query bound in ms. Default 10 000. */
  witnessBoundMs?: number;
  /** The proxy's RSS must stay below this. Default 512 MiB. */
  rssLimitBytes?: number;
  /** Extra proxy settings. */
  proxyEnv?: Record<string, string>;
  /** Corpus to mutate. Default: the committed one of the wire. */
  corpus?: CorpusSession[];
  /** Called after every 100 inputs with the count so far. */
  progress?: (inputs: number) => void;
}

/** An input that crashed or hung the proxy, replayable from its chunks. */
export interface Finding {
  /** `crash` or `hang`. */
  kind: "crash" | "hang";
  /** Input number within the seed. */
  index: number;
  /** The corpus session it came from. */
  base: string;
  /** The mutations applied. */
  mutations: string[];
  /** The bytes, base64 per chunk. */
  chunks: string[];
  /** For crashes: the tail of the proxy's stderr. */
  log?: string;
  /** Seconds into the round when it was found, to set beside the witnesses' slow answers. */
  atSeconds: number;
}

/** The figures of a round. */
export interface FuzzReport {
  /** The front fuzzed. */
  wire: FuzzWire;
  /** Seed used. */
  seed: number;
  /** Seconds spent feeding inputs. */
  seconds: number;
  /** Inputs sent. */
  inputs: number;
  /** How fuzzed connections ended. */
  outcomes: Record<ReplayOutcome, number>;
  /** Proxy crashes (process died). */
  crashes: number;
  /** Connections the proxy did not close in time. */
  hangs: number;
  /**
   * Of `hangs`, those whose wait overlapped a stall of the database itself:
   * the direct witness waited 5 s or more for it at the same time.
   */
  hangsInDatabaseStalls: number;
  /** The inputs behind crashes and hangs (first 20). */
  findings: Finding[];
  /** Proxy RSS before the first input, bytes. */
  startRssBytes: number;
  /** Highest proxy RSS sampled (every 100 ms), bytes. */
  maxRssBytes: number;
  /** The bound `maxRssBytes` is held to. */
  rssLimitBytes: number;
  /** Proxy open descriptors before and after (after the sessions settled). */
  fds: { start: number; end: number };
  /** Database sessions still open for fuzzed clients once everything settled. */
  leakedBackends: number;
  /** The witness client's figures. */
  witness: WitnessReport;
  /**
   * The same witness straight to the database, beside the proxy's. It tells a
   * database stall (both slow at the same time) from a proxy one; it does not
   * excuse the proxy's witness, whose errors fail the round either way.
   */
  directWitness: WitnessReport;
  /** Of the witness's timeouts, those whose wait overlapped a stall of the direct witness. */
  witnessTimeoutsInDatabaseStalls: number;
  /**
   * True when crashes and leaked backends are 0, RSS stayed bounded, and
   * every hang and witness error, if any, was a timeout during a stall of the
   * database itself (the proxy waited for it, as it must).
   */
  pass: boolean;
}

/** Runs one round and returns its figures. */
export async function runFuzzRound(opts: FuzzOptions): Promise<FuzzReport> {
  const wire = opts.wire ?? "postgres";
  await using db = await startFuzzDatabase(wire);
  const corpus = opts.corpus ?? await loadCorpus(db.corpusDir);
  const concurrency = opts.concurrency ?? 4;
  const bounds = opts.bounds ?? { quietMs: 100, endBoundMs: 10_000 };
  const rssLimitBytes = opts.rssLimitBytes ?? 512 * 1024 * 1024;
  const env = { ...db.proxyEnv, LMS_PROXY_ID: "fuzz-target", ...opts.proxyEnv };
  let target: WatchedProxy = await startWatchedProxy(env);
  const baseline = await db.sessions();
  const startedAt = performance.now();
  const witnessBoundMs = opts.witnessBoundMs ?? 10_000;
  const witness = await db.startWitness(target.port, witnessBoundMs, startedAt);
  const directWitness = await db.startWitness(db.port, witnessBoundMs, startedAt);
  const seconds = () => Math.round((performance.now() - startedAt) / 100) / 10;
  // How long each hung connection waited for the proxy, to set beside the direct witness's stalls.
  const hangWaits: Span[] = [];
  const report: FuzzReport = {
    wire,
    seed: opts.seed,
    seconds: opts.seconds,
    inputs: 0,
    outcomes: { closed: 0, reset: 0, hang: 0, refused: 0 },
    crashes: 0,
    hangs: 0,
    hangsInDatabaseStalls: 0,
    findings: [],
    startRssBytes: target.rss(),
    maxRssBytes: target.rss(),
    rssLimitBytes,
    fds: { start: target.fds(), end: 0 },
    leakedBackends: 0,
    witness: emptyWitnessReport(),
    directWitness: emptyWitnessReport(),
    witnessTimeoutsInDatabaseStalls: 0,
    pass: false,
  };
  const sampler = setInterval(() => {
    report.maxRssBytes = Math.max(report.maxRssBytes, target.rss());
  }, 100);
  const record = (kind: Finding["kind"], input: FuzzInput, log?: string) => {
    if (report.findings.length >= 20) return;
    report.findings.push({
      kind,
      index: input.index,
      base: input.base,
      mutations: input.mutations,
      chunks: input.chunks.map(encodeBase64),
      log,
      atSeconds: seconds(),
    });
  };
  const inFlight = new Set<FuzzInput>();
  let restarting: Promise<void> | undefined;
  const onCrash = async () => {
    report.crashes++;
    const log = target.logTail();
    for (const input of inFlight) record("crash", input, log);
    target = await startWatchedProxy(env);
  };
  const deadline = Date.now() + opts.seconds * 1000;
  let next = 0;
  const worker = async () => {
    while (Date.now() < deadline) {
      if (restarting) await restarting;
      const input = makeInput(corpus, opts.seed, next++, db.framing);
      inFlight.add(input);
      const result = await replay(target.port, input.chunks, bounds);
      inFlight.delete(input);
      report.inputs++;
      report.outcomes[result.outcome]++;
      if (result.outcome === "hang") {
        report.hangs++;
        hangWaits.push({ fromS: seconds() - bounds.endBoundMs / 1000, toS: seconds() });
        record("hang", input);
      }
      if (!target.alive() && !restarting) {
        inFlight.add(input);
        restarting = onCrash().finally(() => (restarting = undefined));
        await restarting;
        inFlight.delete(input);
      }
      if (report.inputs % 100 === 0) opts.progress?.(report.inputs);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
    report.witness = await witness.stop();
    report.directWitness = await directWitness.stop();
    // Database sessions of fuzzed clients must all be gone once the proxy closed them.
    const settleUntil = Date.now() + 10_000;
    do {
      report.leakedBackends = await db.sessions() - baseline;
      if (report.leakedBackends <= 0) break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < settleUntil);
    report.leakedBackends = Math.max(0, report.leakedBackends);
    report.fds.end = target.fds();
    if (!target.alive()) report.crashes++;
  } finally {
    clearInterval(sampler);
    await target.stop();
  }
  const stalls = report.directWitness.stalls;
  const inStall = (w: Span) => overlapsAny(stalls, w);
  report.hangsInDatabaseStalls = hangWaits.filter(inStall).length;
  report.witnessTimeoutsInDatabaseStalls = report.witness.timeoutsAtS
    .filter((at) => inStall({ fromS: at - witnessBoundMs / 1000, toS: at })).length;
  report.pass = report.crashes === 0 && report.hangs === report.hangsInDatabaseStalls &&
    report.witness.errorCount === report.witnessTimeoutsInDatabaseStalls &&
    report.leakedBackends === 0 && report.maxRssBytes <= rssLimitBytes;
  return report;
}
