import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { join } from "node:path";
import type { GlobalOptions } from "../../cli/global_options.ts";
import { ExitCode, exitCodeFor } from "../../cli/exit_codes.ts";
import { classifyFetchError, createApiClient, OrchestratorRefusal } from "../../cli/http.ts";
import { errorJson } from "../../cli/main.ts";
import { API_PATHS, StatusResponseSchema } from "../../shared/api.ts";
import { LmsError } from "../../shared/errors.ts";
import { errorFixture, statusFixture } from "../helpers/api_fixtures.ts";

const ORCH = new URL("https://orch.example:4200");

/** A fetch failure shaped like Deno's: a TypeError whose cause carries the transport error. */
function fetchFailure(cause: string): TypeError {
  return new TypeError("fetch failed", { cause: new Error(cause) });
}

Deno.test("fetch failures map to what the operator should do", async (t) => {
  const cases: {
    name: string;
    err: unknown;
    code: string;
    exit: number;
    message: RegExp;
    hint: RegExp;
  }[] = [
    {
      name: "connection refused",
      err: fetchFailure(
        "error sending request for url (https://orch.example:4200/api/v1/status): client error " +
          "(Connect): tcp connect error: Connection refused (os error 111)",
      ),
      code: "ORCHESTRATOR_UNREACHABLE",
      exit: ExitCode.UNREACHABLE,
      message: /https:\/\/orch\.example:4200.*Connection refused/,
      hint: /--orchestrator-url.*port-forward/,
    },
    {
      name: "name not resolved",
      err: fetchFailure(
        "error sending request for url (https://orch.example:4200/): client error (Connect): " +
          "dns error: failed to lookup address information: Name or service not known",
      ),
      code: "ORCHESTRATOR_UNREACHABLE",
      exit: ExitCode.UNREACHABLE,
      message: /orch\.example:4200/,
      hint: /--orchestrator-url/,
    },
    {
      name: "timeout",
      err: new DOMException("Signal timed out.", "TimeoutError"),
      code: "ORCHESTRATOR_UNREACHABLE",
      exit: ExitCode.UNREACHABLE,
      message: /did not answer within 10s/,
      hint: /--orchestrator-url/,
    },
    {
      name: "client certificate required",
      err: fetchFailure("received fatal alert: CertificateRequired"),
      code: "ORCHESTRATOR_TLS_REJECTED",
      exit: ExitCode.TLS,
      message: /requires a client certificate/,
      hint: /--tls-client-cert and --tls-client-key/,
    },
    {
      name: "client certificate from another CA",
      err: fetchFailure(
        "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/",
      ),
      code: "ORCHESTRATOR_TLS_REJECTED",
      exit: ExitCode.TLS,
      message: /rejected the TLS connection/,
      hint: /--tls-client-cert.*CA_TLS_CERT/,
    },
    {
      name: "server certificate not trusted",
      err: fetchFailure(
        "error sending request for url (https://orch.example:4200/): client error (Connect): " +
          "invalid peer certificate: UnknownIssuer",
      ),
      code: "ORCHESTRATOR_TLS_REJECTED",
      exit: ExitCode.TLS,
      message: /not trusted \(UnknownIssuer\)/,
      hint: /--tls-ca-cert/,
    },
    {
      name: "https URL to a plain http server",
      err: fetchFailure(
        "client error (Connect): received corrupt message of type InvalidContentType",
      ),
      code: "ORCHESTRATOR_TLS_REJECTED",
      exit: ExitCode.TLS,
      message: /does not speak TLS/,
      hint: /http:\/\//,
    },
    {
      name: "http URL to a TLS server",
      err: fetchFailure("client error (SendRequest): invalid HTTP version parsed"),
      code: "ORCHESTRATOR_TLS_REJECTED",
      exit: ExitCode.TLS,
      message: /expects TLS/,
      hint: /https:\/\//,
    },
  ];
  await t.step("a command that timed out may still take effect", () => {
    const err = classifyFetchError(new DOMException("t", "TimeoutError"), ORCH, "POST");
    assertEquals(exitCodeFor(err), ExitCode.UNREACHABLE);
    assert(err.hint.includes("may still take effect") && err.hint.includes("status"), err.hint);
  });
  for (const c of cases) {
    await t.step(c.name, () => {
      const err = classifyFetchError(c.err, ORCH);
      assertEquals(err.code, c.code);
      assertEquals(exitCodeFor(err), c.exit);
      assert(c.message.test(err.message), err.message);
      assert(c.hint.test(err.hint), err.hint);
    });
  }
});

