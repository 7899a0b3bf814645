/**
 * A proxy without an orchestrator never follows a cutover, so it refuses to
 * start unless told it runs standalone on purpose; then it says so in its
 * log, in `/readyz` and in `lms_standalone`.
 */

import assert from "node:assert/strict";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { runArgs } from "../../shared/local/compile.ts";
import { spawnProxy } from "../helpers/proxy.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("a proxy runs without an orchestrator only with --standalone", async (t) => {
  await using cluster = await startPgCluster({ name: "standalone" });
  const source = cluster.url({ params: { sslmode: "disable" } });

  await t.step("without --orchestrator-url it refuses to start, naming both ways out", async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: runArgs("molt-lms", ROOT),
      env: {
        INIT_SOURCE: source,
        LMS_SOURCE_DIALECT: "postgres",
        LMS_LISTEN: "127.0.0.1:0",
        LMS_METRICS_LISTEN: "127.0.0.1:0",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(stderr, /LMS_ORCHESTRATOR_URL: is required by the proxy/);
    assert.match(stderr, /--standalone/);
  });

  await t.step("--standalone: serves, and says so in /readyz and /metrics", async () => {
    await using proxy = await spawnProxy({ INIT_SOURCE: source }, ["--standalone"]);
    const ready = await fetch(`http://127.0.0.1:${proxy.metricsPort}/readyz`);
    assert.equal(ready.status, 200);
    assert.match(await ready.text(), /^ready \(standalone: no orchestrator/);
    const metrics = await (await fetch(`http://127.0.0.1:${proxy.metricsPort}/metrics`)).text();
    assert.match(metrics, /^lms_standalone 1$/m);
    const psql = await new Deno.Command("psql", {
      args: [`postgres://postgres@127.0.0.1:${proxy.port}/postgres`, "-XAtc", "SELECT 40 + 2"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(psql.stdout).trim(), "42");
  });
});
