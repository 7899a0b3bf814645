import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import type { ReplicationStatus } from "../../shared/api.ts";
import { renderConnections } from "../../cli/commands/connections_list.ts";
import { beginOutcome, progressKey, progressLines } from "../../cli/commands/cutover_consistent.ts";
import { renderInitialize } from "../../cli/commands/initialize.ts";
import { describeReplication, formatDetail, renderStatus } from "../../cli/commands/status.ts";
import {
  formatAge,
  formatDuration,
  formatJson,
  renderFields,
  renderTable,
  truncate,
} from "../../cli/output.ts";
import {
  ago,
  connectionsFixture,
  cutoverFixture,
  initializeFixture,
  statusFixture,
} from "../helpers/api_fixtures.ts";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");

/** Splits a table line into its cells (columns are separated by two or more spaces). */
function cells(line: string): string[] {
  return line.trim().split(/ {2,}/);
}

Deno.test("renderTable aligns columns and trims trailing space", () => {
  const text = renderTable(["A", "LONG HEADER", "C"], [["xxxxx", "y", "z"], ["1", "22", ""]]);
  const lines = text.split("\n");
  assertEquals(lines, [
    "A      LONG HEADER  C",
    "xxxxx  y            z",
    "1      22",
    "",
  ]);
});

Deno.test("renderFields aligns values", () => {
  assertEquals(
    renderFields([["Epoch", "3"], ["Source of truth", "target"]]),
    [
      "Epoch            3",
      "Source of truth  target",
      "",
    ].join("\n"),
  );
});

Deno.test("formatDuration and formatAge", () => {
  assertEquals(formatDuration(140), "140ms");
  assertEquals(formatDuration(4_250), "4.2s");
  assertEquals(formatDuration(42_000), "42s");
  assertEquals(formatDuration(130_000), "2m10s");
  assertEquals(formatDuration(3_780_000), "1h03m");
  assertEquals(formatDuration(100 * 3_600_000), "4d4h");
  assertEquals(formatDuration(-5), "0ms");
  assertEquals(formatAge(ago(2_000, NOW), NOW), "2.0s ago");
  assertEquals(formatAge(null, NOW), "-");
  assertEquals(formatAge("not a time", NOW), "-");
});

Deno.test("truncate collapses whitespace and marks the cut", () => {
  assertEquals(truncate("SELECT\n   1", 60), "SELECT 1");
  const long = "x".repeat(100);
  const cut = truncate(long, 60);
  assertEquals(cut.length, 60);
  assert(cut.endsWith("…"));
});

Deno.test("formatJson is the value, indented, parseable", () => {
  const value = statusFixture({}, NOW);
  assertEquals(JSON.parse(formatJson(value)), value);
  assert(formatJson(value).endsWith("}\n"));
});

Deno.test("status table", () => {
  const cutover = cutoverFixture({
    drained: 1,
    openTransactions: 1,
    blocking: [{
      proxyId: "proxy-a",
      sessionId: "s-9",
      client: "10.0.0.9:5000",
      user: "app",
      database: "shop",
      inTransactionForMs: 12_300,
      query: "UPDATE stock SET n = n - 1",
    }],
  }, NOW);
  const text = renderStatus(statusFixture({ phase: "draining", cutover }, NOW), NOW);
  const lines = text.split("\n");
  for (
    const [label, value] of [
      ["Source of truth", "source"],
      ["Phase", "draining"],
      ["Epoch", "3"],
      ["Shadow mode", "none"],
      ["Dialect", "postgres"],
      ["Proxies drained", "1/2"],
      ["Open transactions", "1"],
    ]
  ) {
    assert(lines.some((l) => cells(l)[0] === label && cells(l)[1] === value), `${label} ${value}`);
  }
  const header = lines.find((l) => l.startsWith("PROXY    CONNECTED"));
  assert(header, text);
  assertEquals(cells(lines.find((l) => l.startsWith("proxy-a  yes"))!), [
    "proxy-a",
    "yes",
    "0.1.0",
    "12",
    "3",
    "0",
    "2.0s ago",
    "3",
    "serving",
  ]);
  assertEquals(cells(lines.find((l) => l.startsWith("proxy-b"))!), [
    "proxy-b",
    "no",
    "0.1.0",
    "0",
    "0",
    "0",
    "never",
    "-",
    "disconnected",
  ]);
  assert(
    lines.some((l) =>
      cells(l).join("|") === "proxy-a|10.0.0.9:5000|app|shop|12s|UPDATE stock SET n = n - 1"
    ),
    text,
  );
  const history = lines.find((l) => l.includes("orchestrator-0"));
  assert(history && cells(history).includes("commit") && history.startsWith("1h00m ago"), text);
  assert(history.endsWith("orchestrator-0  from=target to=source"), history);
});

