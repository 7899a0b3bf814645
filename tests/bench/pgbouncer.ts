/**
 * A throwaway PgBouncer (Debian's `pgbouncer` package) in session mode in
 * front of one trust-authenticated cluster, as the benchmark's reference.
 *
 * PgBouncer refuses to run as root, so under root it runs as the `postgres`
 * system user through `setpriv`, which execs in place: the child's pid is
 * PgBouncer's own, which the memory measurement needs.
 *
 * @module
 */

import { terminate } from "./cleanup.ts";
import { LmsError } from "../../shared/errors.ts";
import { freePort, waitForPort } from "../../shared/local/ports.ts";
import { findSystemUser, type Owner, SYSTEM_USER } from "../../shared/local/pg_owner.ts";

/** How to configure the PgBouncer. */
export interface PgBouncerOptions {
  /** Port of the PostgreSQL server on 127.0.0.1 (trust authentication). */
  upstreamPort: number;
  /** `max_client_conn`. */
  maxClientConn: number;
  /** `default_pool_size`: server connections per user/database pair. */
  poolSize: number;
}

/** A running PgBouncer. */
export interface PgBouncer extends AsyncDisposable {
  /** Port it listens on (127.0.0.1). */
  port: number;
  /** PgBouncer's process id. */
  pid: number;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const BINARY_CANDIDATES = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"];
const START_TIMEOUT_MS = 10_000;

/** Path of the PgBouncer binary, or `undefined` when it is not installed. */
export function findPgBouncer(): string | undefined {
  for (const path of BINARY_CANDIDATES) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Try the next place.
    }
  }
  return undefined;
}

/**
 * Writes `pgbouncer.ini` and `userlist.txt` to a temporary directory and
 * starts PgBouncer in the foreground, quiet on stderr, logging to the directory.
 *
 * @throws {LmsError} `TOOL_UNAVAILABLE` when PgBouncer is missing or does not
 * come up (with the tail of its log).
 */
export async function startPgBouncer(opts: PgBouncerOptions): Promise<PgBouncer> {
  const binary = findPgBouncer();
  if (!binary) {
    throw new LmsError(
      "TOOL_UNAVAILABLE",
      "PgBouncer is not installed (looked in " + BINARY_CANDIDATES.join(", ") + ")",
      "install Debian's pgbouncer package (apt-get install pgbouncer); .ci/run does it",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "lms-bench-pgbouncer-" });
  let child: Deno.ChildProcess | undefined;
  try {
    const port = await freePort();
    await Deno.writeTextFile(`${dir}/userlist.txt`, `"${SYSTEM_USER}" ""\n`);
    await Deno.writeTextFile(`${dir}/pgbouncer.ini`, iniText(dir, port, opts));
    const root = Deno.uid() === 0;
    if (root) {
      const { uid, gid } = systemUser();
      await Deno.chown(dir, uid, gid);
    }
    const args = ["-q", `${dir}/pgbouncer.ini`];
    child = new Deno.Command(root ? "setpriv" : binary, {
      args: root
        ? [`--reuid=${SYSTEM_USER}`, `--regid=${SYSTEM_USER}`, "--init-groups", binary, ...args]
        : args,
      cwd: dir,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const exited = child.status.then((s) => ({ exitCode: s.code }));
    const up = waitForPort("127.0.0.1", port, START_TIMEOUT_MS).then(
      () => ({ error: undefined }),
      (error: unknown) => ({ error }),
    );
    const outcome = await Promise.race([up, exited]);
    if ("exitCode" in outcome) {
      throw new LmsError(
        "TOOL_UNAVAILABLE",
        `PgBouncer exited with code ${outcome.exitCode} at start: ${await logTail(dir)}`,
        "read the log line above; a port in use or a bad setting are the usual causes",
      );
    }
    if (outcome.error) throw outcome.error;
    const running = child;
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        await terminate(running);
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      })();
      return stopping;
    };
    return { port, pid: running.pid, stop, [Symbol.asyncDispose]: stop };
  } catch (err) {
    if (child) await terminate(child);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

function iniText(dir: string, port: number, opts: PgBouncerOptions): string {
  return [
    "[databases]",
    `* = host=127.0.0.1 port=${opts.upstreamPort}`,
    "",
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${port}`,
    "unix_socket_dir =",
    "auth_type = trust",
    `auth_file = ${dir}/userlist.txt`,
    "pool_mode = session",
    `max_client_conn = ${opts.maxClientConn}`,
    `default_pool_size = ${opts.poolSize}`,
    "max_db_connections = 0",
    "ignore_startup_parameters = extra_float_digits",
    `logfile = ${dir}/pgbouncer.log`,
    "log_connections = 0",
    "log_disconnections = 0",
    "log_pooler_errors = 1",
    "",
  ].join("\n");
}

async function logTail(dir: string): Promise<string> {
  try {
    const text = await Deno.readTextFile(`${dir}/pgbouncer.log`);
    return text.trimEnd().split("\n").slice(-5).join(" | ");
  } catch {
    return "(no log)";
  }
}

function systemUser(): Owner {
  const owner = findSystemUser();
  if (owner) return owner;
  throw new LmsError(
    "TOOL_UNAVAILABLE",
    `running as root, but there is no "${SYSTEM_USER}" system user to run PgBouncer as`,
    "install the postgresql package (it creates the user) or run as an ordinary user",
  );
}
