/**
 * The README's quick start: `deno task start` with no databases configured
 * brings up embedded databases (PostgreSQL, or MariaDB as the source with
 * `--source-dialect mysql`), the orchestrator and a proxy, prints how to
 * connect, serves the printed client command, and removes everything on
 * Ctrl-C. It generates an API token for the run and says how to give it to the
 * CLI without printing it.
 */

import assert from "node:assert/strict";
import { freePort } from "../../shared/local/ports.ts";
import { psql, run } from "../helpers/proxy.ts";
import type { ApiErrorBody } from "../../shared/api.ts";
import { freeStartPorts, startTaskArgs } from "../helpers/start_task.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A running `deno task start`, its banner, and how to stop it as Ctrl-C does. */
interface StartedLms {
  banner: string;
  listen: number;
  orchestrator: number;
  stop(): Promise<void>;
}

/** `deno task start` with `args` and no databases or API token configured; waits for the banner. */
async function startLms(args: string[]): Promise<StartedLms> {
  const { listen, metrics, orchestrator } = await freeStartPorts();
  const env = { ...Deno.env.toObject() };
  delete env.INIT_SOURCE;
  delete env.INIT_TARGET;
  delete env.LMS_SOURCE_DIALECT;
  delete env.LMS_API_TOKEN;
  const child = new Deno.Command(Deno.execPath(), {
    args: startTaskArgs({ listen, metrics, orchestrator }, args),
    env: { ...env, LMS_LOG_LEVEL: "warn" },
    clearEnv: true,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let banner = "";
  const deadline = Date.now() + 90_000;
  while (!banner.includes("Press Ctrl-C") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    banner += value;
  }
  const stop = async () => {
    // deno task runs start.ts as its own child; Ctrl-C in a terminal reaches it directly.
    const pattern = `shared/local/start.ts.*127.0.0.1:${listen}`;
    const pids = new Deno.Command("pgrep", { args: ["-f", pattern] });
    for (const pid of new TextDecoder().decode((await pids.output()).stdout).trim().split("\n")) {
      if (pid) Deno.kill(Number(pid), "SIGINT");
    }
    void reader.cancel();
    await child.status;
  };
  return { banner, listen, orchestrator, stop };
}

async function initialized(orchestratorPort: number): Promise<boolean> {
  const status = await fetch(`http://127.0.0.1:${orchestratorPort}/api/v1/status`);
  return (await status.json() as { initialized: boolean }).initialized;
}

Deno.test("deno task start serves psql on embedded databases and cleans up", async () => {
  const lms = await startLms([]);
  const { banner, listen, orchestrator } = lms;
  let tokenPath: string | undefined;
  try {
    assert.match(banner, /LMS is running/);
    const url = /psql "([^"]+)"/.exec(banner)?.[1];
    assert.equal(url, `postgres://postgres@127.0.0.1:${listen}/postgres`);
    const sourcePort = Number(/source:\s+postgres:\/\/\S+:(\d+)\//.exec(banner)?.[1]);
    const res = await psql(url!, ["-c", "SELECT inet_server_port()"]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(Number(res.stdout.trim()), sourcePort, "served by the embedded source");
    assert.equal(await initialized(orchestrator), true);

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
    await lms.stop();
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
      args: startTaskArgs({ listen, metrics, orchestrator: other.addr.port }),
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

/** Runs the banner's `mariadb …` command (after --no-defaults) with `extra` arguments. */
function mariadbAsPrinted(command: string, extra: string[]) {
  const [program, ...words] = command.split(" ");
  assert.equal(program, "mariadb");
  return run(program, ["--no-defaults", ...words, "-N", "-B", ...extra]);
}

Deno.test("deno task start --source-dialect mysql serves the mariadb client on an embedded MariaDB", async () => {
  const lms = await startLms(["--source-dialect", "mysql"]);
  const { banner, listen } = lms;
  const sourcePort = /source:\s+mysql:\/\/root@127\.0\.0\.1:(\d+)\/app/.exec(banner)?.[1];
  try {
    assert.match(banner, /LMS is running/);
    assert.match(banner, /target:\s+postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres/);
    const command = /connect:\s+(mariadb [^\n]+)/.exec(banner)?.[1];
    assert.equal(command, `mariadb -h 127.0.0.1 -P ${listen} -u root app`);
    assert.match(banner, /mysql takes the same flags/);
    assert.ok(sourcePort, banner);
    const res = await mariadbAsPrinted(command!, ["-e", "SELECT @@port, DATABASE()"]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), `${sourcePort}\tapp`, "served by the embedded MariaDB");
    assert.equal(await initialized(lms.orchestrator), true);
    // initialize put the marker table on the MySQL source and nothing else there.
    const direct = await run("mariadb", [
      "--no-defaults",
      "-h",
      "127.0.0.1",
      "-P",
      sourcePort,
      "-u",
      "root",
      "-N",
      "-B",
      "-e",
      "SHOW TABLES FROM _molt_lms",
    ]);
    assert.equal(direct.stdout.trim(), "marker", direct.stderr);
  } finally {
    await lms.stop();
  }
  const left = await run("mariadb", [
    "--no-defaults",
    "-h",
    "127.0.0.1",
    "-P",
    sourcePort!,
    "-u",
    "root",
    "--connect-timeout=2",
    "-e",
    "SELECT 1",
  ]);
  assert.notEqual(left.code, 0, "the embedded MariaDB was stopped");
});

Deno.test("deno task start --source-dialect mysql without mariadbd fails before starting anything", async () => {
  // A private mount namespace hides /usr/sbin (where Debian puts mariadbd) from this run only.
  const out = await run("unshare", [
    "--mount",
    "--",
    "sh",
    "-c",
    'mount -t tmpfs none /usr/sbin && exec "$0" "$@"',
    Deno.execPath(),
    "run",
    "--allow-all",
    `${ROOT}shared/local/start.ts`,
    "--source-dialect",
    "mysql",
    "--listen",
    `127.0.0.1:${await freePort()}`,
  ], { env: { PATH: "/usr/bin:/bin", LMS_LOG_LEVEL: "info" } });
  assert.equal(out.code, 2, out.stderr);
  assert.match(out.stderr, /--source-dialect mysql without INIT_SOURCE starts an embedded MariaDB/);
  assert.match(out.stderr, /mariadbd is not installed/);
  assert.match(out.stderr, /install Debian's mariadb-server package/);
  assert.doesNotMatch(out.stdout + out.stderr, /started embedded/, "no database was started");
});
