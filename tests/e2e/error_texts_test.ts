/**
 * Error texts that name the real problem: an unreachable INIT_SOURCE is a
 * source problem (not "check INIT_TARGET"), logged as structured fields
 * rather than as escaped JSON inside a JSON line; a CLI pointed at a
 * PostgreSQL port says that is what it found.
 */

import assert from "node:assert/strict";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort } from "../../shared/local/ports.ts";
import { cli } from "../helpers/fleet.ts";
import { startTestProxy } from "../helpers/proxy.ts";
import { freeStartPorts, startTaskArgs } from "../helpers/start_task.ts";

Deno.test("an unreachable INIT_SOURCE is reported as a source problem, as fields", async () => {
  const { listen, metrics, orchestrator } = await freeStartPorts();
  const closed = await freePort();
  const env = { ...Deno.env.toObject() };
  delete env.INIT_TARGET;
  const out = await new Deno.Command(Deno.execPath(), {
    args: startTaskArgs({ listen, metrics, orchestrator }),
    env: {
      ...env,
      INIT_SOURCE: `postgres://postgres@127.0.0.1:${closed}/postgres?sslmode=disable`,
      LMS_LOG_LEVEL: "warn",
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.notEqual(out.code, 0, stderr);
  const line = stderr.split("\n").find((l) => l.includes("could not start LMS"));
  assert.ok(line, stderr);
  assert.ok(!line.includes('\\"'), `escaped JSON inside the log line: ${line}`);
  const error = JSON.parse(line).error as { code: string; message: string; hint: string };
  assert.equal(error.code, "ORCHESTRATOR_REFUSED");
  assert.match(error.message, /the source database \(INIT_SOURCE\) is not reachable/);
  assert.match(error.hint, /check INIT_SOURCE/);
  assert.doesNotMatch(`${error.message} ${error.hint}`, /INIT_TARGET|target database/);
});

Deno.test("a CLI pointed at a PostgreSQL port says so", async (t) => {
  await using cluster = await startPgCluster({ name: "cli-at-pg" });
  await using proxy = await startTestProxy({
    INIT_SOURCE: cluster.url({ params: { sslmode: "disable" } }),
  });
  for (const [what, port] of [["PostgreSQL", cluster.port], ["an LMS proxy", proxy.port]]) {
    await t.step(`${what}'s port`, async () => {
      const out = await cli(`http://127.0.0.1:${port}`, ["status"]);
      assert.notEqual(out.code, 0);
      assert.match(out.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is a PostgreSQL port`));
      assert.match(out.stderr, /orchestrator's API port/);
      assert.doesNotMatch(out.stderr, /expects TLS/);
    });
  }
});
