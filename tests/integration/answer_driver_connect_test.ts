/**
 * What MySQL drivers and ORMs send on connect, in migrations and when they
 * introspect (tests/fixtures/translate/driver_connect.json, recorded from
 * their source) must all be served once CockroachDB serves the database:
 * each statement is answered by the proxy (proxy/translate/answer/) or
 * translated (proxy/translate/), never refused with ER 1235 (Rails' migration
 * lock included: named locks run as row locks, named_locks.ts). Answers'
 * `run` statements and translations run on a
 * throwaway PostgreSQL standing in for CockroachDB, with the tables the
 * statements name created by translated MySQL DDL.
 */

import assert from "node:assert/strict";
import pg from "pg";
import { startPgCluster } from "../../shared/local/postgres_cluster.ts";
import { PgCatalog } from "../../proxy/translate/catalog.ts";
import { createTranslator } from "../../proxy/translate/translate.ts";
import { answerStatement, RowNamedLocks } from "../../proxy/translate/answer/mod.ts";
import type { AnswerContext, SessionValue } from "../../proxy/translate/answer/types.ts";

interface Entry {
  driver: string;
  source: string;
  when: string;
  sql: string;
  params?: SessionValue[];
}

const corpus: { statements: Entry[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/translate/driver_connect.json", import.meta.url)),
);

const DDL = [
  "CREATE TABLE users (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(191) NOT NULL, " +
  "UNIQUE KEY users_email_unique (email))",
  "CREATE TABLE posts (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id BIGINT NOT NULL, " +
  "KEY posts_user_id_index (user_id), CONSTRAINT posts_user_id_foreign FOREIGN KEY (user_id) " +
  "REFERENCES users (id) ON DELETE CASCADE)",
  "CREATE TABLE migrations (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, " +
  "migration VARCHAR(255) NOT NULL, batch INT NOT NULL)",
  "CREATE TABLE schema_migrations (version VARCHAR(255) NOT NULL PRIMARY KEY)",
  "CREATE TABLE knex_migrations (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, " +
  "name VARCHAR(255), batch INT, migration_time TIMESTAMP NULL)",
  "CREATE TABLE django_migrations (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, " +
  "app VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, applied DATETIME(6) NOT NULL)",
  "CREATE TABLE `SequelizeMeta` (name VARCHAR(255) NOT NULL PRIMARY KEY)",
];

Deno.test("driver and ORM statements are answered or translated, none refused", async () => {
  const cluster = await startPgCluster({ name: "answer-drivers", settings: { TimeZone: "UTC" } });
  const pgc = new pg.Client({
    connectionString: cluster.url(),
    types: { getTypeParser: () => (value: string) => value },
  });
  await pgc.connect();
  try {
    const translator = await createTranslator({
      catalog: new PgCatalog(async (sql, params) => (await pgc.query(sql, params)).rows),
      options: { target: "postgresql", database: "app" },
    });
    for (const statement of DDL) {
      const t = await translator.translate(statement);
      for (const sql of [t.sql, ...t.followUp]) await pgc.query(sql);
    }
    const lockClients: pg.Client[] = [];
    const locks = new RowNamedLocks(async () => {
      const client = new pg.Client({ connectionString: cluster.url() });
      await client.connect();
      lockClients.push(client);
      return { query: (sql, p) => client.query(sql, p), close: () => client.end() };
    });
    const context = (params?: SessionValue[]): AnswerContext => ({
      database: "app",
      user: "app",
      host: "10.0.0.9",
      connectionId: 11,
      serverVersion: "8.0.36",
      variables: new Map(),
      userVariables: new Map(),
      warnings: [],
      inTransaction: false,
      query: async (sql, p) => (await pgc.query(sql, p)).rows,
      params,
      locks,
    });
    const failures: string[] = [];
    const counts = { answered: 0, translated: 0 };
    for (const entry of corpus.statements) {
      const label = `${entry.driver} (${entry.source}): ${entry.sql.slice(0, 120)}`;
      try {
        const answer = await answerStatement(entry.sql, context(entry.params));
        if (answer === null) {
          const t = await translator.translate(entry.sql);
          await pgc.query("BEGIN");
          try {
            await pgc.query(t.sql, entry.params ?? []);
          } finally {
            await pgc.query("ROLLBACK");
          }
          counts.translated++;
          continue;
        }
        if (answer.kind === "error") throw new Error(`answered ${answer.code}: ${answer.message}`);
        if (answer.kind === "ok") {
          for (const sql of answer.run ?? []) await pgc.query(sql);
        } else {
          assert.ok(answer.columns.length > 0, "a result without columns");
          for (const row of answer.rows) assert.equal(row.length, answer.columns.length);
        }
        counts.answered++;
      } catch (err) {
        failures.push(`${label}\n    ${err instanceof Error ? err.message : err}`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} statements not served`);
    assert.ok(counts.answered > 50 && counts.translated >= 5, JSON.stringify(counts));
    assert.equal(await locks.releaseAll(), 0, "Rails' RELEASE_LOCK released its GET_LOCK");
    for (const c of lockClients) await c.end().catch(() => {});
  } finally {
    await pgc.end().catch(() => {});
    await cluster.destroy();
  }
});
