/**
 * File helpers the throwaway database servers share (`postgres_cluster.ts`,
 * `mariadb_server.ts`): naming their temporary directories and finding where
 * a log grew from.
 *
 * @module
 */

/**
 * `name` reduced to what is safe in a temporary directory's name (letters,
 * digits, `_`, `-`, at most 24 characters), or `fallback` when nothing is left.
 */
export function safeName(name: string, fallback: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 24) || fallback;
}

/** The size of the file at `path` in bytes, or 0 when it does not exist (yet). */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}
