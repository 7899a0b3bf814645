/**
 * The cancel keys this proxy hands to its clients, whatever their wire. Each
 * key's id names the proxy (see `shared/cancel_key.ts`), so a cancel reaching
 * another proxy of the fleet can be forwarded to this one. A PostgreSQL wire
 * hands out id and secret as BackendKeyData; a MySQL wire hands out the id as
 * the connection id of its handshake, which `KILL QUERY <id>` names.
 *
 * @module
 */

import { processIdFor } from "../../shared/cancel_key.ts";
import type { ClientSession } from "./session.ts";

/** A key minted for one session. */
export interface CancelKey {
  /** Positive int32 naming this proxy in its high bits (PostgreSQL process id, MySQL connection id). */
  processId: number;
  /** Random int32 a PostgreSQL CancelRequest must repeat; unused by MySQL. */
  secretKey: number;
}

/** See the module documentation. */
export class CancelRegistry {
  readonly #proxyId: string;
  readonly #sessions = new Map<number, { secretKey: number; session: ClientSession }>();
  #seq = 0;

  /** @param proxyId this proxy's stable id, encoded into every key id */
  constructor(proxyId: string) {
    this.#proxyId = proxyId;
  }

  /** Mints a fresh key for `session` and registers it. */
  register(session: ClientSession): CancelKey {
    let processId: number;
    do {
      processId = processIdFor(this.#proxyId, ++this.#seq);
    } while (this.#sessions.has(processId));
    const secretKey = crypto.getRandomValues(new Int32Array(1))[0];
    this.#sessions.set(processId, { secretKey, session });
    return { processId, secretKey };
  }

  /**
   * Replaces the secret of a key minted earlier. The MySQL wire mints the
   * connection id before the client says who it is, then sets the secret a
   * forwarded `KILL` must carry (derived from the user, see `proxy/mysql/cancel.ts`).
   */
  rekey(processId: number, secretKey: number): void {
    const entry = this.#sessions.get(processId);
    if (entry) entry.secretKey = secretKey;
  }

  /** Forgets a key when its session ends. */
  unregister(processId: number): void {
    this.#sessions.delete(processId);
  }

  /**
   * The session a key id was minted for, without checking a secret: for
   * protocols whose cancel names only the id (MySQL `KILL [QUERY] <id>`,
   * sent by a client that authenticated).
   */
  find(processId: number): ClientSession | undefined {
    return this.#sessions.get(processId)?.session;
  }

  /**
   * Cancels the query of the session owning the key, or with `terminate`
   * disconnects it (MySQL's `KILL CONNECTION` sent through another proxy).
   * Returns false when the key is unknown here or the secret does not match
   * (as PostgreSQL, the caller gets no answer either way).
   */
  async cancel(processId: number, secretKey: number, terminate = false): Promise<boolean> {
    const entry = this.#sessions.get(processId);
    if (!entry || entry.secretKey !== secretKey) return false;
    if (terminate) entry.session.terminate(`connection ${processId} killed (KILL CONNECTION)`);
    else await entry.session.cancel();
    return true;
  }
}
