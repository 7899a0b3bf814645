/**
 * `molt-lms-cli shadow report`: shadowing results over every proxy — totals,
 * mismatch rates, whether an immediate cutover is advisable, and the mismatch
 * samples worst first.
 *
 * The report is information, so the command exits 0 whatever it says; with
 * `--fail-on-mismatch` it exits 1 when the fleet is not ready, for scripts
 * that gate a cutover on it.
 *
 * @module
 */

import {
  API_PATHS,
  type ShadowReportResponse,
  ShadowReportResponseSchema,
  type ShadowWindow,
} from "../../shared/api.ts";
import type { OutcomeSummary } from "../../shared/shadow.ts";
import { type Command, PROGRAM } from "../command_tree.ts";
import type { GlobalOptions } from "../global_options.ts";
import { ExitCode, type ExitCodeValue } from "../exit_codes.ts";
import type { ApiClient } from "../http.ts";
import {
  formatAge,
  formatDuration,
  formatJson,
  type Io,
  renderFields,
  renderTable,
  truncate,
} from "../output.ts";

/** Longest fingerprint shown in the samples table. */
export const FINGERPRINT_WIDTH = 60;
/** Longest outcome summary shown in the samples table. */
export const OUTCOME_WIDTH = 32;

/** A rate as a percentage: `0.05%`, `12.5%`, `0%`, `-` when nothing was compared. */
export function formatRate(rate: number | null): string {
  if (rate === null) return "-";
  const pct = rate * 100;
  if (pct === 0) return "0%";
  if (pct < 0.001) return "<0.001%";
  if (pct >= 10) return `${pct.toFixed(1)}%`;
  return `${Number(pct.toPrecision(2))}%`;
}

function describeWindow(w: ShadowWindow): string {
  if (w.statements === 0) return "no statements compared";
  return `${formatRate(w.mismatchRate)} mismatches (${w.mismatches} of ${w.statements}), ` +
    `${formatRate(w.transientRate)} transient (${w.transient})`;
}

/**
 * One database's outcome in a table cell: `SELECT 1 [100.00]`, `error 23505`,
 * `error 1062 (23000)` for MySQL, `not translated` for a translation gap.
 */
export function summarizeOutcome(o: OutcomeSummary): string {
  if (o.notTranslated) return "not translated";
  if (!o.ok && o.errno !== undefined) return `error ${o.errno} (${o.sqlstate ?? "HY000"})`;
  if (!o.ok) return `error ${o.sqlstate ?? "(no SQLSTATE)"}`;
  let text = o.commandTag ?? (o.rowCount !== undefined ? `${o.rowCount} rows` : "ok");
  const row = o.rows?.[0];
  if (row) text += ` [${row.map((v) => v ?? "NULL").join(", ")}]`;
  return truncate(text, OUTCOME_WIDTH);
}

/** Renders the report: header, judgement, proxies, then the samples worst first. */
export function renderShadowReport(res: ShadowReportResponse, now: number): string {
  const kinds = Object.entries(res.byKind)
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([kind, n]) => `${kind} ${n}`)
    .join(", ");
  const answered = res.proxies.length;
  const asked = answered + res.unreachableProxies.length;
  const j = res.judgement;
  let text = renderFields([
    ["Proxies answered", `${answered} of ${asked}`],
    ["Statements compared", String(res.totals.statements)],
    ["Mismatches", `${res.totals.mismatches}${kinds ? ` (${kinds})` : ""}`],
    ["Transient", String(res.totals.transient)],
    ["Dropped sessions", String(res.totals.droppedSessions)],
    ["Last hour", describeWindow(res.windows.lastHour)],
    ["Last 24 hours", describeWindow(res.windows.lastDay)],
    ["Last 7 days", describeWindow(res.windows.lastSevenDays)],
    ["Immediate cutover", j.readyForImmediateCutover ? "ready" : "not ready"],
  ]);
  for (const reason of j.reasons) text += `  - ${reason}\n`;

  if (res.proxies.length > 0) {
    text += "\nProxies:\n" + renderTable(
      ["PROXY", "MODE", "SHADOWING FOR", "STATEMENTS", "MISMATCHES", "TRANSIENT", "DROPPED"],
      res.proxies.map((p) => [
        p.proxyId,
        p.mode,
        p.shadowingSince === null ? "-" : formatDuration(now - Date.parse(p.shadowingSince)),
        String(p.statements),
        String(p.mismatches),
        String(p.transient),
        String(p.droppedSessions),
      ]),
    );
  }

  if (res.samples.length === 0) {
    text += res.totalSamples === 0 ? "\nNo mismatch samples.\n" : "";
  } else {
    text += `\nMismatch samples, worst first (${res.samples.length} of ${res.totalSamples}):\n` +
      renderTable(
        ["COUNT", "KIND", "FINGERPRINT", "SOURCE", "TARGET", "LAST SEEN", "PROXIES"],
        res.samples.map((s) => [
          String(s.count),
          s.kind,
          truncate(s.fingerprint, FINGERPRINT_WIDTH),
          summarizeOutcome(s.source),
          summarizeOutcome(s.target),
          formatAge(s.lastSeen, now),
          s.proxies.join(","),
        ]),
      );
  }
  if (res.unreachableProxies.length > 0) {
    text += `\nWarning: no answer from proxies ${res.unreachableProxies.join(", ")}; ` +
      "their results are missing from this report.\n";
  }
  return text;
}

/** Runs `shadow report`. */
export async function runShadowReport(
  client: ApiClient,
  command: Extract<Command, { name: "shadow report" }>,
  options: GlobalOptions,
  io: Io,
): Promise<ExitCodeValue> {
  const path = `${API_PATHS.shadowReport}?limit=${command.limit}`;
  const { data, raw } = await client.get(path, ShadowReportResponseSchema);
  io.out(options.output === "json" ? formatJson(raw) : renderShadowReport(data, io.now()));
  if (command.failOnMismatch && !data.judgement.readyForImmediateCutover) {
    io.err(`${PROGRAM}: the fleet is not ready for an immediate cutover (--fail-on-mismatch)\n`);
    return ExitCode.FAILED;
  }
  return ExitCode.OK;
}
