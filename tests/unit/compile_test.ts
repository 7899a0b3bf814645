import assert from "node:assert/strict";
import { BINARIES, compileCommands, parseCompileArgs } from "../../shared/local/compile.ts";
import { LmsError } from "../../shared/errors.ts";

const denoJson = JSON.parse(
  await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
) as { tasks: Record<string, string> };

function permissionsOf(argv: readonly string[]): string[] {
  return argv.filter((a) => a.startsWith("--allow-"));
}

Deno.test("compile builds the three binaries from their entry points into dist/", () => {
  const commands = compileCommands({}, "/opt/deno");
  assert.deepEqual(
    commands.map((argv) => [argv[0], argv[1], argv.at(-1), argv[argv.indexOf("--output") + 1]]),
    [
      ["/opt/deno", "compile", "proxy/main.ts", "dist/molt-lms"],
      ["/opt/deno", "compile", "orchestrator/main.ts", "dist/molt-lms-orchestrator"],
      ["/opt/deno", "compile", "cli/main.ts", "dist/molt-lms-cli"],
    ],
  );
  for (const argv of commands) {
    assert.ok(!argv.includes("-A") && !argv.includes("--allow-all"), argv.join(" "));
    assert.ok(argv.includes("--no-prompt"));
    assert.ok(!argv.includes("--target"));
  }
});

Deno.test("each binary gets exactly the permissions its deno task runs with", () => {
  const tasks: Record<string, string> = {
    "proxy/main.ts": "proxy",
    "orchestrator/main.ts": "orchestrator",
    "cli/main.ts": "cli",
  };
  for (const argv of compileCommands()) {
    const entry = argv.at(-1)!;
    const task = denoJson.tasks[tasks[entry]];
    assert.ok(task.endsWith(entry), `task ${tasks[entry]} runs ${entry}`);
    const taskPermissions = task.split(/\s+/).filter((a) => a.startsWith("--allow-"));
    assert.deepEqual(permissionsOf(argv).sort(), taskPermissions.sort(), entry);
    const taskV8 = task.split(/\s+/).filter((a) => a.startsWith("--v8-flags"));
    assert.deepEqual(argv.filter((a) => a.startsWith("--v8-flags")), taskV8, entry);
  }
  const cli = compileCommands({ only: ["molt-lms-cli"] })[0];
  assert.ok(!permissionsOf(cli).includes("--allow-sys"), "the CLI needs no system info");
});

Deno.test("target, output directory and binary selection pass through", () => {
  const options = parseCompileArgs([
    "--target",
    "aarch64-unknown-linux-gnu",
    "--out-dir",
    "/tmp/out",
    "--only",
    "molt-lms,molt-lms-cli",
  ]);
  const commands = compileCommands(options);
  assert.equal(commands.length, 2);
  for (const argv of commands) {
    assert.equal(argv[argv.indexOf("--target") + 1], "aarch64-unknown-linux-gnu");
    assert.match(argv[argv.indexOf("--output") + 1], /^\/tmp\/out\/molt-lms(-cli)?$/);
  }
  assert.deepEqual(parseCompileArgs(["--only", "molt-lms", "--only", "molt-lms-cli"]).only, [
    "molt-lms",
    "molt-lms-cli",
  ]);
});

Deno.test("unknown targets, binaries and flags are refused with the valid choices", () => {
  assert.throws(
    () => compileCommands({ target: "riscv64-linux" }),
    (err: unknown) =>
      err instanceof LmsError && err.code === "CONFIG_INVALID" &&
      err.hint.includes("x86_64-unknown-linux-gnu"),
  );
  assert.throws(
    () => compileCommands({ only: ["molt-lms-proxy"] }),
    (err: unknown) => err instanceof LmsError && err.describe().includes(BINARIES[0].name),
  );
  assert.throws(
    () => parseCompileArgs(["--allow-all"]),
    (err: unknown) => err instanceof LmsError && err.code === "CONFIG_INVALID",
  );
});
