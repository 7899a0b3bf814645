/**
 * `GET /api/v1/shadow/report` and `molt-lms-cli shadow report` on the real
 * orchestrator (state store in a throwaway PostgreSQL target): control clients
 * backed by in-test ControlHandlers return canned shadow reports, and the
 * orchestrator asks them over the control channel and merges the answers.
 */
import assert from "node:assert/strict";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort } from "../../shared/local/ports.ts";
import { loadConfig } from "../../shared/config.ts";
import { setLogLevel } from "../../shared/log.ts";
import {
  API_PATHS,
  type ApiErrorBody,
  type ShadowReportResponse,
  ShadowReportResponseSchema,
} from "../../shared/api.ts";
import type { SessionCounts, ShadowModeName } from "../../shared/control.ts";
import type { ProxyShadowReport } from "../../shared/shadow.ts";
import { startOrchestrator } from "../../orchestrator/main.ts";
import { mergeShadowReports } from "../../orchestrator/shadow_report.ts";
import { type ControlClient, startControlClient } from "../../proxy/control/client.ts";
import type { ControlHandler } from "../../proxy/control/handler.ts";
import { ago, proxyShadowReportFixture } from "../helpers/api_fixtures.ts";
import { expectExit, runCli } from "../helpers/cli_process.ts";
import { IdleCore } from "../helpers/control_core.ts";
import { TEST_API_TOKEN } from "../helpers/fleet.ts";
import { waitFor } from "../helpers/wait.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NO_SESSIONS: SessionCounts = { total: 0, idle: 0, active: 0, inTransaction: 0, held: 0 };

/** A proxy core whose shadow report the test sets. */
class ReportingProxy extends IdleCore {
  calls = 0;
  constructor(public report: () => ProxyShadowReport) {
    super();
  }
  shadowReport(): ProxyShadowReport {
    this.calls++;
    return this.report();
  }
}

const Q_BALANCE = "SELECT balance FROM accounts WHERE id = $1";
const Q_INSERT = "INSERT INTO orders (customer_id, total) VALUES ($1, $2)";

/** Two proxies in sync for 3 days that saw the same query differ, and one more. */
function cannedReports(now: number): [ProxyShadowReport, ProxyShadowReport] {
  const hour = Math.floor(now / HOUR) * HOUR;
  const p1 = proxyShadowReportFixture({
    // The orchestrator must file the report under the id the proxy registered with.
    proxyId: "confused",
    statements: 5000,
    mismatches: 7,
    transient: 2,
    byKind: { values: 5, row_count: 2 },
    hourly: [
      { start: hour - 30 * HOUR, statements: 2000, mismatches: 2, transient: 0 },
      { start: hour, statements: 3000, mismatches: 5, transient: 2 },
    ],
    samples: [
      {
        fingerprint: Q_BALANCE,
        kind: "values",
        count: 5,
        firstSeen: ago(30 * HOUR, now),
        lastSeen: ago(10 * 60_000, now),
        source: { ok: true, commandTag: "SELECT 1", rowCount: 1, rows: [["100.00"]] },
        target: { ok: true, commandTag: "SELECT 1", rowCount: 1, rows: [["100.01"]] },
      },
      {
        fingerprint: Q_INSERT,
        kind: "row_count",
        count: 2,
        firstSeen: ago(2 * HOUR, now),
        lastSeen: ago(HOUR, now),
        source: { ok: true, commandTag: "INSERT 0 1", rowCount: 1 },
        target: { ok: true, commandTag: "INSERT 0 0", rowCount: 0 },
      },
    ],
  }, now);
  const p2 = proxyShadowReportFixture({
    proxyId: "proxy-2",
    mode: "strict-sync",
    shadowingSince: ago(10 * DAY, now),
    statements: 4000,
    mismatches: 4,
    transient: 1,
    droppedSessions: 1,
    byKind: { values: 4 },
    hourly: [{ start: hour, statements: 4000, mismatches: 4, transient: 1 }],
    samples: [{
      fingerprint: Q_BALANCE,
      kind: "values",
      count: 4,
      firstSeen: ago(3 * HOUR, now),
      lastSeen: ago(60_000, now),
      source: { ok: true, commandTag: "SELECT 1", rowCount: 1, rows: [["7.00"]] },
      target: { ok: true, commandTag: "SELECT 1", rowCount: 1, rows: [["7.10"]] },
    }],
  }, now);
  return [p1, p2];
}

/** Both proxies in sync for eight days with only transient differences. */
function cleanReport(proxyId: string, now: number): ProxyShadowReport {
  const hour = Math.floor(now / HOUR) * HOUR;
  return proxyShadowReportFixture({
    proxyId,
    shadowingSince: ago(8 * DAY, now),
    statements: 1000,
    mismatches: 0,
    transient: 3,
    byKind: {},
    hourly: [{ start: hour, statements: 1000, mismatches: 0, transient: 3 }],
    samples: [],
  }, now);
}

