/**
 * PostgreSQL query cancellation on the database leg. The client's
 * CancelRequest names a key minted by the proxy (see
 * `proxy/session/cancel_registry.ts`); the session turns it into one for its
 * current database, with that database's own key.
 *
 * @module
 */

import net from "node:net";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import { encodeCancelRequest } from "./startup.ts";

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
