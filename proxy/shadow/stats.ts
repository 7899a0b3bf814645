/**
 * Bounded store of shadowing results on one proxy: totals, hourly buckets for
 * the mismatch rates over the last hour, day and seven days, and mismatch
 * samples grouped by query fingerprint and kind. Feeds
 * {@linkcode ProxyShadowReport}.
 *
 * @module
 */

import type {
  MismatchKind,
  MismatchSample,
  OutcomeSummary,
  ProxyShadowReport,
  ShadowBucket,
} from "../../shared/shadow.ts";
import type { ComparisonResult } from "./compare.ts";
import { fingerprint } from "./fingerprint.ts";

const HOUR_MS = 3_600_000;
/** Seven days of hourly buckets plus the current, partial one. */
const KEEP_BUCKETS = 169;

interface Sample {
  fingerprint: string;
  kind: MismatchKind;
  count: number;
  firstSeen: number;
  lastSeen: number;
  source: OutcomeSummary;
  target: OutcomeSummary;
}

/** Shadowing counters and samples of one proxy. */
export class ShadowStats {
  readonly #maxSamples: number;
  readonly #now: () => number;
  readonly #buckets = new Map<number, ShadowBucket>();
  readonly #samples = new Map<string, Sample>();
  readonly #byKind: Record<string, number> = {};
  #statements = 0;
  #mismatches = 0;
  #transient = 0;
  #droppedSessions = 0;
  /** Called after each mismatch or transient difference, so it can be persisted soon. */
  onDifference: (() => void) | undefined;

  /**
   * @param opts.maxSamples fingerprint × kind groups kept (default 200)
   * @param opts.now clock in epoch ms (tests inject one)
   */
  constructor(opts?: { maxSamples?: number; now?: () => number }) {
    this.#maxSamples = opts?.maxSamples ?? 200;
    this.#now = opts?.now ?? Date.now;
  }

  /** The counts that must survive a restart: hourly buckets and mismatches by kind. */
  persisted(): { hourly: ShadowBucket[]; byKind: Record<string, number> } {
    this.#expire(this.#now());
    return {
      hourly: [...this.#buckets.values()].sort((a, b) => a.start - b.start).map((b) => ({ ...b })),
      byKind: { ...this.#byKind },
    };
  }

  /**
   * Adds what a previous run of this proxy persisted, so a restart forgets no
   * mismatch of the last seven days (and no translation gap).
   */
  restore(hourly: readonly ShadowBucket[], byKind: Readonly<Record<string, number>>): void {
    for (const b of hourly) {
      const bucket = this.#buckets.get(b.start);
      if (bucket) {
        bucket.statements += b.statements;
        bucket.mismatches += b.mismatches;
        bucket.transient += b.transient;
      } else this.#buckets.set(b.start, { ...b });
      this.#statements += b.statements;
      this.#mismatches += b.mismatches;
      this.#transient += b.transient;
    }
    for (const [kind, n] of Object.entries(byKind)) {
      this.#byKind[kind] = (this.#byKind[kind] ?? 0) + n;
    }
    this.#expire(this.#now());
  }

  /** Counts one compared statement; mismatches also become samples. */
  record(sql: string, result: ComparisonResult): void {
    const now = this.#now();
    const bucket = this.#bucket(now);
    this.#statements++;
    bucket.statements++;
    if (result.verdict === "transient") {
      this.#transient++;
      bucket.transient++;
      this.onDifference?.();
      return;
    }
    if (result.verdict !== "mismatch") return;
    this.#mismatches++;
    bucket.mismatches++;
    this.onDifference?.();
    const fp = fingerprint(sql);
    for (const kind of result.kinds) {
      this.#byKind[kind] = (this.#byKind[kind] ?? 0) + 1;
      this.#sample(fp, kind, now, result);
    }
  }

  /** Counts a session whose shadowing was dropped because its queue filled up. */
  recordDroppedSession(): void {
    this.#droppedSessions++;
  }

  /** The report of this proxy; samples worst (most frequent, then most recent) first. */
  report(proxyId: string, mode: string, shadowingSince: string | null): ProxyShadowReport {
    this.#expire(this.#now());
    const hourly = [...this.#buckets.values()].sort((a, b) => a.start - b.start)
      .map((b) => ({ ...b }));
    const samples: MismatchSample[] = [...this.#samples.values()]
      .sort((a, b) => b.count - a.count || b.lastSeen - a.lastSeen)
      .map((s) => ({
        fingerprint: s.fingerprint,
        kind: s.kind,
        count: s.count,
        firstSeen: new Date(s.firstSeen).toISOString(),
        lastSeen: new Date(s.lastSeen).toISOString(),
        source: s.source,
        target: s.target,
      }));
    return {
      proxyId,
      mode,
      shadowingSince,
      statements: this.#statements,
      mismatches: this.#mismatches,
      transient: this.#transient,
      droppedSessions: this.#droppedSessions,
      byKind: { ...this.#byKind },
      hourly,
      samples,
    };
  }

  #bucket(now: number): ShadowBucket {
    const start = now - (now % HOUR_MS);
    let bucket = this.#buckets.get(start);
    if (!bucket) {
      bucket = { start, statements: 0, mismatches: 0, transient: 0 };
      this.#buckets.set(start, bucket);
      this.#expire(now);
    }
    return bucket;
  }

  #expire(now: number): void {
    const oldest = now - (now % HOUR_MS) - (KEEP_BUCKETS - 1) * HOUR_MS;
    for (const start of this.#buckets.keys()) {
      if (start < oldest) this.#buckets.delete(start);
    }
  }

  #sample(fp: string, kind: MismatchKind, now: number, result: ComparisonResult): void {
    const key = fp + "\u0000" + kind;
    const existing = this.#samples.get(key);
    if (existing) {
      existing.count++;
      existing.lastSeen = now;
      existing.source = result.source;
      existing.target = result.target;
      return;
    }
    if (this.#samples.size >= this.#maxSamples) this.#evict();
    this.#samples.set(key, {
      fingerprint: fp,
      kind,
      count: 1,
      firstSeen: now,
      lastSeen: now,
      source: result.source,
      target: result.target,
    });
  }

  /** Drops the least frequent group, the least recently seen among equals. */
  #evict(): void {
    let victim: string | undefined;
    let worst: Sample | undefined;
    for (const [key, s] of this.#samples) {
      if (
        !worst || s.count < worst.count || (s.count === worst.count && s.lastSeen < worst.lastSeen)
      ) {
        victim = key;
        worst = s;
      }
    }
    if (victim !== undefined) this.#samples.delete(victim);
  }
}
