/**
 * Looking at and signalling local processes through /proc, for stopping a
 * throwaway server and every process it forked.
 *
 * @module
 */

/** True while `pid` exists and is not a zombie (PID 1 here reaps orphans slowly). */
export async function processAlive(pid: number): Promise<boolean> {
  let stat: string;
  try {
    stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

/** The pids whose parent is `parent`, read from /proc. */
export async function childPids(parent: number): Promise<number[]> {
  const children: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) children.push(Number(entry.name));
    } catch {
      // The process exited while we looked.
    }
  }
  return children;
}

/** Sends `sig` to `pid`; a process already gone is no error. */
export function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
