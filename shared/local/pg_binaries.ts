/**
 * Where the machine's PostgreSQL server binaries are: the newest installed
 * version, or the directory `LMS_PG_BINDIR` names.
 *
 * @module
 */

import { LmsError } from "../errors.ts";

/**
 * Returns the newest `/usr/lib/postgresql/<version>/bin` holding a `postgres`
 * binary, or `LMS_PG_BINDIR` when set.
 *
 * @throws {LmsError} `LOCAL_DATABASE_FAILED` when no binaries are found.
 */
export function pgBinDir(): string {
  const override = readEnv("LMS_PG_BINDIR");
  if (override) {
    if (!isFile(`${override}/postgres`)) {
      throw new LmsError(
        "LOCAL_DATABASE_FAILED",
        `LMS_PG_BINDIR is "${override}" but there is no postgres binary in it`,
        "point LMS_PG_BINDIR at a directory holding postgres, initdb, pg_ctl and psql",
      );
    }
    return override;
  }
  const root = "/usr/lib/postgresql";
  const versions: { dir: string; version: number[] }[] = [];
  try {
    for (const entry of Deno.readDirSync(root)) {
      const version = entry.name.split(".").map(Number);
      const dir = `${root}/${entry.name}/bin`;
      if (entry.isDirectory && !version.some(Number.isNaN) && isFile(`${dir}/postgres`)) {
        versions.push({ dir, version });
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (versions.length === 0) {
    throw new LmsError(
      "LOCAL_DATABASE_FAILED",
      `no PostgreSQL server binaries found under ${root}/*/bin`,
      "install the postgresql server package, or set LMS_PG_BINDIR to the directory of initdb",
    );
  }
  versions.sort((a, b) => compareVersions(b.version, a.version));
  return versions[0].dir;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}
