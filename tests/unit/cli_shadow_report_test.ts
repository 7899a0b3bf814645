import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { z } from "zod";
import { parseInvocation } from "../../cli/args.ts";
import { type Command, DEFAULT_SAMPLE_LIMIT } from "../../cli/command_tree.ts";
import type { GlobalOptions } from "../../cli/global_options.ts";
import { helpText } from "../../cli/help.ts";
import {
  formatRate,
  renderShadowReport,
  runShadowReport,
  summarizeOutcome,
} from "../../cli/commands/shadow_report.ts";
import { ExitCode, exitCodeFor } from "../../cli/exit_codes.ts";
import type { ApiClient, ApiResult } from "../../cli/http.ts";
import type { Io } from "../../cli/output.ts";
import { API_PATHS, type ShadowReportResponse } from "../../shared/api.ts";
import { LmsError } from "../../shared/errors.ts";
import { ago, shadowReportFixture } from "../helpers/api_fixtures.ts";

type ShadowReport = Extract<Command, { name: "shadow report" }>;

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const URL_FLAG = ["--orchestrator-url", "http://orch:4200"];
const OPTIONS: GlobalOptions = { orchestratorUrl: new URL("http://orch:4200"), output: "table" };

function parse(argv: string[]): Command {
  const inv = parseInvocation([...argv, ...URL_FLAG], () => undefined);
  if (inv.kind !== "run") throw new Error("expected a command");
  return inv.command;
}

function usageError(argv: string[]): LmsError {
  try {
    parseInvocation([...argv, ...URL_FLAG], () => undefined);
  } catch (err) {
    assert(err instanceof LmsError);
    assertEquals(exitCodeFor(err), ExitCode.USAGE);
    return err;
  }
  throw new Error(`expected a usage error for ${argv.join(" ")}`);
}

Deno.test("shadow report: arguments", async (t) => {
  await t.step("defaults", () => {
    assertEquals(parse(["shadow", "report"]), {
      name: "shadow report",
      limit: DEFAULT_SAMPLE_LIMIT,
      failOnMismatch: false,
    });
  });
  await t.step("--limit and --fail-on-mismatch anywhere on the line", () => {
    assertEquals(parse(["--limit", "5", "shadow", "report", "--fail-on-mismatch"]), {
      name: "shadow report",
      limit: 5,
      failOnMismatch: true,
    });
    assertEquals(parse(["shadow", "report", "--limit=0"]), {
      name: "shadow report",
      limit: 0,
      failOnMismatch: false,
    });
  });
  await t.step("bad limits and misplaced flags are usage errors", () => {
    for (const bad of ["-1", "ten", "2.5", "1001", ""]) {
      assert(/--limit/.test(usageError(["shadow", "report", `--limit=${bad}`]).message), bad);
    }
    assert(/not a flag of `status`/.test(usageError(["status", "--limit", "3"]).message));
    assert(/not a flag of `status`/.test(usageError(["status", "--fail-on-mismatch"]).message));
    assert(/needs a subcommand: report/.test(usageError(["shadow"]).message));
  });
  await t.step("help lists the command and its flags", () => {
    assert(/^ {2}shadow\s+Inspect shadowing results$/m.test(helpText([])));
    const help = helpText(["shadow", "report"]);
    assert(/--limit <n>/.test(help), help);
    assert(/--fail-on-mismatch\s+Exit 1 when the fleet is not ready/.test(help), help);
  });
});

Deno.test("formatRate and summarizeOutcome", () => {
  assertEquals(formatRate(null), "-");
  assertEquals(formatRate(0), "0%");
  assertEquals(formatRate(0.0005), "0.05%");
  assertEquals(formatRate(1 / 3), "33.3%");
  assertEquals(formatRate(0.0123), "1.2%");
  assertEquals(formatRate(1e-7), "<0.001%");
  assertEquals(summarizeOutcome({ ok: false, sqlstate: "40001", message: "retry" }), "error 40001");
  assertEquals(summarizeOutcome({ ok: true, commandTag: "INSERT 0 1", rowCount: 1 }), "INSERT 0 1");
  assertEquals(
    summarizeOutcome({ ok: true, commandTag: "SELECT 1", rows: [["7", null]] }),
    "SELECT 1 [7, NULL]",
  );
  assertEquals(summarizeOutcome({ ok: true, rowCount: 3 }), "3 rows");
  assertEquals(
    summarizeOutcome({ ok: false, sqlstate: "23000", errno: 1062, message: "Duplicate entry" }),
    "error 1062 (23000)",
  );
  assertEquals(
    summarizeOutcome({ ok: false, sqlstate: "42000", errno: 1235, notTranslated: true }),
    "not translated",
  );
  const long = summarizeOutcome({ ok: true, commandTag: "SELECT 1", rows: [["x".repeat(80)]] });
  assertEquals(long.length, 32);
  assert(long.endsWith("…"));
});

