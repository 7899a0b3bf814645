/**
 * `molt-lms-cli cutover immediate`: switches the source of truth at once, in
 * the direction `--to` names (see `direction.ts`).
 *
 * @module
 */

import { API_PATHS, CutoverResponseSchema, type ImmediateRequest } from "../../shared/api.ts";
import type { Command } from "../command_tree.ts";
import type { GlobalOptions } from "../global_options.ts";
import { ExitCode, type ExitCodeValue } from "../exit_codes.ts";
import type { ApiClient } from "../http.ts";
import { formatJson, type Io } from "../output.ts";
import { renderCutoverResult } from "./cutover_result.ts";
import { arrow, resolveDirection } from "./direction.ts";

/** Runs `cutover immediate`. */
export async function runCutoverImmediate(
  client: ApiClient,
  command: Extract<Command, { name: "cutover immediate" }>,
  options: GlobalOptions,
  io: Io,
): Promise<ExitCodeValue> {
  const direction = await resolveDirection(client, command.to);
  const body: ImmediateRequest = { from: direction.from };
  if (command.force) body.force = true;
  if (command.allowMissingProxies) body.allowMissingProxies = true;
  const { data, raw } = await client.post(API_PATHS.immediate, body, CutoverResponseSchema);
  io.out(
    options.output === "json" ? formatJson(raw) : renderCutoverResult(
      `Immediate cutover ${data.cutoverId} done (${arrow(direction)}); sessions move at their ` +
        "next transaction boundary.",
      data,
    ),
  );
  return ExitCode.OK;
}
