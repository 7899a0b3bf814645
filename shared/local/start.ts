/**
 * `deno task start`: the whole LMS on one machine. Starts embedded databases
 * for whichever of `INIT_SOURCE` / `INIT_TARGET` is not configured (the
 * source: PostgreSQL, or MariaDB with `--source-dialect mysql`; the target:
 * PostgreSQL standing in for CockroachDB), then the orchestrator and the
 * proxies as child processes, initialises the state store, and prints how to
 * connect (`psql …` or `mariadb …`). Ctrl-C stops everything and removes the
 * embedded databases.
 *
 * The orchestrator runs without mTLS here, so changes need an API token: the
 * one in `LMS_API_TOKEN`, else a random one generated for this run. A
 * generated token is written to a file only the user can read (removed on
 * stop), and the banner says how to hand it to the CLI; it is never printed.
 *
 * Flags besides the common ones (see `--help`): `--proxies N` (default 1;
 * proxy i listens on the listen port + 2i, metrics on the metrics port + 2i)
 * and `--orchestrator-port P` (default 4200; its metrics on P + 1).
 *
 * The proxies listen on 127.0.0.1 unless `--listen` says otherwise: the
 * embedded databases trust every local login. Every port is checked before
 * anything starts, and the orchestrator is asked for the id this run gave it
 * before anything is sent to it, so a second `deno task start` fails at once
 * naming the busy port and never initialises another run's orchestrator.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ApiErrorBodySchema, ORCHESTRATOR_ID_HEADER } from "../api.ts";
import { ConfigError, configHelp, loadConfig, wantsHelp } from "../config.ts";
import { describeConnection, parseConnectionString } from "../connstring.ts";
import { errorMessage, LmsError } from "../errors.ts";
import { createLogger } from "../log.ts";
import {
  checkEmbeddedSource,
  connectCommand,
  type EmbeddedDatabase,
  startEmbeddedSource,
  startEmbeddedTarget,
} from "./embedded_source.ts";
import { assertPortsFree, type PortUse, waitForPort } from "./ports.ts";
import { runArgs } from "./compile.ts";
import { join } from "node:path";

const log = createLogger("start");
const root = new URL("../../", import.meta.url).pathname;

const OWN_FLAGS = new Set(["proxies", "orchestrator-port"]);

function splitArgs(
  args: string[],
): { proxies: number; orchestratorPort: number; rest: string[] } {
  const { values, tokens } = parseArgs({
    args,
    options: { proxies: { type: "string" }, "orchestrator-port": { type: "string" } },
    strict: false,
    tokens: true,
  });
  const rest: string[] = [];
  let skip = -1;
  for (const t of tokens ?? []) {
    if (t.kind === "option" && OWN_FLAGS.has(t.name)) {
      skip = t.inlineValue ? -1 : t.index + 1;
      continue;
    }
    if (t.index === skip) continue;
    if (t.kind === "option") {
      rest.push(t.rawName);
      if (t.value !== undefined && !t.inlineValue) rest.push(t.value);
      else if (t.value !== undefined) rest[rest.length - 1] = `${t.rawName}=${t.value}`;
    } else if (t.kind === "positional") rest.push(t.value);
  }
  const proxies = Number(values.proxies ?? "1");
  if (!Number.isInteger(proxies) || proxies < 1 || proxies > 16) {
    throw new ConfigError([{ key: "--proxies", message: "must be a whole number from 1 to 16" }]);
  }
  const orchestratorPort = Number(values["orchestrator-port"] ?? "4200");
  if (!Number.isInteger(orchestratorPort) || orchestratorPort < 1 || orchestratorPort > 65534) {
    throw new ConfigError([
      { key: "--orchestrator-port", message: "must be a port number from 1 to 65534" },
    ]);
  }
  return { proxies, orchestratorPort, rest };
}

function spawn(binary: string, env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: runArgs(binary, root),
    env,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
}

/** Refuses to go on unless the orchestrator at `url` is the one this run started. */
async function checkOrchestratorId(url: string, expected: string): Promise<void> {
  const res = await fetch(`${url}/api/v1/status`);
  await res.body?.cancel();
  const id = res.headers.get(ORCHESTRATOR_ID_HEADER);
  if (id === expected) return;
  throw new LmsError(
    "LOCAL_DATABASE_FAILED",
    `${url} is answered by ${id ? `another orchestrator (id ${id})` : "another program"}, ` +
      "not the one this run started",
    "stop the other LMS run, or choose a free port with --orchestrator-port",
  );
}

