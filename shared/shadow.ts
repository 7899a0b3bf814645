/**
 * Shadowing results as they travel from proxies to the orchestrator and the
 * CLI (`molt-lms-cli shadow report`): mismatch kinds, per-fingerprint samples
 * and the counts behind the mismatch rates.
 *
 * @module
 */

import { z } from "zod";

/**
 * How two outcomes of one statement differed. `collation`: the rows differ
 * only by letter case, accents or trailing spaces of text one side compares
 * case-insensitively (MySQL's `_ci` collations). `translation_gap`: the proxy
 * could not translate the statement for one database (MySQL sources).
 */
export const MismatchKindSchema: z.ZodEnum<{
  error_vs_success: "error_vs_success";
  sqlstate: "sqlstate";
  command_tag: "command_tag";
  row_count: "row_count";
  columns: "columns";
  values: "values";
  collation: "collation";
  translation_gap: "translation_gap";
}> = z.enum([
  "error_vs_success",
  "sqlstate",
  "command_tag",
  "row_count",
  "columns",
  "values",
  "collation",
  "translation_gap",
]);
/** A kind of mismatch. */
export type MismatchKind = z.infer<typeof MismatchKindSchema>;

/** One database's outcome of a statement, as shown to operators (literals redacted). */
export const OutcomeSummarySchema = z.object({
  /** The statement succeeded. */
  ok: z.boolean(),
  /** SQLSTATE, when it failed. */
  sqlstate: z.string().optional(),
  /** MySQL's error number, when a MySQL database failed it (e.g. 1062). */
  errno: z.number().int().nonnegative().optional(),
  /** The statement never ran there: the proxy could not translate it (`translation_gap`). */
  notTranslated: z.boolean().optional(),
  /** The error message, when it failed. */
  message: z.string().optional(),
  /** CommandComplete tag, when it succeeded (e.g. `SELECT 3`). */
  commandTag: z.string().optional(),
  /** Rows returned or affected. */
  rowCount: z.number().int().nonnegative().optional(),
  /** Result column names, when it returned rows. */
  columns: z.array(z.string()).optional(),
  /** The first few differing rows, as text. */
  rows: z.array(z.array(z.string().nullable())).optional(),
});
/** See {@linkcode OutcomeSummarySchema}. */
export type OutcomeSummary = z.infer<typeof OutcomeSummarySchema>;

/** Mismatches of one query fingerprint and kind on one proxy. */
export const MismatchSampleSchema = z.object({
  /** Query with literals replaced by placeholders; groups the samples. */
  fingerprint: z.string(),
  /** Kind of difference. */
  kind: MismatchKindSchema,
  /** How often it was seen. */
  count: z.number().int().positive(),
  /** First time (ISO 8601). */
  firstSeen: z.string(),
  /** Last time (ISO 8601). */
  lastSeen: z.string(),
  /** Outcome on the source database (most recent occurrence). */
  source: OutcomeSummarySchema,
  /** Outcome on the target database (most recent occurrence). */
  target: OutcomeSummarySchema,
});
/** See {@linkcode MismatchSampleSchema}. */
export type MismatchSample = z.infer<typeof MismatchSampleSchema>;

/** Counts for one time bucket. */
export const ShadowBucketSchema = z.object({
  /** Bucket start (epoch ms, a multiple of the bucket width). */
  start: z.number().int(),
  /** Statements compared. */
  statements: z.number().int().nonnegative(),
  /** Real mismatches. */
  mismatches: z.number().int().nonnegative(),
  /** Differences classified as transient or expected (40001 retries, volatile functions). */
  transient: z.number().int().nonnegative(),
});
/** See {@linkcode ShadowBucketSchema}. */
export type ShadowBucket = z.infer<typeof ShadowBucketSchema>;

/** What one proxy knows about its shadowing. */
export const ProxyShadowReportSchema = z.object({
  proxyId: z.string(),
  /** The proxy's shadow mode. */
  mode: z.string(),
  /** Since when this proxy has been shadowing (ISO 8601), null when mode is none. */
  shadowingSince: z.string().nullable(),
  /** Totals since start. */
  statements: z.number().int().nonnegative(),
  mismatches: z.number().int().nonnegative(),
  transient: z.number().int().nonnegative(),
  /** Sessions whose shadowing was dropped because their queue filled up. */
  droppedSessions: z.number().int().nonnegative(),
  /** Mismatches by kind since start. */
  byKind: z.record(z.string(), z.number().int().nonnegative()),
  /** Hourly buckets covering at least the last seven days, oldest first. */
  hourly: z.array(ShadowBucketSchema),
  /** Bounded store of samples, worst (most frequent) first. */
  samples: z.array(MismatchSampleSchema),
});
/** See {@linkcode ProxyShadowReportSchema}. */
export type ProxyShadowReport = z.infer<typeof ProxyShadowReportSchema>;

/** The report of a proxy that does not shadow (mode `none`, nothing counted). */
export function emptyShadowReport(proxyId: string): ProxyShadowReport {
  return {
    proxyId,
    mode: "none",
    shadowingSince: null,
    statements: 0,
    mismatches: 0,
    transient: 0,
    droppedSessions: 0,
    byKind: {},
    hourly: [],
    samples: [],
  };
}
