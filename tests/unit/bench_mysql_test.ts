import assert from "node:assert/strict";
import { LmsError } from "../../shared/errors.ts";
import { parseMysqlBenchArgs } from "../bench/mysql_args.ts";
import {
  formatMysqlGoals,
  formatMysqlRunTable,
  judgeMysqlGoals,
  type MysqlBenchTarget,
  type MysqlMeasurement,
  withMysqlRatios,
} from "../bench/mysql_report.ts";
import { parseSysbenchSummary } from "../bench/sysbench.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const readOnly = Deno.readTextFileSync(new URL("sysbench_oltp_read_only.txt", FIXTURES));
const pointSelect = Deno.readTextFileSync(new URL("sysbench_oltp_point_select.txt", FIXTURES));

Deno.test("parseSysbenchSummary reads sysbench 1.0.20's oltp_read_only summary", () => {
  assert.deepEqual(parseSysbenchSummary(readOnly), {
    tps: 1651.56,
    qps: 26424.89,
    transactions: 8341,
    ignoredErrors: 0,
    reconnects: 0,
    latencyAvgMs: 9.62,
    latencyPercentileMs: 16.71,
    percentile: 95,
  });
});

Deno.test("parseSysbenchSummary reads oltp_point_select, where transactions equal queries", () => {
  const s = parseSysbenchSummary(pointSelect);
  assert.equal(s.transactions, 177192);
  assert.equal(s.tps, 35321.21);
  assert.equal(s.qps, 35321.21);
  assert.equal(s.latencyPercentileMs, 0.97);
  assert.equal(s.latencyAvgMs, 0.45);
});

Deno.test("parseSysbenchSummary counts errors and takes another percentile as asked", () => {
  const text = readOnly
    .replace(/ignored errors:\s+0 /, "ignored errors:                      12")
    .replace(/reconnects:\s+0 /, "reconnects:                          3")
    .replace("95th percentile:", "99th percentile:");
  const s = parseSysbenchSummary(text);
  assert.equal(s.ignoredErrors, 12);
  assert.equal(s.reconnects, 3);
  assert.equal(s.percentile, 99);
});

Deno.test("parseSysbenchSummary names the missing figure", () => {
  const failed = "sysbench 1.0.20\nFATAL: unable to connect to MySQL server on host '127.0.0.1'\n";
  assert.throws(() => parseSysbenchSummary(failed), (err: Error) => {
    assert.ok(err instanceof LmsError);
    assert.equal(err.code, "TOOL_UNAVAILABLE");
    assert.match(err.message, /printed no transaction count/);
    assert.match(err.message, /unable to connect/);
    return true;
  });
  const noPercentile = readOnly.replace(/^.*percentile.*$/m, "");
  assert.throws(() => parseSysbenchSummary(noPercentile), /printed no latency percentile/);
});

function measurement(
  target: MysqlBenchTarget,
  script: "oltp_read_only" | "oltp_point_select",
  tps: number,
  p95Ms: number,
): MysqlMeasurement {
  return {
    target,
    script,
    tps,
    qps: tps * 16,
    latencyAvgMs: p95Ms / 2,
    p95Ms,
    transactions: tps * 15,
    errors: 0,
    proxyCpuUsPerTx: target.startsWith("lms") ? 210.5 : null,
    mariadbCpuUsPerTx: target.includes("target") ? null : 850,
    translationUsPerStatement: target === "lms-target" ? 12.5 : null,
    translationCacheHitRate: target === "lms-target" ? 0.999 : null,
  };
}

Deno.test("ratios to the same script's direct run, and the 0.8x goal on oltp_read_only", () => {
  const rows = withMysqlRatios([
    measurement("direct", "oltp_read_only", 1600, 20),
    measurement("lms", "oltp_read_only", 1200, 25),
    measurement("direct", "oltp_point_select", 30000, 1),
    measurement("lms", "oltp_point_select", 15000, 2),
  ]);
  assert.equal(rows[1].ratioToDirect, 0.75);
  assert.equal(rows[1].p95RatioToDirect, 1.25);
  assert.equal(rows[3].ratioToDirect, 0.5);
  assert.equal(rows[0].ratioToDirect, 1);
  const missed = judgeMysqlGoals(rows);
  assert.deepEqual(missed, {
    proxyVsDirectAtLeast: 0.8,
    proxyVsDirect: false,
    translatedVsTargetAtLeast: 0.7,
    translatedVsTarget: null,
  });
  assert.match(formatMysqlGoals(missed), /0\.8x direct on oltp_read_only: MISSED/);

  const met = judgeMysqlGoals(withMysqlRatios([
    measurement("direct", "oltp_read_only", 1000, 20),
    measurement("lms", "oltp_read_only", 800, 25),
  ]));
  assert.equal(met.proxyVsDirect, true, "exactly 0.8x meets the goal");
});

