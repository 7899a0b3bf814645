/**
 * Reading a proxy's routing history back from its JSON log lines: when it
 * adopted each epoch ("routing state changed", "resuming") and when it
 * paused and resumed.
 *
 * @module
 */

/** One routing event of a proxy. */
export interface RoutingEvent {
  /** Wall-clock ms. */
  at: number;
  /** `epoch` (adopted), `pause` or `resume`. */
  kind: "epoch" | "pause" | "resume";
  /** The epoch, for `epoch` and `resume`. */
  epoch?: number;
}

/** Routing events in `log` (JSON lines), in order. */
export function routingEvents(log: string): RoutingEvent[] {
  const out: RoutingEvent[] = [];
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    let l: { ts?: string; msg?: string; epoch?: unknown };
    try {
      l = JSON.parse(line);
    } catch {
      continue;
    }
    const at = Date.parse(l.ts ?? "");
    const epoch = typeof l.epoch === "number" ? l.epoch : undefined;
    if (l.msg === "routing state changed" && epoch !== undefined) {
      out.push({ at, kind: "epoch", epoch });
    } else if (l.msg === "pausing for cutover") {
      out.push({ at, kind: "pause" });
    } else if (l.msg === "resuming") {
      out.push({ at, kind: "resume", epoch });
    }
  }
  return out;
}

/** The highest epoch adopted at or before `at` (−1 before any). */
export function epochAt(events: RoutingEvent[], at: number): number {
  let e = -1;
  for (const ev of events) {
    if (ev.at >= at) break;
    if (ev.epoch !== undefined) e = Math.max(e, ev.epoch);
  }
  return e;
}

/** The latest adopted epoch and whether the proxy is paused, after every event. */
export function lastState(events: RoutingEvent[]): { epoch: number; paused: boolean } {
  let epoch = -1;
  let paused = false;
  for (const ev of events) {
    if (ev.epoch !== undefined) epoch = Math.max(epoch, ev.epoch);
    if (ev.kind === "pause") paused = true;
    if (ev.kind === "resume") paused = false;
  }
  return { epoch, paused };
}

/**
 * When the proxy last came to rest on `epoch`, not paused, by its own log
 * clock (ms); null when its last events leave it elsewhere. Timing
 * convergence from the log keeps the harness's polling latency (a loaded
 * machine answers `/metrics` in seconds) out of the figure.
 */
export function settledOn(events: RoutingEvent[], epoch: number): number | null {
  let current = -1;
  let paused = false;
  let since: number | null = null;
  for (const ev of events) {
    if (ev.epoch !== undefined) current = Math.max(current, ev.epoch);
    if (ev.kind === "pause") paused = true;
    if (ev.kind === "resume") paused = false;
    const settled = current === epoch && !paused;
    if (!settled) since = null;
    else since ??= ev.at;
  }
  return since;
}
