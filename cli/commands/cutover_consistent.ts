/**
 * `molt-lms-cli cutover consistent begin|commit|abort`.
 *
 * `begin` returns from the orchestrator at once; unless `--no-wait` is given
 * the CLI then polls `status` and shows live progress (proxies drained,
 * open transactions, the connections that still hold transactions, the
 * replication catch-up) until the fleet is drained and replication has caught
 * up, or the drain timeout is reached, and not a moment longer. Waiting never
 * changes the cutover: interrupting the CLI leaves the fleet paused for
 * `commit` or `abort`. `begin` and `commit` name the direction (see
 * `direction.ts`).
 *
 * @module
 */

import {
  API_PATHS,
  type BeginRequest,
  type CommitRequest,
  CutoverResponseSchema,
  type CutoverStatus,
  type StatusResponse,
  StatusResponseSchema,
} from "../../shared/api.ts";
import { type DatabaseSide, otherSide } from "../../shared/control.ts";
import { LmsError } from "../../shared/errors.ts";
import { type Command, PROGRAM } from "../command_tree.ts";
import type { GlobalOptions } from "../global_options.ts";
import { ExitCode, type ExitCodeValue } from "../exit_codes.ts";
import type { ApiClient } from "../http.ts";
import { formatDuration, formatJson, type Io, truncate } from "../output.ts";
import { renderCutoverResult } from "./cutover_result.ts";
import { arrow, resolveDirection } from "./direction.ts";
import { describeReplication, notMovable, renderBlocking } from "./status.ts";

/** Interval between `status` polls while `begin` waits. */
export const POLL_INTERVAL_MS = 250;

type BeginCommand = Extract<Command, { name: "cutover consistent begin" }>;

/** Where a waiting `begin` stands after one poll. */
export type BeginOutcome = "waiting" | "ready" | "timed-out" | "ended" | "voided";

/** Classifies one status poll for the cutover `cutoverId`. */
export function beginOutcome(s: StatusResponse, cutoverId: string): BeginOutcome {
  const c = s.cutover;
  if (c === null || c.id !== cutoverId) return "ended";
  if (c.resumedProxies.length > 0) return "voided";
  // The orchestrator keeps `drainTimedOut` set if the drain completes later; completion wins.
  const drained = s.phase === "drained" && c.drained >= c.total;
  if (drained && (c.replication.caughtUp || c.replication.error !== null)) return "ready";
  return c.drainTimedOut ? "timed-out" : "waiting";
}

/** The progress block for one poll: a summary line and one line per blocking connection. */
export function progressLines(c: CutoverStatus): string[] {
  const summary = [
    `proxies drained ${c.drained}/${c.total}`,
    `open transactions ${c.openTransactions}`,
  ];
  if (c.replication.checked || c.replication.error !== null) {
    summary.push(describeReplication(c));
  }
  const lines = [summary.join(", ")];
  const blocking = [...c.blocking].sort((a, b) => b.inTransactionForMs - a.inTransactionForMs);
  for (const b of blocking) {
    const who = `  waiting on ${b.proxyId} ${b.client} ${b.user}@${b.database}`;
    lines.push(
      notMovable(b)
        ? `${who}, not moved: ${b.reason}`
        : `${who}, in transaction for ${formatDuration(b.inTransactionForMs)}: ${
          truncate(b.query, 40) || "-"
        }`,
    );
  }
  if (c.cancelled.length > 0) {
    lines.push(`  cancelled queries of sessions ${c.cancelled.join(", ")}`);
  }
  if (c.terminated.length > 0) lines.push(`  terminated sessions ${c.terminated.join(", ")}`);
  return lines;
}

/**
 * What counts as a change worth a new line when output is not a terminal:
 * everything but the ever-growing transaction ages.
 */
export function progressKey(c: CutoverStatus): string {
  return JSON.stringify([
    c.drained,
    c.total,
    c.openTransactions,
    c.blocking.map((b) => `${b.proxyId}/${b.sessionId}`).sort(),
    c.replication,
    c.cancelled,
    c.terminated,
    c.drainTimedOut,
  ]);
}

