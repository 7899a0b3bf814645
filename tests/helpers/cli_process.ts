/**
 * Runs the real `molt-lms-cli` as a subprocess (`deno run cli/main.ts`), with
 * an environment cleared of the caller's `CLI_*` variables.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PASSED_ENV = ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"];

/** The outcome of one CLI run. */
export interface CliRun {
  /** Exit status. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** The `deno run` invocation of `deno task cli`, isolated from the caller's `CLI_*` variables. */
export function cliCommand(args: string[], env: Record<string, string> = {}): Deno.Command {
  const base: Record<string, string> = { NO_COLOR: "1" };
  for (const name of PASSED_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "cli/main.ts", ...args],
    cwd: REPO,
    clearEnv: true,
    env: { ...base, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs the CLI to completion with `args` and only `env` besides the basics. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const out = await cliCommand(args, env).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Fails with the run's output when it did not exit with `code`. */
export function expectExit(run: CliRun, code: number): void {
  if (run.code !== code) {
    throw new Error(
      `exit ${run.code}, expected ${code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
  }
}
