import assert from "node:assert/strict";
import { redactLiterals } from "../../proxy/pg/redact.ts";

Deno.test("redactLiterals hides every kind of literal and keeps the shape", () => {
  const cases: [string, string][] = [
    ["select * from users where email = 'a@b.c'", "select * from users where email = ?"],
    [
      "insert into t values (42, 3.14, 'it''s', E'x\\'y', .5, 1e10)",
      "insert into t values (?, ?, ?, ?, ?, ?)",
    ],
    ["select $1, $tag$secret$tag$, $$also$$", "select $1, ?, ?"],
    ['select "col1" from t1 -- 123\nwhere x = 7', 'select "col1" from t1 -- 123\nwhere x = ?'],
    ["select x'ff', b'101', U&'d\\0061t'", "select ?, ?, ?"],
    ["select col2 from tab3", "select col2 from tab3"],
  ];
  for (const [input, expected] of cases) assert.equal(redactLiterals(input), expected, input);
});
