/**
 * A throwaway MariaDB and a throwaway PostgreSQL (standing in for
 * CockroachDB) holding the same schema: MySQL DDL run as written on MariaDB
 * and translated (proxy/translate/) on PostgreSQL, for comparing the proxy's
 * own answers (proxy/translate/answer/) with MariaDB's.
 */

import mysql from "mysql2/promise";
import pg from "pg";
import { startMariaDbServer } from "../../shared/local/mariadb_server.ts";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { PgCatalog } from "../../proxy/translate/catalog.ts";
import { createTranslator } from "../../proxy/translate/translate.ts";
import type { AnswerContext } from "../../proxy/translate/answer/types.ts";

/** Both servers, a client on each, and a session context whose catalog is PostgreSQL. */
export interface AnswerServers extends AsyncDisposable {
  my: mysql.Connection;
  pgc: pg.Client;
  /** A fresh session context for database `app` on the PostgreSQL side. */
  context(overrides?: Partial<AnswerContext>): AnswerContext;
  /** MariaDB's answer as column names and text rows. */
  maria(sql: string): Promise<{ columns: string[]; rows: (string | null)[][] }>;
}

/** Starts both servers and creates the schema `ddl` on each. */
export async function startAnswerServers(ddl: string[]): Promise<AnswerServers> {
  const [maria, cluster] = await Promise.all([
    startMariaDbServer({ name: "answer", initSql: ["CREATE DATABASE app"] }),
    startPgCluster({ name: "answer", settings: { TimeZone: "UTC" } }),
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
  });
  const pgc = new pg.Client({
    connectionString: cluster.url(),
    types: { getTypeParser: () => (value: string) => value },
  });
  await pgc.connect();
  const translator = await createTranslator({
    catalog: new PgCatalog(async (sql, params) => (await pgc.query(sql, params)).rows),
    options: { target: "postgresql", database: "app" },
  });
  for (const statement of ddl) {
    await my.query(statement);
    const t = await translator.translate(statement);
    for (const sql of [t.sql, ...t.followUp]) await pgc.query(sql);
  }
  return {
    my,
    pgc,
    context: (overrides = {}) => ({
      database: "app",
      user: "root",
      host: "127.0.0.1",
      connectionId: 7,
      serverVersion: "10.11.6-MariaDB",
      variables: new Map(),
      userVariables: new Map(),
      warnings: [],
      inTransaction: false,
      query: async (sql, params) => (await pgc.query(sql, params)).rows,
      ...overrides,
    }),
    async maria(sql) {
      const [rows, fields] = await my.query({ sql, rowsAsArray: true });
      return {
        columns: (fields ?? []).map((f) => f.name),
        rows: (rows as unknown[][]).map((r) => r.map((v) => (v === null ? null : String(v)))),
      };
    },
    async [Symbol.asyncDispose]() {
      await my.end().catch(() => {});
      await pgc.end().catch(() => {});
      await Promise.all([maria.stop(), cluster.destroy()]);
    },
  };
}
