/**
 * Throwaway MariaDB servers built from the machine's `mariadbd` and
 * `mariadb-install-db`, for tests and for the embedded MySQL source of
 * `deno task start`.
 *
 * Each server lives in its own temporary directory (data directory, Unix
 * socket, pid file, `server.log`), listens on 127.0.0.1 only (never 3306: the
 * port is picked by the kernel) and starts with `--no-defaults`, so no
 * `/etc/mysql` setting leaks in. `root@localhost` has no password and is
 * reached over the socket by `sql()`.
 *
 * Authentication plugins: with `authUsers`, one user per plugin MariaDB
 * offers for password logins is created (`MARIADB_AUTH_USERS` of
 * {@linkcode ./mariadb_auth_users.ts}):
 * `mysql_native_password`, `ed25519` (the `auth_ed25519` plugin) and
 * cleartext. MariaDB has no cleartext plugin of its own; the only server
 * plugin that asks the client for the password in clear
 * (`mysql_clear_password`) is `pam` with `pam_use_cleartext_plugin=ON`. The
 * server loads `auth_pam_v1` (in-process PAM; the v2 helper binary is not
 * shipped here) and the cleartext user authenticates through a PAM service
 * `/etc/pam.d/lms-mdb-<id>` whose only rule is `pam_exec` running a script in
 * the server's directory that compares the password with a file there. The
 * service file exists only while the server does; it needs root, so without
 * root the cleartext user is not created (`cleartextAvailable` says so).
 *
 * Cleanup: `stop()` (or `await using`) kills the server and removes the
 * directory and the PAM service file. A detached watchdog shell does the same
 * within about two seconds when the creating process dies without calling it.
 *
 * @module
 */