Deno.test("without a proxy row the goal is not measured, and the table says '-'", () => {
  const rows = withMysqlRatios([measurement("direct", "oltp_read_only", 1600, 20)]);
  const goals = judgeMysqlGoals(rows);
  assert.equal(goals.proxyVsDirect, null);
  assert.match(formatMysqlGoals(goals), /not measured/);
  const table = formatMysqlRunTable(rows).split("\n");
  assert.match(table[0], /^target\s+script\s+TPS\s+p95 ms/);
  assert.match(
    table[2],
    /^direct \(MariaDB\)\s+oltp_read_only\s+1600\s+20\.00\s+10\.00\s+0\s+1\.00x/,
  );
  assert.match(table[2], /\s-\s+850\.0\s+-\s+-$/);
  const noDirect = withMysqlRatios([measurement("lms", "oltp_read_only", 900, 20)]);
  assert.equal(noDirect[0].ratioToDirect, null);
  assert.equal(judgeMysqlGoals(noDirect).proxyVsDirect, null);
});

Deno.test("the translated row is compared with the target measured directly (0.7x goal)", () => {
  const rows = withMysqlRatios([
    measurement("direct", "oltp_read_only", 1600, 20),
    measurement("target-direct", "oltp_read_only", 1000, 20),
    measurement("lms-target", "oltp_read_only", 690, 30),
  ]);
  assert.equal(rows[2].ratioToDirect, 0.69, "against the target, not MariaDB");
  const goals = judgeMysqlGoals(rows);
  assert.equal(goals.translatedVsTarget, false);
  assert.match(
    formatMysqlGoals(goals),
    /lms from target >= 0\.7x the target directly on oltp_read_only: MISSED/,
  );
  const table = formatMysqlRunTable(rows).split("\n");
  assert.match(table[4], /^lms from target \(translated\)\s.*\s12\.5\s+99\.9%$/);
  const met = judgeMysqlGoals(withMysqlRatios([
    measurement("target-direct", "oltp_read_only", 1000, 20),
    measurement("lms-target", "oltp_read_only", 700, 30),
  ]));
  assert.equal(met.translatedVsTarget, true);
});

Deno.test("deno task bench mysql flags", () => {
  const d = parseMysqlBenchArgs([]);
  assert.deepEqual(
    [d.durationSeconds, d.warmupSeconds, d.threads, d.tables, d.tableSize, d.psMode, d.scripts],
    [15, 3, 16, 4, 10000, "auto", ["oltp_read_only", "oltp_point_select"]],
  );
  const c = parseMysqlBenchArgs([
    "--only",
    "oltp_point_select",
    "--ps-mode",
    "disable",
    "--threads",
    "8",
    "--json",
    "/tmp/x.json",
  ]);
  assert.deepEqual([c.scripts, c.psMode, c.threads, c.jsonPath], [
    ["oltp_point_select"],
    "disable",
    8,
    "/tmp/x.json",
  ]);
  assert.equal(c.inspectTranslated, undefined);
  assert.equal(parseMysqlBenchArgs(["--inspect-translated", "9229"]).inspectTranslated, 9229);
  assert.throws(() => parseMysqlBenchArgs(["--inspect-translated", "x"]), /--inspect-translated/);
  assert.throws(
    () => parseMysqlBenchArgs(["--only", "oltp_write_only", "--ps-mode", "x", "--threads", "0"]),
    (err: Error) => {
      assert.match(err.message, /--threads must be an integer >= 1/);
      assert.match(err.message, /--ps-mode must be auto or disable/);
      assert.match(err.message, /--only must be oltp_read_only or oltp_point_select/);
      return true;
    },
  );
  assert.throws(() => parseMysqlBenchArgs(["--clients", "4"]), /Unknown option '--clients'/);
  assert.deepEqual([d.bareRelay, d.sourceOnly, d.inspectPort], [false, false, undefined]);
  const p = parseMysqlBenchArgs(["--bare-relay", "--source-only", "--inspect-port", "9333"]);
  assert.deepEqual([p.bareRelay, p.sourceOnly, p.inspectPort], [true, true, 9333]);
  assert.throws(
    () => parseMysqlBenchArgs(["--inspect-port", "x"]),
    /--inspect-port must be an integer >= 1/,
  );
});
