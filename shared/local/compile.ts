/**
 * `deno task compile`: builds the three LMS executables with `deno compile` into `dist/`.
 *
 * Each binary gets only the permissions its process needs (the same ones its `deno task`
 * runs with), and `--no-prompt`, so a missing permission fails fast instead of waiting for a
 * prompt nobody answers in a container. `deno compile` downloads its runtime (`denort`) unless
 * the `DENORT_BIN` environment variable names a local one; it reads that variable itself, this
 * script only checks that the file is there so the error names the problem.
 *
 * Usage: `deno task compile [--target <triple>] [--out-dir <dir>] [--only <name>]...`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { errorMessage, LmsError } from "../errors.ts";
import { createLogger } from "../log.ts";

/** One executable that `deno task compile` builds. */
export interface BinarySpec {
  /** File name of the executable, also the command users type. */
  readonly name: string;
  /** Entry module, relative to the repository root. */
  readonly entry: string;
  /** Permission flags baked into the executable. */
  readonly permissions: readonly string[];
  /** Runtime flags baked in as well (the same as its deno task's). */
  readonly runtimeFlags?: readonly string[];
}

/**
 * A small young generation: the proxy keeps many long-lived idle sockets, and
 * the default semi-space keeps ~20 KiB per connection of garbage resident
 * (measured by `deno task bench`), at no cost in CPU per transaction.
 */
export const PROXY_V8_FLAGS = "--v8-flags=--max-semi-space-size=1";

const SERVER_PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-sys"] as const;

/** The executables, in build order. */
export const BINARIES: readonly BinarySpec[] = [
  {
    name: "molt-lms",
    entry: "proxy/main.ts",
    permissions: SERVER_PERMISSIONS,
    runtimeFlags: [PROXY_V8_FLAGS],
  },
  { name: "molt-lms-orchestrator", entry: "orchestrator/main.ts", permissions: SERVER_PERMISSIONS },
  {
    name: "molt-lms-cli",
    entry: "cli/main.ts",
    permissions: ["--allow-net", "--allow-env", "--allow-read"],
  },
];

/**
 * `deno run` arguments that start a binary from source, with the permissions
 * and runtime flags it is compiled with (`root` ends with a slash).
 */
export function runArgs(name: string, root: string): string[] {
  const binary = BINARIES.find((b) => b.name === name);
  if (!binary) throw new LmsError("CONFIG_INVALID", `unknown binary "${name}"`);
  return ["run", ...binary.permissions, ...(binary.runtimeFlags ?? []), `${root}${binary.entry}`];
}

/** Targets `deno compile --target` accepts. */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** What to build and where. */
export interface CompileOptions {
  /** Output directory (default `dist`). */
  outDir?: string;
  /** `deno compile --target` triple; default: the machine's own. */
  target?: string;
  /** Build only these binaries (by name); default: all. */
  only?: readonly string[];
}

/**
 * The `deno compile` command lines for `options`, each as argv starting with `deno`.
 *
 * @throws {LmsError} `CONFIG_INVALID` for an unknown target or binary name.
 */
export function compileCommands(options: CompileOptions = {}, deno = "deno"): string[][] {
  const outDir = options.outDir ?? "dist";
  if (options.target !== undefined && !TARGETS.includes(options.target)) {
    throw new LmsError(
      "CONFIG_INVALID",
      `unknown compile target "${options.target}"`,
      `use one of ${TARGETS.join(", ")}`,
    );
  }
  const known = BINARIES.map((b) => b.name);
  for (const name of options.only ?? []) {
    if (!known.includes(name)) {
      throw new LmsError(
        "CONFIG_INVALID",
        `unknown binary "${name}"`,
        `use one of ${known.join(", ")}`,
      );
    }
  }
  const selected = options.only?.length
    ? BINARIES.filter((b) => options.only!.includes(b.name))
    : BINARIES;
  return selected.map((binary) => [
    deno,
    "compile",
    ...binary.permissions,
    ...(binary.runtimeFlags ?? []),
    "--no-prompt",
    ...(options.target ? ["--target", options.target] : []),
    "--output",
    join(outDir, binary.name),
    binary.entry,
  ]);
}

/**
 * Parses the script's flags: `--target`, `--out-dir`, `--only` (repeatable or comma-separated).
 *
 * @throws {LmsError} `CONFIG_INVALID` for an unknown flag or a stray argument.
 */
export function parseCompileArgs(args: readonly string[]): CompileOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        target: { type: "string" },
        "out-dir": { type: "string" },
        only: { type: "string", multiple: true },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new LmsError(
      "CONFIG_INVALID",
      `compile: ${err instanceof Error ? err.message : String(err)}`,
      "usage: deno task compile [--target <triple>] [--out-dir <dir>] [--only <name>]",
    );
  }
  const { values } = parsed;
  return {
    outDir: values["out-dir"],
    target: values.target,
    only: values.only?.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean),
  };
}

/**
 * Runs every command from {@linkcode compileCommands} in turn, output on the terminal.
 *
 * @throws {LmsError} `BUILD_FAILED` when `DENORT_BIN` names no file or `deno compile` fails.
 */
export async function compileAll(options: CompileOptions = {}): Promise<string[]> {
  const log = createLogger("compile");
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) {
    const info = await Deno.stat(denort).catch(() => undefined);
    if (!info?.isFile) {
      throw new LmsError(
        "BUILD_FAILED",
        `DENORT_BIN is set to ${denort}, which is not a file`,
        "point DENORT_BIN at a denort binary of this Deno version, or unset it to download one",
      );
    }
    log.info("using local deno runtime", { denort });
  }
  const built: string[] = [];
  for (const argv of compileCommands(options, Deno.execPath())) {
    const output = argv[argv.indexOf("--output") + 1];
    log.info("compiling", { output, entry: argv[argv.length - 1] });
    const status = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      // An empty DENORT_BIN (an unset build argument) must not reach deno compile as a path.
      ...(denort === "" ? { clearEnv: true, env: envWithout("DENORT_BIN") } : {}),
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (!status.success) {
      throw new LmsError(
        "BUILD_FAILED",
        `deno compile of ${output} failed with exit code ${status.code}`,
        "read the compiler output above; without network access set DENORT_BIN to a local denort",
      );
    }
    built.push(output);
  }
  return built;
}

function envWithout(name: string): Record<string, string> {
  const env = Deno.env.toObject();
  delete env[name];
  return env;
}

if (import.meta.main) {
  try {
    const built = await compileAll(parseCompileArgs(Deno.args));
    createLogger("compile").info("built", { binaries: built });
  } catch (err) {
    createLogger("compile").error(errorMessage(err));
    Deno.exit(1);
  }
}
