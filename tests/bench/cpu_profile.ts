/**
 * `deno run -A tests/bench/cpu_profile.ts --inspect-port P [--seconds N]
 * [--out FILE] [--top K]`: records a V8 CPU profile of a process started
 * with `--inspect=127.0.0.1:P` (this Deno has no `--cpu-prof`) while the
 * caller drives load against it, writes the `.cpuprofile` (Chrome DevTools
 * opens it) and prints the self time per function and per source file,
 * as shares of the busy samples (idle and `(program)` shown apart).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { LmsError } from "../../shared/errors.ts";

/** One node of V8's `Profiler.Profile`. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** V8's `Profiler.Profile`, the parts read here. */
export interface CpuProfile {
  /** Every call-tree node. */
  nodes: ProfileNode[];
  /** Start and end, µs. */
  startTime: number;
  /** End, µs. */
  endTime: number;
}

/** Self time of one function or file, as a share of the busy samples. */
export interface SelfTimeRow {
  /** `function file:line`, or the file alone. */
  name: string;
  /** Samples whose top frame it was. */
  samples: number;
  /** samples / busy samples. */
  share: number;
}

const NOT_BUSY = new Set(["(idle)", "(program)", "(root)"]);

/** Connects to the inspector on `port` and records `seconds` of CPU profile. */
export async function recordProfile(port: number, seconds: number): Promise<CpuProfile> {
  const res = await fetch(`http://127.0.0.1:${port}/json/list`);
  const targets = await res.json() as { webSocketDebuggerUrl?: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `the inspector on port ${port} lists no debugging target`,
      "start the process with --inspect=127.0.0.1:<port>",
    );
  }
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new LmsError("TOOL_UNAVAILABLE", "the inspector connection failed"));
  });
  let next = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (event) => {
    const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  };
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: 200 });
    await call("Profiler.start");
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const result = await call("Profiler.stop") as { profile: CpuProfile };
    return result.profile;
  } finally {
    ws.close();
  }
}

/** Self time per function (`byFile` false) or per source file, busiest first. */
export function selfTime(profile: CpuProfile, byFile: boolean): SelfTimeRow[] {
  const counts = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.replace(/^.*\/(proxy|shared|orchestrator|node_modules|ext)\//, "$1/") ||
      "(native)";
    const name = NOT_BUSY.has(functionName)
      ? functionName
      : byFile
      ? file
      : `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
    counts.set(name, (counts.get(name) ?? 0) + hits);
    if (!NOT_BUSY.has(functionName)) busy += hits;
  }
  return [...counts].map(([name, samples]) => ({ name, samples, share: samples / (busy || 1) }))
    .sort((a, b) => b.samples - a.samples);
}

function print(title: string, rows: SelfTimeRow[], top: number): void {
  console.log(`\n${title}`);
  for (const row of rows.slice(0, top)) {
    const share = NOT_BUSY.has(row.name)
      ? "     -"
      : `${(row.share * 100).toFixed(1)}%`.padStart(6);
    console.log(`${share} ${String(row.samples).padStart(7)}  ${row.name}`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      "inspect-port": { type: "string" },
      seconds: { type: "string", default: "10" },
      out: { type: "string" },
      top: { type: "string", default: "30" },
    },
  });
  const port = Number(values["inspect-port"]);
  if (!Number.isInteger(port) || port <= 0) {
    console.error("--inspect-port <port> is required (the process's --inspect=127.0.0.1:<port>)");
    Deno.exit(2);
  }
  const profile = await recordProfile(port, Number(values.seconds));
  if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(profile));
  const top = Number(values.top);
  print("self time by function (share of busy samples)", selfTime(profile, false), top);
  print("self time by file", selfTime(profile, true), top);
}
