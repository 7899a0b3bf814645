/**
 * `deno run -A tests/bench/translated_micro.ts [--transactions N] [--rounds R] [--hash]`:
 * the CPU one sysbench `oltp_read_only` transaction costs the translated
 * backend (`proxy/translate/backend.ts`) alone, in this process, against a
 * throwaway PostgreSQL: no sysbench, no MySQL relay, no client socket, so
 * the figure moves with the translation path only. The transaction is
 * sysbench's with `--db-ps-mode=auto` (BEGIN, 10 point selects, 4 range
 * queries of 100 rows, COMMIT, each a COM_STMT_EXECUTE of a statement
 * prepared once) on one table of 10,000 rows; per round it prints the CPU
 * (user + system) and wall time per transaction and the response bytes.
 * `--hash` instead runs 300 transactions with fixed parameters and prints a
 * digest of every response byte, to check that a change leaves the
 * packets as they were.
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { parseConnectionString } from "../../shared/connstring.ts";
import { TranslatedBackend } from "../../proxy/translate/backend.ts";
import { TranslatorPool } from "../../proxy/translate/translator_pool.ts";
import { targetIdentity } from "../../proxy/translate/target_identity.ts";
import { Cap, Com, MyType } from "../../proxy/mysql/constants.ts";

const TABLE_SQL = `
  CREATE TABLE sbtest1 (id SERIAL PRIMARY KEY, k INTEGER NOT NULL DEFAULT 0,
    c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '');
  INSERT INTO sbtest1 (k, c, pad) SELECT (g * 7919) % 10000, repeat(md5(g::text), 4)::char(120),
    repeat('x', 60) FROM generate_series(1, 10000) g;
  ALTER TABLE sbtest1 OWNER TO sbtest;
  CREATE INDEX k_1 ON sbtest1 (k);
  ANALYZE sbtest1;`;

const STATEMENTS = {
  point: "SELECT c FROM sbtest1 WHERE id=?",
  simple: "SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?",
  sum: "SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?",
  order: "SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c",
  distinct: "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c",
  begin: "BEGIN",
  commit: "COMMIT",
} as const;

/** A MySQL packet with sequence id 0 (a command). */
function command(payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(4 + payload.length);
  f[0] = payload.length & 0xff;
  f[1] = (payload.length >> 8) & 0xff;
  f[2] = payload.length >> 16;
  f.set(payload, 4);
  return f;
}

/** COM_STMT_EXECUTE of `id` with INT parameters; types are sent on a statement's first execute. */
function execute(id: number, ints: number[], sendTypes: boolean): Uint8Array {
  const body = [Com.STMT_EXECUTE, id & 0xff, (id >> 8) & 0xff, 0, 0, 0, 1, 0, 0, 0];
  if (ints.length > 0) {
    for (let i = 0; i < (ints.length + 7) >> 3; i++) body.push(0);
    body.push(sendTypes ? 1 : 0);
    if (sendTypes) { for (const _ of ints) body.push(MyType.LONG, 0); }
    for (const v of ints) body.push(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24);
  }
  return command(new Uint8Array(body));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      transactions: { type: "string", default: "2000" },
      rounds: { type: "string", default: "3" },
      hash: { type: "boolean", default: false },
    },
  });
  const transactions = Number(values.transactions);
  const rounds = Number(values.rounds);
  const pg = await startPgCluster({
    name: "translated-micro",
    initSql: ["CREATE ROLE sbtest LOGIN", "CREATE DATABASE sbtest OWNER sbtest"],
  });
  try {
    await pg.psql(TABLE_SQL, { database: "sbtest" });
    const spec = parseConnectionString(pg.url({ database: "sbtest" }), "INIT_TARGET");
    let nextId = 1;
    const backend = await TranslatedBackend.open({
      spec,
      identity: targetIdentity("sbtest", spec, new Map()),
      user: "sbtest",
      host: "127.0.0.1",
      connectionId: 1,
      serverVersion: "10.11.0-MariaDB",
      database: "sbtest",
      capabilities: Cap.PROTOCOL_41 | Cap.DEPRECATE_EOF | Cap.TRANSACTIONS |
        Cap.SECURE_CONNECTION,
      mariadbCapabilities: 0,
      pool: new TranslatorPool({
        bytesIn: 0,
        bytesOut: 0,
        translations: 0,
        translationHits: 0,
        translationMicros: 0,
      }),
      statements: [],
      settings: [],
      nextStatementId: () => nextId++,
    });
    // Every command here gets exactly one response chunk.
    const waiting: ((chunk: Uint8Array) => void)[] = [];
    const responses: Uint8Array[] = [];
    backend.on("data", (chunk: Uint8Array) => {
      if (values.hash) responses.push(chunk.slice());
      waiting.shift()?.(chunk);
    });
    const ask = (packet: Uint8Array) =>
      new Promise<Uint8Array>((resolve) => {
        waiting.push(resolve);
        backend.write(packet);
      });
    const ids = new Map<keyof typeof STATEMENTS, number>();
    for (const [name, sql] of Object.entries(STATEMENTS)) {
      const r = await ask(
        command(new Uint8Array([Com.STMT_PREPARE, ...new TextEncoder().encode(sql)])),
      );
      if (r[4] !== 0) throw new Error(`preparing ${sql} failed`);
      ids.set(name as keyof typeof STATEMENTS, r[5] | (r[6] << 8));
    }
    let seed = 42;
    const random = values.hash
      ? () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
      : Math.random;
    let first = true;
    let bytes = 0;
    const run = async (name: keyof typeof STATEMENTS, ints: number[]) => {
      bytes += (await ask(execute(ids.get(name)!, ints, first))).length;
    };
    const transaction = async () => {
      const id = () => 1 + Math.floor(random() * 9899);
      await run("begin", []);
      for (let i = 0; i < 10; i++) await run("point", [id()]);
      for (const name of ["simple", "sum", "order", "distinct"] as const) {
        const from = id();
        await run(name, [from, from + 99]);
      }
      await run("commit", []);
      first = false;
    };
    for (let i = 0; i < 300; i++) await transaction();
    if (values.hash) {
      const all = new Uint8Array(responses.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of responses) {
        all.set(c, at);
        at += c.length;
      }
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
      const hex = Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
      console.log(`${all.length} response bytes, sha256 ${hex}…`);
    }
    for (let round = 0; round < rounds && !values.hash; round++) {
      const cpu = process.cpuUsage();
      const wall = performance.now();
      bytes = 0;
      for (let i = 0; i < transactions; i++) await transaction();
      const used = process.cpuUsage(cpu);
      const per = (us: number) => (us / transactions).toFixed(0);
      console.log(
        `round ${round}: CPU µs/tx ${per(used.user + used.system)} (user ${per(used.user)}, ` +
          `system ${per(used.system)}), wall µs/tx ${per((performance.now() - wall) * 1000)}, ` +
          `response bytes/tx ${per(bytes)}`,
      );
    }
    backend.destroy();
  } finally {
    await pg.destroy();
  }
}

if (import.meta.main) await main();
