import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import type { z } from "zod";
import type { Command } from "../../cli/command_tree.ts";
import type { GlobalOptions } from "../../cli/global_options.ts";
import { runCutoverConsistent } from "../../cli/commands/cutover_consistent.ts";
import { ExitCode, exitCodeFor } from "../../cli/exit_codes.ts";
import type { ApiClient, ApiResult } from "../../cli/http.ts";
import type { Io } from "../../cli/output.ts";
import { API_PATHS, type StatusResponse } from "../../shared/api.ts";
import { LmsError } from "../../shared/errors.ts";
import { cutoverFixture, cutoverResponseFixture, statusFixture } from "../helpers/api_fixtures.ts";

type Begin = Extract<Command, { name: "cutover consistent begin" }>;

/** A client that answers `begin` once and `status` from a script; the last entry repeats. */
function scriptedClient(script: (StatusResponse | LmsError)[]) {
  const posts: { path: string; body: unknown }[] = [];
  let polls = 0;
  const client: ApiClient = {
    get<T>(_path: string, schema: z.ZodType<T>): Promise<ApiResult<T>> {
      const item = script[Math.min(polls++, script.length - 1)];
      if (item instanceof LmsError) return Promise.reject(item);
      return Promise.resolve({ data: schema.parse(item), raw: item });
    },
    post<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<ApiResult<T>> {
      posts.push({ path, body });
      const res = cutoverResponseFixture();
      return Promise.resolve({ data: schema.parse(res), raw: res });
    },
    close() {},
  };
  return { client, posts, polls: () => polls };
}

/** An Io that records output; every sleep advances the clock by the time slept. */
function recordingIo(isTerminal: boolean) {
  let clock = 1_000_000;
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    isTerminal,
    now: () => clock,
    sleep: (ms) => {
      clock += ms;
      return Promise.resolve();
    },
  };
  return { io, out, err, now: () => clock };
}

const OPTIONS: GlobalOptions = { orchestratorUrl: new URL("http://orch:4200"), output: "table" };
const BEGIN: Begin = {
  name: "cutover consistent begin",
  drainTimeoutMs: 2_000,
  wait: true,
  to: "target",
  force: false,
  allowMissingProxies: false,
};

const blocking = [{
  proxyId: "proxy-b",
  sessionId: "b-1",
  client: "10.0.0.6:40000",
  user: "batch",
  database: "shop",
  inTransactionForMs: 3_000,
  query: "UPDATE t SET x = 1",
}];
const draining = (drained: number, ms = 3_000) =>
  statusFixture({
    phase: "draining",
    cutover: cutoverFixture({
      drained,
      openTransactions: drained < 2 ? 1 : 0,
      blocking: drained < 2 ? blocking.map((b) => ({ ...b, inTransactionForMs: ms })) : [],
    }),
  });
const caughtUp = statusFixture({
  phase: "drained",
  cutover: cutoverFixture({
    drained: 2,
    replication: { checked: true, caughtUp: true, lagMs: 140, error: null },
  }),
});

Deno.test("begin sends the flags and waits until drained and caught up (one line per change)", async () => {
  const { client, posts } = scriptedClient([
    draining(0, 3_000),
    draining(0, 3_250),
    draining(1, 3_500),
    statusFixture({
      phase: "drained",
      cutover: cutoverFixture({
        drained: 2,
        replication: { checked: true, caughtUp: false, lagMs: null, error: null },
      }),
    }),
    caughtUp,
  ]);
  const { io, out } = recordingIo(false);
  const code = await runCutoverConsistent(
    client,
    { ...BEGIN, cancelAfterMs: 1_000 },
    OPTIONS,
    io,
  );
  assertEquals(code, ExitCode.OK);
  assertEquals(posts, [{
    path: API_PATHS.consistentBegin,
    body: { from: "source", drainTimeoutMs: 2_000, cancelAfterMs: 1_000 },
  }]);
  const text = out.join("");
  assertEquals(text.split("\n").filter((l) => l.startsWith("proxies drained 0/2")).length, 1);
  assert(text.includes("  waiting on proxy-b 10.0.0.6:40000 batch@shop, in transaction for 3.0s"));
  assert(text.includes("proxies drained 1/2, open transactions 1"), text);
  assert(text.includes("waiting for replication to catch up"), text);
  assert(text.includes("replication caught up (lag 140 ms)"), text);
  assert(text.includes("cutover consistent commit --to target"), text);
  assert(text.includes("Consistent cutover cut-1 begun (source → target)"), text);
  assert(!text.includes("\x1b["), "no terminal escapes when not a terminal");
});

