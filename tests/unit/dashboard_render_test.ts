import assert from "node:assert/strict";
import type { StatusResponse } from "../../shared/api.ts";
import { ageSeconds, renderSnapshot } from "../../orchestrator/dashboard/render.ts";
import {
  confirmationPhrase,
  type DashboardSnapshot,
} from "../../orchestrator/dashboard/snapshot.ts";

const NOW = "2026-12-01T10:00:10.000Z";

function snapshot(status: Partial<StatusResponse>): DashboardSnapshot {
  return {
    generatedAt: NOW,
    status: {
      initialized: true,
      sourceOfTruth: "source",
      epoch: 3,
      phase: "draining",
      shadowMode: "none",
      sourceDialect: "postgres",
      proxies: [],
      cutover: null,
      history: [],
      ...status,
    },
    shadow: null,
    shadowError: null,
    actions: false,
  };
}

Deno.test("dashboard render: what proxies and databases send is escaped, never markup", () => {
  const evil = `<img src=x onerror="alert(1)">`;
  const html = renderSnapshot(snapshot({
    proxies: [{
      id: `p"1${evil}`,
      connected: true,
      version: evil,
      shadowMode: "none",
      sessions: { total: 1, idle: 0, active: 0, inTransaction: 1, held: 0 },
      lastHeartbeatAt: "2026-12-01T10:00:08.500Z",
      epoch: 2,
      paused: true,
      drained: false,
    }],
    cutover: {
      id: "c1",
      kind: "consistent",
      startedAt: NOW,
      drained: 0,
      total: 1,
      openTransactions: 1,
      blocking: [{
        proxyId: "p1",
        sessionId: "s1",
        client: "10.0.0.1:5000",
        user: evil,
        database: "app",
        inTransactionForMs: 1234.4,
        query: `INSERT INTO t VALUES (?) -- ${evil}`,
      }],
      drainTimedOut: false,
      cancelled: [],
      terminated: [],
      resumedProxies: [],
      replication: { checked: true, caughtUp: true, lagMs: 12, error: null },
    },
  }));
  assert.ok(!html.includes("<img"), "no element comes from the data");
  assert.match(html, /&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;/);
  assert.match(html, /data-k="epoch">3</);
  assert.match(html, /data-k="heartbeatAge" data-at="2026-12-01T10:00:08.500Z">1.5 s</);
  assert.match(html, /data-k="blockingAgeMs">1234</);
  assert.match(html, /class="warn">2</, "a proxy off the fleet's epoch is marked");
  assert.match(html, /data-k="state" class="state-blocking">blocking</);
  assert.match(html, /caught up, lag <span data-k="lagMs">12<\/span> ms/);
});

Deno.test("dashboard render: heartbeat ages and confirmation phrases", () => {
  assert.equal(ageSeconds(null, NOW), "—");
  assert.equal(ageSeconds("2026-12-01T10:00:00.000Z", NOW), "10.0");
  assert.equal(ageSeconds("2026-12-01T10:00:11.000Z", NOW), "0.0", "clock skew is not negative");
  assert.equal(confirmationPhrase("commit", "source"), "commit source to target");
  assert.equal(confirmationPhrase("begin", "target"), "begin target to source");
});
