/**
 * `deno task soak --minutes N [--out DIR]`: steady pgbench load through three
 * proxies (async shadowing on), a consistent cutover every 2 minutes
 * alternating direction, and every 10 s a sample of each proxy's and the
 * orchestrator's RSS and open descriptors, the p99 transaction latency of
 * the interval (from pgbench's per-transaction logs) and the proxies' shadow
 * queue. Writes `soak.json` and `soak.png` (RSS and p99 over time) to `--out`
 * (default `tests/reliability/`).
 *
 * Pass: after the first minute (warm-up; a third of a shorter run), RSS grows
 * by at most 2 MiB/min per process and descriptors by at most 0.25/min
 * (least-squares slope), the median p99 of the last third of those samples is
 * at most twice that of their first third plus 5 ms,
 * and there are 0 errors (failed or aborted pgbench transactions, failed
 * cutovers).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { run } from "../helpers/proxy.ts";
import { fdsOf, rssOf } from "../helpers/watched_proxy.ts";
import { startChaosFleet } from "../chaos/chaos_fleet.ts";
import { consistentCutover } from "../chaos/cutover_op.ts";
import { lineCharts, type Rgb } from "./png.ts";

const MIB = 1024 * 1024;
const RSS_SLOPE_BOUND = 2; // MiB per minute
const FD_SLOPE_BOUND = 0.25; // per minute: a descriptor per session per cutover is 1/min here
const WARMUP_S = 60;

/** One sample. */
export interface SoakSample {
  /** Seconds since the load started. */
  t: number;
  /** RSS per proxy, MiB. */
  proxyRssMiB: number[];
  /** Open descriptors per proxy. */
  proxyFds: number[];
  /** Orchestrator RSS, MiB. */
  orchestratorRssMiB: number;
  /** Orchestrator open descriptors. */
  orchestratorFds: number;
  /** p99 latency of the transactions finished in the interval, ms. */
  p99Ms: number;
  /** Transactions finished in the interval. */
  transactions: number;
  /** Sum of the proxies' shadow queue bytes. */
  shadowQueueBytes: number;
}

/** Least-squares slope of y over x. */
export function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const num = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

const median = (xs: number[]) => percentile(xs, 0.5);

/** Reads new pgbench per-transaction log lines: latencies (ms) finished since the last call. */
function latencyReader(dir: string): () => number[] {
  const offsets = new Map<string, number>();
  return () => {
    const out: number[] = [];
    for (const e of Deno.readDirSync(dir)) {
      if (!e.name.startsWith("pgbench_log")) continue;
      const path = `${dir}/${e.name}`;
      const text = Deno.readTextFileSync(path);
      const from = offsets.get(path) ?? 0;
      const end = text.lastIndexOf("\n") + 1;
      if (end <= from) continue;
      for (const line of text.slice(from, end).split("\n")) {
        const f = line.split(" ");
        if (f.length >= 6) out.push(Number(f[2]) / 1000);
      }
      offsets.set(path, end);
    }
    return out;
  };
}

