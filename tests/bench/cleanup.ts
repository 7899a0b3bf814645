/**
 * Undo actions for everything the benchmark starts (cluster, proxy,
 * PgBouncer, temporary directories), run in reverse order at the end, on
 * failure, and on SIGINT/SIGTERM — a benchmark interrupted with Ctrl-C must
 * not leave servers behind.
 *
 * @module
 */

import { errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";

/** How long one clean-up step may take before the next one runs anyway. */
const STEP_TIMEOUT_MS = 20_000;

/** A LIFO list of clean-up actions. */
export class CleanupStack {
  readonly #log: Logger;
  #actions: { name: string; run: () => Promise<void> | void }[] = [];
  #running: Promise<void> | undefined;
  #signals: [Deno.Signal, () => void][] = [];

  /** @param log where failed clean-up actions are reported */
  constructor(log: Logger) {
    this.#log = log;
  }

  /** Registers `run`; returns a function that runs it now and unregisters it. */
  push(name: string, run: () => Promise<void> | void): () => Promise<void> {
    const action = { name, run };
    this.#actions.push(action);
    return async () => {
      const i = this.#actions.indexOf(action);
      if (i < 0) return;
      this.#actions.splice(i, 1);
      await this.#runOne(action);
    };
  }

  /** On SIGINT/SIGTERM: run every action, then exit with 130/143. */
  exitOnSignals(): void {
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const handler = () => {
        this.#log.warn("interrupted, cleaning up", { signal });
        this.runAll().finally(() => Deno.exit(code));
      };
      Deno.addSignalListener(signal, handler);
      this.#signals.push([signal, handler]);
    }
  }

  /** Runs every registered action, newest first; never throws. Idempotent. */
  runAll(): Promise<void> {
    this.#running ??= (async () => {
      while (this.#actions.length > 0) await this.#runOne(this.#actions.pop()!);
      for (const [signal, handler] of this.#signals) Deno.removeSignalListener(signal, handler);
      this.#signals = [];
    })();
    return this.#running;
  }

  async #runOne(action: { name: string; run: () => Promise<void> | void }): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A step waiting on a stuck client (a request held by a paused proxy) must not keep the
    // servers after it from being stopped.
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), STEP_TIMEOUT_MS);
    });
    try {
      const outcome = await Promise.race([Promise.resolve(action.run()), timeout]);
      if (outcome === "timeout") {
        this.#log.warn("clean-up step timed out; going on", {
          step: action.name,
          timeoutMs: STEP_TIMEOUT_MS,
        });
      }
    } catch (err) {
      this.#log.warn("clean-up step failed", { step: action.name, error: errorMessage(err) });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Stops a child process: SIGTERM, then SIGKILL if it is still there after 5 s. */
export async function terminate(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }, 5_000);
  await child.status;
  clearTimeout(timer);
}
