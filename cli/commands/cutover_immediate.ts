/**
 * `molt-lms-cli cutover immediate`: switches the source of truth at once.
 *
 * @module
 */

import { API_PATHS, CutoverResponseSchema } from "../../shared/api.ts";
import type { GlobalOptions } from "../args.ts";
import { ExitCode, type ExitCodeValue } from "../exit_codes.ts";
import type { ApiClient } from "../http.ts";
import { formatJson, type Io } from "../output.ts";
import { renderCutoverResult } from "./cutover_result.ts";

/** Runs `cutover immediate`. */
export async function runCutoverImmediate(
  client: ApiClient,
  options: GlobalOptions,
  io: Io,
): Promise<ExitCodeValue> {
  const { data, raw } = await client.post(API_PATHS.immediate, {}, CutoverResponseSchema);
  io.out(
    options.output === "json" ? formatJson(raw) : renderCutoverResult(
      `Immediate cutover ${data.cutoverId} done; sessions move at their next transaction ` +
        "boundary.",
      data,
    ),
  );
  return ExitCode.OK;
}
