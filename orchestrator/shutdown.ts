/**
 * The orchestrator's side of a graceful stop (SIGTERM): API calls that arrive
 * after it began are refused with 503, and a command already running gets the
 * grace period to finish so its caller learns the outcome.
 *
 * Every state change is one compare-and-set transaction in the target, so a
 * command that is still running when the grace period ends can be abandoned:
 * it takes effect entirely or not at all, and the next orchestrator loads
 * whichever it was from the store.
 *
 * @module
 */

import type {
  BeginRequest,
  CommitRequest,
  ConnectionsResponse,
  CutoverResponse,
  ImmediateRequest,
  InitializeResponse,
  ShadowReportResponse,
  StatusResponse,
} from "../shared/api.ts";
import { CommandError } from "./command_error.ts";
import { Coordinator } from "./coordinator.ts";

/** A coordinator whose API calls can be drained before the process exits. */
export class DrainingCoordinator extends Coordinator {
  #closing = false;
  readonly #running = new Set<Promise<unknown>>();

  /** True once {@linkcode drainCalls} was called: `/readyz` and the API answer 503. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Refuses every later API call and waits up to `graceMs` for the running
   * ones; true when none was left running.
   */
  async drainCalls(graceMs: number): Promise<boolean> {
    this.#closing = true;
    if (this.#running.size === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const settled = Promise.allSettled([...this.#running]).then(() => true as const);
    const finished = await Promise.race([settled, expired]);
    clearTimeout(timer);
    return finished;
  }

  #guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closing) {
      return Promise.reject(
        new CommandError(
          "STORE_UNAVAILABLE",
          "the orchestrator is shutting down",
          "retry in a few seconds, once the orchestrator has restarted",
        ),
      );
    }
    const running = call();
    this.#running.add(running);
    const forget = () => this.#running.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** See {@linkcode Coordinator.initialize}; refused while shutting down. */
  override initialize(): Promise<InitializeResponse> {
    return this.#guard(() => super.initialize());
  }

  /** See {@linkcode Coordinator.begin}; refused while shutting down. */
  override begin(request: BeginRequest): Promise<CutoverResponse> {
    return this.#guard(() => super.begin(request));
  }

  /** See {@linkcode Coordinator.commit}; refused while shutting down. */
  override commit(request: CommitRequest): Promise<CutoverResponse> {
    return this.#guard(() => super.commit(request));
  }

  /** See {@linkcode Coordinator.abort}; refused while shutting down. */
  override abort(): Promise<CutoverResponse> {
    return this.#guard(() => super.abort());
  }

  /** See {@linkcode Coordinator.immediate}; refused while shutting down. */
  override immediate(request: ImmediateRequest): Promise<CutoverResponse> {
    return this.#guard(() => super.immediate(request));
  }

  /** See {@linkcode Coordinator.status}; refused while shutting down. */
  override status(): Promise<StatusResponse> {
    return this.#guard(() => super.status());
  }

  /** See {@linkcode Coordinator.connections}; refused while shutting down. */
  override connections(redact: boolean): Promise<ConnectionsResponse> {
    return this.#guard(() => super.connections(redact));
  }

  /** See {@linkcode Coordinator.shadowReport}; refused while shutting down. */
  override shadowReport(limit: number): Promise<ShadowReportResponse> {
    return this.#guard(() => super.shadowReport(limit));
  }
}
