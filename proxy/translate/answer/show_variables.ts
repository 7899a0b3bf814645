/**
 * `SHOW [GLOBAL|SESSION|LOCAL] VARIABLES [LIKE|WHERE]` from the session's
 * values and MySQL's defaults (variables.ts), and `SHOW [GLOBAL|SESSION]
 * STATUS [LIKE|WHERE]` with the few counters the proxy can state truthfully.
 *
 * @module
 */

import { applyFilter, readFilter } from "./filter.ts";
import { rowsAnswer, textColumn } from "./result.ts";
import type { Cursor } from "./tokens.ts";
import type { Answer, AnswerContext } from "./types.ts";
import { readVariable, showValue, VARIABLES } from "./variables.ts";
import type { Value } from "./eval.ts";

const started = Date.now();

/** Answers SHOW ... VARIABLES / STATUS after `SHOW`; null for other SHOW statements. */
export function answerShowVariables(c: Cursor, ctx: AnswerContext): Answer | null {
  const scope = c.acceptOne("GLOBAL", "SESSION", "LOCAL");
  const what = c.acceptOne("VARIABLES", "STATUS");
  if (!what) return null;
  const filter = readFilter(c);
  const columns = [textColumn("Variable_name", 64, true), textColumn("Value", 1024)];
  let rows: Value[][];
  if (what === "VARIABLES") {
    rows = Object.keys(VARIABLES).sort().map((name) => {
      const def = VARIABLES[name];
      return [name, showValue(def, readVariable(name, ctx, scope === "GLOBAL"))];
    });
  } else {
    rows = [["Uptime", String(Math.floor((Date.now() - started) / 1000))]];
  }
  return rowsAnswer(columns, applyFilter(filter, columns, rows, 0, ctx));
}
