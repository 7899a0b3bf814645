/**
 * The table shown after every cutover command: a headline and the state the
 * orchestrator reports after it.
 *
 * @module
 */

import type { CutoverResponse } from "../../shared/api.ts";
import { renderFields } from "../output.ts";

/** Renders a cutover command's answer under `headline`. */
export function renderCutoverResult(headline: string, res: CutoverResponse): string {
  return headline + "\n\n" + renderFields([
    ["Cutover", res.cutoverId],
    ["Source of truth", res.state.sourceOfTruth],
    ["Epoch", String(res.state.epoch)],
    ["Phase", res.state.phase],
  ]);
}
