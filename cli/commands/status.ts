/**
 * `molt-lms-cli status`: the fleet's routing state, its proxies, the cutover
 * in progress and the recent cutover history.
 *
 * @module
 */

import {
  API_PATHS,
  type CutoverStatus,
  type HistoryEntry,
  type ProxyBlockingSession,
  type ProxyStatus,
  type StatusResponse,
  StatusResponseSchema,
} from "../../shared/api.ts";
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

/** How many history entries the table shows (the JSON output has all the API sent). */
export const HISTORY_ROWS = 10;

function proxyState(p: ProxyStatus): string {
  if (!p.connected) return "disconnected";
  if (p.drained) return "drained";
  if (p.paused) return "pausing";
  return "serving";
}

function renderProxies(proxies: ProxyStatus[], now: number): string {
  if (proxies.length === 0) return "No proxies have registered.\n";
  return renderTable(
    [
      "PROXY",
      "CONNECTED",
      "VERSION",
      "SESSIONS",
      "IN TX",
      "HELD",
      "LAST HEARTBEAT",
      "EPOCH",
      "STATE",
    ],
    proxies.map((p) => [
      p.id,
      p.connected ? "yes" : "no",
      p.version,
      String(p.sessions.total),
      String(p.sessions.inTransaction),
      String(p.sessions.held),
      p.lastHeartbeatAt === null ? "never" : formatAge(p.lastHeartbeatAt, now),
      p.epoch === null ? "-" : String(p.epoch),
      proxyState(p),
    ]),
  );
}

/** One line describing replication catch-up, e.g. `replication caught up (lag 140 ms)`. */
export function describeReplication(c: CutoverStatus): string {
  const r = c.replication;
  if (r.error !== null) return `replication check failed: ${r.error}`;
  if (r.caughtUp) {
    return r.lagMs === null
      ? "replication caught up"
      : `replication caught up (lag ${Math.round(r.lagMs)} ms)`;
  }
  if (r.checked) return "waiting for replication to catch up";
  return "replication not checked yet (runs once every proxy is drained)";
}

function renderCutover(c: CutoverStatus, now: number): string {
  const fields: [string, string][] = [
    ["Cutover", `${c.id} (${c.kind}, started ${formatAge(c.startedAt, now)})`],
    ["Proxies drained", `${c.drained}/${c.total}`],
    ["Open transactions", String(c.openTransactions)],
    ["Catch-up", describeReplication(c)],
  ];
  if (c.resumedProxies.length > 0) {
    fields.push([
      "Resumed by themselves",
      `${c.resumedProxies.join(", ")} (pause outlived LMS_MAX_PAUSE): abort, then begin again`,
    ]);
  }
  if (c.drainTimedOut) fields.push(["Drain timeout", "reached; the fleet stays paused"]);
  if (c.cancelled.length > 0) fields.push(["Cancelled", c.cancelled.join(", ")]);
  if (c.terminated.length > 0) fields.push(["Terminated", c.terminated.join(", ")]);
  let text = renderFields(fields);
  const inTransaction = c.blocking.filter((b) => !notMovable(b));
  if (inTransaction.length > 0) {
    text += "\nStill in a transaction:\n" + renderBlocking({ ...c, blocking: inTransaction });
  }
  const pinned = c.blocking.filter(notMovable);
  if (pinned.length > 0) {
    text += "\nBetween transactions, but cannot be moved (end them, or fix the reason):\n" +
      renderTable(
        ["PROXY", "CLIENT", "USER", "DATABASE", "REASON"],
        pinned.map((b) => [b.proxyId, b.client, b.user, b.database, b.reason ?? ""]),
      );
  }
  return text;
}

/**
 * Whether a session blocks the drain although it is between transactions,
 * because it cannot be moved (for example it cannot run as its own user on
 * the new source of truth): its reason then says why.
 */
export function notMovable(b: ProxyBlockingSession): boolean {
  return b.reason !== undefined;
}

/** The sessions that keep proxies from draining, longest-running first. */
export function renderBlocking(c: CutoverStatus): string {
  const rows = [...c.blocking]
    .sort((a, b) => b.inTransactionForMs - a.inTransactionForMs)
    .map((b) => [
      b.proxyId,
      b.client,
      b.user,
      b.database,
      formatDuration(b.inTransactionForMs),
      truncate(b.query, 60) || "-",
    ]);
  return renderTable(["PROXY", "CLIENT", "USER", "DATABASE", "IN TX FOR", "QUERY"], rows);
}

/** A history step's detail as `key=value` pairs, which read better than JSON in a table. */
export function formatDetail(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

function renderHistory(history: HistoryEntry[], now: number): string {
  if (history.length === 0) return "No cutover history yet.\n";
  return renderTable(
    ["WHEN", "AT", "EPOCH", "STEP", "BY", "DETAIL"],
    history.slice(0, HISTORY_ROWS).map((h) => [
      formatAge(h.at, now),
      h.at,
      String(h.epoch),
      h.step,
      h.actor,
      truncate(formatDetail(h.detail), 60),
    ]),
  );
}

/** Renders `status` for people. */
export function renderStatus(s: StatusResponse, now: number): string {
  let text = renderFields([
    ["Initialized", s.initialized ? "yes" : "no (run `molt-lms-cli initialize`)"],
    ["Source of truth", s.sourceOfTruth],
    ["Phase", s.phase],
    ["Epoch", String(s.epoch)],
    ["Shadow mode", s.shadowMode],
    ["Dialect", s.sourceDialect],
  ]);
  text += "\nProxies:\n" + renderProxies(s.proxies, now);
  if (s.cutover !== null) text += "\nCutover in progress:\n" + renderCutover(s.cutover, now);
  text += "\nRecent cutover history:\n" + renderHistory(s.history, now);
  return text;
}

/** Runs `status`. */
export async function runStatus(
  client: ApiClient,
  options: GlobalOptions,
  io: Io,
): Promise<ExitCodeValue> {
  const { data, raw } = await client.get(API_PATHS.status, StatusResponseSchema);
  io.out(options.output === "json" ? formatJson(raw) : renderStatus(data, io.now()));
  return ExitCode.OK;
}
