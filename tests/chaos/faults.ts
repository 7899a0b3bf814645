/**
 * The faults of the matrix: how each is injected into a {@linkcode ChaosFleet}
 * and how the fleet is brought back (the way Kubernetes or an operator would).
 *
 * @module
 */

import type { ChaosFleet } from "./chaos_fleet.ts";

/** The faults, in table order. */
export const FAULTS = [
  "proxy-kill",
  "orchestrator-kill",
  "target-restart",
  "source-stop",
  "control-stall",
] as const;

/** One fault. */
export type Fault = typeof FAULTS[number];

/** What each fault does, for the README table. */
export const FAULT_TEXT: Record<Fault, string> = {
  "proxy-kill": "kill -9 of proxy 1; restarted (same id) after 2 s",
  "orchestrator-kill": "kill -9 of the orchestrator; restarted on its port after 3 s",
  "target-restart": "target stopped (fast shutdown), started again after 3 s",
  "source-stop": "source stopped for 5 s (then started, so the run can be checked)",
  "control-stall": "control-channel relay stops forwarding for 8 s (longer than LMS_MAX_PAUSE)",
};

/** Injects `fault`; the returned function undoes it after its hold time. */
export async function inject(fleet: ChaosFleet, fault: Fault): Promise<() => Promise<void>> {
  const hold = (ms: number) => new Promise((r) => setTimeout(r, ms));
  switch (fault) {
    case "proxy-kill":
      await fleet.killProxy(0);
      return async () => {
        await hold(2_000);
        await fleet.restartProxy(0);
      };
    case "orchestrator-kill":
      await fleet.killOrchestrator();
      return async () => {
        await hold(3_000);
        await fleet.restartOrchestrator();
      };
    case "target-restart":
      await fleet.target.stop();
      return async () => {
        await hold(3_000);
        await fleet.target.start();
      };
    case "source-stop":
      await fleet.source.stop();
      return async () => {
        await hold(5_000);
        await fleet.source.start();
      };
    case "control-stall":
      fleet.relay.stall();
      return async () => {
        await hold(8_000);
        fleet.relay.resume();
      };
  }
}
