import {
  deepStrictEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import { type Invocation, parseDuration, parseInvocation } from "../../cli/args.ts";
import { type Command, DEFAULT_DRAIN_TIMEOUT_MS } from "../../cli/command_tree.ts";
import type { EnvReader, GlobalOptions } from "../../cli/global_options.ts";
import { helpText } from "../../cli/help.ts";
import { LmsError } from "../../shared/errors.ts";
import { ExitCode, exitCodeFor } from "../../cli/exit_codes.ts";

const URL_FLAG = ["--orchestrator-url", "https://orch:4200"];
const noEnv: EnvReader = () => undefined;
const envOf = (vars: Record<string, string>): EnvReader => (name) => vars[name] || undefined;

function run(argv: string[], env: EnvReader = noEnv): { command: Command; options: GlobalOptions } {
  const inv: Invocation = parseInvocation(argv, env);
  if (inv.kind !== "run") throw new Error(`expected a command, got help`);
  return inv;
}

function usageError(argv: string[], env: EnvReader = noEnv): LmsError {
  let caught: unknown;
  try {
    parseInvocation(argv, env);
  } catch (err) {
    caught = err;
  }
  assert(caught instanceof LmsError, `expected a usage error for ${argv.join(" ")}`);
  assertEquals(caught.code, "CLI_USAGE");
  assertEquals(exitCodeFor(caught), ExitCode.USAGE);
  return caught;
}

Deno.test("every command parses with its defaults", () => {
  const cases: [string[], Command][] = [
    [["initialize"], { name: "initialize" }],
    [["connections", "list"], { name: "connections list", redact: false }],
    [["cutover", "consistent", "begin"], {
      name: "cutover consistent begin",
      drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
      wait: true,
      force: false,
      allowMissingProxies: false,
    }],
    [["cutover", "consistent", "commit"], {
      name: "cutover consistent commit",
      skipReplicationCheck: false,
      allowMissingProxies: false,
    }],
    [["cutover", "consistent", "abort"], { name: "cutover consistent abort" }],
    [["cutover", "immediate"], {
      name: "cutover immediate",
      force: false,
      allowMissingProxies: false,
    }],
    [["status"], { name: "status" }],
  ];
  for (const [argv, expected] of cases) {
    const { command, options } = run([...argv, ...URL_FLAG]);
    assertEquals(command, expected);
    assertEquals(options.output, "table");
    assertEquals(options.orchestratorUrl.href, "https://orch:4200/");
  }
});

Deno.test("command flags", async (t) => {
  await t.step("connections list --redact", () => {
    assertEquals(run(["connections", "list", "--redact", ...URL_FLAG]).command, {
      name: "connections list",
      redact: true,
    });
  });
  await t.step("begin --drain-timeout --cancel-after --no-wait", () => {
    const argv = [
      "cutover",
      "consistent",
      "begin",
      "--drain-timeout",
      "2m",
      "--cancel-after=1m30s",
      "--no-wait",
    ];
    assertEquals(run([...argv, ...URL_FLAG]).command, {
      name: "cutover consistent begin",
      drainTimeoutMs: 120_000,
      cancelAfterMs: 90_000,
      wait: false,
      force: false,
      allowMissingProxies: false,
    });
  });
  await t.step("begin and immediate --to --force --allow-missing-proxies", () => {
    assertEquals(
      run(["cutover", "consistent", "begin", "--to", "source", "--force", ...URL_FLAG]).command,
      {
        name: "cutover consistent begin",
        drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
        wait: true,
        force: true,
        allowMissingProxies: false,
        to: "source",
      },
    );
    assertEquals(
      run([
        "cutover",
        "immediate",
        "--to=target",
        "--force",
        "--allow-missing-proxies",
        ...URL_FLAG,
      ])
        .command,
      { name: "cutover immediate", force: true, allowMissingProxies: true, to: "target" },
    );
  });
  await t.step("commit --to --skip-replication-check", () => {
    assertEquals(
      run([
        "cutover",
        "consistent",
        "commit",
        "--to",
        "target",
        "--skip-replication-check",
        "--allow-missing-proxies",
        ...URL_FLAG,
      ]).command,
      {
        name: "cutover consistent commit",
        to: "target",
        skipReplicationCheck: true,
        allowMissingProxies: true,
      },
    );
  });
  await t.step("--to names a database; the old --require-caught-up is gone", () => {
    const bad = usageError(["cutover", "immediate", "--to", "cockroach", ...URL_FLAG]);
    assert(bad.message.includes("--to must be source or target"), bad.message);
    usageError(["cutover", "consistent", "commit", "--require-caught-up", ...URL_FLAG]);
    usageError(["cutover", "consistent", "abort", "--force", ...URL_FLAG]);
  });
  await t.step("--api-token, else CLI_API_TOKEN", () => {
    const token = "0123456789abcdef0123";
    assertEquals(run(["status", "--api-token", token, ...URL_FLAG]).options.apiToken, token);
    const env = (name: string) => name === "CLI_API_TOKEN" ? token : undefined;
    assertEquals(parseInvocation(["status", ...URL_FLAG], env), {
      kind: "run",
      command: { name: "status" },
      options: {
        orchestratorUrl: new URL("https://orch:4200"),
        tlsCaCert: undefined,
        tlsClientCert: undefined,
        tlsClientKey: undefined,
        apiToken: token,
        output: "table",
      },
    });
    usageError(["status", "--api-token", "", ...URL_FLAG]);
  });
  await t.step("flags may come before the command", () => {
    const { command, options } = run([...URL_FLAG, "--output", "json", "status"]);
    assertEquals(command, { name: "status" });
    assertEquals(options.output, "json");
  });
});

Deno.test("global flags and their environment fallbacks", async (t) => {
  const files = {
    CLI_TLS_CA_CERT: "/env/ca.crt",
    CLI_TLS_CLIENT_CERT: "/env/client.crt",
    CLI_TLS_CLIENT_KEY: "/env/client.key",
  };
  await t.step("environment only", () => {
    const { options } = run(
      ["status"],
      envOf({ CLI_ORCHESTRATOR_URL: "https://from-env:4200", ...files }),
    );
    assertEquals(options.orchestratorUrl.host, "from-env:4200");
    assertEquals(options.tlsCaCert, { path: "/env/ca.crt", source: "CLI_TLS_CA_CERT" });
    assertEquals(options.tlsClientCert, {
      path: "/env/client.crt",
      source: "CLI_TLS_CLIENT_CERT",
    });
    assertEquals(options.tlsClientKey, { path: "/env/client.key", source: "CLI_TLS_CLIENT_KEY" });
  });
  await t.step("flags win over the environment", () => {
    const { options } = run(
      [
        "status",
        "--orchestrator-url",
        "https://from-flag:4200",
        "--tls-ca-cert",
        "/flag/ca.crt",
        "--tls-client-cert",
        "/flag/c.crt",
        "--tls-client-key",
        "/flag/c.key",
      ],
      envOf({ CLI_ORCHESTRATOR_URL: "https://from-env:4200", ...files }),
    );
    assertEquals(options.orchestratorUrl.host, "from-flag:4200");
    assertEquals(options.tlsCaCert, { path: "/flag/ca.crt", source: "--tls-ca-cert" });
    assertEquals(options.tlsClientCert, { path: "/flag/c.crt", source: "--tls-client-cert" });
    assertEquals(options.tlsClientKey, { path: "/flag/c.key", source: "--tls-client-key" });
  });
  await t.step("empty environment values count as unset", () => {
    const { options } = run(["status", ...URL_FLAG], envOf({ CLI_TLS_CA_CERT: "" }));
    assertEquals(options.tlsCaCert, undefined);
  });
  await t.step("--output json on every command", () => {
    for (const argv of [["initialize"], ["connections", "list"], ["cutover", "immediate"]]) {
      assertEquals(run([...argv, "--output", "json", ...URL_FLAG]).options.output, "json");
    }
  });
});

Deno.test("usage errors exit 2 with a message that says what to do", async (t) => {
  await t.step("missing orchestrator URL", () => {
    const err = usageError(["status"]);
    assert(err.message.includes("no orchestrator URL"));
    assert(err.hint.includes("--orchestrator-url") && err.hint.includes("CLI_ORCHESTRATOR_URL"));
  });
  await t.step("unknown command", () => {
    const err = usageError(["frobnicate", ...URL_FLAG]);
    assert(err.message.includes('unknown command "frobnicate"'), err.message);
    assert(err.message.includes("initialize, connections, cutover, shadow, status"), err.message);
  });
  await t.step("unknown subcommand", () => {
    const err = usageError(["cutover", "consistent", "rollback", ...URL_FLAG]);
    assert(err.message.includes("begin, commit, abort"), err.message);
    assert(err.hint.includes("molt-lms-cli cutover consistent --help"), err.hint);
  });
  await t.step("missing subcommand", () => {
    const err = usageError(["cutover", ...URL_FLAG]);
    assert(err.message.includes("needs a subcommand: consistent, immediate"), err.message);
  });
  await t.step("no command at all", () => {
    assert(usageError([]).message.includes("missing command"));
  });
  await t.step("unknown flag", () => {
    assert(usageError(["status", "--verbose", ...URL_FLAG]).message.includes("--verbose"));
  });
  await t.step("flag of another command", () => {
    const err = usageError(["status", "--redact", ...URL_FLAG]);
    assertEquals(err.message, "--redact is not a flag of `status`");
  });
  await t.step("extra argument", () => {
    usageError(["status", "now", ...URL_FLAG]);
  });
  await t.step("flag without its value", () => {
    assert(usageError(["status", "--orchestrator-url"]).message.includes("needs a value"));
  });
  await t.step("bad --output", () => {
    assert(usageError(["status", "--output", "yaml", ...URL_FLAG]).message.includes("yaml"));
  });
  await t.step("bad durations", () => {
    for (const value of ["30", "abc", "10x", "0s", ""]) {
      usageError(["cutover", "consistent", "begin", "--drain-timeout", value, ...URL_FLAG]);
    }
    usageError(["cutover", "consistent", "begin", "--cancel-after", "0ms", ...URL_FLAG]);
  });
  await t.step("bad URLs", () => {
    assert(usageError(["status", "--orchestrator-url", "orch:4200"]).message.includes("http"));
    usageError(["status", "--orchestrator-url", "not a url"]);
    const creds = usageError(["status", "--orchestrator-url", "https://u:secret@orch:4200"]);
    assert(!creds.message.includes("secret") && !creds.hint.includes("secret"));
  });
  await t.step("client certificate without key", () => {
    const err = usageError(["status", ...URL_FLAG, "--tls-client-cert", "/c.crt"]);
    assert(err.message.includes("--tls-client-cert"), err.message);
    assert(err.hint.includes("--tls-client-key"), err.hint);
  });
  await t.step("TLS files with an http URL", () => {
    const err = usageError(
      ["status", "--orchestrator-url", "http://orch:4200"],
      envOf({ CLI_TLS_CA_CERT: "/ca.crt" }),
    );
    assert(err.message.includes("CLI_TLS_CA_CERT"), err.message);
  });
});

Deno.test("--help on every level, without an orchestrator URL", () => {
  const levels = [
    [],
    ["connections"],
    ["connections", "list"],
    ["cutover"],
    ["cutover", "consistent"],
    ["cutover", "consistent", "begin"],
    ["cutover", "consistent", "commit"],
    ["cutover", "consistent", "abort"],
    ["cutover", "immediate"],
    ["initialize"],
    ["status"],
  ];
  for (const path of levels) {
    for (const flag of ["--help", "-h"]) {
      const inv = parseInvocation([...path, flag], noEnv);
      assertEquals(inv, { kind: "help", text: helpText(path) });
    }
    const text = helpText(path);
    assert(text.startsWith(["molt-lms-cli", ...path].join(" ") + " - "), text);
    for (const global of ["--orchestrator-url", "CLI_ORCHESTRATOR_URL", "--tls-ca-cert"]) {
      assert(text.includes(global), `${path.join(" ")} help lacks ${global}`);
    }
    assert(text.includes("--output table|json"));
    for (const line of text.split("\n")) assert(line.length <= 100, `too long: ${line}`);
  }
  const root = helpText([]);
  assert(root.includes("Exit codes:") && /^ +5 +drain timeout/m.test(root), root);
  assert(/^ +130 +interrupted/m.test(root), root);
  const begin = helpText(["cutover", "consistent", "begin"]);
  for (const flag of ["--drain-timeout", "--cancel-after", "--no-wait", "default: 30s"]) {
    assert(begin.includes(flag), `begin help lacks ${flag}`);
  }
  assert(helpText(["connections", "list"]).includes("--redact"));
  assert(helpText(["cutover", "consistent", "commit"]).includes("--skip-replication-check"));
  assert(helpText(["cutover", "immediate"]).includes("--to source|target"));
  assert(helpText(["status"]).includes("CLI_API_TOKEN"));
  assert(helpText(["cutover", "consistent"]).includes("begin"));
  assert(!helpText(["status"]).includes("--redact"));
});

Deno.test("parseDuration", () => {
  assertEquals(parseDuration("500ms", "--x"), 500);
  assertEquals(parseDuration("30s", "--x"), 30_000);
  assertEquals(parseDuration("1.5s", "--x"), 1_500);
  assertEquals(parseDuration("2m", "--x"), 120_000);
  assertEquals(parseDuration("1h", "--x"), 3_600_000);
  assertEquals(parseDuration("1m30s", "--x"), 90_000);
  assertThrows(
    () => parseDuration("30", "--drain-timeout"),
    (err: unknown) => err instanceof LmsError && err.message.includes("--drain-timeout"),
  );
});
