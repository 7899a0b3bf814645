/**
 * The machine's `mariadb` command-line client and sysbench through the MySQL
 * proxy: the client's output equals what it prints against MariaDB directly,
 * Ctrl-C cancels a running `SELECT SLEEP(10)` (the client kills it through a
 * second connection naming the proxy's connection id), and sysbench's
 * `oltp_read_write` runs without errors with server-side prepared statements
 * and without.
 */

import assert from "node:assert/strict";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import { mariadbCli, mariadbCliArgs } from "../helpers/mariadb_cli.ts";
import { startMySqlFixture } from "../helpers/mysql_fixture.ts";
import { waitFor } from "../helpers/wait.ts";
import { sysbenchConnectArgs } from "../bench/sysbench.ts";

const SCRIPT = `
CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), at DATETIME);
INSERT INTO t VALUES (1, 'one', '2024-01-01 10:00:00'), (2, NULL, NULL);
SELECT * FROM t ORDER BY id;
SELECT id, name FROM t WHERE id = 2 \\G
SHOW COLUMNS FROM t;
BEGIN; UPDATE t SET name = 'uno' WHERE id = 1; SELECT @@in_transaction; COMMIT;
SELECT name FROM t WHERE id = 1;
DROP TABLE t;
`;

async function sysbench(port: number, args: string[]): Promise<{ code: number; out: string }> {
  const { user, password } = MARIADB_AUTH_USERS.native;
  const out = await new Deno.Command("sysbench", {
    args: [
      "oltp_read_write",
      ...sysbenchConnectArgs({ port, user, password, database: "app" }),
      "--tables=2",
      "--table-size=2000",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, out: text.decode(out.stdout) + text.decode(out.stderr) };
}

Deno.test("the mariadb client and sysbench through the proxy", async (t) => {
  await using fx = await startMySqlFixture();
  const { user, password } = MARIADB_AUTH_USERS.native;
  const cli = (port: number) => ({ port, user, password, database: "app" });

  await t.step("the mariadb client prints the same through the proxy as directly", async () => {
    const direct = await mariadbCli(cli(fx.db.port), SCRIPT);
    const proxied = await mariadbCli(cli(fx.proxy.port), SCRIPT);
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(proxied.code, 0, proxied.stderr);
    assert.match(proxied.stdout, /1\tone\t2024-01-01 10:00:00/);
    assert.equal(proxied.stdout, direct.stdout);
    const error = await mariadbCli(cli(fx.proxy.port), "SELECT * FROM missing");
    assert.match(error.stderr, /ERROR 1146 \(42S02\).*app\.missing/);
  });

  await t.step("Ctrl-C cancels SELECT SLEEP(10) through the proxy", async () => {
    // The password on the command line: the client's kill connection reuses it.
    const child = new Deno.Command("mariadb", {
      args: [
        ...mariadbCliArgs(cli(fx.proxy.port)),
        `-p${password}`,
        "-e",
        "SELECT SLEEP(10) AS slept",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const started = Date.now();
    await waitFor(
      "the sleep to run",
      () => [...fx.proxy.sessions].some((s) => s.lastQuery.includes("SLEEP(10)")),
    );
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    const out = await child.output();
    const elapsed = Date.now() - started;
    const text = new TextDecoder();
    const stdout = text.decode(out.stdout), stderr = text.decode(out.stderr);
    assert.ok(elapsed < 8_000, `cancelled after ${elapsed} ms; ${stdout} ${stderr}`);
    // SLEEP() interrupted by KILL QUERY returns 1 instead of 0.
    assert.match(stdout + stderr, /\b1\b|interrupted/i, `${stdout} ${stderr}`);
    const metrics = await (await fetch(`http://127.0.0.1:${fx.proxy.metricsPort}/metrics`)).text();
    assert.match(metrics, /lms_cancel_requests_total\{outcome="forwarded"\} [1-9]/);
    const after = await mariadbCli(cli(fx.proxy.port), "SELECT 'still serving'");
    assert.equal(after.stdout, "still serving");
  });

  await t.step(
    "sysbench oltp_read_write, --db-ps-mode=auto and disable, without errors",
    async () => {
      const prepare = await sysbench(fx.proxy.port, ["prepare"]);
      assert.equal(prepare.code, 0, prepare.out);
      for (const mode of ["auto", "disable"]) {
        const run = await sysbench(fx.proxy.port, [
          "--threads=4",
          "--time=3",
          `--db-ps-mode=${mode}`,
          "run",
        ]);
        assert.equal(run.code, 0, run.out);
        const transactions = Number(/transactions:\s+(\d+)/.exec(run.out)?.[1] ?? 0);
        assert.ok(transactions > 0, run.out);
        // Exit code 0 means no error outside the deadlocks sysbench retries (1213, 1205, 1020).
      }
    },
  );
});
