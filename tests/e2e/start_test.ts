/**
 * The README's quick start: `deno task start` with no databases configured
 * brings up embedded databases, the orchestrator and a proxy, prints how to
 * connect, serves psql, and removes everything on Ctrl-C. It generates an API
 * token for the run and says how to give it to the CLI without printing it.
 */

import assert from "node:assert/strict";
import { freePort } from "../../shared/local/ports.ts";
import { psql } from "../helpers/proxy.ts";
import type { ApiErrorBody } from "../../shared/api.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("deno task start serves psql on embedded databases and cleans up", async () => {
  const [listen, metrics, orchestrator] = [await freePort(), await freePort(), await freePort()];
  const env = { ...Deno.env.toObject() };
  delete env.INIT_SOURCE;
  delete env.INIT_TARGET;
  delete env.LMS_API_TOKEN;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "--config",
      `${ROOT}deno.json`,
      "start",
      "--listen",
      `127.0.0.1:${listen}`,
      "--metrics-listen",
      `127.0.0.1:${metrics}`,
      "--orchestrator-port",
      String(orchestrator),
    ],
    env: { ...env, LMS_LOG_LEVEL: "warn" },
    clearEnv: true,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let banner = "";
  let tokenPath: string | undefined;
  const deadline = Date.now() + 60_000;
  while (!banner.includes("Press Ctrl-C") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    banner += value;
  }
  try {
    assert.match(banner, /LMS is running/);
    const url = /psql "([^"]+)"/.exec(banner)?.[1];
    assert.equal(url, `postgres://postgres@127.0.0.1:${listen}/postgres`);
    const sourcePort = Number(/source:\s+postgres:\/\/\S+:(\d+)\//.exec(banner)?.[1]);
    const res = await psql(url!, ["-c", "SELECT inet_server_port()"]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(Number(res.stdout.trim()), sourcePort, "served by the embedded source");
    const status = await fetch(`http://127.0.0.1:${orchestrator}/api/v1/status`);
    assert.equal((await status.json() as { initialized: boolean }).initialized, true);

    const tokenFile = /export CLI_API_TOKEN="\$\(cat ([^)]+)\)"/.exec(banner)?.[1];
    assert.ok(tokenFile, `the banner says how to pass the API token:\n${banner}`);
    const mode = (await Deno.stat(tokenFile)).mode ?? 0;
    assert.equal(mode & 0o077, 0, "the token file is readable by its user only");
    tokenPath = tokenFile;
    const token = (await Deno.readTextFile(tokenFile)).trim();
    assert.ok(token.length >= 32);
    assert.ok(!banner.includes(token), "the token itself is not printed");
    const begin = (authorization?: string) =>
      fetch(`http://127.0.0.1:${orchestrator}/api/v1/cutover/consistent/begin`, {
        method: "POST",
        headers: authorization ? { authorization } : {},
        body: JSON.stringify({ from: "source" }),
      });
    const refused = await begin();
    assert.equal(refused.status, 401, "changes need the generated token");
    await refused.body?.cancel();
    const begun = await begin(`Bearer ${token}`);
    assert.equal(begun.status, 200, await begun.text());
    // The embedded databases replicate nothing: committing would send every client to a target
    // without their tables, so the commit is refused until the marker arrives.
    const commit = async () => {
      const res = await fetch(`http://127.0.0.1:${orchestrator}/api/v1/cutover/consistent/commit`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ from: "source" }),
      });
      return { status: res.status, body: await res.json() as ApiErrorBody };
    };
    let refusal = await commit();
    for (let i = 0; i < 100 && refusal.body.error?.code === "NOT_DRAINED"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      refusal = await commit();
    }
    assert.equal(refusal.status, 409, JSON.stringify(refusal.body));
    assert.equal(refusal.body.error.code, "NOT_CAUGHT_UP");
    assert.match(refusal.body.error.hint, /_molt_lms\.marker/);
  } finally {
    // deno task runs start.ts as its own child; Ctrl-C in a terminal reaches it directly.
    const pattern = `shared/local/start.ts.*127.0.0.1:${listen}`;
    const pids = new Deno.Command("pgrep", { args: ["-f", pattern] });
    for (const pid of new TextDecoder().decode((await pids.output()).stdout).trim().split("\n")) {
      if (pid) Deno.kill(Number(pid), "SIGINT");
    }
    void reader.cancel();
    await child.status;
  }
  const sourcePort = /source:\s+postgres:\/\/\S+:(\d+)\//.exec(banner)?.[1];
  const left = await psql(`postgres://postgres@127.0.0.1:${sourcePort}/postgres`, [
    "-c",
    "SELECT 1",
  ]);
  assert.notEqual(left.code, 0, "the embedded source database was stopped");
  assert.ok(tokenPath, "no token file was found");
  await assert.rejects(Deno.stat(tokenPath), Deno.errors.NotFound, "the token file was removed");
});

Deno.test("deno task start on a busy port fails at once and talks to nobody there", async () => {
  const [listen, metrics] = [await freePort(), await freePort()];
  // Stands in for another run's orchestrator: it must never be sent anything.
  const requests: string[] = [];
  const other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    requests.push(`${req.method} ${new URL(req.url).pathname}`);
    return Response.json({ initialized: true });
  });
  try {
    const started = Date.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "--config",
        `${ROOT}deno.json`,
        "start",
        "--listen",
        `127.0.0.1:${listen}`,
        "--metrics-listen",
        `127.0.0.1:${metrics}`,
        "--orchestrator-port",
        String(other.addr.port),
      ],
      env: { LMS_LOG_LEVEL: "warn" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.notEqual(out.code, 0, stderr);
    assert.match(stderr, new RegExp(`port ${other.addr.port} on 127\\.0\\.0\\.1 .* is in use`));
    assert.doesNotMatch(new TextDecoder().decode(out.stdout), /LMS is running/);
    assert.ok(Date.now() - started < 15_000, "it started things before noticing");
    assert.deepEqual(requests, [], "it talked to the other orchestrator");
  } finally {
    await other.shutdown();
  }
});
