/**
 * Entry point of the orchestrator (`deno task orchestrator`).
 *
 * Reads the config, serves the API + control endpoint and the metrics
 * listener, loads the state from the store (retrying while the target is
 * unreachable) and runs until SIGINT/SIGTERM, then stops gracefully: the API
 * answers 503, a command already running gets the shutdown grace period to
 * finish, and one still running after it is abandoned (its compare-and-set
 * takes effect entirely or not at all).
 *
 * @module
 */

import { configHelp, type LmsConfig, loadConfig, wantsHelp } from "../shared/config.ts";
import { errorMessage, LmsError } from "../shared/errors.ts";
import { createLogger, setLogLevel } from "../shared/log.ts";
import { onStopSignals } from "../shared/signals.ts";
import { StateStore } from "../shared/state_store.ts";
import { ShadowingStore } from "../shared/shadowing_store.ts";
import { FleetStore } from "../shared/fleet_store.ts";
import { FleetMembers } from "./fleet_members.ts";
import type { Coordinator } from "./coordinator.ts";
import { OrchestratorMetrics } from "./metrics.ts";
import { type RunningServer, startApiServer, startMetricsServer } from "./server.ts";
import { DrainingCoordinator } from "./shutdown.ts";
import { VERSION } from "../shared/version.ts";

/** A running orchestrator. */
export interface Orchestrator {
  /** Bound API port. */
  port: number;
  /** Bound metrics port. */
  metricsPort: number;
  /** The coordinator (for tests and embedding). */
  coordinator: Coordinator;
  /** Stops serving and closes the store. */
  close(): Promise<void>;
  /**
   * Graceful stop: `/readyz` and every API call answer 503 at once; a command
   * already running gets up to `graceMs` to finish and answer, then everything
   * closes. Resolves false when a command had to be abandoned; the process
   * should then exit without waiting for it.
   */
  shutdown(graceMs: number): Promise<boolean>;
}

/** How long an answered command's reply gets to leave before the sockets close. */
const REPLY_FLUSH_MS = 200;

/** Extra knobs for embedding (tests, `deno task start`). */
export interface OrchestratorOptions {
  /** Close a silent proxy connection after this long; 15000 ms. */
  idleTimeoutMs?: number;
  /** Wait this long between cancelling and terminating blocking sessions; 2000 ms. */
  terminateGraceMs?: number;
  /** After a restart mid-cutover, wait this long for proxies to reconnect; 6000 ms. */
  reconnectGraceMs?: number;
}

/** Starts an orchestrator from a loaded config. */
export async function startOrchestrator(
  config: LmsConfig,
  options: OrchestratorOptions = {},
): Promise<Orchestrator> {
  const log = createLogger("orchestrator", { orchestratorId: config.proxyId });
  if (!config.target) {
    throw new LmsError(
      "CONFIG_INVALID",
      "INIT_TARGET is required by the orchestrator",
      "set INIT_TARGET to the target database's URL",
    );
  }
  const store = new StateStore({ target: config.target, source: config.source });
  const shadowing = new ShadowingStore(config.target);
  const fleet = new FleetStore(config.target);
  const members = new FleetMembers({
    store: fleet,
    graceMs: config.missingProxyGraceMs,
    log: log.child({ component: "fleet" }),
  });
  const metrics = new OrchestratorMetrics(VERSION);
  const coordinator = new DrainingCoordinator({
    store,
    shadowing,
    actor: config.proxyId,
    shadowMode: config.shadowMode,
    sourceDialect: config.sourceDialect,
    log,
    metrics,
    terminateGraceMs: options.terminateGraceMs,
    reconnectGraceMs: options.reconnectGraceMs,
    members,
  });
  metrics.observeFleet(() => coordinator.registry.all());
  const servers: RunningServer[] = [];
  try {
    servers.push(
      await startApiServer({
        listen: config.listen,
        tls: config.orchestratorTls,
        apiToken: config.apiToken,
        coordinator,
        log,
        metrics,
        idleTimeoutMs: options.idleTimeoutMs,
        orchestratorId: config.proxyId,
        dashboardAllowActions: config.dashboardAllowActions,
        allowOrigin: config.allowOrigin,
      }),
    );
    servers.push(
      startMetricsServer({
        listen: config.metricsListen,
        metrics,
        ready: () => coordinator.loaded && !coordinator.closing,
        log,
      }),
    );
  } catch (err) {
    for (const server of servers) await server.close();
    await store.close();
    await shadowing.close();
    await fleet.close();
    throw err;
  }
  const started = coordinator.start();
  const close = async () => {
    coordinator.stop();
    for (const server of servers) await server.close();
    await started;
    await store.close();
    await shadowing.close();
    await fleet.close();
  };
  return {
    port: servers[0].port,
    metricsPort: servers[1].port,
    coordinator,
    close,
    shutdown: async (graceMs: number) => {
      log.info("shutting down: refusing API calls, letting a running command finish", {
        graceMs,
      });
      const finished = await coordinator.drainCalls(graceMs);
      if (!finished) {
        log.warn(
          "a command was still running when the grace period ended; abandoning it " +
            "(its compare-and-set takes effect entirely or not at all; check `status` after " +
            "the restart)",
          { graceMs },
        );
        coordinator.stop();
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, REPLY_FLUSH_MS));
      await close();
      return true;
    },
  };
}

async function main(): Promise<number> {
  const input = { args: Deno.args, env: Deno.env.toObject() };
  if (wantsHelp(input.args)) {
    console.log(configHelp("orchestrator"));
    return 0;
  }
  let config: LmsConfig;
  try {
    config = loadConfig("orchestrator", input);
  } catch (err) {
    console.error(errorMessage(err));
    return 2;
  }
  setLogLevel(config.logLevel);
  const log = createLogger("orchestrator");
  // Listening for stop signals before the listeners open: a Ctrl-C during startup
  // must not kill the process with a half-started orchestrator.
  const stopRequested = new Promise<void>((resolve) => {
    onStopSignals({
      log,
      waitingFor: "a running command",
      graceful: () => resolve(),
      immediate: () => Deno.exit(1),
    });
  });
  let orchestrator: Orchestrator;
  try {
    orchestrator = await startOrchestrator(config);
  } catch (err) {
    log.error("cannot start the orchestrator", { error: err });
    return 1;
  }
  await stopRequested;
  await orchestrator.shutdown(config.shutdownGraceMs);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
