/**
 * The chart's PrometheusRule and the metrics behind it and the Grafana
 * dashboard: rendered by a real helm, validated against the Prometheus
 * Operator schema, every metric an alert or a panel names exists in the
 * processes' registries, and every alert and metric is documented in
 * shared/METRICS.md (alerts with the runbook line they carry).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type IPrometheusRule,
  PrometheusRule,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { OrchestratorMetrics } from "../../orchestrator/metrics.ts";
import { createProxyMetrics } from "../../proxy/metrics.ts";
import { helmTemplate, runHelm } from "../helpers/helm.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHART = join(ROOT, "charts", "lms");
const METRICS_DOC = join(ROOT, "shared", "METRICS.md");
const DIALECT = [
  "--set",
  "lms.sourceDialect=postgres",
  "--set",
  "orchestrator.sourceDialect=postgres",
];
const ALERTS = [
  "LmsProxyEpochBehind",
  "LmsPauseTooLong",
  "LmsShadowMismatchRateHigh",
  "LmsShadowSessionsDropped",
  "LmsBackendErrors",
  "LmsProxyDisconnected",
];

type Rule = { alert: string; expr: string; for?: string; annotations: Record<string, string> };

async function renderRule(...args: string[]): Promise<IPrometheusRule | undefined> {
  const docs = await helmTemplate(["lms", CHART, "--namespace", "migration", ...DIALECT, ...args]);
  const found = docs.find((d) => d.kind === "PrometheusRule");
  if (!found) return undefined;
  const rule = new PrometheusRule(found as unknown as IPrometheusRule);
  rule.validate();
  return rule;
}

function rules(rule: IPrometheusRule): Rule[] {
  return (rule.spec.groups ?? []).flatMap((g) => (g.rules ?? []) as Rule[]);
}

/** Every series name the proxy and the orchestrator export, with histogram suffixes. */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const r of [createProxyMetrics().registry, new OrchestratorMetrics("test").registry]) {
    for (const m of await r.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === "histogram") {
        for (const suffix of ["_bucket", "_sum", "_count"]) names.add(m.name + suffix);
      }
    }
  }
  return names;
}

/** Metric names in a PromQL expression (label names, functions and keywords left out). */
function metricNames(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, "{}").replace(/\[[^\]]*\]/g, "");
  return [...withoutLabels.matchAll(/\b(lms_[a-z_]+|process_[a-z_]+)\b/g)].map((m) => m[1]);
}

Deno.test("prometheusRule: off by default, six alerts when enabled, lint clean", async () => {
  assert.equal(await renderRule(), undefined);
  const rule = (await renderRule("--set", "prometheusRule.enabled=true"))!;
  assert.equal(rule.metadata?.namespace, "migration");
  assert.deepEqual(rules(rule).map((r) => r.alert), ALERTS);
  for (const r of rules(rule)) {
    assert.match(r.expr, /namespace="migration"/, `${r.alert} is scoped to the release namespace`);
    assert.ok(r.annotations.summary && r.annotations.runbook, `${r.alert} has summary and runbook`);
    assert.equal(r.annotations.runbook_url, undefined, "no runbook_url without a base URL");
  }
  const lint = await runHelm([
    "lint",
    "--strict",
    CHART,
    ...DIALECT,
    "--set",
    "prometheusRule.enabled=true",
  ]);
  assert.equal(lint.code, 0, lint.stdout + lint.stderr);
});

