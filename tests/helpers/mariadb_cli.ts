/**
 * Runs the machine's `mariadb` command-line client the way a user would, for
 * tests against MariaDB directly or through the proxy.
 *
 * @module
 */

/** What the client printed and how it exited. */
export interface MariaDbCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Connection and TLS options for one `mariadb` run. */
export interface MariaDbCliOptions {
  host?: string;
  port: number;
  user: string;
  password?: string;
  database?: string;
  /** `--ssl` with this CA checked (`--ssl-verify-server-cert`). */
  caFile?: string;
  /** Client certificate and key. */
  cert?: { cert: string; key: string };
  /** Extra arguments (e.g. `--default-auth=mysql_clear_password`). */
  args?: string[];
}

/** Runs `sql` through `mariadb --batch --skip-column-names` and returns what it printed. */
export async function mariadbCli(opts: MariaDbCliOptions, sql: string): Promise<MariaDbCliResult> {
  const child = new Deno.Command("mariadb", {
    args: mariadbCliArgs(opts),
    clearEnv: true,
    env: {
      PATH: "/usr/bin:/bin",
      ...(opts.password === undefined ? {} : { MYSQL_PWD: opts.password }),
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(sql)).catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const text = new TextDecoder();
  return {
    code: out.code,
    stdout: text.decode(out.stdout).trimEnd(),
    stderr: text.decode(out.stderr).trim(),
  };
}

/** The command-line arguments `mariadbCli` passes (password through MYSQL_PWD, not argv). */
export function mariadbCliArgs(opts: MariaDbCliOptions): string[] {
  const args = [
    "--no-defaults",
    "-h",
    opts.host ?? "127.0.0.1",
    "-P",
    String(opts.port),
    "-u",
    opts.user,
    "--batch",
    "--skip-column-names",
    "--connect-timeout=10",
  ];
  if (opts.database) args.push("-D", opts.database);
  if (opts.caFile) args.push("--ssl", `--ssl-ca=${opts.caFile}`, "--ssl-verify-server-cert");
  if (opts.cert) args.push(`--ssl-cert=${opts.cert.cert}`, `--ssl-key=${opts.cert.key}`);
  return [...args, ...(opts.args ?? [])];
}
