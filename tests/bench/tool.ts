/**
 * Running the load generators (pgbench, sysbench) the benchmarks drive.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";

/** What a tool printed and how it exited. */
export interface ToolOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `program` with `args` in exactly `env` (nothing inherited) and
 * collects its output.
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` when `program` is not installed, with `installHint`.
 */
export async function runTool(
  program: string,
  args: string[],
  env: Record<string, string>,
  installHint: string,
): Promise<ToolOutput> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(program, {
      args,
      clearEnv: true,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new LmsError("TOOL_UNAVAILABLE", `${program} is not installed`, installHint);
    }
    throw err;
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
