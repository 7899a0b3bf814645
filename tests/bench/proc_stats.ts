/**
 * Resource use of a process from `/proc`: resident memory and CPU time.
 *
 * @module
 */

import { LmsError } from "../../shared/errors.ts";

/** Kernel clock ticks per second (`getconf CLK_TCK`), 100 on every Linux build in use. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The VmRSS of `pid` in KiB, from `/proc/<pid>/status`.
 *
 * @throws {LmsError} `NOT_SUPPORTED` when the line is missing (not Linux).
 */
export async function readRssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) {
    throw new LmsError(
      "NOT_SUPPORTED",
      `/proc/${pid}/status has no VmRSS line`,
      "run the benchmark on Linux",
    );
  }
  return Number(m[1]);
}

/**
 * User plus system CPU time of `pid`, all threads together, in milliseconds
 * (10 ms resolution), from `/proc/<pid>/stat`.
 *
 * @throws {LmsError} `NOT_SUPPORTED` when the file cannot be parsed.
 */
export async function readCpuMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // The command name in parentheses may contain spaces; fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new LmsError(
      "NOT_SUPPORTED",
      `/proc/${pid}/stat has no CPU times`,
      "run the benchmark on Linux",
    );
  }
  return (utime + stime) * 1000 / CLOCK_TICKS_PER_SECOND;
}
