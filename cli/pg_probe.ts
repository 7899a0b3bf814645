/**
 * Recognising a PostgreSQL server where the CLI expected the orchestrator.
 *
 * A PostgreSQL server (or an LMS proxy's SQL port) closes an HTTP request
 * without an answer, which `fetch` reports as a broken connection or a TLS
 * problem. When a request fails that way, the CLI asks the port the way a
 * PostgreSQL client would, with an SSLRequest: a PostgreSQL server answers
 * with the single byte `S` or `N`.
 *
 * @module
 */

import { LmsError } from "../shared/errors.ts";

/** How long the probe may take; it only runs after a request already failed. */
const PROBE_TIMEOUT_MS = 2_000;
/** SSLRequest: length 8, request code 80877103. */
const SSL_REQUEST = new Uint8Array([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** Whether `host:port` answers an SSLRequest like a PostgreSQL server. */
export async function speaksPostgres(hostname: string, port: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), PROBE_TIMEOUT_MS);
  try {
    conn = await Deno.connect({ hostname, port });
    await conn.write(SSL_REQUEST);
    const answer = new Uint8Array(2);
    const n = await conn.read(answer);
    return n === 1 && (answer[0] === 0x53 || answer[0] === 0x4e);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // closed by the timer
    }
  }
}

/**
 * The error for an orchestrator URL that points at a PostgreSQL port, or
 * undefined when `url` does not.
 */
export async function postgresPortError(url: URL): Promise<LmsError | undefined> {
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!(await speaksPostgres(host, port))) return undefined;
  return new LmsError(
    "ORCHESTRATOR_UNREACHABLE",
    `${url.origin} is a PostgreSQL port (a database or an LMS proxy's SQL listener), ` +
      "not the orchestrator API",
    "point --orchestrator-url (or CLI_ORCHESTRATOR_URL) at the orchestrator's API port " +
      "(4200 by default)",
  );
}