import { LmsError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { MARIADB_AUTH_USERS } from "./mariadb_auth_users.ts";
import { run } from "./mariadb_commands.ts";
import { freePort, waitForPort } from "./ports.ts";
import { fileSize, safeName } from "./server_files.ts";
import { SAFE_PATH, spawnWatchdog } from "./watchdog.ts";

/** How to build a throwaway server. */
export interface MariaDbServerOptions {
  /** Used in the temporary directory's name, logs and errors. Default `mariadb`. */
  name?: string;
  /** Server TLS: certificate and key, and with `caFile` the CA client certificates are checked against. */
  tls?: { certFile: string; keyFile: string; caFile?: string };
  /** Creates `MARIADB_AUTH_USERS` ({@linkcode ./mariadb_auth_users.ts}). Default false. */
  authUsers?: boolean;
  /** Extra `mariadbd` options without the leading `--`, e.g. `{ "max-connections": "50" }`. */
  settings?: Record<string, string>;
  /** SQL run as root once the server is up, each entry in one `mariadb` session. */
  initSql?: string[];
}

/** A running throwaway server. */
export interface MariaDbServer {
  /** The name given in the options. */
  readonly name: string;
  /** Always `127.0.0.1`. */
  readonly host: string;
  /** The TCP port. */
  readonly port: number;
  /** The Unix socket path. */
  readonly socket: string;
  /** The data directory. */
  readonly dataDir: string;
  /** The server's error log. */
  readonly logFile: string;
  /** True when the cleartext (PAM) user could be set up (needs root). */
  readonly cleartextAvailable: boolean;
  /** `mysql://user[:password]@127.0.0.1:port[/db]`; user defaults to `root`. */
  url(opts?: { user?: string; password?: string; database?: string }): string;
  /**
   * Runs SQL with the `mariadb` client over the socket as root (batch mode,
   * tab-separated, no column names) and returns stdout without its final newline.
   *
   * @throws {LmsError} `LOCAL_DATABASE_FAILED` with the client's stderr.
   */
  sql(sql: string, opts?: { database?: string }): Promise<string>;
  /** Kills the server and removes its directory and PAM service. Idempotent. */
  stop(): Promise<void>;
  /** Same as `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const log = createLogger("local-mariadb");

const START_TIMEOUT_MS = 60_000;
const PAM_DIR = "/etc/pam.d";
const MAX_SOCKET_PATH = 107;

/**
 * Creates and starts a throwaway MariaDB server, creates the auth users when
 * asked, then runs `initSql`.
 *
 * @throws {LmsError} `LOCAL_DATABASE_FAILED` when a step fails (the server log's
 * tail is included); nothing is left behind.
 */
export async function startMariaDbServer(
  opts: MariaDbServerOptions = {},
): Promise<MariaDbServer> {
  const name = opts.name ?? "mariadb";
  const baseDir = await Deno.makeTempDir({ prefix: `lms-mdb-${safeName(name, "mariadb")}-` });
  const server = new LocalMariaDb(name, baseDir);
  try {
    await server.start(opts);
    return server;
  } catch (err) {
    await server.stop().catch(() => {});
    throw err;
  }
}

class LocalMariaDb implements MariaDbServer {
  readonly name: string;
  readonly host = "127.0.0.1";
  readonly socket: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly #baseDir: string;
  readonly #pidFile: string;
  readonly #tmpDir: string;
  readonly #pamService: string;
  #port = 0;
  #cleartext = false;
  #child: Deno.ChildProcess | null = null;
  #stopping: Promise<void> | null = null;

  constructor(name: string, baseDir: string) {
    this.name = name;
    this.#baseDir = baseDir;
    this.dataDir = `${baseDir}/data`;
    this.socket = `${baseDir}/mysqld.sock`;
    this.logFile = `${baseDir}/server.log`;
    this.#pidFile = `${baseDir}/mysqld.pid`;
    this.#tmpDir = `${baseDir}/tmp`;
    this.#pamService = `lms-mdb-${baseDir.split("-").pop()}`;
  }

  get port(): number {
    return this.#port;
  }

  get cleartextAvailable(): boolean {
    return this.#cleartext;
  }

  async start(opts: MariaDbServerOptions): Promise<void> {
    if (this.socket.length > MAX_SOCKET_PATH) {
      throw new LmsError(
        "LOCAL_DATABASE_FAILED",
        `the socket path ${this.socket} is longer than ${MAX_SOCKET_PATH} bytes`,
        "use a shorter TMPDIR or a shorter server name",
      );
    }
    await Deno.mkdir(this.#tmpDir);
    await this.#installDb();
    await this.#spawnWatchdog();
    if (opts.authUsers) this.#cleartext = await this.#installPam();
    let failure = "";
    for (let attempt = 1; attempt <= 2; attempt++) {
      this.#port = await freePort();
      failure = await this.#tryStart(opts);
      if (failure === "") break;
      if (!/address already in use/i.test(failure)) break;
    }
    if (failure !== "") {
      throw new LmsError(
        "LOCAL_DATABASE_FAILED",
        `local MariaDB "${this.name}" did not start on port ${this.#port}\n` +
          `--- server log (last lines) ---\n${failure}`,
        "read the server log above; a bad option or a full disk are the usual causes",
      );
    }
    if (opts.authUsers) await this.sql(this.#authUsersSql());
    for (const sql of opts.initSql ?? []) await this.sql(sql);
    log.debug("server started", { server: this.name, port: this.#port });
  }

  url(opts: { user?: string; password?: string; database?: string } = {}): string {
    const user = encodeURIComponent(opts.user ?? "root");
    const auth = opts.password === undefined
      ? user
      : `${user}:${encodeURIComponent(opts.password)}`;
    const db = opts.database ? `/${encodeURIComponent(opts.database)}` : "";
    return `mysql://${auth}@${this.host}:${this.#port}${db}`;
  }

  async sql(sql: string, opts: { database?: string } = {}): Promise<string> {
    const args = ["--no-defaults", "-S", this.socket, "-uroot", "-N", "-B"];
    if (opts.database) args.push("-D", opts.database);
    const result = await run("mariadb", args, sql);
    if (result.code !== 0) {
      throw new LmsError(
        "LOCAL_DATABASE_FAILED",
        `SQL on local MariaDB "${this.name}" (port ${this.#port}) failed: ` +
          redactPasswords(result.stderr.trim()),
        "fix the SQL, or check that the server is running",
      );
    }
    return result.stdout.replace(/\n$/, "");
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #stop(): Promise<void> {
    const child = this.#child;
    if (child) {
      // The data is thrown away, so there is nothing a clean shutdown would save.
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status.catch(() => {});
    }
    await Deno.remove(`${PAM_DIR}/${this.#pamService}`).catch(() => {});
    await Deno.remove(this.#baseDir, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    log.debug("server stopped", { server: this.name });
  }

  async #installDb(): Promise<void> {
    const result = await run("mariadb-install-db", [
      "--no-defaults",
      `--datadir=${this.dataDir}`,
      // A private tmpdir: bootstraps running side by side otherwise share /tmp and its temp-table names.
      `--tmpdir=${this.#tmpDir}`,
      "--user=root",
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      "--skip-name-resolve",
    ]);
    if (result.code !== 0) {
      throw new LmsError(
        "LOCAL_DATABASE_FAILED",
        `mariadb-install-db for local MariaDB "${this.name}" failed: ` +
          (result.stderr.trim() || result.stdout.trim()),
        "install the mariadb-server package, and check that the temporary directory is writable",
      );
    }
  }

  async #installPam(): Promise<boolean> {
    const script = `${this.#baseDir}/pam_check.sh`;
    await Deno.writeTextFile(
      script,
      '#!/bin/sh\npw=$(tr -d "\\000")\n[ "$pw" = "$(cat "$(dirname "$0")/pam_password")" ]\n',
    );
    await Deno.chmod(script, 0o700);
    await Deno.writeTextFile(
      `${this.#baseDir}/pam_password`,
      MARIADB_AUTH_USERS.cleartext.password,
    );
    await Deno.chmod(`${this.#baseDir}/pam_password`, 0o600);
    try {
      await Deno.writeTextFile(
        `${PAM_DIR}/${this.#pamService}`,
        `auth required pam_exec.so expose_authtok quiet ${script}\n` +
          "account required pam_permit.so\n",
      );
      return true;
    } catch (err) {
      log.warn("no cleartext (PAM) user: cannot write the PAM service file", {
        server: this.name,
        error: err,
      });
      return false;
    }
  }

  #authUsersSql(): string {
    const { native, ed25519, cleartext } = MARIADB_AUTH_USERS;
    const lines = [
      `CREATE USER '${native.user}'@'%' IDENTIFIED VIA mysql_native_password ` +
      `USING PASSWORD('${native.password}');`,
      `CREATE USER '${ed25519.user}'@'%' IDENTIFIED VIA ed25519 ` +
      `USING PASSWORD('${ed25519.password}');`,
    ];
    const users = [native.user, ed25519.user];
    if (this.#cleartext) {
      lines.push(
        `CREATE USER '${cleartext.user}'@'%' IDENTIFIED VIA pam USING '${this.#pamService}';`,
      );
      users.push(cleartext.user);
    }
    for (const user of users) lines.push(`GRANT ALL ON *.* TO '${user}'@'%';`);
    return lines.join("\n");
  }

  async #tryStart(opts: MariaDbServerOptions): Promise<string> {
    const settings: Record<string, string> = {
      "max-connections": "600",
      "max-allowed-packet": "256M",
      "local-infile": "1",
      "innodb-buffer-pool-size": "64M",
      "innodb-log-file-size": "32M",
      "innodb-flush-log-at-trx-commit": "0",
      "sync-binlog": "0",
      "character-set-server": "utf8mb4",
      "collation-server": "utf8mb4_general_ci",
      "log-bin": "mysql-bin",
      "binlog-format": "ROW",
      "server-id": "1",
      ...opts.settings,
    };
    const args = [
      "--no-defaults",
      "--user=root",
      `--datadir=${this.dataDir}`,
      `--tmpdir=${this.#tmpDir}`,
      `--socket=${this.socket}`,
      `--pid-file=${this.#pidFile}`,
      `--log-error=${this.logFile}`,
      `--port=${this.#port}`,
      "--bind-address=127.0.0.1",
      "--skip-name-resolve",
      "--plugin-load-add=auth_ed25519",
    ];
    if (this.#cleartext) {
      args.push("--plugin-load-add=auth_pam_v1", "--pam-use-cleartext-plugin=ON");
    }
    if (opts.tls) {
      args.push(`--ssl-cert=${opts.tls.certFile}`, `--ssl-key=${opts.tls.keyFile}`);
      if (opts.tls.caFile) args.push(`--ssl-ca=${opts.tls.caFile}`);
    }
    for (const [key, value] of Object.entries(settings)) {
      if (!/^[a-z0-9_-]+$/i.test(key)) {
        throw new LmsError(
          "LOCAL_DATABASE_FAILED",
          `"${key}" is not a valid mariadbd option name`,
          "pass settings as { option: value } without the leading --",
        );
      }
      args.push(`--${key}=${value}`);
    }
    const logOffset = await fileSize(this.logFile);
    const child = new Deno.Command("mariadbd", {
      args,
      cwd: this.#baseDir,
      clearEnv: true,
      env: { PATH: SAFE_PATH, LANG: "C" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#child = child;
    let exited = false;
    child.status.then(() => exited = true);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline && !exited) {
      try {
        await waitForPort(this.host, this.#port, 200);
        if (await this.#ping()) return "";
      } catch {
        // Not accepting yet.
      }
    }
    if (!exited) child.kill("SIGKILL");
    await child.status.catch(() => {});
    this.#child = null;
    return await logTail(this.logFile, logOffset);
  }

  async #ping(): Promise<boolean> {
    const result = await run("mariadb", [
      "--no-defaults",
      "-S",
      this.socket,
      "-uroot",
      "-e",
      "SELECT 1",
    ]);
    return result.code === 0;
  }

  async #spawnWatchdog(): Promise<void> {
    const script = [
      "owner=$1 base=$2 pam=$3",
      'while kill -0 "$owner" 2>/dev/null && [ -d "$base" ]; do sleep 2; done',
      '[ -d "$base" ] || { rm -f "$pam"; exit 0; }',
      'pid=$(cat "$base/mysqld.pid" 2>/dev/null)',
      '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null',
      'rm -f "$pam"',
      'rm -rf "$base"',
    ].join("\n");
    try {
      await spawnWatchdog("lms-mdb-watchdog", script, [
        String(Deno.pid),
        this.#baseDir,
        `${PAM_DIR}/${this.#pamService}`,
      ]);
    } catch (err) {
      log.warn("no watchdog for the server: it outlives this process if stop() is skipped", {
        server: this.name,
        error: err,
      });
    }
  }
}

/** Hides `PASSWORD('...')` and `IDENTIFIED BY '...'` literals echoed back in errors. */
function redactPasswords(text: string): string {
  return text
    .replace(/(PASSWORD\s*\(\s*)'(?:[^'\\]|\\.|'')*'/gi, "$1'[redacted]'")
    .replace(/(IDENTIFIED\s+BY\s+)'(?:[^'\\]|\\.|'')*'/gi, "$1'[redacted]'");
}

async function logTail(path: string, fromByte: number): Promise<string> {
  try {
    const bytes = await Deno.readFile(path);
    const text = new TextDecoder().decode(bytes.subarray(fromByte));
    return text.trimEnd().split("\n").slice(-30).join("\n");
  } catch {
    return "(no server log)";
  }
}
