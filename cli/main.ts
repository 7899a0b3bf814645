/**
 * `molt-lms-cli` entry point: parses the command line, runs the command
 * against the orchestrator and exits with a documented status
 * (see `exit_codes.ts`).
 *
 * @module
 */

import { LmsError } from "../shared/errors.ts";
import { redactSecrets } from "../shared/log.ts";
import { parseInvocation } from "./args.ts";
import { type Command, PROGRAM } from "./command_tree.ts";
import type { EnvReader, GlobalOptions } from "./global_options.ts";
import { runConnectionsList } from "./commands/connections_list.ts";
import { runCutoverConsistent } from "./commands/cutover_consistent.ts";
import { runCutoverImmediate } from "./commands/cutover_immediate.ts";
import { runInitialize } from "./commands/initialize.ts";
import { runShadowReport } from "./commands/shadow_report.ts";
import { runStatus } from "./commands/status.ts";
import { ExitCode, exitCodeFor, type ExitCodeValue } from "./exit_codes.ts";
import { type ApiClient, createApiClient, OrchestratorRefusal } from "./http.ts";
import { denoIo, formatJson, type Io } from "./output.ts";

function dispatch(
  client: ApiClient,
  command: Command,
  options: GlobalOptions,
  io: Io,
): Promise<ExitCodeValue> {
  switch (command.name) {
    case "initialize":
      return runInitialize(client, options, io);
    case "connections list":
      return runConnectionsList(client, command.redact, options, io);
    case "cutover consistent begin":
    case "cutover consistent commit":
    case "cutover consistent abort":
      return runCutoverConsistent(client, command, options, io);
    case "cutover immediate":
      return runCutoverImmediate(client, command, options, io);
    case "shadow report":
      return runShadowReport(client, command, options, io);
    case "status":
      return runStatus(client, options, io);
  }
}

/** The JSON printed on stdout for a failure under `--output json`: the API's own body when there is one. */
export function errorJson(err: unknown): unknown {
  if (err instanceof OrchestratorRefusal) return err.body;
  if (err instanceof LmsError) {
    return { error: { code: err.code, message: err.message, hint: err.hint } };
  }
  return { error: { code: "INTERNAL", message: String(err), hint: "" } };
}

function report(err: unknown, io: Io): void {
  const message = err instanceof Error ? err.message : String(err);
  let text = `${PROGRAM}: error: ${redactSecrets(message)}\n`;
  if (err instanceof LmsError && err.hint) text += `  hint: ${redactSecrets(err.hint)}\n`;
  io.err(text);
}

/**
 * Runs the CLI and returns its exit status.
 *
 * @param argv arguments after the program name
 * @param env environment lookup for the `CLI_*` fallbacks
 * @param io where output goes
 */
export async function main(argv: string[], env: EnvReader, io: Io): Promise<ExitCodeValue> {
  let invocation;
  try {
    invocation = parseInvocation(argv, env);
  } catch (err) {
    report(err, io);
    return exitCodeFor(err);
  }
  if (invocation.kind === "help") {
    io.out(invocation.text);
    return ExitCode.OK;
  }
  const { command, options } = invocation;
  let wroteOut = false;
  const tracked: Io = {
    ...io,
    out: (text) => {
      wroteOut = true;
      io.out(text);
    },
  };
  let client: ApiClient | undefined;
  const stopWatching = command.name === "cutover consistent begin" && command.wait
    ? onInterrupt(io)
    : undefined;
  try {
    client = await createApiClient(options);
    return await dispatch(client, command, options, tracked);
  } catch (err) {
    report(err, io);
    // One JSON document per run: a command that already printed its result keeps it.
    if (options.output === "json" && !wroteOut) io.out(formatJson(errorJson(err)));
    return exitCodeFor(err);
  } finally {
    stopWatching?.();
    client?.close();
  }
}

/**
 * Ctrl-C while `begin` waits only stops the watching: the orchestrator keeps
 * the fleet paused, and the operator must know that before walking away.
 */
function onInterrupt(io: Io): () => void {
  const handler = () => {
    io.err(
      `\n${PROGRAM}: stopped watching; the cutover continues and the fleet stays paused\n` +
        `  hint: run \`${PROGRAM} status\` to follow it, then \`${PROGRAM} cutover consistent ` +
        "commit` or `abort`\n",
    );
    Deno.exit(ExitCode.INTERRUPTED);
  };
  Deno.addSignalListener("SIGINT", handler);
  return () => Deno.removeSignalListener("SIGINT", handler);
}

if (import.meta.main) {
  const env: EnvReader = (name) => Deno.env.get(name) || undefined;
  Deno.exit(await main(Deno.args, env, denoIo()));
}