/** Draws progress: in place on a terminal, one block per change otherwise. */
class ProgressView {
  #drawn = 0;
  #lastKey = "";

  constructor(private readonly io: Io, private readonly enabled: boolean) {}

  show(c: CutoverStatus): void {
    if (!this.enabled) return;
    const lines = progressLines(c);
    if (this.io.isTerminal) {
      const erase = this.#drawn > 0 ? `\x1b[${this.#drawn}F\x1b[J` : "";
      this.io.out(erase + lines.join("\n") + "\n");
      this.#drawn = lines.length;
      return;
    }
    const key = progressKey(c);
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    this.io.out(lines.join("\n") + "\n");
  }
}

function nextSteps(sot: DatabaseSide): string {
  return `run \`${PROGRAM} cutover consistent commit --to ${
    otherSide(sot)
  }\` to switch the source ` +
    `of truth to the ${
      otherSide(sot)
    }, or \`${PROGRAM} cutover consistent abort\` to resume on the ` +
    sot;
}

/** The error for a cutover that proxies left by resuming on their own. */
export function voidedError(s: StatusResponse, c: CutoverStatus): LmsError {
  return new LmsError(
    "CUTOVER_INTERRUPTED",
    `${c.resumedProxies.join(", ")} resumed traffic on the ${s.sourceOfTruth} by themselves ` +
      "(their pause outlived LMS_MAX_PAUSE); this cutover can no longer commit",
    `run \`${PROGRAM} cutover consistent abort\`, then \`${PROGRAM} cutover consistent begin\` ` +
      "again (raise LMS_MAX_PAUSE on the proxies if the pause must last longer)",
  );
}

function timeoutError(s: StatusResponse, c: CutoverStatus, drainTimeoutMs: number): LmsError {
  const limit = formatDuration(drainTimeoutMs);
  const from = s.sourceOfTruth;
  const to = otherSide(from);
  if (s.phase === "drained" || c.drained >= c.total) {
    return new LmsError(
      "DRAIN_TIMEOUT",
      `the fleet drained but replication did not catch up within ${limit}; the fleet stays ` +
        `paused (${describeReplication(c)})`,
      `check that the replication from the ${from} to the ${to} runs and carries ` +
        `_molt_lms.marker, then ${nextSteps(from)}; commit is refused until the marker ` +
        `arrives, unless you verify the ${to} yourself and pass --skip-replication-check`,
    );
  }
  const proxies = new Set(c.blocking.map((b) => b.proxyId)).size;
  return new LmsError(
    "DRAIN_TIMEOUT",
    `drain timeout (${limit}) reached with ${c.openTransactions} open transaction(s) on ` +
      `${proxies} proxy(ies); ${c.drained}/${c.total} proxies drained; the fleet stays paused`,
    `wait and watch \`${PROGRAM} status\`, then ${nextSteps(s.sourceOfTruth)}; ` +
      "--cancel-after cancels the blocking transactions",
  );
}

