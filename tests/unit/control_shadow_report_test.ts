import assert from "node:assert/strict";
import {
  encodeMessage,
  parseOrchestratorMessage,
  parseProxyMessage,
} from "../../shared/control.ts";
import { emptyShadowReport, ProxyShadowReportSchema } from "../../shared/shadow.ts";
import { ProxyCutover, type ProxyCutoverDeps } from "../../proxy/cutover.ts";
import { proxyShadowReportFixture } from "../helpers/api_fixtures.ts";

Deno.test("shadow report messages round-trip and are validated", async (t) => {
  const report = proxyShadowReportFixture();

  await t.step("shadow_report_request goes to proxies only", () => {
    const frame = encodeMessage({ type: "shadow_report_request", requestId: "r7" });
    const r = parseOrchestratorMessage(frame);
    assert.ok(r.ok);
    assert.deepEqual(r.message, { v: 1, type: "shadow_report_request", requestId: "r7" });
    assert.equal(parseProxyMessage(frame).ok, false);
  });

  await t.step("shadow_report carries a full report", () => {
    const frame = encodeMessage({ type: "shadow_report", requestId: "r7", report });
    const r = parseProxyMessage(frame);
    assert.ok(r.ok);
    assert.deepEqual(r.message, { v: 1, type: "shadow_report", requestId: "r7", report });
    assert.equal(parseOrchestratorMessage(frame).ok, false);
  });

  await t.step("a malformed report is rejected with the field named", () => {
    const cases: [string, unknown][] = [
      ["statements", { ...report, statements: -1 }],
      ["samples", { ...report, samples: [{ ...report.samples[0], kind: "vibes" }] }],
      ["samples", { ...report, samples: [{ ...report.samples[0], count: 0 }] }],
      ["hourly", {
        ...report,
        hourly: [{ start: 1.5, statements: 1, mismatches: 0, transient: 0 }],
      }],
      ["shadowingSince", { ...report, shadowingSince: undefined }],
    ];
    for (const [field, bad] of cases) {
      const r = parseProxyMessage({ v: 1, type: "shadow_report", requestId: "r", report: bad });
      assert.ok(!r.ok && r.error.code === "INVALID_MESSAGE", field);
      assert.match(r.error.message, new RegExp(`report\\.${field}`));
    }
  });

  await t.step("the empty report is a valid report of a proxy that does not shadow", () => {
    const empty = ProxyShadowReportSchema.parse(emptyShadowReport("p9"));
    assert.equal(empty.proxyId, "p9");
    assert.equal(empty.mode, "none");
    assert.equal(empty.shadowingSince, null);
    assert.equal(empty.statements, 0);
  });
});

Deno.test("ProxyCutover answers shadow reports from its dependency, or as not shadowing", () => {
  // Only the fields shadowReport() reads; the rest of the proxy is not involved.
  const deps = { proxyId: "proxy-7" } as unknown as ProxyCutoverDeps;
  assert.deepEqual(new ProxyCutover(deps).shadowReport(), emptyShadowReport("proxy-7"));
  const report = proxyShadowReportFixture({ proxyId: "proxy-7" });
  let calls = 0;
  const withStats = new ProxyCutover({
    ...deps,
    shadowReport: () => {
      calls++;
      return report;
    },
  });
  assert.equal(withStats.shadowReport(), report);
  assert.equal(withStats.shadowReport(), report);
  assert.equal(calls, 2, "built fresh on every request");
});
