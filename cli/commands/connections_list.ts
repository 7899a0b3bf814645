/**
 * `molt-lms-cli connections list`: every client connection of every proxy.
 *
 * @module
 */

import {
  API_PATHS,
  type ConnectionsResponse,
  ConnectionsResponseSchema,
} from "../../shared/api.ts";
import type { GlobalOptions } from "../global_options.ts";
import { ExitCode, type ExitCodeValue } from "../exit_codes.ts";
import type { ApiClient } from "../http.ts";
import { formatAge, formatJson, type Io, renderTable, truncate } from "../output.ts";

/** Longest query text shown in the table. */
export const QUERY_WIDTH = 60;

/** Renders the connections table; proxies that did not answer are listed after it. */
export function renderConnections(res: ConnectionsResponse, now: number): string {
  let text: string;
  if (res.connections.length === 0) {
    text = "No client connections.\n";
  } else {
    const rows = res.connections.map((c) => [
      c.proxyId,
      c.clientAddress,
      c.user,
      c.database,
      c.state,
      formatAge(c.since, now),
      c.currentDatabase,
      truncate(c.lastQuery, QUERY_WIDTH) || "-",
      formatAge(c.lastQueryAt, now),
    ]);
    text = renderTable(
      [
        "PROXY",
        "CLIENT",
        "USER",
        "DATABASE",
        "STATE",
        "SINCE",
        "CURRENT DB",
        "LAST QUERY",
        "QUERY AT",
      ],
      rows,
    );
  }
  if (res.unreachableProxies.length > 0) {
    text += `\nWarning: no answer from proxies ${res.unreachableProxies.join(", ")}; ` +
      "their connections are missing from this list.\n";
  }
  return text;
}

/** Runs `connections list`. */
export async function runConnectionsList(
  client: ApiClient,
  redact: boolean,
  options: GlobalOptions,
  io: Io,
): Promise<ExitCodeValue> {
  const path = `${API_PATHS.connections}?redact=${redact}`;
  const { data, raw } = await client.get(path, ConnectionsResponseSchema);
  io.out(options.output === "json" ? formatJson(raw) : renderConnections(data, io.now()));
  return ExitCode.OK;
}