Deno.test("begin redraws the progress block in place on a terminal", async () => {
  const { client } = scriptedClient([draining(0), draining(1), caughtUp]);
  const { io, out } = recordingIo(true);
  assertEquals(await runCutoverConsistent(client, BEGIN, OPTIONS, io), ExitCode.OK);
  // Two-line block (summary + one blocking connection) is erased before the next draw.
  assert(out[2].startsWith("\x1b[2F\x1b[J" + "proxies drained 1/2"), JSON.stringify(out[2]));
  assert(out[3].startsWith("\x1b[2F\x1b[J" + "proxies drained 2/2"), JSON.stringify(out[3]));
});

Deno.test("begin --no-wait returns after the orchestrator accepted", async () => {
  const { client, polls } = scriptedClient([draining(0)]);
  const { io, out } = recordingIo(false);
  const code = await runCutoverConsistent(client, { ...BEGIN, wait: false }, OPTIONS, io);
  assertEquals(code, ExitCode.OK);
  assertEquals(polls(), 0);
  assert(out.join("").includes("Consistent cutover cut-1 begun"));
});

Deno.test("begin reports the drain timeout with the blocking connections, exit 5", async () => {
  const timedOut = statusFixture({
    phase: "draining",
    cutover: cutoverFixture({ drained: 1, openTransactions: 1, blocking, drainTimedOut: true }),
  });
  const { client } = scriptedClient([draining(1), timedOut]);
  const { io, out } = recordingIo(false);
  await rejects(runCutoverConsistent(client, BEGIN, OPTIONS, io), (err) => {
    assert(err instanceof LmsError);
    assertEquals(exitCodeFor(err), ExitCode.DRAIN_TIMEOUT);
    assert(err.message.includes("drain timeout (2.0s) reached with 1 open transaction"));
    assert(err.message.includes("the fleet stays paused"), err.message);
    assert(err.hint.includes("cutover consistent abort") && err.hint.includes("--cancel-after"));
    return true;
  });
  assert(out.join("").includes("Still in a transaction:"), out.join(""));
});

Deno.test("begin gives up at its own deadline when replication never catches up", async () => {
  const stuck = statusFixture({
    phase: "drained",
    cutover: cutoverFixture({
      drained: 2,
      replication: { checked: true, caughtUp: false, lagMs: null, error: null },
    }),
  });
  const { client } = scriptedClient([stuck]);
  const { io } = recordingIo(false);
  await rejects(runCutoverConsistent(client, BEGIN, OPTIONS, io), (err) => {
    assert(err instanceof LmsError);
    assertEquals(err.code, "DRAIN_TIMEOUT");
    assert(err.message.includes("replication did not catch up"), err.message);
    assert(err.hint.includes("from the source to the target"), err.hint);
    assert(err.hint.includes("--skip-replication-check"), err.hint);
    return true;
  });
});