async function shadowQueue(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(2_000),
    });
    let sum = 0;
    for (
      const m of (await res.text()).matchAll(/^lms_shadow_queue_bytes(?:\{[^}]*\})? (\S+)/gm)
    ) {
      sum += Number(m[1]);
    }
    return sum;
  } catch {
    return 0;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "30" },
      "cutover-every": { type: "string", default: "120" },
      out: { type: "string", default: new URL("../reliability/", import.meta.url).pathname },
    },
  });
  const seconds = Math.round(Number(values.minutes) * 60);
  const every = Number(values["cutover-every"]);
  if (!(seconds > 0) || !(every > 0)) {
    console.error("soak: --minutes and --cutover-every must be positive numbers");
    return 2;
  }
  const logDir = await Deno.makeTempDir({ prefix: "lms-soak-" });
  await using fleet = await startChaosFleet(3, { LMS_SHADOW_MODE: "async", LMS_LOG_LEVEL: "warn" });
  for (const db of [fleet.source, fleet.target]) {
    const init = await run("pgbench", ["-i", "-I", "dtGvp", "-s", "1", "-q", db.url()]);
    if (init.code !== 0) throw new Error(`pgbench -i: ${init.stderr}`);
  }
  const benches = fleet.ports().map((port, i) =>
    new Deno.Command("pgbench", {
      args: [
        "-n",
        "-M",
        "prepared",
        "-c",
        "2",
        "-j",
        "1",
        "-T",
        String(seconds),
        "-l",
        `--log-prefix=${logDir}/pgbench_log_${i}`,
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "postgres",
        "postgres",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output()
  );
  const latencies = latencyReader(logDir);
  const samples: SoakSample[] = [];
  const cutovers: { t: number; from: string; error: string | null }[] = [];
  const t0 = Date.now();
  let from: "source" | "target" = "source";
  let nextCutover = every;
  for (let t = 10; t <= seconds; t += 10) {
    while ((Date.now() - t0) / 1000 < t) {
      if ((Date.now() - t0) / 1000 >= nextCutover && nextCutover < seconds - 5) {
        const at = Math.round((Date.now() - t0) / 1000);
        const error = await consistentCutover(fleet, from);
        cutovers.push({ t: at, from, error });
        console.error(`cutover from ${from} at ${at} s: ${error ?? "ok"}`);
        from = from === "source" ? "target" : "source";
        nextCutover += every;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const lat = latencies();
    const orch = fleet.orchestrator().child.pid;
    const sample: SoakSample = {
      t,
      proxyRssMiB: [0, 1, 2].map((i) => rssOf(fleet.proxy(i).pid) / MIB),
      proxyFds: [0, 1, 2].map((i) => fdsOf(fleet.proxy(i).pid)),
      orchestratorRssMiB: rssOf(orch) / MIB,
      orchestratorFds: fdsOf(orch),
      p99Ms: percentile(lat, 0.99),
      transactions: lat.length,
      shadowQueueBytes: (await Promise.all(
        [0, 1, 2].map((i) => shadowQueue(fleet.proxy(i).metricsPort)),
      )).reduce((a, b) => a + b, 0),
    };
    samples.push(sample);
    console.error(
      `t=${t}s rss ${sample.proxyRssMiB.map((r) => r.toFixed(0)).join("/")} MiB, orch ${
        sample.orchestratorRssMiB.toFixed(0)
      } MiB, fds ${sample.proxyFds.join("/")}, p99 ${
        sample.p99Ms.toFixed(1)
      } ms, ${sample.transactions} tx`,
    );
  }
  const outputs = await Promise.all(benches);
  const dec = new TextDecoder();
  let failed = 0;
  let aborted = 0;
  for (const o of outputs) {
    const text = dec.decode(o.stdout) + dec.decode(o.stderr);
    failed += Number(text.match(/number of failed transactions: (\d+)/)?.[1] ?? 0);
    aborted += (text.match(/client \d+ aborted/g) ?? []).length + (o.code === 0 ? 0 : 1);
  }
  await Deno.remove(logDir, { recursive: true });
  const steady = samples.filter((s) => s.t > Math.min(WARMUP_S, seconds / 3));
  const perMin = (f: (s: SoakSample) => number) =>
    slope(steady.map((s) => [s.t / 60, f(s)] as [number, number]));
  const rssSlopes = [
    ...[0, 1, 2].map((i) => perMin((s) => s.proxyRssMiB[i])),
    perMin((s) => s.orchestratorRssMiB),
  ];
  const fdSlopes = [
    ...[0, 1, 2].map((i) => perMin((s) => s.proxyFds[i])),
    perMin((s) => s.orchestratorFds),
  ];
  const third = Math.max(1, Math.floor(steady.length / 3));
  const p99First = median(steady.slice(0, third).map((s) => s.p99Ms));
  const p99Last = median(steady.slice(-third).map((s) => s.p99Ms));
  const errors = failed + aborted + cutovers.filter((c) => c.error !== null).length;
  const checks = {
    rssSlopeMiBPerMin: rssSlopes,
    rssSlopeBound: RSS_SLOPE_BOUND,
    fdSlopePerMin: fdSlopes,
    fdSlopeBound: FD_SLOPE_BOUND,
    p99FirstThirdMs: p99First,
    p99LastThirdMs: p99Last,
    failedTransactions: failed,
    abortedClients: aborted,
    failedCutovers: cutovers.filter((c) => c.error !== null).length,
  };
  const pass = rssSlopes.every((s) => s <= RSS_SLOPE_BOUND) &&
    fdSlopes.every((s) => s <= FD_SLOPE_BOUND) && p99Last <= 2 * p99First + 5 && errors === 0 &&
    cutovers.length > 0;
  await Deno.mkdir(values.out, { recursive: true });
  await Deno.writeTextFile(
    `${values.out}/soak.json`,
    JSON.stringify({ minutes: seconds / 60, pass, checks, cutovers, samples }, null, 2) + "\n",
  );
  const colors: Rgb[] = [[31, 119, 180], [44, 160, 44], [148, 103, 189], [214, 39, 40]];
  const canvas = lineCharts([
    {
      title: "RSS MIB - PROXY 1 2 3 BLUE GREEN PURPLE, ORCHESTRATOR RED - X: S",
      series: [
        ...[0, 1, 2].map((i) => ({
          color: colors[i],
          points: samples.map((s) => [s.t, s.proxyRssMiB[i]] as [number, number]),
        })),
        {
          color: colors[3],
          points: samples.map((s) => [s.t, s.orchestratorRssMiB] as [number, number]),
        },
      ],
    },
    {
      title: "P99 LATENCY MS PER 10 S - X: S",
      series: [{
        color: [255, 127, 14],
        points: samples.map((s) => [s.t, s.p99Ms] as [number, number]),
      }],
    },
  ], every);
  await Deno.writeFile(`${values.out}/soak.png`, canvas.png());
  console.log(JSON.stringify({ pass, checks, cutovers }, null, 2));
  return pass ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
