/**
 * Counting the system calls a process makes, with `perf stat -e
 * raw_syscalls:sys_enter`. Unlike CPU time, the count per transaction does
 * not move with the machine's load, so it shows an I/O style's cost on a
 * shared machine.
 *
 * @module
 */

/** A running count; `stop` returns the calls made since the start, or null without perf. */
export interface SyscallCounter {
  /** Stops counting; the total, or null when perf is missing or not allowed. */
  stop(): Promise<number | null>;
}

/** Starts counting the system calls of every thread of `pid`. */
export async function countSyscalls(pid: number): Promise<SyscallCounter> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("perf", {
      args: ["stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p", String(pid)],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch {
    return { stop: () => Promise.resolve(null) };
  }
  // perf attaches asynchronously; a short pause keeps the first calls from going uncounted.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    async stop() {
      try {
        child.kill("SIGINT");
      } catch {
        // perf exited already (not allowed to trace, say).
      }
      const out = await child.output();
      const line = new TextDecoder().decode(out.stderr).split("\n")
        .find((l) => l.includes("raw_syscalls:sys_enter"));
      const count = line ? Number(line.split(",")[0]) : Number.NaN;
      return Number.isFinite(count) ? count : null;
    },
  };
}
