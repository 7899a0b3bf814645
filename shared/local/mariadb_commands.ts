/**
 * Running the MariaDB tools (`mariadb`, `mariadb-install-db`) for a throwaway
 * server: no inherited environment, a bounded run time, and a clear error
 * when the packages are missing.
 *
 * @module
 */

import { LmsError } from "../errors.ts";
import { SAFE_PATH } from "./watchdog.ts";

const COMMAND_TIMEOUT_MS = 60_000;

/**
 * Runs a MariaDB client tool with a clean environment and a timeout, feeding
 * `stdin` when given.
 *
 * @throws {LmsError} `LOCAL_DATABASE_FAILED` when the tool is not installed.
 */
export async function run(
  program: string,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), COMMAND_TIMEOUT_MS);
  try {
    const child = new Deno.Command(program, {
      args,
      clearEnv: true,
      env: { PATH: SAFE_PATH, LANG: "C" },
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).spawn();
    if (stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(stdin)).catch(() => {});
      await writer.close().catch(() => {});
    }
    const output = await child.output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new LmsError(
        "LOCAL_DATABASE_FAILED",
        `${program} is not installed`,
        "install the mariadb-server and mariadb-client packages",
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
