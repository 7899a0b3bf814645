/**
 * Runs the real `molt-lms-cli` as a subprocess against a fake orchestrator
 * serving schema-checked fixtures, over HTTP, HTTPS and mTLS.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { API_PATHS } from "../../shared/api.ts";
import {
  connectionsFixture,
  cutoverFixture,
  cutoverResponseFixture,
  errorFixture,
  initializeFixture,
  statusFixture,
} from "../helpers/api_fixtures.ts";
import { makeCerts } from "../helpers/certs.ts";
import { cliCommand, expectExit, runCli as cli } from "../helpers/cli_process.ts";
import { FakeOrchestrator } from "../helpers/fake_orchestrator.ts";

Deno.test("molt-lms-cli against a fake orchestrator over HTTP", async (t) => {
  const fake = await FakeOrchestrator.start();
  const url = ["--orchestrator-url", fake.url];
  try {
    await t.step("status: table", async () => {
      fake.respond(API_PATHS.status, { status: 200, body: statusFixture() });
      const run = await cli(["status", ...url]);
      expectExit(run, 0);
      assert(/^Source of truth\s+source$/m.test(run.stdout), run.stdout);
      assert(/^Epoch\s+3$/m.test(run.stdout), run.stdout);
      assert(
        /^proxy-a\s+yes\s+0\.1\.0\s+12\s+3\s+0\s+\d+(\.\d)?s ago\s+3\s+serving$/m.test(run.stdout),
        run.stdout,
      );
      assert(/^proxy-b\s+no\s+.*never\s+-\s+disconnected$/m.test(run.stdout), run.stdout);
      assert(/^1h00m ago\s+\S+\s+3\s+commit\s+orchestrator-0/m.test(run.stdout), run.stdout);
    });

    await t.step("status: --output json prints the API's JSON (env URL)", async () => {
      const body = statusFixture();
      fake.respond(API_PATHS.status, { status: 200, body });
      const run = await cli(["status", "--output", "json"], { CLI_ORCHESTRATOR_URL: fake.url });
      expectExit(run, 0);
      assertEquals(JSON.parse(run.stdout), body);
    });

    await t.step("connections list --redact", async () => {
      const body = connectionsFixture();
      fake.respond(API_PATHS.connections, { status: 200, body });
      const table = await cli(["connections", "list", "--redact", ...url]);
      expectExit(table, 0);
      assertEquals(fake.requestsTo(API_PATHS.connections).at(-1)?.query, { redact: "true" });
      assert(
        /^PROXY\s+CLIENT\s+USER\s+DATABASE\s+STATE\s+SINCE\s+CURRENT DB\s+LAST QUERY\s+QUERY AT$/m
          .test(table.stdout),
        table.stdout,
      );
      assert(
        /^proxy-b\s+10\.0\.0\.6:40000\s+batch\s+shop\s+in transaction\s+1m3\ds ago\s+source\s+UPDATE orders .{30,}…\s+1\ds ago$/m
          .test(table.stdout),
        table.stdout,
      );
      const json = await cli(["connections", "list", "--output", "json", ...url]);
      expectExit(json, 0);
      assertEquals(fake.requestsTo(API_PATHS.connections).at(-1)?.query, { redact: "false" });
      assertEquals(JSON.parse(json.stdout), body);
    });

    await t.step("initialize", async () => {
      fake.respond(API_PATHS.initialize, { status: 200, body: initializeFixture(false) });
      const run = await cli(["initialize", ...url]);
      expectExit(run, 0);
      assert(run.stdout.startsWith("Already initialized"), run.stdout);
      assertEquals(fake.requestsTo(API_PATHS.initialize).at(-1)?.method, "POST");
    });

    await t.step("commit refused: exit 1 with the orchestrator's message and hint", async () => {
      const body = errorFixture(
        "NOT_DRAINED",
        "proxy-b has not drained (1 open transaction)",
        "wait for the drain, or run `molt-lms-cli cutover consistent abort`",
      );
      fake.respond(API_PATHS.consistentCommit, { status: 409, body });
      const run = await cli([
        "cutover",
        "consistent",
        "commit",
        "--to",
        "target",
        "--skip-replication-check",
        ...url,
      ]);
      expectExit(run, 1);
      assertEquals(fake.requestsTo(API_PATHS.consistentCommit).at(-1)?.body, {
        from: "source",
        skipReplicationCheck: true,
      });
      assert(run.stderr.includes("NOT_DRAINED: proxy-b has not drained"), run.stderr);
      assert(run.stderr.includes("hint: wait for the drain"), run.stderr);
      const json = await cli([
        "cutover",
        "consistent",
        "commit",
        "--to",
        "target",
        "--output",
        "json",
        ...url,
      ]);
      expectExit(json, 1);
      assertEquals(JSON.parse(json.stdout), body);
    });

    await t.step("abort after commit: INVALID_PHASE, exit 1", async () => {
      fake.respond(API_PATHS.consistentAbort, {
        status: 409,
        body: errorFixture(
          "INVALID_PHASE",
          "no consistent cutover in progress",
          "run begin and commit again to go back",
        ),
      });
      const run = await cli(["cutover", "consistent", "abort", ...url]);
      expectExit(run, 1);
      assert(run.stderr.includes("INVALID_PHASE: no consistent cutover in progress"), run.stderr);
      assert(run.stderr.includes("run begin and commit again"), run.stderr);
    });

    await t.step("cutover immediate", async () => {
      const body = cutoverResponseFixture({
        cutoverId: "cut-9",
        state: { sourceOfTruth: "target", epoch: 4, phase: "idle" },
      });
      fake.respond(API_PATHS.immediate, { status: 200, body });
      // Without --to the CLI switches away from the source of truth status names.
      fake.respond(API_PATHS.status, { status: 200, body: statusFixture() });
      const run = await cli(["cutover", "immediate", "--output", "json", ...url]);
      expectExit(run, 0);
      assertEquals(JSON.parse(run.stdout), body);
      assertEquals(fake.requestsTo(API_PATHS.immediate).at(-1)?.body, { from: "source" });
      const table = await cli(["cutover", "immediate", "--to", "source", "--force", ...url], {
        CLI_API_TOKEN: "cli-test-token-0123456789",
      });
      expectExit(table, 0);
      assert(table.stdout.includes("Immediate cutover cut-9 done (target → source)"), table.stdout);
      const sent = fake.requestsTo(API_PATHS.immediate).at(-1);
      assertEquals(sent?.body, { from: "target", force: true });
      assertEquals(sent?.authorization, "Bearer cli-test-token-0123456789");
    });

    await t.step("a retried immediate is refused, naming the source of truth", async () => {
      fake.respond(API_PATHS.immediate, {
        status: 409,
        body: errorFixture(
          "SOURCE_OF_TRUTH_MISMATCH",
          "the request switches from the source, but the source of truth is already the target " +
            "(epoch 4); nothing changed",
          "a retried request finds its switch already done: run `status`",
        ),
      });
      const run = await cli(["cutover", "immediate", "--to", "target", "--force", ...url]);
      expectExit(run, 1);
      assert(run.stderr.includes("SOURCE_OF_TRUTH_MISMATCH"), run.stderr);
      assert(run.stderr.includes("already the target"), run.stderr);
    });

    await t.step("begin shows progress until drained and caught up", async () => {
      fake.respond(API_PATHS.consistentBegin, { status: 200, body: cutoverResponseFixture() });
      const blocking = [{
        proxyId: "proxy-b",
        sessionId: "b-7",
        client: "10.0.0.6:40000",
        user: "batch",
        database: "shop",
        inTransactionForMs: 2_500,
        query: "UPDATE orders SET status = 'shipped'",
      }];
      const pending = { checked: true, caughtUp: false, lagMs: null, error: null };
      fake.respond(
        API_PATHS.status,
        {
          status: 200,
          body: statusFixture({
            phase: "draining",
            cutover: cutoverFixture({ drained: 1, openTransactions: 1, blocking }),
          }),
        },
        {
          status: 200,
          body: statusFixture({
            phase: "drained",
            cutover: cutoverFixture({ drained: 2, replication: pending }),
          }),
        },
        {
          status: 200,
          body: statusFixture({
            phase: "drained",
            cutover: cutoverFixture({
              drained: 2,
              replication: { ...pending, caughtUp: true, lagMs: 140 },
            }),
          }),
        },
      );
      const run = await cli([
        "cutover",
        "consistent",
        "begin",
        "--drain-timeout",
        "20s",
        "--cancel-after",
        "5s",
        "--to",
        "target",
        ...url,
      ]);
      expectExit(run, 0);
      assertEquals(fake.requestsTo(API_PATHS.consistentBegin).at(-1)?.body, {
        from: "source",
        drainTimeoutMs: 20_000,
        cancelAfterMs: 5_000,
      });
      const lines = run.stdout.split("\n");
      const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
      assert(at("Consistent cutover cut-1 begun (source → target)") === 0, run.stdout);
      assert(at("proxies drained 1/2, open transactions 1") > 0, run.stdout);
      assert(
        lines.includes(
          "  waiting on proxy-b 10.0.0.6:40000 batch@shop, in transaction for 2.5s: " +
            "UPDATE orders SET status = 'shipped'",
        ),
        run.stdout,
      );
      assert(
        at("proxies drained 2/2, open transactions 0, waiting for replication") >
          at("proxies drained 1/2"),
      );
      assert(
        at("proxies drained 2/2, open transactions 0, replication caught up (lag 140 ms)") >
          at("proxies drained 2/2, open transactions 0, waiting"),
        run.stdout,
      );
      assert(run.stdout.includes("Fleet drained (2/2 proxies) and paused"), run.stdout);
    });

    await t.step("begin hits the drain timeout: exit 5, fleet left paused", async () => {
      fake.respond(API_PATHS.status, {
        status: 200,
        body: statusFixture({
          phase: "draining",
          cutover: cutoverFixture({
            drained: 1,
            openTransactions: 1,
            drainTimedOut: true,
            blocking: [{
              proxyId: "proxy-b",
              sessionId: "b-7",
              client: "10.0.0.6:40000",
              user: "batch",
              database: "shop",
              inTransactionForMs: 31_000,
              query: "SELECT pg_sleep(3600)",
            }],
          }),
        }),
      });
      const run = await cli([
        "cutover",
        "consistent",
        "begin",
        "--to",
        "target",
        "--drain-timeout",
        "1s",
        ...url,
      ]);
      expectExit(run, 5);
      assert(
        /^proxy-b\s+10\.0\.0\.6:40000\s+batch\s+shop\s+31s\s+SELECT pg_sleep\(3600\)$/m
          .test(run.stdout),
        run.stdout,
      );
      assert(run.stderr.includes("the fleet stays paused"), run.stderr);
      assert(run.stderr.includes("cutover consistent abort"), run.stderr);
    });

    await t.step("--drain-timeout 1s stops waiting after 1 s, with no hidden grace", async () => {
      fake.respond(API_PATHS.consistentBegin, { status: 200, body: cutoverResponseFixture() });
      // The orchestrator never reports its timeout here: only the CLI's own deadline ends it.
      fake.respond(API_PATHS.status, {
        status: 200,
        body: statusFixture({ phase: "draining", cutover: cutoverFixture({ drained: 1 }) }),
      });
      const run = await cli([
        "cutover",
        "consistent",
        "begin",
        "--to",
        "target",
        "--drain-timeout",
        "1s",
        ...url,
      ]);
      expectExit(run, 5);
      const begun = fake.requestsTo(API_PATHS.consistentBegin).at(-1)!.at;
      const lastPoll = fake.requestsTo(API_PATHS.status).at(-1)!.at;
      // Today's CLI waited 1 s plus 5 s; polls come every 250 ms.
      assert(lastPoll - begun < 3_000, `polled for ${lastPoll - begun} ms after begin`);
    });

    await t.step("Ctrl-C while begin waits: exit 130, says the fleet stays paused", async () => {
      fake.respond(API_PATHS.consistentBegin, { status: 200, body: cutoverResponseFixture() });
      fake.respond(API_PATHS.status, {
        status: 200,
        body: statusFixture({ phase: "draining", cutover: cutoverFixture() }),
      });
      const child = cliCommand([
        "cutover",
        "consistent",
        "begin",
        "--drain-timeout",
        "60s",
        ...url,
      ]).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("proxies drained 0/2")) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
      child.kill("SIGINT");
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
        reader.cancel(),
      ]);
      assertEquals(status.code, 130, stderr);
      assert(stderr.includes("the fleet stays paused"), stderr);
      assert(stderr.includes("cutover consistent commit` or `abort`"), stderr);
    });

    await t.step("begin --no-wait --output json prints the begin answer", async () => {
      const body = cutoverResponseFixture({ cutoverId: "cut-5" });
      fake.respond(API_PATHS.consistentBegin, { status: 200, body });
      const run = await cli([
        "cutover",
        "consistent",
        "begin",
        "--no-wait",
        "--output",
        "json",
        ...url,
      ]);
      expectExit(run, 0);
      assertEquals(JSON.parse(run.stdout), body);
    });
  } finally {
    await fake.close();
  }
});

Deno.test("molt-lms-cli reports usage errors and an unreachable orchestrator", async (t) => {
  await t.step("missing orchestrator URL: exit 2", async () => {
    const run = await cli(["status"]);
    expectExit(run, 2);
    assert(run.stderr.includes("no orchestrator URL given"), run.stderr);
    assert(run.stderr.includes("CLI_ORCHESTRATOR_URL"), run.stderr);
  });
  await t.step("unknown command: exit 2", async () => {
    const run = await cli(["shadow", "rapport", "--orchestrator-url", "http://localhost:1"]);
    expectExit(run, 2);
    assert(run.stderr.includes('unknown command "rapport"'), run.stderr);
  });
  await t.step("--help: exit 0 with the exit codes", async () => {
    const run = await cli(["cutover", "consistent", "begin", "--help"]);
    expectExit(run, 0);
    assert(run.stdout.includes("--drain-timeout") && run.stdout.includes("Exit codes:"));
  });
  await t.step("nothing listening: exit 3 naming the URL", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const target = `http://127.0.0.1:${port}`;
    const run = await cli(["status", "--orchestrator-url", target]);
    expectExit(run, 3);
    assert(run.stderr.includes(`cannot reach the orchestrator at ${target}`), run.stderr);
    assert(run.stderr.includes("--orchestrator-url") && run.stderr.includes("port-forward"));
    const json = await cli(["status", "--output", "json", "--orchestrator-url", target]);
    expectExit(json, 3);
    assertEquals(JSON.parse(json.stdout).error.code, "ORCHESTRATOR_UNREACHABLE");
  });
});

Deno.test("molt-lms-cli against an orchestrator that requires a client certificate", async (t) => {
  const certs = await makeCerts();
  const fake = await FakeOrchestrator.start({
    cert: certs.serverCert,
    key: certs.serverKey,
    clientCa: certs.caCert,
  });
  fake.respond(API_PATHS.status, { status: 200, body: statusFixture() });
  const url = ["--orchestrator-url", fake.url];
  try {
    const client = await certs.client("lms_cli");
    await t.step("with a client certificate from the env: exit 0", async () => {
      const run = await cli(["status"], {
        CLI_ORCHESTRATOR_URL: fake.url,
        CLI_TLS_CA_CERT: certs.caCert,
        CLI_TLS_CLIENT_CERT: client.cert,
        CLI_TLS_CLIENT_KEY: client.key,
      });
      expectExit(run, 0);
      assert(/^Source of truth\s+source$/m.test(run.stdout), run.stdout);
    });
    await t.step("without a client certificate: exit 4 with the certificate hint", async () => {
      const run = await cli(["status", ...url, "--tls-ca-cert", certs.caCert]);
      expectExit(run, 4);
      // Depending on when the server's CertificateRequired alert lands, rustls reports either
      // the alert or a reset; the CLI names the client certificate both ways.
      assert(
        /requires a client certificate|client certificate refused/.test(run.stderr),
        run.stderr,
      );
      assert(run.stderr.includes("--tls-client-cert"), run.stderr);
      assert(run.stderr.includes("--tls-client-key"), run.stderr);
    });
    await t.step("with a certificate from another CA: exit 4", async () => {
      const other = await certs.otherCa("lms_cli");
      const run = await cli([
        "status",
        ...url,
        "--tls-ca-cert",
        certs.caCert,
        "--tls-client-cert",
        other.clientCert,
        "--tls-client-key",
        other.clientKey,
      ]);
      expectExit(run, 4);
      assert(run.stderr.includes("--tls-client-cert"), run.stderr);
    });
    await t.step(
      "without the CA: the orchestrator's certificate is not trusted, exit 4",
      async () => {
        const run = await cli([
          "status",
          ...url,
          "--tls-client-cert",
          client.cert,
          "--tls-client-key",
          client.key,
        ]);
        expectExit(run, 4);
        assert(run.stderr.includes("not trusted"), run.stderr);
        assert(run.stderr.includes("--tls-ca-cert"), run.stderr);
      },
    );
    await t.step("a missing certificate file: exit 4 naming the flag", async () => {
      const run = await cli(["status", ...url, "--tls-ca-cert", `${certs.dir}/missing.crt`]);
      expectExit(run, 4);
      assert(run.stderr.includes("--tls-ca-cert: CA certificate file"), run.stderr);
      assert(run.stderr.includes("does not exist"), run.stderr);
    });
    assertEquals(fake.requestsTo(API_PATHS.status).length, 1, "only the mTLS run got through");
  } finally {
    await fake.close();
    await certs.cleanup();
  }
});