Deno.test({
  name: "orchestrator: shadow report merged over the control channel, and the CLI on it",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    await using target = await startPgCluster({ name: "shadow-report-target" });
    const port = await freePort();
    const config = loadConfig("orchestrator", {
      args: [],
      env: {
        INIT_TARGET: target.url(),
        LMS_LISTEN: `127.0.0.1:${port}`,
        LMS_METRICS_LISTEN: "127.0.0.1:0",
        LMS_PROXY_ID: "orchestrator-shadow-test",
        LMS_SOURCE_DIALECT: "postgres",
        LMS_LOG_LEVEL: "error",
        LMS_API_TOKEN: TEST_API_TOKEN,
      },
    });
    setLogLevel(config.logLevel);
    const orchestrator = await startOrchestrator(config);
    const base = `http://127.0.0.1:${port}`;
    const clients: ControlClient[] = [];
    const connect = (proxyId: string, handler: ControlHandler, shadowMode: ShadowModeName) => {
      const client = startControlClient({
        url: base,
        proxyId,
        version: "test",
        shadowMode,
        apiToken: TEST_API_TOKEN,
        handler,
        heartbeatMs: 200,
        backoffInitialMs: 50,
        backoffMaxMs: 200,
      });
      clients.push(client);
      return client;
    };
    const report = async (query = "") => {
      const res = await fetch(`${base}${API_PATHS.shadowReport}${query}`);
      return { status: res.status, body: await res.json() };
    };
    let reports = cannedReports(Date.now());
    const p1 = new ReportingProxy(() => reports[0]);
    const p2 = new ReportingProxy(() => reports[1]);

    try {
      await t.step("without proxies the report is empty and not ready", async () => {
        const res = await report();
        assert.equal(res.status, 200);
        const body = ShadowReportResponseSchema.parse(res.body);
        assert.deepEqual(body.proxies, []);
        assert.deepEqual(body.judgement, {
          readyForImmediateCutover: false,
          reasons: ["no proxy is connected, so nothing is known about shadowing"],
        });
      });

      await t.step("two proxies: totals, windows, samples merged worst first", async () => {
        await Promise.all([
          connect("proxy-1", p1, "sync").whenConnected(),
          connect("proxy-2", p2, "strict-sync").whenConnected(),
        ]);
        const res = await report("?limit=10");
        assert.equal(res.status, 200);
        const body: ShadowReportResponse = ShadowReportResponseSchema.parse(res.body);
        assert.equal(p1.calls, 1);
        assert.equal(p2.calls, 1);
        assert.deepEqual(body.proxies.map((p) => [p.proxyId, p.mode, p.statements]), [
          ["proxy-1", "sync", 5000],
          ["proxy-2", "strict-sync", 4000],
        ]);
        assert.deepEqual(body.unreachableProxies, []);
        assert.deepEqual(body.totals, {
          statements: 9000,
          mismatches: 11,
          transient: 3,
          droppedSessions: 1,
        });
        assert.deepEqual(body.byKind, { values: 9, row_count: 2 });
        assert.equal(body.windows.lastHour.statements, 7000);
        assert.equal(body.windows.lastHour.mismatches, 9);
        assert.equal(body.windows.lastHour.mismatchRate, 9 / 7000);
        assert.equal(body.windows.lastDay.mismatches, 9, "the bucket 30 h ago is outside 24 h");
        assert.equal(body.windows.lastSevenDays.mismatches, 11);
        assert.deepEqual(
          body.samples.map((s) => [s.fingerprint, s.kind, s.count, s.proxies]),
          [[Q_BALANCE, "values", 9, ["proxy-1", "proxy-2"]], [Q_INSERT, "row_count", 2, [
            "proxy-1",
          ]]],
        );
        assert.deepEqual(body.samples[0].target.rows, [["7.10"]], "the latest occurrence");
        assert.equal(body.samples[0].firstSeen, reports[0].samples[0].firstSeen);
        assert.equal(body.totalSamples, 2);
        assert.equal(body.judgement.readyForImmediateCutover, false);
        assert.deepEqual(body.judgement.reasons, [
          "proxy proxy-1: shadowing for 3 days of the required 7 days",
          "11 mismatches in the last 7 days",
        ]);
        // Nothing else was added or lost on the way: it is the merge of what the proxies sent.
        const expected = mergeShadowReports(
          [{ ...reports[0], proxyId: "proxy-1" }, reports[1]],
          { now: Date.parse(body.generatedAt), limit: 10, unreachableProxies: [] },
        );
        assert.deepEqual(body, expected);

        const limited = ShadowReportResponseSchema.parse((await report("?limit=1")).body);
        assert.equal(limited.samples.length, 1);
        assert.equal(limited.totalSamples, 2);
      });

      await t.step("a bad limit is refused with BAD_REQUEST", async () => {
        for (const q of ["?limit=-1", "?limit=abc", "?limit=100000"]) {
          const res = await report(q);
          assert.equal(res.status, 400, q);
          assert.equal((res.body as ApiErrorBody).error.code, "BAD_REQUEST");
        }
      });

      await t.step("the CLI shows the merged report; --fail-on-mismatch exits 1", async () => {
        const url = ["--orchestrator-url", base];
        const table = await runCli(["shadow", "report", ...url]);
        expectExit(table, 0);
        assert.match(table.stdout, /^Proxies answered\s+2 of 2$/m);
        assert.match(table.stdout, /^Statements compared\s+9000$/m);
        assert.match(table.stdout, /^Immediate cutover\s+not ready$/m);
        assert.match(table.stdout, /^ {2}- 11 mismatches in the last 7 days$/m);
        assert.match(
          table.stdout,
          /^9\s+values\s+SELECT balance FROM accounts WHERE id = \$1\s+SELECT 1 \[7\.00\]\s+SELECT 1 \[7\.10\]\s+1m\d\ds ago\s+proxy-1,proxy-2$/m,
        );
        const json = await runCli(["shadow", "report", "--output", "json", "--limit", "1", ...url]);
        expectExit(json, 0);
        const parsed = ShadowReportResponseSchema.parse(JSON.parse(json.stdout));
        assert.equal(parsed.samples.length, 1);
        assert.equal(parsed.totals.mismatches, 11);
        const gate = await runCli(["shadow", "report", "--fail-on-mismatch", ...url]);
        expectExit(gate, 1);
        assert.match(gate.stderr, /not ready for an immediate cutover/);
      });

      await t.step("seven clean days of sync shadowing: ready, and the gate passes", async () => {
        reports = [cleanReport("proxy-1", Date.now()), cleanReport("proxy-2", Date.now())];
        const body = ShadowReportResponseSchema.parse((await report()).body);
        assert.deepEqual(body.judgement, { readyForImmediateCutover: true, reasons: [] });
        assert.equal(body.windows.lastSevenDays.transient, 6);
        const gate = await runCli([
          "shadow",
          "report",
          "--fail-on-mismatch",
          "--orchestrator-url",
          base,
        ]);
        expectExit(gate, 0);
        assert.match(gate.stdout, /^Immediate cutover\s+ready$/m);
      });

      await t.step("failing, non-shadowing and silent proxies are named", async () => {
        const failing = new ReportingProxy(() => {
          throw new Error("stats are being rebuilt");
        });
        await Promise.all([
          connect("proxy-3", failing, "sync").whenConnected(),
          connect("proxy-4", new IdleCore(), "none").whenConnected(),
        ]);
        let started = Date.now();
        const quick = ShadowReportResponseSchema.parse((await report()).body);
        assert.ok(Date.now() - started < 1500, "a failed proxy does not hold the report up");
        assert.deepEqual(quick.unreachableProxies, ["proxy-3"]);
        assert.deepEqual(quick.proxies.map((p) => [p.proxyId, p.mode]), [
          ["proxy-1", "sync"],
          ["proxy-2", "sync"],
          ["proxy-4", "none"],
        ]);
        assert.deepEqual(quick.judgement.reasons, [
          "proxy proxy-3 did not answer; its shadowing is unknown",
          "proxy proxy-4: mode none: immediate cutover needs sync or strict-sync",
        ]);

        // A proxy that never answers: the orchestrator waits its 2 s, then names it.
        const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/proxies`, {
          headers: { authorization: `Bearer ${TEST_API_TOKEN}` },
        });
        const welcomed = new Promise((resolve) => (ws.onmessage = resolve));
        await new Promise((resolve) => (ws.onopen = resolve));
        ws.send(JSON.stringify({
          v: 1,
          type: "hello",
          proxyId: "proxy-5",
          version: "test",
          shadowMode: "sync",
          state: null,
          sessions: NO_SESSIONS,
        }));
        await welcomed;
        started = Date.now();
        const slow = ShadowReportResponseSchema.parse((await report()).body);
        const waited = Date.now() - started;
        assert.ok(waited >= 1900 && waited < 4000, `waited ${waited} ms`);
        assert.deepEqual(slow.unreachableProxies, ["proxy-3", "proxy-5"]);
        assert.equal(slow.proxies.length, 3);
        const closed = new Promise((resolve) => (ws.onclose = resolve));
        ws.close();
        await closed;
        await waitFor(
          "proxy-5 gone",
          () => orchestrator.coordinator.registry.connected().length === 4,
        );
      });
    } finally {
      for (const client of clients) await client.close();
      await orchestrator.close();
    }
  },
});
