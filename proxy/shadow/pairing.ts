/**
 * Pairs the source of truth's and the shadow's results of one session,
 * request by request, compares each pair and records it (stats, metrics),
 * and in `sync` and `strict-sync` hands the session one verdict per request.
 *
 * Wire-neutral: a wire's shadow link decodes both databases' answers into
 * neutral results and reports each request as it completes on either side;
 * both databases answer the same requests in the same order, so the n-th
 * request of one side pairs with the n-th of the other. What a `strict-sync`
 * verdict carries back to the client (the shadow's error, in the wire's
 * encoding) is the link's own type.
 *
 * @module
 */

import type { ShadowMode } from "../../shared/config.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { compareResults } from "./compare.ts";
import type { ShadowMetrics } from "./metrics.ts";
import { type NeutralResult, succeeded } from "./result.ts";
import type { ShadowRules } from "./rules.ts";
import type { ShadowStats } from "./stats.ts";

/** What all shadow links of one proxy share. */
export interface ShadowContext {
  /** The proxy's shadow mode (never `none` here). */
  mode: Exclude<ShadowMode, "none">;
  /** Where comparisons are counted and sampled. */
  stats: ShadowStats;
  /** What does not count as a mismatch. */
  rules: ShadowRules;
  /** Shadow metrics. */
  metrics: ShadowMetrics;
  /** Bytes an `async` shadow may fall behind before the session stops shadowing. */
  maxQueueBytes: number;
  /** Rows per statement compared one by one (beyond, by digest). */
  rowLimit: number;
}

/** What the session needs to know about one request once both databases answered it. */
export interface RequestVerdict<Failure> {
  /**
   * In `strict-sync`: the shadow's error, in its wire's encoding, for a
   * request the source of truth completed without error.
   */
  shadowError?: Failure;
}

/** See the module documentation. */
export class ShadowPairing<Failure> {
  readonly #side: DatabaseSide;
  readonly #ctx: ShadowContext;
  readonly #sot: (readonly NeutralResult[])[] = [];
  readonly #shadow: { results: readonly NeutralResult[]; failure?: Failure }[] = [];
  readonly #verdicts: RequestVerdict<Failure>[] = [];
  #skipSot = 0;

  /**
   * @param side the database shadowed to
   * @param ctx the proxy's shadow settings
   */
  constructor(side: DatabaseSide, ctx: ShadowContext) {
    this.#side = side;
    this.#ctx = ctx;
  }

  /**
   * The source of truth completed a request. Returns false when it was the
   * proxy's own request ({@linkcode skipNextSourceOfTruthRequest}), which
   * pairs with nothing.
   */
  sourceOfTruthRequest(results: readonly NeutralResult[]): boolean {
    if (this.#skipSot > 0) {
      this.#skipSot--;
      return false;
    }
    this.#sot.push(results);
    this.#pair();
    return true;
  }

  /**
   * The shadow completed a request.
   *
   * @param failure the shadow's first error of the request, for `strict-sync`
   */
  shadowRequest(results: readonly NeutralResult[], failure: Failure | undefined): void {
    this.#shadow.push({ results, failure });
    this.#pair();
  }

  /** The next source-of-truth request is one the proxy made itself; do not pair it. */
  skipNextSourceOfTruthRequest(): void {
    this.#skipSot++;
  }

  /** `sync`/`strict-sync`: the verdict on the oldest request both databases answered, if any. */
  takeVerdict(): RequestVerdict<Failure> | undefined {
    return this.#verdicts.shift();
  }

  #pair(): void {
    const ctx = this.#ctx;
    while (this.#sot.length > 0 && this.#shadow.length > 0) {
      const sot = this.#sot.shift()!;
      const { results: shadow, failure } = this.#shadow.shift()!;
      const n = Math.min(sot.length, shadow.length);
      for (let i = 0; i < n; i++) {
        const [source, target] = this.#side === "target"
          ? [sot[i], shadow[i]]
          : [shadow[i], sot[i]];
        const result = compareResults(source, target, ctx.rules);
        ctx.stats.record(sot[i].sql, result);
        ctx.metrics.statement();
        if (result.verdict === "mismatch") {
          for (const kind of result.kinds) ctx.metrics.mismatch(kind);
        } else if (result.verdict === "transient") {
          ctx.metrics.transient(result.reason ?? "transient");
        }
      }
      if (ctx.mode === "async") continue;
      const sotFailed = sot.some((r) => !succeeded(r));
      this.#verdicts.push(
        ctx.mode === "strict-sync" && failure !== undefined && !sotFailed
          ? { shadowError: failure }
          : {},
      );
    }
  }
}
