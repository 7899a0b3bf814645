/**
 * The API token of an orchestrator without mTLS, over real processes: a real
 * orchestrator process with its state store in a throwaway PostgreSQL, the
 * real CLI, and control clients registering with and without the token.
 * Changes need the token, reads stay open, proxies without it are refused,
 * and the token never reaches the orchestrator's log.
 */

import assert from "node:assert/strict";
import { runArgs } from "../../shared/local/compile.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { freePort, waitForPort } from "../../shared/local/ports.ts";
import type { ApiErrorBody, StatusResponse } from "../../shared/api.ts";
import { startControlClient } from "../../proxy/control/client.ts";
import { expectExit, runCli } from "../helpers/cli_process.ts";
import { IdleCore } from "../helpers/control_core.ts";
import { eventually } from "../helpers/fleet.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TOKEN = "auth-test-token-7d2f0c9b41e8a6";
const WRONG = "not-the-token-3e9a1f7c55d2b8";

function orchestratorCommand(env: Record<string, string>): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: runArgs("molt-lms-orchestrator", ROOT),
    env: { LMS_SOURCE_DIALECT: "postgres", LMS_PROXY_ID: "auth-test", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  });
}

Deno.test("without mTLS the orchestrator requires its API token for every change", async (t) => {
  await using target = await startPgCluster({ name: "auth-target" });

  await t.step("an orchestrator with neither mTLS nor a token refuses to start", async () => {
    const out = await orchestratorCommand({
      INIT_TARGET: target.url(),
      LMS_LISTEN: `127.0.0.1:${await freePort()}`,
    }).output();
    assert.equal(out.code, 2);
    assert.match(new TextDecoder().decode(out.stderr), /LMS_API_TOKEN: is required when/);
  });

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = orchestratorCommand({
    INIT_TARGET: target.url(),
    LMS_LISTEN: `127.0.0.1:${port}`,
    LMS_METRICS_LISTEN: `127.0.0.1:${await freePort()}`,
    LMS_API_TOKEN: TOKEN,
    LMS_LOG_LEVEL: "debug",
  }).spawn();
  const log = new Response(child.stderr).text();
  const clients: { close(): Promise<void> }[] = [];
  try {
    await waitForPort("127.0.0.1", port, 20_000);
    const post = async (path: string, body: unknown, token?: string) => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() as ApiErrorBody };
    };

    await t.step("reads stay open; changes without the right token get 401", async () => {
      await eventually("status answers", async () => {
        const res = await fetch(`${base}/api/v1/status`).catch(() => undefined);
        await res?.body?.cancel();
        return res?.status === 200;
      });
      const missing = await post("/api/v1/initialize", {});
      assert.equal(missing.status, 401);
      assert.equal(missing.body.error.code, "UNAUTHORIZED");
      assert.match(missing.body.error.message, /needs the API token/);
      assert.match(missing.body.error.hint, /--api-token or CLI_API_TOKEN/);
      const wrong = await post("/api/v1/initialize", {}, WRONG);
      assert.equal(wrong.status, 401);
      assert.match(wrong.body.error.message, /not the orchestrator's LMS_API_TOKEN/);
      assert.ok(!JSON.stringify(wrong.body).includes(WRONG), "the token is not echoed");
      const immediate = await post("/api/v1/cutover/immediate", { from: "source", force: true });
      assert.equal(immediate.status, 401);
      const s = await (await fetch(`${base}/api/v1/status`)).json() as StatusResponse;
      assert.deepEqual([s.initialized, s.epoch], [false, 0], "nothing changed");
    });

    await t.step("the CLI sends --api-token or CLI_API_TOKEN", async () => {
      const url = ["--orchestrator-url", base];
      const refused = await runCli(["initialize", ...url]);
      expectExit(refused, 1);
      assert.match(refused.stderr, /UNAUTHORIZED: this request changes the fleet/);
      assert.match(refused.stderr, /hint: .*CLI_API_TOKEN/);
      expectExit(await runCli(["initialize", ...url], { CLI_API_TOKEN: TOKEN }), 0);
      const immediate = await runCli([
        "cutover",
        "immediate",
        "--to",
        "target",
        "--force",
        "--api-token",
        TOKEN,
        ...url,
      ]);
      expectExit(immediate, 0);
      assert.match(immediate.stdout, /done \(source → target\)/);
      assert.ok(!immediate.stdout.includes(TOKEN) && !immediate.stderr.includes(TOKEN));
      expectExit(await runCli(["status", ...url]), 0);
    });

    await t.step("a proxy registers only with the token", async () => {
      const connect = (proxyId: string, apiToken?: string) => {
        const client = startControlClient({
          url: base,
          proxyId,
          version: "test",
          shadowMode: "none",
          apiToken,
          handler: new IdleCore(),
          heartbeatMs: 100,
          backoffInitialMs: 50,
          backoffMaxMs: 100,
        });
        clients.push(client);
        return client;
      };
      const anonymous = connect("no-token");
      const impostor = connect("wrong-token", WRONG);
      const proxy = connect("proxy-1", TOKEN);
      await proxy.whenConnected();
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(anonymous.connected(), false);
      assert.equal(impostor.connected(), false);
      const s = await (await fetch(`${base}/api/v1/status`)).json() as StatusResponse;
      assert.deepEqual(s.proxies.map((p) => [p.id, p.connected, p.shadowMode]), [
        ["proxy-1", true, "none"],
      ]);
    });
  } finally {
    for (const client of clients) await client.close();
    child.kill("SIGTERM");
    await child.status;
  }
  const text = await log;
  assert.match(text, /refused a proxy's control connection/);
  assert.match(text, /refused an API request without a valid token/);
  assert.ok(!text.includes(TOKEN), "the token reached the orchestrator's log");
  assert.ok(!text.includes(WRONG), "a presented token reached the orchestrator's log");
});
