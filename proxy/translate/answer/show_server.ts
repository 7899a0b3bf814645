/**
 * `SHOW [STORAGE] ENGINES`, `SHOW COLLATION [LIKE|WHERE]` and
 * `SHOW {CHARACTER SET|CHARSET} [LIKE|WHERE]`: what the proxy serves
 * (charsets.ts), with InnoDB as the one engine, since translated tables
 * behave transactionally as InnoDB's do.
 *
 * @module
 */

import { CHARSETS, COLLATIONS } from "./charsets.ts";
import { applyFilter, readFilter } from "./filter.ts";
import { intColumn, rowsAnswer, textColumn } from "./result.ts";
import type { Cursor } from "./tokens.ts";
import type { Answer, AnswerContext } from "./types.ts";

/** Answers SHOW ENGINES / COLLATION / CHARACTER SET after `SHOW`; null otherwise. */
export function answerShowServer(c: Cursor, ctx: AnswerContext): Answer | null {
  const start = c.i;
  c.acceptWords("STORAGE");
  if (c.acceptWords("ENGINES")) {
    if (!c.done()) throw c.syntaxError();
    return rowsAnswer(
      ["Engine", "Support", "Comment", "Transactions", "XA", "Savepoints"].map((n) =>
        textColumn(n, 80)
      ),
      [[
        "InnoDB",
        "DEFAULT",
        "Transactional tables, served by CockroachDB through LMS",
        "YES",
        "NO",
        "YES",
      ]],
    );
  }
  c.i = start;
  if (c.acceptWords("COLLATION")) {
    const filter = readFilter(c);
    const columns = [
      textColumn("Collation", 64, true),
      textColumn("Charset", 64, true),
      intColumn("Id", true, true),
      textColumn("Default", 3, true),
      textColumn("Compiled", 3, true),
      intColumn("Sortlen", true, true),
      textColumn("Pad_attribute", 9, true),
    ];
    const rows = COLLATIONS.map((co) => [
      co.name,
      co.charset,
      co.id,
      co.isDefault ? "Yes" : "",
      "Yes",
      1,
      co.name.includes("0900") ? "NO PAD" : "PAD SPACE",
    ]);
    return rowsAnswer(columns, applyFilter(filter, columns, rows, 0, ctx));
  }
  if (c.acceptWords("CHARACTER", "SET") || c.acceptWords("CHARSET")) {
    const filter = readFilter(c);
    const columns = [
      textColumn("Charset", 64, true),
      textColumn("Description", 2048, true),
      textColumn("Default collation", 64, true),
      intColumn("Maxlen", true, true),
    ];
    const rows = CHARSETS.map((cs) => [cs.name, cs.description, cs.defaultCollation, cs.maxLen]);
    return rowsAnswer(columns, applyFilter(filter, columns, rows, 0, ctx));
  }
  return null;
}
