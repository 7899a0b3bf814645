/**
 * The translation corpus (tests/fixtures/translate/corpus.ts): every statement
 * runs as written on a throwaway MariaDB through mysql2 and, translated, on a
 * throwaway PostgreSQL standing in for CockroachDB through node-postgres, with
 * the same schema and data; results are compared after a normalisation of our
 * own (the neutral result model of proxy/shadow/result.ts is not on main yet):
 * values as text, numbers canonical (4 decimals, MySQL's division scale),
 * `+00` time zones dropped, JSON re-serialised; rows in order when the statement
 * sorts, as multisets otherwise; affected rows (MySQL's 1/2/0 for upserts via
 * mysqlAffectedRows) and last insert ids compared too. The translation uses the
 * `postgresql` target where PostgreSQL 15 lacks a CockroachDB feature
 * (proxy/translate/README.md).
 */

import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import pg from "pg";
import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { PgCatalog } from "../../proxy/translate/catalog.ts";
import { bindParams } from "../../proxy/translate/params.ts";
import { createTranslator } from "../../proxy/translate/translate.ts";
import {
  mysqlAffectedRows,
  UPSERT_EXISTING,
  UPSERT_WRITTEN,
} from "../../proxy/translate/upsert.ts";
import { CORPUS, type CorpusEntry } from "../fixtures/translate/corpus.ts";

type Cell = string | null;

function normalise(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) {
    return `\\x${[...v].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
  let s = typeof v === "object" ? JSON.stringify(v) : String(v);
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(s)) {
    s = Number(s).toFixed(4).replace(/\.?0+$/, "");
    return s === "-0" ? "0" : s;
  }
  // MariaDB prints DATETIME(n) with n digits, PostgreSQL drops trailing zeros: the result
  // mapper pads to the column's precision (README.md), so only the instant is compared here.
  s = s.replace(
    /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:(\.\d*?)0*)?(?:\+00)?$/,
    (_, t: string, f?: string) => (f === undefined || f === "." ? t : `${t}${f}`),
  );
  if (/^[[{]/.test(s)) {
    try {
      return JSON.stringify(JSON.parse(s));
    } catch {
      return s;
    }
  }
  return s;
}

/** What mysql2 answers: rows for a result set, counts for an OK packet. */
interface MysqlAnswer {
  rows: unknown[][];
  affectedRows: number;
  insertId: number;
}

async function runMysql(
  my: mysql.Connection,
  sql: string,
  params: CorpusEntry["params"],
): Promise<MysqlAnswer> {
  const [result] = params ? await my.execute(sql, params) : await my.query(sql);
  if (Array.isArray(result)) return { rows: result as unknown[][], affectedRows: 0, insertId: 0 };
  const ok = result as mysql.ResultSetHeader;
  return { rows: [], affectedRows: ok.affectedRows, insertId: ok.insertId };
}

function rowsOf(rows: unknown[][], sorted: boolean): string[] {
  const out = rows.map((r) => JSON.stringify(r.map(normalise)));
  return sorted ? out : out.sort();
}

Deno.test("translation corpus: MariaDB as written vs PostgreSQL translated", async () => {
  const [maria, cluster] = await Promise.all([
    startMariaDbServer({ name: "corpus", initSql: ["CREATE DATABASE app"] }),
    startPgCluster({ name: "corpus", settings: { TimeZone: "UTC" } }),
  ]);
  const my = await mysql.createConnection({
    host: maria.host,
    port: maria.port,
    user: "root",
    database: "app",
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    rowsAsArray: true,
    timezone: "Z",
  });
  const pgc = new pg.Client({
    connectionString: cluster.url(),
    types: { getTypeParser: () => (value: string) => value },
  });
  await pgc.connect();
  try {
    await my.query("SET time_zone = '+00:00'");
    const translator = await createTranslator({
      catalog: new PgCatalog(async (sql, params) => (await pgc.query(sql, params)).rows),
      options: { target: "postgresql", database: "app" },
    });
    const failures: string[] = [];
    let pgLastInsertId: string | null = null;
    let pgFoundRows = "0";
    let passed = 0;
    for (const [n, entry] of CORPUS.entries()) {
      const label = `#${n} ${entry.sql}`;
      try {
        const t = await translator.translate(entry.sql);
        const values: unknown[] = bindParams<unknown>(t.params, entry.params ?? [], {
          lastInsertId: pgLastInsertId,
          foundRows: pgFoundRows,
        });
        const myResult = await runMysql(my, entry.sql, entry.params);
        if (t.tx?.action === "set_next") {
          // MySQL's SET TRANSACTION waits for the next transaction; the session keeps it (transactions.ts).
          passed++;
          continue;
        }
        const result: pg.QueryResult = await pgc.query({ text: t.sql, values, rowMode: "array" });
        for (const extra of t.followUp) await pgc.query(extra);
        if (t.kind === "ddl") translator.invalidate(t.invalidates);
        if (t.returnsRows) {
          let pgRows = result.rows as unknown[][];
          if (t.foundRowsColumn) {
            pgFoundRows = pgRows.length ? String(pgRows[0].at(-1)) : "0";
            pgRows = pgRows.map((r) => r.slice(0, -1));
          }
          const ordered = /ORDER BY [^)]*$/i.test(entry.sql) || /LIMIT 1$/.test(entry.sql);
          const a = rowsOf(myResult.rows, ordered);
          const b = rowsOf(pgRows, ordered);
          if (JSON.stringify(a) !== JSON.stringify(b)) {
            failures.push(
              `${label}\n  mariadb: ${a.join(" ")}\n  postgres: ${b.join(" ")}\n  sql: ${t.sql}`,
            );
            continue;
          }
        } else if (t.kind === "insert" || t.kind === "update" || t.kind === "delete") {
          let affected = result.rowCount ?? 0;
          if (t.affectedRows !== "plain") {
            const fields = result.fields.map((f: { name: string }) => f.name);
            const row = (result.rows as unknown[][])[0];
            affected = mysqlAffectedRows(
              t.affectedRows,
              t.proposedRows,
              Number(row[fields.indexOf(UPSERT_WRITTEN)]),
              Number(row[fields.indexOf(UPSERT_EXISTING)]),
              true,
            );
          }
          if (t.generatedKey && result.rows.length > 0) {
            pgLastInsertId = String((result.rows as unknown[][])[0][0]);
            if (String(myResult.insertId) !== pgLastInsertId) {
              failures.push(`${label}\n  insert id ${myResult.insertId} vs ${pgLastInsertId}`);
              continue;
            }
          }
          if (myResult.affectedRows !== affected) {
            failures.push(
              `${label}\n  affected rows ${myResult.affectedRows} vs ${affected}\n  sql: ${t.sql}`,
            );
            continue;
          }
        }
        passed++;
      } catch (err) {
        failures.push(`${label}\n  ${err instanceof Error ? err.message : String(err)}`);
        await pgc.query("ROLLBACK").catch(() => {});
      }
    }
    console.log(`translation corpus: ${passed}/${CORPUS.length} statements match`);
    assert.ok(CORPUS.length >= 300, `corpus has ${CORPUS.length} statements`);
    assert.deepEqual(failures, []);
  } finally {
    await my.end().catch(() => {});
    await pgc.end().catch(() => {});
    await Promise.all([maria.stop(), cluster.destroy()]);
  }
});
