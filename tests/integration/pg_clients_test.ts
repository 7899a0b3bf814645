/**
 * Real command-line clients through the PostgreSQL proxy: psql (simple
 * protocol, `\copy` both ways, COPY errors, NOTICE, SET/RESET, transactions),
 * pgbench in its three query modes, and a hand-made FunctionCall, against
 * the proxy running as its own process. Everything is run once directly
 * against the database and once through the proxy, and the results must be
 * equal.
 */

import assert from "node:assert/strict";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { psql, run, spawnProxy } from "../helpers/proxy.ts";
import { decodeFields, int32, message, query, readInt32 } from "../../proxy/pg/messages.ts";
import { encodeStartupMessage } from "../../proxy/pg/startup.ts";

type Target = "direct" | "proxy";

/** A COPY text-format file with the awkward cases: escaped tabs, NULLs, unicode, 1 MiB. */
function copyData(): { text: string; rows: number } {
  const big = "x".repeat(1024 * 1024 - 3) + "end";
  const rows = [
    "1\tplain",
    "2\twith\\ttab and\\nnewline and \\\\ backslash",
    "3\t\\N",
    "4\tunicode: żółć 日本語 🐘",
    `5\t${big}`,
    "6\t",
  ];
  return { text: rows.join("\n") + "\n", rows: rows.length };
}

/** A minimal protocol-3 client on a raw socket, for messages no driver sends. */
class RawClient {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  static async connect(port: number): Promise<RawClient> {
    const client = new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
    await client.send(
      encodeStartupMessage(new Map([["user", "postgres"], ["database", "postgres"]])),
    );
    await client.until("Z");
    return client;
  }

  async send(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) at += await this.#conn.write(bytes.subarray(at));
  }

  async #next(): Promise<{ type: string; body: Uint8Array; raw: Uint8Array }> {
    for (;;) {
      if (this.#buf.length >= 5) {
        const len = readInt32(this.#buf, 1);
        if (this.#buf.length >= len + 1) {
          const raw = this.#buf.slice(0, len + 1);
          this.#buf = this.#buf.subarray(len + 1);
          return { type: String.fromCharCode(raw[0]), body: raw.subarray(5), raw };
        }
      }
      const chunk = new Uint8Array(65536);
      const n = await this.#conn.read(chunk);
      if (n === null) throw new Error("connection closed");
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }

  /** Reads messages up to and including one of type `last`; returns them all. */
  async until(last: string): Promise<{ type: string; body: Uint8Array; raw: Uint8Array }[]> {
    const out = [];
    for (;;) {
      const msg = await this.#next();
      out.push(msg);
      if (msg.type === last) return out;
    }
  }

  close(): void {
    this.#conn.close();
  }
}

/** A FunctionCall message (`F`): every argument and the result in one format code. */
function functionCall(oid: number, format: 0 | 1, args: Uint8Array[]): Uint8Array {
  const int16 = (v: number) => new Uint8Array([v >> 8, v & 0xff]);
  return message(
    "F",
    int32(oid),
    int16(1),
    int16(format),
    int16(args.length),
    ...args.flatMap((a) => [int32(a.length), a]),
    int16(format),
  );
}

