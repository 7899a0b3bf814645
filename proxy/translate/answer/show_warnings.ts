/**
 * `SHOW WARNINGS [LIMIT [offset,] n]`, `SHOW ERRORS [LIMIT ...]` and
 * `SHOW COUNT(*) WARNINGS|ERRORS` over the previous statement's warnings,
 * which the executor keeps in `AnswerContext.warnings`.
 *
 * @module
 */

import { intColumn, rowsAnswer, textColumn } from "./result.ts";
import type { Cursor } from "./tokens.ts";
import type { Answer, AnswerContext } from "./types.ts";

/** Answers the statement after `SHOW`, or null when it is not about warnings. */
export function answerShowWarnings(c: Cursor, ctx: AnswerContext): Answer | null {
  if (c.atWords("COUNT")) {
    const p = c.i;
    c.i++;
    if (!(c.acceptPunct("(") && c.acceptPunct("*") && c.acceptPunct(")"))) {
      c.i = p;
      return null;
    }
    const what = c.acceptOne("WARNINGS", "ERRORS");
    if (!what || !c.done()) throw c.syntaxError();
    const n = what === "ERRORS"
      ? ctx.warnings.filter((w) => w.level === "Error").length
      : ctx.warnings.length;
    const label = what === "ERRORS" ? "@@session.error_count" : "@@session.warning_count";
    return rowsAnswer([intColumn(label)], [[n]]);
  }
  const what = c.acceptOne("WARNINGS", "ERRORS");
  if (!what) return null;
  let offset = 0;
  let limit = Infinity;
  if (c.acceptWords("LIMIT")) {
    const a = c.peek();
    if (a?.kind !== "number") throw c.syntaxError();
    c.i++;
    limit = Number(a.text);
    if (c.acceptPunct(",")) {
      const b = c.peek();
      if (b?.kind !== "number") throw c.syntaxError();
      c.i++;
      offset = limit;
      limit = Number(b.text);
    }
  }
  if (!c.done()) throw c.syntaxError();
  const list = what === "ERRORS" ? ctx.warnings.filter((w) => w.level === "Error") : ctx.warnings;
  const rows = list.slice(offset, offset + limit).map((w) => [w.level, w.code, w.message]);
  return rowsAnswer(
    [textColumn("Level", 7, true), intColumn("Code", true, true), textColumn("Message", 512, true)],
    rows,
  );
}
