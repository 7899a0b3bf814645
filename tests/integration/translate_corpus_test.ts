/**
 * The translation corpus (tests/fixtures/translate/corpus.ts): every statement
 * runs as written on a throwaway MariaDB through mysql2 and, translated, on a
 * throwaway PostgreSQL standing in for CockroachDB through node-postgres, with
 * the same schema and data. Both answers become neutral results
 * (proxy/shadow/result.ts; tests/helpers/translate_results.ts) and are compared
 * the way shadowing compares them (proxy/shadow/compare.ts): columns by name
 * (MySQL's labels), values with type-tolerant equality, rows in order when the
 * statement sorts and as multisets otherwise, affected rows (MySQL's 1/2/0 for
 * upserts through mysqlAffectedRows) and last insert ids. A statement whose
 * entry names a known difference (proxy/translate/README.md) must differ in
 * exactly that way; every other one must match. The translation uses the
 * `postgresql` target where PostgreSQL 15 lacks a CockroachDB feature.
 */

import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import pg from "pg";
import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { compareResults } from "../../proxy/shadow/compare.ts";
import type { NeutralResult } from "../../proxy/shadow/result.ts";
import { DEFAULT_SHADOW_RULES } from "../../proxy/shadow/rules.ts";
import { PgCatalog } from "../../proxy/translate/catalog.ts";
import { bindParams } from "../../proxy/translate/params.ts";
import { createTranslator } from "../../proxy/translate/translate.ts";
import {
  mysqlAffectedRows,
  UPSERT_EXISTING,
  UPSERT_WRITTEN,
} from "../../proxy/translate/upsert.ts";
import { CORPUS } from "../fixtures/translate/corpus.ts";
import { fromMysql2, fromPg } from "../helpers/translate_results.ts";

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
    let matched = 0;
    let known = 0;
    for (const [n, entry] of CORPUS.entries()) {
      const label = `#${n} ${entry.sql}`;
      try {
        const t = await translator.translate(entry.sql);
        const values: unknown[] = bindParams<unknown>(t.params, entry.params ?? [], {
          lastInsertId: pgLastInsertId,
          foundRows: pgFoundRows,
        });
        const [myAnswer, myFields] = entry.params
          ? await my.execute(entry.sql, entry.params)
          : await my.query(entry.sql);
        const command = t.kind.toUpperCase();
        const source = fromMysql2(entry.sql, command, myAnswer, myFields);
        if (t.tx?.action === "set_next") {
          // MySQL's SET TRANSACTION waits for the next transaction; the session keeps it
          // (transactions.ts), so nothing runs on the target now.
          matched++;
          continue;
        }
        let result: pg.QueryResult;
        try {
          result = await pgc.query({ text: entry.targetSql ?? t.sql, values, rowMode: "array" });
        } catch (err) {
          const failed: NeutralResult = {
            sql: t.sql,
            kind: "error",
            rows: [],
            rowCount: 0,
            digest: "",
            ordered: false,
            error: { sqlstate: (err as { code?: string }).code, message: String(err) },
          };
          const verdict = compareResults(source, failed, DEFAULT_SHADOW_RULES);
          if (
            entry.known?.kind === "error_vs_success" && verdict.kinds.join() === "error_vs_success"
          ) {
            known++;
            continue;
          }
          throw err;
        }
        if (!entry.targetSql) { for (const extra of t.followUp) await pgc.query(extra); }
        if (t.kind === "ddl") translator.invalidate(t.invalidates);
        const rows = result.rows as unknown[][];
        const extra: { affectedRows?: number; lastInsertId?: bigint; dropLastColumn?: boolean } =
          {};
        if (t.foundRowsColumn) {
          pgFoundRows = rows.length ? String(rows[0].at(-1)) : "0";
          extra.dropLastColumn = true;
        }
        if (t.kind === "insert" || t.kind === "update" || t.kind === "delete") {
          extra.affectedRows = result.rowCount ?? 0;
          if (t.affectedRows !== "plain") {
            const names = result.fields.map((f: pg.FieldDef) => f.name);
            extra.affectedRows = mysqlAffectedRows(
              t.affectedRows,
              t.proposedRows,
              Number(rows[0][names.indexOf(UPSERT_WRITTEN)]),
              Number(rows[0][names.indexOf(UPSERT_EXISTING)]),
              true,
            );
          }
          if (t.generatedKey && rows.length > 0) {
            pgLastInsertId = String(rows[0][0]);
            extra.lastInsertId = BigInt(pgLastInsertId);
          }
        }
        const target = fromPg(t.sql, command, result, t.returnsRows, extra);
        const verdict = compareResults(source, target, DEFAULT_SHADOW_RULES);
        if (entry.known) {
          if (verdict.verdict === "mismatch" && verdict.kinds.join() === entry.known.kind) known++;
          else {
            failures.push(
              `${label}\n  expected the known ${entry.known.kind} difference (${entry.known.reason}), ` +
                `got ${verdict.verdict} ${verdict.kinds.join()}`,
            );
          }
        } else if (verdict.verdict === "match") matched++;
        else {
          failures.push(
            `${label}\n  ${verdict.verdict} ${verdict.kinds.join()}: ${verdict.reason}\n  sql: ${t.sql}\n  mariadb: ${
              JSON.stringify(verdict.source)
            }\n  postgres: ${JSON.stringify(verdict.target)}`,
          );
        }
      } catch (err) {
        failures.push(`${label}\n  ${err instanceof Error ? err.message : String(err)}`);
        await pgc.query("ROLLBACK").catch(() => {});
      }
    }
    console.log(
      `translation corpus: ${matched} of ${CORPUS.length} statements match, ` +
        `${known} differ as documented`,
    );
    assert.ok(CORPUS.length >= 300, `corpus has ${CORPUS.length} statements`);
    assert.deepEqual(failures, []);
  } finally {
    await my.end().catch(() => {});
    await pgc.end().catch(() => {});
    await Promise.all([maria.stop(), cluster.destroy()]);
  }
});
