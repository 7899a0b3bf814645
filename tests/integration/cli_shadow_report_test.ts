/**
 * `molt-lms-cli shadow report` as a subprocess against a fake orchestrator
 * serving a schema-checked fixture.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { API_PATHS } from "../../shared/api.ts";
import { errorFixture, shadowReportFixture } from "../helpers/api_fixtures.ts";
import { expectExit, runCli } from "../helpers/cli_process.ts";
import { FakeOrchestrator } from "../helpers/fake_orchestrator.ts";

Deno.test("molt-lms-cli shadow report against a fake orchestrator", async (t) => {
  const fake = await FakeOrchestrator.start();
  const url = ["--orchestrator-url", fake.url];
  try {
    await t.step(
      "table: header, judgement and samples worst first; exit 0 when not ready",
      async () => {
        fake.respond(API_PATHS.shadowReport, { status: 200, body: shadowReportFixture() });
        const run = await runCli(["shadow", "report", ...url]);
        expectExit(run, 0);
        assert(/^Statements compared\s+120000$/m.test(run.stdout), run.stdout);
        assert(/^Last 24 hours\s+0\.025% mismatches \(12 of 48000\)/m.test(run.stdout), run.stdout);
        assert(/^Immediate cutover\s+not ready$/m.test(run.stdout), run.stdout);
        assert(/^ {2}- 40 mismatches in the last 7 days$/m.test(run.stdout), run.stdout);
        const rows = run.stdout.split("\n").filter((l) =>
          /^\d+\s+(values|error_vs_success)\s/.test(l)
        );
        assertEquals(rows.map((r) => r.split(/\s{2,}/)[0]), ["34", "6"]);
        assertEquals(fake.requestsTo(API_PATHS.shadowReport).at(-1)?.query, { limit: "20" });
      },
    );

    await t.step("--limit is passed on; --output json prints the API's JSON", async () => {
      const body = shadowReportFixture();
      fake.respond(API_PATHS.shadowReport, { status: 200, body });
      const run = await runCli(["shadow", "report", "--limit", "1", "--output", "json", ...url]);
      expectExit(run, 0);
      assertEquals(JSON.parse(run.stdout), body);
      assertEquals(fake.requestsTo(API_PATHS.shadowReport).at(-1)?.query, { limit: "1" });
    });

    await t.step("--fail-on-mismatch: exit 1 when not ready, 0 when ready", async () => {
      fake.respond(API_PATHS.shadowReport, { status: 200, body: shadowReportFixture() });
      const failing = await runCli(["shadow", "report", "--fail-on-mismatch", ...url]);
      expectExit(failing, 1);
      assert(/Immediate cutover\s+not ready/.test(failing.stdout), failing.stdout);
      assert(/not ready for an immediate cutover/.test(failing.stderr), failing.stderr);
      const ready = shadowReportFixture({
        judgement: { readyForImmediateCutover: true, reasons: [] },
      });
      fake.respond(API_PATHS.shadowReport, { status: 200, body: ready });
      const passing = await runCli(["shadow", "report", "--fail-on-mismatch", ...url]);
      expectExit(passing, 0);
      assert(/^Immediate cutover\s+ready$/m.test(passing.stdout), passing.stdout);
    });

    await t.step("a refusal exits 1 with the orchestrator's message", async () => {
      fake.respond(API_PATHS.shadowReport, {
        status: 400,
        body: errorFixture("BAD_REQUEST", "limit must be a whole number", "use ?limit=20"),
      });
      const run = await runCli(["shadow", "report", "--output", "json", ...url]);
      expectExit(run, 1);
      assertEquals(JSON.parse(run.stdout).error.code, "BAD_REQUEST");
      assert(run.stderr.includes("limit must be a whole number"), run.stderr);
    });

    await t.step("a bad --limit is a usage error before any request", async () => {
      const before = fake.requestsTo(API_PATHS.shadowReport).length;
      const run = await runCli(["shadow", "report", "--limit", "lots", ...url]);
      expectExit(run, 2);
      assert(run.stderr.includes('--limit "lots"'), run.stderr);
      assertEquals(fake.requestsTo(API_PATHS.shadowReport).length, before);
    });
  } finally {
    await fake.close();
  }
});