Deno.test("prometheusRule: thresholds, labels and runbook URLs come from the values", async () => {
  const rule = (await renderRule(
    "--set",
    "prometheusRule.enabled=true",
    "--set",
    "prometheusRule.pauseSeconds=45",
    // --set would pass 0.02 as a string; a values file or --set-json passes a number.
    "--set-json",
    "prometheusRule.shadowMismatchRate=0.02",
    "--set",
    "prometheusRule.shadowWindow=30m",
    "--set",
    "prometheusRule.heartbeatSeconds=90",
    "--set",
    "prometheusRule.backendErrors=3",
    "--set",
    "prometheusRule.epochBehindFor=5m",
    "--set",
    "prometheusRule.labels.release=prometheus",
    "--set",
    "prometheusRule.runbookUrl=https://wiki.example.com/lms/METRICS.md",
  ))!;
  assert.equal(rule.metadata?.labels?.release, "prometheus");
  const by = Object.fromEntries(rules(rule).map((r) => [r.alert, r]));
  assert.equal(by.LmsPauseTooLong.for, "45s");
  assert.match(by.LmsShadowMismatchRateHigh.expr, /\[30m\]/);
  assert.match(by.LmsShadowMismatchRateHigh.expr, /> 0\.02$/);
  assert.equal(by.LmsShadowMismatchRateHigh.for, "30m");
  assert.match(by.LmsProxyDisconnected.expr, /> 90\)/);
  assert.match(by.LmsBackendErrors.expr, /> 3$/);
  assert.equal(by.LmsProxyEpochBehind.for, "5m");
  for (const name of ALERTS) {
    assert.equal(
      by[name].annotations.runbook_url,
      `https://wiki.example.com/lms/METRICS.md#${name.toLowerCase()}`,
    );
  }
  for (const bad of ["prometheusRule.shadowMismatchRate=2", "prometheusRule.pauseSeconds=0"]) {
    const out = await runHelm(["template", "lms", CHART, ...DIALECT, "--set", bad]);
    assert.notEqual(out.code, 0, `${bad} is refused by the schema`);
  }
});

Deno.test("alerts and Grafana panels name only metrics the processes export", async () => {
  const exported = await exportedNames();
  const rule = (await renderRule("--set", "prometheusRule.enabled=true"))!;
  for (const r of rules(rule)) {
    const names = metricNames(r.expr);
    assert.ok(names.length > 0, `${r.alert} names a metric`);
    for (const n of names) assert.ok(exported.has(n), `${r.alert} uses unknown metric ${n}`);
  }
  const dashboard = JSON.parse(
    await Deno.readTextFile(join(CHART, "dashboards", "molt-lms.json")),
  ) as { panels: { title: string; targets?: { expr: string }[] }[] };
  for (const panel of dashboard.panels) {
    for (const t of panel.targets ?? []) {
      for (const n of metricNames(t.expr)) {
        assert.ok(exported.has(n), `panel "${panel.title}" uses unknown metric ${n}`);
      }
    }
  }
  const titles = dashboard.panels.map((p) => p.title);
  for (const t of ["Source of truth", "Fleet epoch", "Epoch by proxy", "Pause hold duration"]) {
    assert.ok(titles.includes(t), `the dashboard has a "${t}" panel`);
  }
});

Deno.test("shared/METRICS.md documents every metric and every alert's runbook", async () => {
  const doc = await Deno.readTextFile(METRICS_DOC);
  const rows = new Map(
    [...doc.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(gauge|counter|histogram)\s*\|([^|]*)\|/gm)].map((
      m,
    ) => [m[1], {
      type: m[2],
      labels: [...m[3].matchAll(/`([a-z_]+)`/g)].map((l) => l[1]).sort(),
    }]),
  );
  for (const r of [createProxyMetrics().registry, new OrchestratorMetrics("test").registry]) {
    for (const m of await r.getMetricsAsJSON()) {
      if (/^(process_|nodejs_)/.test(m.name)) continue;
      const row = rows.get(m.name);
      assert.ok(row, `METRICS.md has no row for ${m.name}`);
      assert.equal(row.type, String(m.type), `type of ${m.name}`);
      // Labels of series that exist before any event; the others are documented in the row.
      const seen = new Set(
        m.values.flatMap((v) => Object.keys(v.labels)).filter((l) => l !== "le"),
      );
      for (const label of seen) assert.ok(row.labels.includes(label), `${m.name} label ${label}`);
      rows.delete(m.name);
    }
  }
  assert.deepEqual([...rows.keys()], [], "METRICS.md documents no metric that does not exist");
  const rule = (await renderRule("--set", "prometheusRule.enabled=true"))!;
  const flat = doc.replace(/\s+/g, " ");
  for (const r of rules(rule)) {
    assert.match(doc, new RegExp(`^#### ${r.alert}$`, "m"), `runbook section for ${r.alert}`);
    assert.ok(flat.includes(r.annotations.runbook), `the ${r.alert} runbook line matches the docs`);
  }
});
