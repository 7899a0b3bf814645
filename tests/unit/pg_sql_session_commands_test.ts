import assert from "node:assert/strict";
import {
  classifyStatement,
  sessionCommands,
  splitStatements,
} from "../../proxy/pg/sql_session_commands.ts";

Deno.test("splitStatements respects quotes, dollar quotes and comments", () => {
  assert.deepEqual(
    splitStatements(
      "SET a = 'x;y'; select \"c;d\" -- no; split\n; DO $f$ begin; end $f$; /* ; */ SELECT 1;",
    ),
    [
      "SET a = 'x;y'",
      'select "c;d" -- no; split',
      "DO $f$ begin; end $f$",
      "/* ; */ SELECT 1",
    ],
  );
  assert.deepEqual(splitStatements("  ;; "), []);
});

Deno.test("classifyStatement recognises every form of SET", () => {
  const cases: [string, string | undefined][] = [
    ["SET search_path TO a, b", "search_path"],
    ["set SESSION work_mem = '4MB'", "work_mem"],
    ['SET "Application_Name" = x', "Application_Name"],
    ["SET TIME ZONE 'UTC'", "timezone"],
    ["SET ROLE admin", "role"],
    ["SET SESSION AUTHORIZATION bob", "session_authorization"],
    ["SET NAMES 'UTF8'", "client_encoding"],
    ["SET myapp.tenant = '42'", "myapp.tenant"],
    ["/* c */ SET datestyle = ISO", "datestyle"],
    ["SET LOCAL work_mem = '1MB'", undefined],
    ["SET TRANSACTION READ ONLY", undefined],
    ["SET CONSTRAINTS ALL DEFERRED", undefined],
    ["SELECT 'SET x = 1'", undefined],
  ];
  for (const [sql, name] of cases) {
    const cmd = classifyStatement(sql);
    assert.equal(cmd?.kind === "set" ? cmd.name : undefined, name, sql);
  }
});

Deno.test("classifyStatement recognises RESET, DISCARD ALL and DEALLOCATE", () => {
  assert.deepEqual(classifyStatement("RESET ALL"), { kind: "reset-all" });
  assert.deepEqual(classifyStatement("reset TIME ZONE"), { kind: "reset", name: "timezone" });
  assert.deepEqual(classifyStatement("RESET Search_Path"), { kind: "reset", name: "search_path" });
  assert.deepEqual(classifyStatement("discard all"), { kind: "discard-all" });
  assert.deepEqual(classifyStatement("DISCARD PLANS"), undefined);
  assert.deepEqual(classifyStatement("DEALLOCATE PREPARE s1"), { kind: "deallocate", name: "s1" });
  assert.deepEqual(classifyStatement("DEALLOCATE ALL"), { kind: "deallocate-all" });
});

Deno.test("sessionCommands skips texts without session keywords", () => {
  assert.deepEqual(sessionCommands("select * from t"), []);
  assert.equal(sessionCommands("select 1; set x.y = 2").length, 1);
});
