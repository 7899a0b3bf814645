/**
 * Watchdogs for the throwaway local databases: a shell loop in a session of
 * its own (`setsid -f`) that outlives the test process, notices it is gone
 * and removes what it left behind, so a killed test run leaves no server
 * running and no temp directory.
 *
 * @module
 */

/** The PATH local database commands run with (nothing from the caller's environment). */
export const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Starts `script` as `sh -c script name ...args` detached from this process,
 * with a clean environment and no standard streams.
 *
 * @throws {Error} when `setsid` is missing or fails; the caller decides how bad that is.
 */
export async function spawnWatchdog(name: string, script: string, args: string[]): Promise<void> {
  const status = await new Deno.Command("setsid", {
    args: ["-f", "sh", "-c", script, name, ...args],
    clearEnv: true,
    env: { PATH: SAFE_PATH },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  if (!status.success) throw new Error(`setsid exited with code ${status.code}`);
}