Deno.test("history detail as key=value pairs", () => {
  assertEquals(
    formatDetail({ from: "source", to: "target", drained: 3, blocking: [{ a: 1 }] }),
    'from=source to=target drained=3 blocking=[{"a":1}]',
  );
  assertEquals(formatDetail({}), "");
});

Deno.test("status table before initialize says what to do", () => {
  const text = renderStatus(statusFixture({ initialized: false, history: [], proxies: [] }), NOW);
  assert(text.includes("run `molt-lms-cli initialize`"), text);
  assert(text.includes("No proxies have registered."), text);
  assert(text.includes("No cutover history yet."), text);
});

Deno.test("connections table", () => {
  const text = renderConnections(connectionsFixture({}, NOW), NOW);
  const lines = text.trimEnd().split("\n");
  assertEquals(cells(lines[0]), [
    "PROXY",
    "CLIENT",
    "USER",
    "DATABASE",
    "STATE",
    "SINCE",
    "CURRENT DB",
    "LAST QUERY",
    "QUERY AT",
  ]);
  assertEquals(cells(lines[1]), [
    "proxy-a",
    "10.0.0.5:51234",
    "app",
    "shop",
    "idle",
    "5.0s ago",
    "source",
    "SELECT 1",
    "5.0s ago",
  ]);
  const row = cells(lines[2]);
  assertEquals(row.slice(0, 7), [
    "proxy-b",
    "10.0.0.6:40000",
    "batch",
    "shop",
    "in transaction",
    "1m30s ago",
    "source",
  ]);
  assertEquals(row[7].length, 60);
  assert(row[7].startsWith("UPDATE orders SET status = $1") && row[7].endsWith("…"));
  assertEquals(row[8], "12s ago");
  const columnStart = lines[0].indexOf("LAST QUERY");
  assertEquals(lines[1].indexOf("SELECT 1"), columnStart);
  assertEquals(lines[2].indexOf("UPDATE"), columnStart);
});

Deno.test("connections table notes proxies that did not answer", () => {
  const text = renderConnections(
    connectionsFixture({ connections: [], unreachableProxies: ["proxy-c"] }, NOW),
    NOW,
  );
  assert(text.startsWith("No client connections."), text);
  assert(text.includes("proxy-c") && text.includes("missing"), text);
});

Deno.test("initialize table", () => {
  assert(renderInitialize(initializeFixture(true)).startsWith("Initialized"));
  assert(renderInitialize(initializeFixture(false)).startsWith("Already initialized"));
  assert(!renderInitialize(initializeFixture(true)).includes("Marker"), "older orchestrators");
});

Deno.test("initialize names where each marker table lives, and a missing source", () => {
  const target = { side: "target", dialect: "postgres", table: "_molt_lms.marker" } as const;
  const mysqlSource = {
    side: "source",
    dialect: "mysql",
    table: "`_molt_lms`.`marker` (database _molt_lms)",
  } as const;
  const both = renderInitialize({ ...initializeFixture(true), markers: [target, mysqlSource] });
  assertMatch(both, /State and marker \(target\)\s+_molt_lms\.marker/);
  assertMatch(
    both,
    /Marker \(source\)\s+`_molt_lms`\.`marker` \(database _molt_lms\) on the MySQL source/,
  );
  const noSource = renderInitialize({ ...initializeFixture(false), markers: [target] });
  assertMatch(noSource, /Marker \(source\)\s+none: the orchestrator has no INIT_SOURCE/);
});

Deno.test("replication catch-up wording", () => {
  const r = (replication: ReplicationStatus) =>
    describeReplication(cutoverFixture({ replication }));
  assertEquals(
    r({ checked: true, caughtUp: true, lagMs: 140.4, error: null }),
    "replication caught up (lag 140 ms)",
  );
  assertEquals(
    r({ checked: true, caughtUp: false, lagMs: null, error: null }),
    "waiting for replication to catch up",
  );
  assertEquals(
    r({ checked: true, caughtUp: false, lagMs: null, error: "no marker table" }),
    "replication check failed: no marker table",
  );
});