/** An API error answer as a typed error, its fields kept apart. */
async function apiFailure(what: string, res: Response): Promise<LmsError> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = ApiErrorBodySchema.safeParse(body);
  return parsed.success
    ? new LmsError(
      "ORCHESTRATOR_REFUSED",
      `${what} failed: ${parsed.data.error.code}: ${parsed.data.error.message}`,
      parsed.data.error.hint,
    )
    : new LmsError(
      "ORCHESTRATOR_BAD_RESPONSE",
      `${what} failed with HTTP ${res.status}: ${text.slice(0, 200)}`,
    );
}

/**
 * Waits for `what` to listen on `host:port`; fails as soon as any child exits
 * (a process that refused its config must not leave the banner waiting 30 s).
 */
async function listening(
  what: string,
  host: string,
  port: number,
  children: Deno.ChildProcess[],
): Promise<void> {
  const up = waitForPort(host, port, 30_000);
  up.catch(() => {});
  const exited = Promise.race(children.map((c) => c.status)).then((s) => {
    throw new Error(`a process exited with code ${s.code} before ${what} listened on ${port}`);
  });
  exited.catch(() => {});
  await Promise.race([up, exited]);
}

async function main(): Promise<void> {
  if (wantsHelp(Deno.args)) {
    console.log(configHelp("start"));
    console.log("  --proxies N            number of proxies to start (default 1)");
    console.log("  --orchestrator-port P  orchestrator API port, metrics on P+1 (default 4200)");
    return;
  }
  const { proxies, orchestratorPort, rest } = splitArgs(Deno.args);
  const env = Deno.env.toObject();
  const config = loadConfig("start", { args: rest, env });
  if (!config.source) await checkEmbeddedSource(config.sourceDialect);
  const databases: EmbeddedDatabase[] = [];
  const children: Deno.ChildProcess[] = [];
  const token = config.apiToken === undefined ? await generateToken() : undefined;
  const apiToken = config.apiToken ?? token!.value;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // Ctrl-C in a terminal reaches the children too. Telling them at once as well keeps
    // both signals within the children's repeat window (shared/signals.ts), so neither
    // counts as a second "stop without waiting".
    const exited = Promise.allSettled(children.map((c) => c.status));
    for (const c of children) {
      try {
        c.kill("SIGTERM");
      } catch {
        // already exited
      }
    }
    await exited;
    await Promise.allSettled(databases.map((d) => d.stop()));
    if (token) await Deno.remove(token.dir, { recursive: true }).catch(() => {});
    Deno.exit(code);
  };
  Deno.addSignalListener("SIGINT", () => stop(0));
  Deno.addSignalListener("SIGTERM", () => stop(0));
  const ports: PortUse[] = [
    {
      hostname: "127.0.0.1",
      port: orchestratorPort,
      what: "orchestrator API (--orchestrator-port)",
    },
    { hostname: "127.0.0.1", port: orchestratorPort + 1, what: "orchestrator metrics" },
  ];
  for (let i = 0; i < proxies; i++) {
    const n = proxies > 1 ? ` ${i + 1}` : "";
    ports.push(
      { ...config.listen, port: config.listen.port + 2 * i, what: `proxy${n} SQL (--listen)` },
      {
        ...config.metricsListen,
        port: config.metricsListen.port + 2 * i,
        what: `proxy${n} metrics (--metrics-listen)`,
      },
    );
  }
  assertPortsFree(ports);
  const orchestratorId = `local-orchestrator-${crypto.randomUUID().slice(0, 8)}`;
  try {
    // Side by side: each embedded database takes seconds to initialise.
    const [embeddedSource, embeddedTarget] = await Promise.allSettled([
      config.source ? undefined : startEmbeddedSource(config.sourceDialect),
      config.target ? undefined : startEmbeddedTarget(),
    ]);
    for (const started of [embeddedSource, embeddedTarget]) {
      if (started.status === "fulfilled" && started.value) databases.push(started.value);
    }
    for (const started of [embeddedSource, embeddedTarget]) {
      if (started.status === "rejected") throw started.reason;
    }
    const source = embeddedSource.status === "fulfilled" ? embeddedSource.value?.url : undefined;
    const target = embeddedTarget.status === "fulfilled" ? embeddedTarget.value?.url : undefined;
    if (source) log.info("started embedded source database", { url: source });
    if (target) log.info("started embedded target database", { url: target });
    const host = config.listen.hostname === "0.0.0.0" ? "127.0.0.1" : config.listen.hostname;
    // Configured connection strings reach the children as they reached this process
    // (environment or config.json); only the embedded ones are added.
    const common: Record<string, string> = {
      ...env,
      LMS_SOURCE_DIALECT: config.sourceDialect,
      LMS_SHADOW_MODE: config.shadowMode,
      LMS_API_TOKEN: apiToken,
    };
    if (source) common.INIT_SOURCE = source;
    if (target) common.INIT_TARGET = target;
    const orchestratorUrl = `http://127.0.0.1:${orchestratorPort}`;
    children.push(spawn("molt-lms-orchestrator", {
      ...common,
      LMS_LISTEN: `127.0.0.1:${orchestratorPort}`,
      LMS_METRICS_LISTEN: `127.0.0.1:${orchestratorPort + 1}`,
      LMS_PROXY_ID: orchestratorId,
    }));
    await listening("orchestrator", "127.0.0.1", orchestratorPort, children);
    await checkOrchestratorId(orchestratorUrl, orchestratorId);
    const init = await fetch(`${orchestratorUrl}/api/v1/initialize`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiToken}` },
    });
    if (!init.ok) throw await apiFailure("initialize", init);
    await init.body?.cancel();
    for (let i = 0; i < proxies; i++) {
      children.push(spawn("molt-lms", {
        ...common,
        LMS_LISTEN: `${config.listen.hostname}:${config.listen.port + 2 * i}`,
        LMS_METRICS_LISTEN: `${config.metricsListen.hostname}:${config.metricsListen.port + 2 * i}`,
        LMS_ORCHESTRATOR_URL: orchestratorUrl,
        LMS_PROXY_ID: `local-proxy-${i + 1}`,
      }));
    }
    for (let i = 0; i < proxies; i++) {
      await listening(`proxy ${i + 1}`, host, config.listen.port + 2 * i, children);
    }
    const sourceSpec = config.source ?? parseConnectionString(source ?? "", "INIT_SOURCE");
    console.log([
      "",
      "LMS is running.",
      `  source:        ${config.source ? describeConnection(config.source) : source}`,
      `  target:        ${config.target ? describeConnection(config.target) : target}`,
      `  connect:       ${connectCommand(sourceSpec, host, config.listen.port)}`,
      ...(sourceSpec.dialect === "mysql" ? ["                 (mysql takes the same flags)"] : []),
      `  metrics:       http://${host}:${config.metricsListen.port}/metrics`,
      `  orchestrator:  deno task cli status --orchestrator-url ${orchestratorUrl}`,
      `  api token:     export CLI_API_TOKEN="${
        token ? `$(cat ${token.file})` : "$LMS_API_TOKEN"
      }"   (cutover commands need it)`,
      "Press Ctrl-C to stop; embedded databases are removed.",
      "",
    ].join("\n"));
    const first = await Promise.race(children.map((c) => c.status));
    if (!stopping) {
      log.error("a child process exited; stopping LMS", { exitCode: first.code });
      await stop(1);
    }
  } catch (err) {
    log.error("could not start LMS", { error: err });
    await stop(1);
  }
}

/** A random token for this run, in a file only the user can read. */
async function generateToken(): Promise<{ value: string; dir: string; file: string }> {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const value = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const dir = await Deno.makeTempDir({ prefix: "lms-start-" });
  const file = join(dir, "api-token");
  await Deno.writeTextFile(file, value + "\n", { mode: 0o600 });
  return { value, dir, file };
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : errorMessage(err));
    Deno.exit(2);
  }
}