Deno.test("exit codes of every error kind", () => {
  const code = (c: ConstructorParameters<typeof LmsError>[0]) => exitCodeFor(new LmsError(c, "x"));
  assertEquals(code("CLI_USAGE"), 2);
  assertEquals(code("ORCHESTRATOR_UNREACHABLE"), 3);
  assertEquals(code("TLS_MATERIAL_INVALID"), 4);
  assertEquals(code("ORCHESTRATOR_TLS_REJECTED"), 4);
  assertEquals(code("DRAIN_TIMEOUT"), 5);
  assertEquals(code("ORCHESTRATOR_REFUSED"), 1);
  assertEquals(code("ORCHESTRATOR_BAD_RESPONSE"), 1);
  assertEquals(code("CUTOVER_INTERRUPTED"), 1);
  assertEquals(exitCodeFor(new Error("boom")), 1);
  assertEquals(
    exitCodeFor(new OrchestratorRefusal(409, errorFixture("NOT_DRAINED", "m", "h"))),
    ExitCode.FAILED,
  );
});

Deno.test("errorJson: the API's own body for refusals, the same shape otherwise", () => {
  const body = errorFixture("INVALID_PHASE", "no cutover in progress", "run begin first");
  assertEquals(errorJson(new OrchestratorRefusal(409, body)), body);
  assertEquals(errorJson(new LmsError("ORCHESTRATOR_UNREACHABLE", "down", "check it")), {
    error: { code: "ORCHESTRATOR_UNREACHABLE", message: "down", hint: "check it" },
  });
});

function optionsFor(url: string, extra: Partial<GlobalOptions> = {}): GlobalOptions {
  return { orchestratorUrl: new URL(url), output: "table", ...extra };
}

Deno.test("unusable TLS files fail before any request, naming the flag", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "cli-http-test-" });
  try {
    const notPem = join(dir, "not.pem");
    await Deno.writeTextFile(notPem, "hello");
    const check = async (extra: Partial<GlobalOptions>, message: RegExp) => {
      await rejects(createApiClient(optionsFor("https://localhost:1", extra)), (err: unknown) => {
        assert(err instanceof LmsError);
        assertEquals(err.code, "TLS_MATERIAL_INVALID");
        assertEquals(exitCodeFor(err), ExitCode.TLS);
        assert(message.test(err.message), err.message);
        return true;
      });
    };
    await t.step("missing CA file", () =>
      check(
        { tlsCaCert: { path: join(dir, "nope.crt"), source: "--tls-ca-cert" } },
        /^--tls-ca-cert: CA certificate file .*nope\.crt does not exist/,
      ));
    await t.step("CA file that is not PEM", () =>
      check(
        { tlsCaCert: { path: notPem, source: "CLI_TLS_CA_CERT" } },
        /^CLI_TLS_CA_CERT: .*not\.pem does not contain a PEM CA certificate/,
      ));
    await t.step("client certificate that is not PEM", () =>
      check(
        {
          tlsClientCert: { path: notPem, source: "--tls-client-cert" },
          tlsClientKey: { path: notPem, source: "--tls-client-key" },
        },
        /^--tls-client-cert: .* does not contain a PEM certificate/,
      ));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("answers: validated bodies, API errors, foreign servers", async (t) => {
  let reply: () => Response = () => new Response("{}");
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push(new URL(req.url).pathname);
    return reply();
  });
  const client = await createApiClient(optionsFor(`http://127.0.0.1:${server.addr.port}/lms/`));
  try {
    await t.step(
      "a valid body is returned with its raw JSON; a URL path prefix is kept",
      async () => {
        const status = statusFixture();
        reply = () => Response.json(status);
        const res = await client.get(API_PATHS.status, StatusResponseSchema);
        assertEquals(res.data, status);
        assertEquals(res.raw, status);
        assertEquals(seen.at(-1), "/lms/api/v1/status");
      },
    );
    await t.step("an API error body becomes a refusal with message and hint", async () => {
      const body = errorFixture("NOT_DRAINED", "proxy-b has not drained", "wait or abort");
      reply = () => Response.json(body, { status: 409 });
      await rejects(client.post(API_PATHS.consistentCommit, {}, StatusResponseSchema), (err) => {
        assert(err instanceof OrchestratorRefusal);
        assertEquals(err.status, 409);
        assertEquals(err.body, body);
        assertEquals(err.message, "NOT_DRAINED: proxy-b has not drained");
        assertEquals(err.hint, "wait or abort");
        return true;
      });
    });
    await t.step("a body that does not match the schema is reported", async () => {
      reply = () => Response.json({ epoch: "three" });
      await rejects(client.get(API_PATHS.status, StatusResponseSchema), (err) => {
        assert(err instanceof LmsError);
        assertEquals(err.code, "ORCHESTRATOR_BAD_RESPONSE");
        assert(err.message.includes("GET /lms/api/v1/status"), err.message);
        return true;
      });
    });
    await t.step("a non-API error page names the HTTP status", async () => {
      reply = () => new Response("<html>bad gateway</html>", { status: 502 });
      await rejects(client.get(API_PATHS.status, StatusResponseSchema), (err) => {
        assert(err instanceof LmsError);
        assertEquals(err.code, "ORCHESTRATOR_REFUSED");
        assert(err.message.includes("HTTP 502"), err.message);
        assertEquals(exitCodeFor(err), ExitCode.FAILED);
        return true;
      });
    });
  } finally {
    client.close();
    await server.shutdown();
  }
});