Deno.test("begin progress lines and change detection", () => {
  const blocking = [
    {
      proxyId: "proxy-a",
      sessionId: "s-1",
      client: "10.0.0.5:1",
      user: "app",
      database: "shop",
      inTransactionForMs: 1_000,
      query: "INSERT INTO t VALUES (1)",
    },
    {
      proxyId: "proxy-b",
      sessionId: "s-2",
      client: "10.0.0.6:2",
      user: "batch",
      database: "shop",
      inTransactionForMs: 7_500,
      query: "UPDATE t SET x = 2",
    },
  ];
  const c = cutoverFixture({ drained: 0, openTransactions: 2, blocking, cancelled: ["s-2"] });
  const lines = progressLines(c);
  assertEquals(lines[0], "proxies drained 0/2, open transactions 2");
  assertEquals(
    lines[1],
    "  waiting on proxy-b 10.0.0.6:2 batch@shop, in transaction for 7.5s: UPDATE t SET x = 2",
  );
  assert(lines[2].startsWith("  waiting on proxy-a"));
  assertEquals(lines[3], "  cancelled queries of sessions s-2");
  const older = cutoverFixture({
    drained: 0,
    openTransactions: 2,
    blocking: blocking.map((b) => ({ ...b, inTransactionForMs: b.inTransactionForMs + 250 })),
    cancelled: ["s-2"],
  });
  assertEquals(progressKey(older), progressKey(c), "growing ages alone are not a change");
  assert(progressKey(cutoverFixture({ drained: 1 })) !== progressKey(cutoverFixture()));
  const caught = cutoverFixture({
    drained: 2,
    replication: { checked: true, caughtUp: true, lagMs: 140, error: null },
  });
  assertEquals(
    progressLines(caught),
    ["proxies drained 2/2, open transactions 0, replication caught up (lag 140 ms)"],
  );
});

Deno.test("begin outcome of a status poll", () => {
  const s = (phase: "idle" | "draining" | "drained", c: ReturnType<typeof cutoverFixture> | null) =>
    statusFixture({ phase, cutover: c });
  assertEquals(beginOutcome(s("draining", cutoverFixture()), "cut-1"), "waiting");
  assertEquals(beginOutcome(s("idle", null), "cut-1"), "ended");
  assertEquals(beginOutcome(s("draining", cutoverFixture({ id: "cut-2" })), "cut-1"), "ended");
  assertEquals(
    beginOutcome(s("draining", cutoverFixture({ drainTimedOut: true })), "cut-1"),
    "timed-out",
  );
  const pending = { checked: true, caughtUp: false, lagMs: null, error: null };
  assertEquals(
    beginOutcome(s("drained", cutoverFixture({ drained: 2, replication: pending })), "cut-1"),
    "waiting",
  );
  assertEquals(
    beginOutcome(
      s("drained", cutoverFixture({ drained: 2, replication: { ...pending, caughtUp: true } })),
      "cut-1",
    ),
    "ready",
  );
  assertEquals(
    beginOutcome(
      s("drained", cutoverFixture({ drained: 2, replication: { ...pending, error: "x" } })),
      "cut-1",
    ),
    "ready",
  );
  assertEquals(
    beginOutcome(
      s(
        "drained",
        cutoverFixture({
          drained: 2,
          drainTimedOut: true,
          replication: { ...pending, caughtUp: true },
        }),
      ),
      "cut-1",
    ),
    "ready",
    "a drain that completed after the timeout is ready",
  );
});

Deno.test("sessions that cannot run as their own user are shown with the reason", () => {
  const reason = "the SCRAM verifier of app on the target database differs from the one " +
    "the session authenticated against (another salt or iteration count)";
  const blocking = [
    {
      proxyId: "proxy-a",
      sessionId: "s-1",
      client: "10.0.0.5:1",
      user: "app",
      database: "shop",
      inTransactionForMs: 0,
      query: "SELECT 1",
      reason,
    },
    {
      proxyId: "proxy-b",
      sessionId: "s-2",
      client: "10.0.0.6:2",
      user: "batch",
      database: "shop",
      inTransactionForMs: 2_000,
      query: "UPDATE t SET x = 2",
    },
  ];
  const cutover = cutoverFixture({ drained: 0, openTransactions: 1, blocking });
  const lines = progressLines(cutover);
  assert(
    lines.includes(`  waiting on proxy-a 10.0.0.5:1 app@shop, not moved: ${reason}`),
    lines.join("\n"),
  );
  assert(lines.some((l) => l.startsWith("  waiting on proxy-b") && l.includes("in transaction")));
  const text = renderStatus(statusFixture({ phase: "draining", cutover }, NOW), NOW);
  const [inTx, notMovable] = text.split("Between transactions, but cannot be moved");
  assert(notMovable !== undefined, text);
  assert(inTx.includes("Still in a transaction:") && inTx.includes("batch"), text);
  assert(!inTx.includes(reason), "the busy session's table does not list the other");
  assert(
    notMovable.includes("REASON") && notMovable.includes("app") && notMovable.includes(reason),
  );
});
