/**
 * Throwaway PostgreSQL clusters built from the machine's PostgreSQL binaries,
 * for tests and for the embedded databases of `deno task start`.
 *
 * Each cluster lives in its own temporary directory (`initdb` data directory
 * plus `server.log`), listens on 127.0.0.1 only and trusts every local
 * connection unless `hba` lines say otherwise. When the current process runs
 * as root, `initdb`, `pg_ctl` and the server run as the `postgres` system user
 * (`runuser -u postgres --`), because PostgreSQL refuses to run as root.
 *
 * Cleanup: call `destroy()` (or use `await using`) — it stops the server and
 * removes the directory. A process that dies without doing so (SIGKILL,
 * crash) does not leave servers behind for long: every cluster has a detached
 * watchdog shell that notices within about two seconds that the creating
 * process is gone, shuts the server down (immediate mode) and removes the
 * directory. A cluster therefore never outlives the process that started it.
 *
 * `LMS_PG_BINDIR` overrides where the binaries are looked for.
 *
 * @module
 */

import { LmsError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { pgBinDir } from "./pg_binaries.ts";
import { currentUid, type Owner, SYSTEM_USER, systemUser } from "./pg_owner.ts";
import { freePort } from "./ports.ts";
import { childPids, processAlive, signal } from "./process_probe.ts";
import { fileSize, safeName } from "./server_files.ts";
import { SAFE_PATH, spawnWatchdog } from "./watchdog.ts";

/** How to build a throwaway cluster. */
export interface PgClusterOptions {
  /** Used in the temporary directory's name and in logs and errors. Default `pg`. */
  name?: string;
  /** TCP port on 127.0.0.1. Default: a free port (retried once on a collision). */
  port?: number;
  /**
   * Extra `postgresql.conf` settings, overriding the defaults: `wal_level=logical`,
   * `max_connections=1200`, `listen_addresses=127.0.0.1`, the data directory as
   * the socket directory, and no durability (`fsync`, `synchronous_commit`,
   * `full_page_writes` off) because the data is thrown away.
   */
  settings?: Record<string, string>;
  /** `pg_hba.conf` lines placed before the default lines, which trust everything. */
  hba?: string[];
  /**
   * Turns on `ssl` with this certificate and key (and, with `caFile`, client
   * certificate checking). The files are copied into the data directory.
   */
  tls?: { certFile: string; keyFile: string; caFile?: string };
  /** SQL run as the superuser once the server is up; each entry in one psql session. */
  initSql?: string[];
}

/** A running (or stopped) throwaway cluster. */
export interface PgCluster {
  /** The name given in the options. */
  readonly name: string;
  /** Always `127.0.0.1`. */
  readonly host: string;
  /** The TCP port the server listens on. */
  readonly port: number;
  /** The `initdb` data directory (also the Unix socket directory). */
  readonly dataDir: string;
  /** The server's log file. */
  readonly logFile: string;
  /** `postgres://user[:password]@127.0.0.1:port/db`; user and db default to `postgres`. */
  url(
    opts?: {
      user?: string;
      password?: string;
      database?: string;
      params?: Record<string, string>;
    },
  ): string;
  /**
   * Runs SQL through `psql -X -q -v ON_ERROR_STOP=1 -At` over the Unix socket,
   * as the superuser or `opts.user`, and returns stdout without its final newline.
   * Statements run one by one in one session (so `CREATE DATABASE` works).
   *
   * @throws {LmsError} `LOCAL_DATABASE_FAILED` with psql's stderr (password literals removed).
   */
  psql(sql: string, opts?: { user?: string; database?: string }): Promise<string>;
  /** Stops the server (fast shutdown); the data stays and `start()` brings it back. */
  stop(): Promise<void>;
  /** Starts the server again on the same port; does nothing when it is running. */
  start(): Promise<void>;
  /** Kills the postmaster and its children with SIGKILL, like a crashed host. */
  kill(): Promise<void>;
  /** Stops the server and removes its directory. Idempotent. */
  destroy(): Promise<void>;
  /** Same as `destroy()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const log = createLogger("local-postgres");

const COMMAND_TIMEOUT_MS = 120_000;
const SERVER_WAIT_SECONDS = 60;
const MAX_SOCKET_PATH = 103;
const LOG_TAIL_LINES = 30;

/**
 * Creates, configures and starts a throwaway cluster, then runs `initSql`.
 *
 * @throws {LmsError} `LOCAL_DATABASE_FAILED` when any step fails; a failed start
 * reports the tail of the server log. Nothing is left behind on failure.
 */
export async function startPgCluster(opts: PgClusterOptions = {}): Promise<PgCluster> {
  return await LocalPgCluster.create(opts);
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  asOwner?: boolean;
  cwd?: string;
  stdin?: string;
}

class LocalPgCluster implements PgCluster {
  readonly name: string;
  readonly host = "127.0.0.1";
  readonly dataDir: string;
  readonly logFile: string;
  readonly #baseDir: string;
  readonly #bin: string;
  readonly #owner: Owner | null;
  #port: number;
  #destroying: Promise<void> | null = null;

  private constructor(
    name: string,
    baseDir: string,
    bin: string,
    owner: Owner | null,
    port: number,
  ) {
    this.name = name;
    this.#baseDir = baseDir;
    this.dataDir = `${baseDir}/data`;
    this.logFile = `${baseDir}/server.log`;
    this.#bin = bin;
    this.#owner = owner;
    this.#port = port;
  }

  get port(): number {
    return this.#port;
  }

  static async create(opts: PgClusterOptions): Promise<LocalPgCluster> {
    const name = opts.name ?? "pg";
    const bin = pgBinDir();
    const owner = currentUid() === 0 ? systemUser() : null;
    const autoPort = opts.port === undefined;
    const baseDir = await Deno.makeTempDir({ prefix: `lms-pg-${safeName(name, "pg")}-` });
    const cluster = new LocalPgCluster(name, baseDir, bin, owner, opts.port ?? await freePort());
    try {
      if (owner) await Deno.chown(baseDir, owner.uid, owner.gid);
      cluster.#checkSocketPath();
      await cluster.#initdb();
      await cluster.#spawnWatchdog();
      const baseConf = await Deno.readTextFile(`${cluster.dataDir}/postgresql.conf`);
      await cluster.#writeHba(opts.hba ?? []);
      if (opts.tls) await cluster.#installTls(opts.tls);
      const tlsSettings: Record<string, string> = opts.tls
        ? {
          ssl: "on",
          ssl_cert_file: "server.crt",
          ssl_key_file: "server.key",
          ...(opts.tls.caFile ? { ssl_ca_file: "root.crt" } : {}),
        }
        : {};
      for (let attempt = 1;; attempt++) {
        await cluster.#writeConf(baseConf, { ...tlsSettings, ...opts.settings });
        const failure = await cluster.#tryStart();
        if (failure === null) break;
        if (autoPort && attempt === 1 && /address already in use/i.test(failure.logTail)) {
          log.debug("port taken, retrying on another", { cluster: name, port: cluster.#port });
          cluster.#port = await freePort();
          continue;
        }
        throw cluster.#startError(failure);
      }
      for (const sql of opts.initSql ?? []) await cluster.psql(sql);
      log.debug("cluster started", {
        cluster: name,
        port: cluster.#port,
        dataDir: cluster.dataDir,
      });
      return cluster;
    } catch (err) {
      await cluster.destroy().catch((cleanupErr) => {
        log.warn("could not clean up a cluster that failed to start", {
          cluster: name,
          error: cleanupErr,
        });
      });
      throw err;
    }
  }

  url(
    opts: { user?: string; password?: string; database?: string; params?: Record<string, string> } =
      {},
  ): string {
    const user = encodeURIComponent(opts.user ?? "postgres");
    const auth = opts.password === undefined
      ? user
      : `${user}:${encodeURIComponent(opts.password)}`;
    const database = encodeURIComponent(opts.database ?? "postgres");
    const query = opts.params && Object.keys(opts.params).length > 0
      // Percent-encoding, not form encoding: libpq does not read "+" as a space.
      ? "?" + Object.entries(opts.params)
        .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
        .join("&")
      : "";
    return `postgres://${auth}@${this.host}:${this.#port}/${database}${query}`;
  }

  async psql(sql: string, opts: { user?: string; database?: string } = {}): Promise<string> {
    const args = [
      "-X",
      "-q",
      "-w",
      "-v",
      "ON_ERROR_STOP=1",
      "-At",
      "-h",
      this.dataDir,
      "-p",
      String(this.#port),
      "-U",
      opts.user ?? "postgres",
      "-d",
      opts.database ?? "postgres",
      "-f",
      "-",
    ];
    const result = await this.#run("psql", args, { stdin: sql });
    if (result.code !== 0) {
      throw new LmsError(
        "LOCAL_DATABASE_FAILED",
        `psql on local PostgreSQL cluster "${this.name}" (port ${this.#port}) failed: ` +
          redactPasswords(result.stderr.trim()),
        "fix the SQL, or check that the cluster is running",
      );
    }
    return result.stdout.replace(/\n$/, "");
  }

  async start(): Promise<void> {
    if (this.#destroying) throw this.#destroyedError();
    const failure = await this.#tryStart();
    if (failure) throw this.#startError(failure);
  }

  async stop(): Promise<void> {
    if (!(await this.#isRunning())) {
      await this.#removeStalePidFile();
      return;
    }
    const result = await this.#run("pg_ctl", [
      "-D",
      this.dataDir,
      "-m",
      "fast",
      "-w",
      "-t",
      String(SERVER_WAIT_SECONDS),
      "stop",
    ], { asOwner: true });
    if (result.code !== 0 && await this.#isRunning()) {
      throw new LmsError(
        "LOCAL_DATABASE_FAILED",
        `local PostgreSQL cluster "${this.name}" (port ${this.#port}) did not stop: ` +
          result.stderr.trim(),
        "use kill() to stop it forcibly",
      );
    }
    log.debug("cluster stopped", { cluster: this.name, port: this.#port });
  }

  async kill(): Promise<void> {
    const pid = await this.#postmasterPid();
    if (pid === null || !(await processAlive(pid))) {
      await this.#removeStalePidFile();
      return;
    }
    // Frozen, the postmaster cannot fork a backend we would miss.
    signal(pid, "SIGSTOP");
    const victims = [pid, ...await childPids(pid)];
    for (const victim of victims) signal(victim, "SIGKILL");
    const deadline = Date.now() + SERVER_WAIT_SECONDS * 1000;
    for (const victim of victims) {
      while (await processAlive(victim)) {
        if (Date.now() > deadline) {
          throw new LmsError(
            "LOCAL_DATABASE_FAILED",
            `process ${victim} of local PostgreSQL cluster "${this.name}" survived SIGKILL`,
            "inspect the process with ps; it may be stuck in the kernel",
          );
        }
        await sleep(20);
      }
    }
    // The dead postmaster may linger as a zombie, which would make the next start refuse.
    await this.#removeStalePidFile();
    log.debug("cluster killed", { cluster: this.name, port: this.#port });
  }

  destroy(): Promise<void> {
    this.#destroying ??= this.#destroy();
    return this.#destroying;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }

  async #destroy(): Promise<void> {
    try {
      await this.stop();
    } catch (err) {
      log.warn("fast shutdown failed, killing the cluster", { cluster: this.name, error: err });
      await this.kill();
    } finally {
      await Deno.remove(this.#baseDir, { recursive: true }).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
    }
    log.debug("cluster destroyed", { cluster: this.name });
  }

  #checkSocketPath(): void {
    const socket = `${this.dataDir}/.s.PGSQL.65535`;
    if (socket.length > MAX_SOCKET_PATH) {
      throw new LmsError(
        "LOCAL_DATABASE_FAILED",
        `the socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes`,
        "use a shorter TMPDIR or a shorter cluster name",
      );
    }
  }

  async #initdb(): Promise<void> {
    const result = await this.#run("initdb", [
      "-D",
      this.dataDir,
      "-U",
      "postgres",
      "--auth=trust",
      "--no-sync",
      "-E",
      "UTF8",
      "--locale=C",
    ], { asOwner: true });
    if (result.code !== 0) {
      throw new LmsError(
        "LOCAL_DATABASE_FAILED",
        `initdb for local PostgreSQL cluster "${this.name}" failed: ${result.stderr.trim()}`,
        "check that the temporary directory is writable and the PostgreSQL binaries work",
      );
    }
  }

  async #spawnWatchdog(): Promise<void> {
    const script = [
      "owner=$1 base=$2 data=$3",
      'while kill -0 "$owner" 2>/dev/null && [ -d "$data" ]; do sleep 2; done',
      '[ -d "$data" ] || exit 0',
      'pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null)',
      'if [ -n "$pid" ]; then',
      '  kill -QUIT "$pid" 2>/dev/null',
      "  i=0",
      '  while [ "$i" -lt 20 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.5; i=$((i+1)); done',
      '  kill -KILL "$pid" 2>/dev/null',
      "fi",
      'rm -rf "$base"',
    ].join("\n");
    try {
      await spawnWatchdog("lms-pg-watchdog", script, [
        String(Deno.pid),
        this.#baseDir,
        this.dataDir,
      ]);
    } catch (err) {
      log.warn("no watchdog for the cluster: it outlives this process if destroy() is skipped", {
        cluster: this.name,
        error: err,
      });
    }
  }

  async #writeHba(lines: string[]): Promise<void> {
    const defaults = [
      "local all all trust",
      "host all all 127.0.0.1/32 trust",
      "host all all ::1/128 trust",
      "local replication all trust",
      "host replication all 127.0.0.1/32 trust",
      "host replication all ::1/128 trust",
    ];
    await Deno.writeTextFile(
      `${this.dataDir}/pg_hba.conf`,
      [...lines, ...defaults].join("\n") + "\n",
    );
  }

  async #installTls(tls: NonNullable<PgClusterOptions["tls"]>): Promise<void> {
    const files: [string, string, number][] = [
      [tls.certFile, "server.crt", 0o644],
      [tls.keyFile, "server.key", 0o600],
    ];
    if (tls.caFile) files.push([tls.caFile, "root.crt", 0o644]);
    for (const [from, to, mode] of files) {
      const target = `${this.dataDir}/${to}`;
      try {
        await Deno.copyFile(from, target);
      } catch (err) {
        throw new LmsError(
          "LOCAL_DATABASE_FAILED",
          `cannot copy TLS file ${from} into local PostgreSQL cluster "${this.name}": ${
            err instanceof Error ? err.message : String(err)
          }`,
          "check the path given in the tls option",
        );
      }
      if (this.#owner) await Deno.chown(target, this.#owner.uid, this.#owner.gid);
      await Deno.chmod(target, mode);
    }
  }

  async #writeConf(baseConf: string, extra: Record<string, string>): Promise<void> {
    const settings: Record<string, string> = {
      port: String(this.#port),
      listen_addresses: "127.0.0.1",
      unix_socket_directories: this.dataDir,
      wal_level: "logical",
      max_connections: "1200",
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      ...extra,
    };
    const lines = Object.entries(settings).map(([key, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(key)) {
        throw new LmsError(
          "LOCAL_DATABASE_FAILED",
          `"${key}" is not a valid PostgreSQL setting name`,
          "pass settings as { name: value } with plain setting names",
        );
      }
      return `${key} = '${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
    });
    await Deno.writeTextFile(
      `${this.dataDir}/postgresql.conf`,
      `${baseConf}\n# Added by LMS for a throwaway cluster\n${lines.join("\n")}\n`,
    );
  }

  async #tryStart(): Promise<{ stderr: string; logTail: string } | null> {
    if (await this.#isRunning()) return null;
    await this.#removeStalePidFile();
    const logOffset = await fileSize(this.logFile);
    const result = await this.#run("pg_ctl", [
      "-D",
      this.dataDir,
      "-l",
      this.logFile,
      "-w",
      "-t",
      String(SERVER_WAIT_SECONDS),
      "start",
    ], { asOwner: true, cwd: this.#baseDir });
    if (result.code === 0) return null;
    // A server that missed the deadline may still be coming up; it must not linger.
    await this.kill().catch(() => {});
    return { stderr: result.stderr.trim(), logTail: await this.#logTail(logOffset) };
  }

  #startError(failure: { stderr: string; logTail: string }): LmsError {
    return new LmsError(
      "LOCAL_DATABASE_FAILED",
      `local PostgreSQL cluster "${this.name}" did not start on port ${this.#port}: ` +
        `${failure.stderr}\n--- server log (last lines) ---\n${failure.logTail}`,
      "read the server log above; a port in use or a bad setting are the usual causes",
    );
  }

  #destroyedError(): LmsError {
    return new LmsError(
      "LOCAL_DATABASE_FAILED",
      `local PostgreSQL cluster "${this.name}" was destroyed`,
      "start a new cluster with startPgCluster()",
    );
  }

  async #logTail(fromByte: number): Promise<string> {
    try {
      const bytes = await Deno.readFile(this.logFile);
      const text = new TextDecoder().decode(bytes.subarray(fromByte));
      return redactPasswords(text.trimEnd().split("\n").slice(-LOG_TAIL_LINES).join("\n"));
    } catch {
      return "(no server log)";
    }
  }

  async #postmasterPid(): Promise<number | null> {
    try {
      const text = await Deno.readTextFile(`${this.dataDir}/postmaster.pid`);
      const pid = Number(text.split("\n", 1)[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  async #isRunning(): Promise<boolean> {
    const pid = await this.#postmasterPid();
    return pid !== null && await processAlive(pid);
  }

  async #removeStalePidFile(): Promise<void> {
    const pid = await this.#postmasterPid();
    if (pid === null || await processAlive(pid)) return;
    await Deno.remove(`${this.dataDir}/postmaster.pid`).catch(() => {});
    // The socket lock files carry the same dead PID and would block the next start too.
    for await (const entry of Deno.readDir(this.dataDir)) {
      if (entry.name.startsWith(".s.PGSQL.")) {
        await Deno.remove(`${this.dataDir}/${entry.name}`).catch(() => {});
      }
    }
  }

  async #run(program: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const binary = `${this.#bin}/${program}`;
    const [command, commandArgs] = opts.asOwner && this.#owner
      ? ["runuser", ["-u", SYSTEM_USER, "--", binary, ...args]]
      : [binary, args];
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), COMMAND_TIMEOUT_MS);
    try {
      const child = new Deno.Command(command, {
        args: commandArgs,
        cwd: opts.cwd ?? this.#baseDir,
        clearEnv: true,
        env: { PATH: SAFE_PATH, LANG: "C", LC_ALL: "C", PGCONNECT_TIMEOUT: "10" },
        stdin: opts.stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        signal: abort.signal,
      }).spawn();
      if (opts.stdin !== undefined) {
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(opts.stdin)).catch(() => {});
        await writer.close().catch(() => {});
      }
      const output = await child.output();
      if (abort.signal.aborted) {
        throw new LmsError(
          "TIMEOUT",
          `${program} for local PostgreSQL cluster "${this.name}" did not finish in ${COMMAND_TIMEOUT_MS} ms`,
          "the machine may be overloaded; look at the server log",
        );
      }
      const decoder = new TextDecoder();
      return {
        code: output.code,
        stdout: decoder.decode(output.stdout),
        stderr: decoder.decode(output.stderr),
      };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Hides `PASSWORD '...'` literals that psql and the server echo back in errors. */
function redactPasswords(text: string): string {
  return text.replace(/(PASSWORD\s+)'(?:[^']|'')*(?:'|$)/gim, "$1'[redacted]'");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