async function beginAndWait(
  client: ApiClient,
  command: BeginCommand,
  options: GlobalOptions,
  io: Io,
): Promise<ExitCodeValue> {
  const direction = await resolveDirection(client, command.to);
  const body: BeginRequest = { from: direction.from, drainTimeoutMs: command.drainTimeoutMs };
  if (command.cancelAfterMs !== undefined) body.cancelAfterMs = command.cancelAfterMs;
  if (command.force) body.force = true;
  if (command.allowMissingProxies) body.allowMissingProxies = true;
  const begun = await client.post(API_PATHS.consistentBegin, body, CutoverResponseSchema);
  // The orchestrator's drain timeout runs from the begin; waiting ends with it.
  const deadline = io.now() + command.drainTimeoutMs;
  const id = begun.data.cutoverId;
  const table = options.output === "table";
  if (!command.wait) {
    io.out(
      table
        ? renderCutoverResult(
          `Consistent cutover ${id} begun (${arrow(direction)}): traffic to the ` +
            `${direction.from} is pausing. Watch \`${PROGRAM} status\`, then commit or abort.`,
          begun.data,
        )
        : formatJson(begun.raw),
    );
    return ExitCode.OK;
  }
  if (table) {
    io.out(
      `Consistent cutover ${id} begun (${arrow(direction)}): pausing traffic to the ` +
        `${direction.from} (drain timeout ${formatDuration(command.drainTimeoutMs)}).\n`,
    );
  }
  const view = new ProgressView(io, table);
  let lostContact = false;
  for (;;) {
    let polled;
    try {
      polled = await client.get(API_PATHS.status, StatusResponseSchema);
    } catch (err) {
      // An orchestrator restart mid-drain is survivable: it resumes from the store.
      if (!(err instanceof LmsError) || err.code !== "ORCHESTRATOR_UNREACHABLE") throw err;
      if (io.now() >= deadline) throw err;
      if (!lostContact && table) {
        io.err(`Lost contact with the orchestrator, retrying: ${err.message}\n`);
      }
      lostContact = true;
      await io.sleep(POLL_INTERVAL_MS);
      continue;
    }
    lostContact = false;
    const s = polled.data;
    const outcome = beginOutcome(s, id);
    if (outcome === "ended") {
      if (!table) io.out(formatJson(polled.raw));
      throw new LmsError(
        "CUTOVER_INTERRUPTED",
        `cutover ${id} is no longer in progress (phase ${s.phase}, source of truth ` +
          `${s.sourceOfTruth}, epoch ${s.epoch}): it was committed or aborted elsewhere`,
        `run \`${PROGRAM} status\` to see the cutover history`,
      );
    }
    const c = s.cutover as CutoverStatus;
    view.show(c);
    if (outcome === "voided") {
      if (!table) io.out(formatJson(polled.raw));
      throw voidedError(s, c);
    }
    if (outcome === "ready") {
      if (table) {
        const replication = c.replication.caughtUp
          ? describeReplication(c)
          : `${describeReplication(c)}; verify replication by hand before committing`;
        io.out(
          `Fleet drained (${c.drained}/${c.total} proxies) and paused; ${replication}.\n` +
            `Next: ${nextSteps(s.sourceOfTruth)}.\n`,
        );
      } else {
        io.out(formatJson(polled.raw));
      }
      return ExitCode.OK;
    }
    if (outcome === "timed-out" || io.now() >= deadline) {
      if (table) {
        if (c.blocking.length > 0) io.out("\nStill in a transaction:\n" + renderBlocking(c));
      } else {
        io.out(formatJson(polled.raw));
      }
      throw timeoutError(s, c, command.drainTimeoutMs);
    }
    await io.sleep(POLL_INTERVAL_MS);
  }
}

/** Runs `cutover consistent begin|commit|abort`. */
export async function runCutoverConsistent(
  client: ApiClient,
  command: Extract<
    Command,
    { name: "cutover consistent begin" | "cutover consistent commit" | "cutover consistent abort" }
  >,
  options: GlobalOptions,
  io: Io,
): Promise<ExitCodeValue> {
  if (command.name === "cutover consistent begin") {
    return await beginAndWait(client, command, options, io);
  }
  if (command.name === "cutover consistent abort") {
    const { data, raw } = await client.post(API_PATHS.consistentAbort, {}, CutoverResponseSchema);
    io.out(
      options.output === "json" ? formatJson(raw) : renderCutoverResult(
        `Aborted cutover ${data.cutoverId}: traffic resumed on the ${data.state.sourceOfTruth} ` +
          `(epoch ${data.state.epoch}).`,
        data,
      ),
    );
    return ExitCode.OK;
  }
  const direction = await resolveDirection(client, command.to);
  const body: CommitRequest = { from: direction.from };
  if (command.skipReplicationCheck) body.skipReplicationCheck = true;
  if (command.allowMissingProxies) body.allowMissingProxies = true;
  const { data, raw } = await client.post(API_PATHS.consistentCommit, body, CutoverResponseSchema);
  io.out(
    options.output === "json" ? formatJson(raw) : renderCutoverResult(
      `Committed cutover ${data.cutoverId} (${arrow(direction)}): the source of truth is now ` +
        `the ${data.state.sourceOfTruth} (epoch ${data.state.epoch}); traffic resumed there.`,
      data,
    ),
  );
  return ExitCode.OK;
}
