/**
 * Query cancellation. Each client gets a cancel key minted by the proxy (its
 * process id names the proxy, see `shared/cancel_key.ts`); a CancelRequest
 * carrying that key is turned into one for the session's current database,
 * with that database's own key.
 *
 * @module
 */

import net from "node:net";
import { processIdFor } from "../../shared/cancel_key.ts";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import { encodeCancelRequest } from "./startup.ts";

/** Something that can cancel the query its session is running. */
export interface Cancellable {
  /** Asks the session's current database to cancel the running query. */
  cancel(): Promise<void>;
}

/** The cancel keys this proxy handed out, and the sessions they belong to. */
export class CancelRegistry {
  readonly #proxyId: string;
  readonly #sessions = new Map<number, { secretKey: number; target: Cancellable }>();
  #seq = 0;

  /** @param proxyId this proxy's stable id, encoded into every process id */
  constructor(proxyId: string) {
    this.#proxyId = proxyId;
  }

  /** Mints a fresh key for `target` and registers it. */
  register(target: Cancellable): { processId: number; secretKey: number } {
    let processId: number;
    do {
      processId = processIdFor(this.#proxyId, ++this.#seq);
    } while (this.#sessions.has(processId));
    const secretKey = crypto.getRandomValues(new Int32Array(1))[0];
    this.#sessions.set(processId, { secretKey, target });
    return { processId, secretKey };
  }

  /** Forgets a key when its session ends. */
  unregister(processId: number): void {
    this.#sessions.delete(processId);
  }

  /**
   * Cancels the query of the session owning the key. Returns false when the
   * key is unknown here or the secret does not match (as PostgreSQL, the
   * caller gets no answer either way).
   */
  async cancel(processId: number, secretKey: number): Promise<boolean> {
    const entry = this.#sessions.get(processId);
    if (!entry || entry.secretKey !== secretKey) return false;
    await entry.target.cancel();
    return true;
  }
}

/** Sends a CancelRequest for the database's own key to the database. */
export function sendCancelRequest(
  spec: ConnectionSpec,
  processId: number,
  secretKey: number,
): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: spec.host, port: spec.port }, () => {
      socket.end(encodeCancelRequest(processId, secretKey));
    });
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