Deno.test("psql, pgbench and FunctionCall through the proxy equal the direct connection", async (t) => {
  await using cluster = await startPgCluster({ name: "clients" });
  await using proxy = await spawnProxy({ INIT_SOURCE: cluster.url() });
  const proxyUrl = `postgres://postgres@127.0.0.1:${proxy.port}/postgres`;
  const urls: Record<Target, string> = { direct: cluster.url(), proxy: proxyUrl };
  const both = async <T>(f: (url: string, target: Target) => Promise<T>) => ({
    direct: await f(urls.direct, "direct"),
    proxy: await f(urls.proxy, "proxy"),
  });

  await t.step("multi-statement simple queries", async () => {
    const sql = "SELECT 1 AS a, 'two' AS b; SELECT g, g * g FROM generate_series(1, 5) g; " +
      "SELECT NULL::int IS NULL, 'it''s'::text, E'tab\\there', 1.5::numeric / 3";
    const out = await both((url) => psql(url, ["-c", sql]));
    assert.equal(out.proxy.code, 0, out.proxy.stderr);
    assert.equal(out.proxy.stdout, out.direct.stdout);
    assert.match(out.proxy.stdout, /^1\|two\n1\|1\n2\|4\n/);
    // A script mixes statements, psql meta-commands and an error that does not stop it.
    const script = "CREATE TEMP TABLE s (i int);\nINSERT INTO s VALUES (1), (2);\n" +
      "SELECT * FROM nope;\nSELECT sum(i) FROM s;\n\\echo :LAST_ERROR_SQLSTATE\n";
    const scripted = await both((url) =>
      psql(url, ["-v", "ON_ERROR_STOP=0", "-f", "-"], { stdin: script })
    );
    assert.equal(scripted.proxy.stdout, scripted.direct.stdout);
    assert.equal(scripted.proxy.stdout, "CREATE TABLE\nINSERT 0 2\n3\n42P01\n");
    assert.equal(scripted.proxy.stderr, scripted.direct.stderr);
  });

  await t.step(
    "\\copy FROM STDIN and TO STDOUT with escapes, NULLs, unicode and 1 MiB",
    async () => {
      const { text, rows } = copyData();
      await cluster.psql(
        "CREATE TABLE copy_direct (id int PRIMARY KEY, v text); " +
          "CREATE TABLE copy_proxy (id int PRIMARY KEY, v text);",
      );
      const loaded = await both((url, target) =>
        psql(url, ["-c", `\\copy copy_${target} FROM STDIN`], { stdin: text })
      );
      assert.equal(loaded.proxy.code, 0, loaded.proxy.stderr);
      assert.equal(loaded.proxy.stdout, loaded.direct.stdout);
      assert.equal(loaded.proxy.stdout.trim(), `COPY ${rows}`);
      const dumped = await both((url, target) =>
        psql(url, ["-c", `\\copy (SELECT * FROM copy_${target} ORDER BY id) TO STDOUT`])
      );
      assert.equal(dumped.proxy.code, 0, dumped.proxy.stderr);
      assert.equal(dumped.proxy.stdout, dumped.direct.stdout);
      assert.equal(dumped.proxy.stdout, text);
      // The same table read both ways gives the same bytes.
      const sameTable = await both((url) => psql(url, ["-c", "\\copy copy_proxy TO STDOUT"]));
      assert.equal(sameTable.proxy.stdout, sameTable.direct.stdout);
      const checks = await cluster.psql(
        "SELECT v IS NULL FROM copy_proxy WHERE id = 3; " +
          "SELECT length(v) FROM copy_proxy WHERE id = 5; " +
          "SELECT v = E'with\\ttab and\\nnewline and \\\\ backslash' FROM copy_proxy WHERE id = 2; " +
          "SELECT md5(string_agg(coalesce(v, '~'), '|' ORDER BY id)) FROM copy_direct " +
          "UNION ALL SELECT md5(string_agg(coalesce(v, '~'), '|' ORDER BY id)) FROM copy_proxy;",
      );
      const [isNull, len, tabbed, md5a, md5b] = checks.split("\n");
      assert.deepEqual([isNull, len, tabbed], ["t", String(1024 * 1024), "t"]);
      assert.equal(md5a, md5b);
    },
  );

  await t.step("a bad COPY row surfaces the database's error and the session goes on", async () => {
    await cluster.psql("CREATE TABLE copy_bad (id int, v text);");
    const data = "1\tok\nnot-a-number\tbad\n3\tnever\n";
    const out = await both((url) =>
      psql(
        url,
        [
          "-v",
          "ON_ERROR_STOP=0",
          "-c",
          "\\copy copy_bad FROM STDIN",
          "-c",
          "SELECT count(*) FROM copy_bad",
        ],
        { stdin: data },
      )
    );
    assert.equal(out.proxy.stderr, out.direct.stderr);
    assert.match(out.proxy.stderr, /invalid input syntax for type integer: "not-a-number"/);
    assert.match(out.proxy.stderr, /COPY copy_bad, line 2/);
    assert.equal(out.proxy.stdout, out.direct.stdout);
    assert.equal(out.proxy.stdout.trim(), "0");
  });

  await t.step("NOTICE reaches stderr", async () => {
    const out = await both((url) =>
      psql(url, ["-c", "DO $$BEGIN RAISE NOTICE 'hi'; RAISE WARNING 'careful'; END$$"])
    );
    assert.equal(out.proxy.code, 0, out.proxy.stderr);
    assert.equal(out.proxy.stderr, out.direct.stderr);
    assert.match(out.proxy.stderr, /NOTICE: {2}hi/);
    assert.match(out.proxy.stderr, /WARNING: {2}careful/);
  });

  await t.step("SET, RESET, SHOW and BEGIN/ROLLBACK", async () => {
    const sql = [
      "CREATE TEMP TABLE tx_probe (who text)",
      "SET application_name = 'lms-psql-test'",
      "SHOW application_name",
      "SET search_path = pg_catalog, public",
      "SHOW search_path",
      "RESET application_name",
      "SHOW application_name",
      "BEGIN",
      "INSERT INTO tx_probe VALUES ('rolled back')",
      "SELECT count(*) FROM tx_probe",
      "ROLLBACK",
      "BEGIN",
      "INSERT INTO tx_probe VALUES ('kept')",
      "COMMIT",
      "SELECT who FROM tx_probe",
    ].map((s) => s + ";").join("\n") + "\n\\echo :LAST_ERROR_SQLSTATE\n";
    const out = await both((url) => psql(url, ["-q", "-f", "-"], { stdin: sql }));
    assert.equal(out.proxy.code, 0, out.proxy.stderr);
    assert.equal(out.proxy.stdout, out.direct.stdout);
    assert.deepEqual(out.proxy.stdout.split("\n"), [
      "lms-psql-test",
      "pg_catalog, public",
      "psql",
      "1",
      "kept",
      "00000",
      "",
    ]);
  });

  await t.step(
    "pgbench -M simple/extended/prepared: no failures, history grows by the tx",
    async () => {
      const init = await run("pgbench", ["-i", "-s", "1", "-q", proxyUrl]);
      assert.equal(init.code, 0, init.stderr);
      const count = async () => Number(await cluster.psql("SELECT count(*) FROM pgbench_history"));
      assert.equal(await count(), 0);
      assert.equal(await cluster.psql("SELECT count(*) FROM pgbench_accounts"), "100000");
      for (const mode of ["simple", "extended", "prepared"]) {
        const results: Record<string, { processed: string; failed: string }> = {};
        for (const target of ["direct", "proxy"] as const) {
          const before = await count();
          const out = await run("pgbench", [
            "-n",
            "-M",
            mode,
            "-c",
            "4",
            "-j",
            "2",
            "-t",
            "200",
            urls[target],
          ]);
          assert.equal(out.code, 0, `${target} ${mode}: ${out.stderr}`);
          const processed = /number of transactions actually processed: (\d+\/\d+)/.exec(
            out.stdout,
          );
          const failed = /number of failed transactions: (\d+)/.exec(out.stdout);
          assert.ok(processed && failed, out.stdout);
          results[target] = { processed: processed[1], failed: failed[1] };
          assert.equal(await count() - before, 800, `${target} ${mode}`);
        }
        assert.deepEqual(results.proxy, { processed: "800/800", failed: "0" });
        assert.deepEqual(results.proxy, results.direct);
      }
      // Balances stay consistent: every transaction moved the same delta everywhere.
      const sums = await cluster.psql(
        "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(delta) FROM pgbench_history)" +
          " AND (SELECT sum(tbalance) FROM pgbench_tellers) = (SELECT sum(delta) FROM pgbench_history)",
      );
      assert.equal(sums, "t");
    },
  );

  await t.step("FunctionCall returns the same FunctionCallResponse", async () => {
    const oid = Number(await cluster.psql("SELECT 'int4abs'::regproc::oid"));
    const replies: Record<Target, Uint8Array[][]> = { direct: [], proxy: [] };
    for (const target of ["direct", "proxy"] as const) {
      const client = await RawClient.connect(target === "direct" ? cluster.port : proxy.port);
      try {
        await client.send(functionCall(oid, 1, [int32(-42)]));
        const binary = await client.until("Z");
        await client.send(functionCall(oid, 0, [new TextEncoder().encode("-7")]));
        const text = await client.until("Z");
        // A wrong argument count is the database's error, relayed as is.
        await client.send(functionCall(oid, 0, []));
        const error = await client.until("Z");
        await client.send(query("SELECT 1"));
        const after = await client.until("Z");
        replies[target] = [binary, text, error, after].map((msgs) => msgs.map((m) => m.raw));
        assert.deepEqual(binary.map((m) => m.type), ["V", "Z"]);
        assert.equal(readInt32(binary[0].body, 0), 4);
        assert.equal(readInt32(binary[0].body, 4), 42);
        assert.equal(new TextDecoder().decode(text[0].body.subarray(4)), "7");
        assert.equal(error[0].type, "E");
        assert.equal(decodeFields(error[0].body).get("C"), "08P01");
        assert.equal(after[after.length - 1].type, "Z");
      } finally {
        client.close();
      }
    }
    assert.deepEqual(replies.proxy, replies.direct);
  });
});
