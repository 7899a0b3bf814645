/**
 * One worker of the cutover simulation (`cutover_sim.ts`): runs a share of the
 * simulated proxies, each the real control client in front of a core without
 * SQL, on its own event loop. Real proxies each have a process of their own; a
 * single event loop serving every simulated proxy would measure itself, not
 * the orchestrator.
 *
 * Messages in: {@linkcode SimWorkerStart}, then `{ type: "await", epoch }`
 * before each commit, `{ type: "close" }` at the end. Messages out:
 * {@linkcode SimWorkerEvent}. Times are absolute (`performance.timeOrigin +
 * performance.now()`) so that they compare across workers.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import type { Logger } from "../../shared/log.ts";
import { type ControlClient, startControlClient } from "../../proxy/control/client.ts";
import { IdleCore } from "../helpers/control_core.ts";

/** Starts the worker's clients. */
export interface SimWorkerStart {
  type: "start";
  /** Orchestrator base URL (https). */
  url: string;
  /** Proxy ids this worker runs. */
  proxyIds: string[];
  /** Client certificate, key and CA, PEM. */
  tls: { cert: string; key: string; ca: string };
}

/** What a worker reports. */
export type SimWorkerEvent =
  | { type: "connected" }
  /** Every client of the worker applied `epoch`; `at` is when the last one did. */
  | { type: "applied"; epoch: number; at: number }
  /** Every client of the worker received the pause of `cutoverId`; `at` is when the last one did. */
  | { type: "paused"; at: number }
  | { type: "closed"; stale: number };

const now = () => performance.timeOrigin + performance.now();

/** A proxy core with no SQL (nothing to drain, every state applied) that says when it pauses. */
class SimCore extends IdleCore {
  constructor(readonly onPause: () => void) {
    super();
  }
  override pause(cutoverId: string): void {
    const fresh = this.pausedFor === undefined;
    super.pause(cutoverId);
    if (fresh) this.onPause();
  }
  pauseRemainingMs(): number | null {
    return this.pausedFor === undefined ? null : 60_000;
  }
}

const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: (msg, fields) => console.error(JSON.stringify({ msg, ...fields })),
  child: () => quiet,
};

const post = (event: SimWorkerEvent) => self.postMessage(event);
const cores: SimCore[] = [];
const clients: ControlClient[] = [];
let awaited = -1;
let applied = 0;
let pausedCount = 0;

self.onmessage = async (e: MessageEvent) => {
  const msg = e.data as SimWorkerStart | { type: "await"; epoch: number } | { type: "close" };
  if (msg.type === "start") {
    const onPause = () => {
      if (++pausedCount === cores.length) {
        pausedCount = 0;
        post({ type: "paused", at: now() });
      }
    };
    for (const proxyId of msg.proxyIds) {
      const core = new SimCore(onPause);
      cores.push(core);
      clients.push(startControlClient({
        url: msg.url,
        proxyId,
        version: "sim",
        shadowMode: "async",
        tls: msg.tls,
        handler: core,
        log: quiet,
        onStateChange: (state) => {
          if (state.epoch === awaited && ++applied === cores.length) {
            post({ type: "applied", epoch: awaited, at: now() });
          }
        },
      }));
      // A few handshakes at a time: connection setup is not what this measures.
      if (clients.length % 10 === 0) await clients[clients.length - 1].whenConnected();
    }
    await Promise.all(clients.map((c) => c.whenConnected()));
    post({ type: "connected" });
  } else if (msg.type === "await") {
    awaited = msg.epoch;
    applied = 0;
  } else {
    await Promise.all(clients.map((c) => c.close()));
    const stale = cores.filter((c) => c.current?.epoch !== awaited || c.paused()).length;
    post({ type: "closed", stale });
  }
};