Deno.test("renderShadowReport: header, judgement, proxies and samples worst first", () => {
  const text = renderShadowReport(shadowReportFixture({}, NOW), NOW);
  assert(/^Proxies answered\s+2 of 2$/m.test(text), text);
  assert(/^Statements compared\s+120000$/m.test(text), text);
  assert(/^Mismatches\s+40 \(values 34, error_vs_success 6\)$/m.test(text), text);
  assert(/^Last hour\s+0\.05% mismatches \(1 of 2000\), 0% transient \(0\)$/m.test(text), text);
  assert(/^Last 7 days\s+0\.033% mismatches \(40 of 120000\)/m.test(text), text);
  assert(/^Immediate cutover\s+not ready$/m.test(text), text);
  assert(/^ {2}- 40 mismatches in the last 7 days$/m.test(text), text);
  assert(/^proxy-a\s+sync\s+3d0h\s+60000\s+20\s+5\s+0$/m.test(text), text);
  const lines = text.split("\n");
  const header = lines.findIndex((l) => l.startsWith("COUNT"));
  assert(header > 0, text);
  assert(/worst first \(2 of 2\)/.test(lines[header - 1]), text);
  assert(
    /^34\s+values\s+SELECT balance FROM accounts WHERE id = \$1\s+SELECT 1 \[100\.00\]\s+SELECT 1 \[100\.01\]\s+1m30s ago\s+proxy-a,proxy-b$/
      .test(lines[header + 1]),
    lines[header + 1],
  );
  assert(
    /^6\s+error_vs_success\s+INSERT INTO .*INSERT 0 1\s+error 23505\s+2h00m ago/.test(
      lines[header + 2],
    ),
    lines[header + 2],
  );
  assert(!/Warning/.test(text));
});

Deno.test("renderShadowReport: a MySQL source's kinds, collation and translation_gap, with MySQL errors", () => {
  const text = renderShadowReport(
    shadowReportFixture({
      byKind: { collation: 3, translation_gap: 1, sqlstate: 1 },
      samples: [
        {
          fingerprint: "SELECT DISTINCT name FROM names",
          kind: "collation",
          count: 3,
          firstSeen: ago(60_000, NOW),
          lastSeen: ago(60_000, NOW),
          source: { ok: true, commandTag: "SELECT", rowCount: 2, rows: [["Ann"]] },
          target: { ok: true, commandTag: "SELECT", rowCount: 3, rows: [["ann"]] },
          proxies: ["proxy-a"],
        },
        {
          fingerprint: "SELECT a FROM t WHERE a SOUNDS LIKE ?",
          kind: "translation_gap",
          count: 1,
          firstSeen: ago(60_000, NOW),
          lastSeen: ago(60_000, NOW),
          source: { ok: true, commandTag: "SELECT", rowCount: 1 },
          target: { ok: false, sqlstate: "42000", errno: 1235, notTranslated: true },
          proxies: ["proxy-a"],
        },
        {
          fingerprint: "INSERT INTO emails VALUES (?)",
          kind: "sqlstate",
          count: 1,
          firstSeen: ago(60_000, NOW),
          lastSeen: ago(60_000, NOW),
          source: { ok: false, sqlstate: "23000", errno: 1062 },
          target: { ok: false, sqlstate: "42S02", errno: 1146 },
          proxies: ["proxy-b"],
        },
      ],
      totalSamples: 3,
    }, NOW),
    NOW,
  );
  assert(/^Mismatches\s+40 \(collation 3, sqlstate 1, translation_gap 1\)$/m.test(text), text);
  assert(
    /^3\s+collation\s+SELECT DISTINCT name FROM names\s+SELECT \[Ann\]\s+SELECT \[ann\]/m.test(
      text,
    ),
    text,
  );
  assert(/^1\s+translation_gap\s+SELECT a FROM t .*SELECT\s+not translated/m.test(text), text);
  assert(
    /^1\s+sqlstate\s+INSERT INTO emails .*error 1062 \(23000\)\s+error 1146 \(42S02\)/m.test(text),
    text,
  );
});

