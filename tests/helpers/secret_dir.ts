/**
 * A directory laid out like a mounted Kubernetes Secret, for certificate
 * rotation tests: each file (`tls.crt`, `tls.key`, `ca.crt`, …) links through
 * `..data` to a timestamped directory, and a rotation writes a new one and
 * swaps `..data` in one rename, as the kubelet does.
 *
 * @module
 */

import { join } from "node:path";

/** A Secret-style directory. */
export interface SecretDir {
  /** The directory to point `SSL_CERT` / `TLS_CERT` / … at. */
  dir: string;
  /** Writes a new version holding `files` (name → PEM text) and swaps `..data` to it. */
  rotate(files: Record<string, string>): Promise<void>;
}

/** Creates `dir` under `root` holding `files` (name → PEM text); keys (`*.key`) get mode 0600. */
export async function secretDir(
  root: string,
  dirName: string,
  files: Record<string, string>,
): Promise<SecretDir> {
  const dir = join(root, dirName);
  await Deno.mkdir(dir, { recursive: true });
  let version = 0;
  const write = async (next: Record<string, string>) => {
    const data = `..2026_12_01_00_00_${String(++version).padStart(2, "0")}.000000`;
    await Deno.mkdir(join(dir, data));
    for (const [name, text] of Object.entries(next)) {
      await Deno.writeTextFile(
        join(dir, data, name),
        text,
        name.endsWith(".key") ? { mode: 0o600 } : {},
      );
    }
    await Deno.symlink(data, join(dir, "..data_tmp"));
    await Deno.rename(join(dir, "..data_tmp"), join(dir, "..data"));
  };
  await write(files);
  for (const name of Object.keys(files)) await Deno.symlink(`..data/${name}`, join(dir, name));
  return { dir, rotate: write };
}