Deno.test("the replication hint names the databases the right way back", async () => {
  const stuck = statusFixture({
    sourceOfTruth: "target",
    phase: "drained",
    cutover: cutoverFixture({
      drained: 2,
      replication: { checked: true, caughtUp: false, lagMs: null, error: null },
    }),
  });
  const { client, posts } = scriptedClient([stuck]);
  const { io } = recordingIo(false);
  await rejects(runCutoverConsistent(client, { ...BEGIN, to: undefined }, OPTIONS, io), (err) => {
    assert(err instanceof LmsError);
    assert(err.hint.includes("from the target to the source"), err.hint);
    assert(!err.hint.includes("to the target"), err.hint);
    assert(err.hint.includes("commit --to source"), err.hint);
    return true;
  });
  // Without --to the direction comes from status: away from the current source of truth.
  assertEquals((posts[0].body as { from: string }).from, "target");
});

Deno.test("begin waits exactly --drain-timeout, not a moment longer", async () => {
  // The orchestrator has not flagged the timeout yet: the CLI's own deadline decides.
  const { client } = scriptedClient([draining(1)]);
  const { io, now } = recordingIo(false);
  const started = now();
  await rejects(runCutoverConsistent(client, BEGIN, OPTIONS, io), (err) => {
    assert(err instanceof LmsError);
    assertEquals(exitCodeFor(err), ExitCode.DRAIN_TIMEOUT);
    return true;
  });
  const waited = now() - started;
  assert(waited >= BEGIN.drainTimeoutMs, `gave up after ${waited} ms`);
  assert(waited <= BEGIN.drainTimeoutMs + 250, `waited ${waited} ms for a 2000 ms timeout`);
});

Deno.test("begin stops when proxies resumed by themselves: abort, then begin again", async () => {
  const voided = statusFixture({
    phase: "draining",
    cutover: cutoverFixture({ drained: 1, resumedProxies: ["proxy-b"] }),
  });
  const { client } = scriptedClient([draining(2), voided]);
  const { io } = recordingIo(false);
  await rejects(runCutoverConsistent(client, BEGIN, OPTIONS, io), (err) => {
    assert(err instanceof LmsError);
    assertEquals(exitCodeFor(err), ExitCode.FAILED);
    assert(err.message.includes("proxy-b resumed traffic on the source by themselves"));
    assert(/abort`, then .*begin` again/.test(err.hint), err.hint);
    assert(!err.hint.includes("wait for open transactions"), err.hint);
    return true;
  });
});

Deno.test("begin survives a lost orchestrator and fails when the cutover ended elsewhere", async () => {
  const down = new LmsError("ORCHESTRATOR_UNREACHABLE", "cannot reach the orchestrator");
  const aborted = statusFixture({ phase: "idle", cutover: null });
  const { client, polls } = scriptedClient([draining(0), down, down, aborted]);
  const { io, err: errOut } = recordingIo(false);
  await rejects(runCutoverConsistent(client, BEGIN, OPTIONS, io), (err) => {
    assert(err instanceof LmsError);
    assertEquals(err.code, "CUTOVER_INTERRUPTED");
    assertEquals(exitCodeFor(err), ExitCode.FAILED);
    assert(err.message.includes("committed or aborted elsewhere"), err.message);
    return true;
  });
  assertEquals(polls(), 4);
  assertEquals(errOut.filter((l) => l.includes("Lost contact")).length, 1);
});

Deno.test("commit and abort send their request and report the new state", async () => {
  const { client, posts } = scriptedClient([caughtUp]);
  const { io, out } = recordingIo(false);
  await runCutoverConsistent(
    client,
    {
      name: "cutover consistent commit",
      to: "target",
      skipReplicationCheck: true,
      allowMissingProxies: false,
    },
    OPTIONS,
    io,
  );
  await runCutoverConsistent(client, { name: "cutover consistent abort" }, OPTIONS, io);
  assertEquals(posts, [
    { path: API_PATHS.consistentCommit, body: { from: "source", skipReplicationCheck: true } },
    { path: API_PATHS.consistentAbort, body: {} },
  ]);
  assert(out[0].startsWith("Committed cutover cut-1 (source → target)"), out[0]);
  assert(out[1].startsWith("Aborted cutover cut-1"));
});