Deno.test("renderShadowReport: ready, no samples, unreachable proxies, truncated fingerprints", () => {
  const fixture = shadowReportFixture({}, NOW);
  const ready: ShadowReportResponse = {
    ...fixture,
    judgement: { readyForImmediateCutover: true, reasons: [] },
    samples: [],
    totalSamples: 0,
    unreachableProxies: ["proxy-c"],
  };
  const text = renderShadowReport(ready, NOW);
  assert(/^Immediate cutover\s+ready$/m.test(text), text);
  assert(/^Proxies answered\s+2 of 3$/m.test(text), text);
  assert(/No mismatch samples\./.test(text), text);
  assert(/Warning: no answer from proxies proxy-c/.test(text), text);

  const long = "SELECT " + Array.from({ length: 30 }, (_, i) => `col_${i}`).join(", ") + " FROM t";
  const one = {
    ...fixture,
    samples: [{ ...fixture.samples[0], fingerprint: long, lastSeen: ago(5_000, NOW) }],
    totalSamples: 9,
  };
  const cut = renderShadowReport(one, NOW);
  assert(/worst first \(1 of 9\)/.test(cut), cut);
  assert(/SELECT col_0, col_1, .*…/.test(cut), cut);
  assert(!cut.includes("col_29"), cut);
});

function clientFor(body: unknown) {
  const paths: string[] = [];
  const client: ApiClient = {
    get<T>(path: string, schema: z.ZodType<T>): Promise<ApiResult<T>> {
      paths.push(path);
      return Promise.resolve({ data: schema.parse(body), raw: body });
    },
    post: () => Promise.reject(new Error("shadow report must not POST")),
    close() {},
  };
  return { client, paths };
}

function recordingIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    isTerminal: false,
    now: () => NOW,
    sleep: () => Promise.resolve(),
  };
  return { io, out, err };
}

Deno.test("runShadowReport: asks for the limit, prints, and exits by --fail-on-mismatch", async (t) => {
  const notReady = shadowReportFixture({}, NOW);
  const ready = { ...notReady, judgement: { readyForImmediateCutover: true, reasons: [] } };
  const cmd = (limit: number, failOnMismatch: boolean): ShadowReport => ({
    name: "shadow report",
    limit,
    failOnMismatch,
  });

  await t.step("not ready is still exit 0 without the flag", async () => {
    const { client, paths } = clientFor(notReady);
    const { io, out, err } = recordingIo();
    assertEquals(await runShadowReport(client, cmd(7, false), OPTIONS, io), ExitCode.OK);
    assertEquals(paths, [`${API_PATHS.shadowReport}?limit=7`]);
    assert(/Immediate cutover\s+not ready/.test(out.join("")));
    assertEquals(err, []);
  });
  await t.step("--fail-on-mismatch exits 1 when not ready and says why on stderr", async () => {
    const { client } = clientFor(notReady);
    const { io, out, err } = recordingIo();
    assertEquals(await runShadowReport(client, cmd(20, true), OPTIONS, io), ExitCode.FAILED);
    assert(out.join("").length > 0, "the report is still printed");
    assert(/not ready for an immediate cutover/.test(err.join("")));
  });
  await t.step("--fail-on-mismatch exits 0 when ready", async () => {
    const { client } = clientFor(ready);
    const { io } = recordingIo();
    assertEquals(await runShadowReport(client, cmd(20, true), OPTIONS, io), ExitCode.OK);
  });
  await t.step("--output json prints the API's JSON as received", async () => {
    const { client } = clientFor(notReady);
    const { io, out } = recordingIo();
    const json = { ...OPTIONS, output: "json" as const };
    assertEquals(await runShadowReport(client, cmd(20, false), json, io), ExitCode.OK);
    assertEquals(JSON.parse(out.join("")), notReady);
  });
});
