/**
 * `molt-lms-cli initialize`: creates the LMS state objects (idempotent).
 *
 * @module
 */

import { API_PATHS, type InitializeResponse, InitializeResponseSchema } from "../../shared/api.ts";
import type { GlobalOptions } from "../global_options.ts";
import { ExitCode, type ExitCodeValue } from "../exit_codes.ts";
import type { ApiClient } from "../http.ts";
import { formatJson, type Io, renderFields } from "../output.ts";

/** Renders the answer to `initialize` for people. */
export function renderInitialize(res: InitializeResponse): string {
  const headline = res.created
    ? "Initialized: created the _molt_lms state objects and the replication marker tables."
    : "Already initialized: the _molt_lms state objects exist; the marker tables are in place.";
  const fields: [string, string][] = [
    ["Source of truth", res.state.sourceOfTruth],
    ["Epoch", String(res.state.epoch)],
    ["Phase", res.state.phase],
  ];
  if (res.markers) {
    const on = (side: "source" | "target") => res.markers?.find((m) => m.side === side);
    const target = on("target");
    const source = on("source");
    if (target) fields.push(["State and marker (target)", target.table]);
    fields.push([
      "Marker (source)",
      source
        ? `${source.table} on the ${source.dialect === "mysql" ? "MySQL" : "PostgreSQL"} source`
        : "none: the orchestrator has no INIT_SOURCE, so a consistent cutover cannot check " +
          "replication catch-up",
    ]);
  }
  const accounts = res.mysqlAccounts;
  if (accounts) {
    fields.push([
      "MySQL accounts",
      accounts.error === undefined
        ? `${accounts.recorded} recorded in _molt_lms.mysql_accounts (for logins after a cutover)`
        : `not recorded: ${accounts.error}; the proxies record them while the source is reachable`,
    ]);
  }
  return headline + "\n\n" + renderFields(fields);
}

/** Runs `initialize`. */
export async function runInitialize(
  client: ApiClient,
  options: GlobalOptions,
  io: Io,
): Promise<ExitCodeValue> {
  const { data, raw } = await client.post(API_PATHS.initialize, {}, InitializeResponseSchema);
  io.out(options.output === "json" ? formatJson(raw) : renderInitialize(data));
  return ExitCode.OK;
}
