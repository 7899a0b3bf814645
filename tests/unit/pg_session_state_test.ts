import assert from "node:assert/strict";
import { cstring, message, parse, query, readyForQuery, SYNC } from "../../proxy/pg/messages.ts";
import { type RequestOutcome, SessionState } from "../../proxy/pg/session_state.ts";
import { FrameScanner, typeSet } from "../../proxy/pg/framing.ts";

/** Drives a SessionState with encoded messages, the way the relay does. */
function harness() {
  const outcomes: RequestOutcome[] = [];
  const state = new SessionState(new Map([["user", "app"]]), (o) => outcomes.push(o));
  const front = new FrameScanner(
    typeSet("QPCSFB"),
    undefined,
    1 << 20,
    (t, b) => state.onFrontend(t, b),
  );
  const back = new FrameScanner(
    typeSet("ZSE13C"),
    undefined,
    1 << 20,
    (t, b) => state.onBackend(t, b),
  );
  return {
    state,
    outcomes,
    client: (...msgs: Uint8Array[]) => msgs.forEach((m) => front.scan(m)),
    server: (...msgs: Uint8Array[]) => msgs.forEach((m) => back.scan(m)),
  };
}

const complete = (tag: string) => message("C", cstring(tag));
const error = (code: string) =>
  message("E", cstring("SERROR"), cstring("C" + code), cstring("Mboom"), new Uint8Array(1));
const parseComplete = message("1");
const closeComplete = message("3");
const closeStatement = (name: string) => message("C", new Uint8Array([0x53]), cstring(name));

Deno.test("autocommit SET is kept, RESET removes it, RESET ALL clears", () => {
  const h = harness();
  h.client(query("SET search_path = app, public; SET application_name TO 'x'"));
  h.server(complete("SET"), complete("SET"), readyForQuery("I"));
  assert.deepEqual([...h.state.settings.keys()], ["search_path", "application_name"]);
  assert.equal(h.state.settings.get("search_path"), "SET search_path = app, public");
  h.client(query("RESET application_name"));
  h.server(complete("RESET"), readyForQuery("I"));
  assert.deepEqual([...h.state.settings.keys()], ["search_path"]);
  h.client(query("reset all"));
  h.server(complete("RESET"), readyForQuery("I"));
  assert.equal(h.state.settings.size, 0);
});

Deno.test("SET inside a rolled-back transaction is dropped, inside a committed one kept", () => {
  const h = harness();
  h.client(query("BEGIN"));
  h.server(complete("BEGIN"), readyForQuery("T"));
  assert.equal(h.state.txStatus, "T");
  assert.ok(h.state.txStartedAt > 0);
  h.client(query("SET work_mem = '8MB'"));
  h.server(complete("SET"), readyForQuery("T"));
  h.client(query("ROLLBACK"));
  h.server(complete("ROLLBACK"), readyForQuery("I"));
  assert.equal(h.state.settings.size, 0);
  assert.equal(h.state.txStartedAt, 0);
  h.client(query("BEGIN; SET work_mem = '16MB'; COMMIT"));
  h.server(complete("BEGIN"), complete("SET"), complete("COMMIT"), readyForQuery("I"));
  assert.equal(h.state.settings.get("work_mem"), "SET work_mem = '16MB'");
});

Deno.test("a failed request keeps no settings and is reported as failed", () => {
  const h = harness();
  h.client(query("SET statement_timeout = 5; SELECT 1/0"));
  h.server(complete("SET"), error("22012"), readyForQuery("I"));
  assert.equal(h.state.settings.size, 0);
  assert.deepEqual(h.outcomes.map((o) => o.failed), [true]);
});

Deno.test("SET LOCAL and SET TRANSACTION are not session settings", () => {
  const h = harness();
  h.client(query("SET LOCAL work_mem = '1MB'; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"));
  h.server(complete("SET"), complete("SET"), readyForQuery("I"));
  assert.equal(h.state.settings.size, 0);
});

Deno.test("pipelined named statements are tracked in order, errors discard until Sync", () => {
  const h = harness();
  h.client(
    parse("s1", "select $1::int", [23]),
    parse("", "select 2", []),
    parse("s2", "select 3", []),
    SYNC,
    parse("s3", "select broken", []),
    parse("s4", "select 4", []),
    SYNC,
  );
  assert.equal(h.state.pendingRequests, 2);
  assert.equal(h.state.idle, false);
  h.server(parseComplete, parseComplete, parseComplete, readyForQuery("I"));
  h.server(error("42703"), readyForQuery("I"));
  assert.deepEqual([...h.state.prepared.keys()], ["s1", "s2"]);
  assert.deepEqual(h.state.prepared.get("s1")?.paramTypes, [23]);
  assert.deepEqual(h.outcomes.map((o) => o.failed), [false, true]);
  assert.equal(h.state.idle, true);
  h.client(closeStatement("s1"), SYNC);
  h.server(closeComplete, readyForQuery("I"));
  assert.deepEqual([...h.state.prepared.keys()], ["s2"]);
});

Deno.test("DEALLOCATE and DISCARD ALL forget prepared statements", () => {
  const h = harness();
  h.client(parse("a", "select 1", []), parse("b", "select 2", []), SYNC);
  h.server(parseComplete, parseComplete, readyForQuery("I"));
  h.client(query("DEALLOCATE a"));
  h.server(complete("DEALLOCATE"), readyForQuery("I"));
  assert.deepEqual([...h.state.prepared.keys()], ["b"]);
  h.client(query("SET x.y = 1"));
  h.server(complete("SET"), readyForQuery("I"));
  h.client(query("DISCARD ALL"));
  h.server(complete("DISCARD ALL"), readyForQuery("I"));
  assert.equal(h.state.prepared.size, 0);
  assert.equal(h.state.settings.size, 0);
});

Deno.test("Bind of a named statement records its SQL as the last query", () => {
  const h = harness();
  h.client(parse("q", "select * from t where id = $1", []), SYNC);
  h.server(parseComplete, readyForQuery("I"));
  h.client(query("select 1"));
  h.server(complete("SELECT 1"), readyForQuery("I"));
  assert.equal(h.state.lastQuery, "select 1");
  const bind = message("B", cstring(""), cstring("q"), new Uint8Array(6));
  h.client(bind, SYNC);
  assert.equal(h.state.lastQuery, "select * from t where id = $1");
});

Deno.test("ParameterStatus updates are recorded", () => {
  const h = harness();
  h.server(message("S", cstring("application_name"), cstring("billing")));
  assert.equal(h.state.serverParameters.get("application_name"), "billing");
});
