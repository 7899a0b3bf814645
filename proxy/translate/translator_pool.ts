/**
 * The translators of one proxy, shared by its MySQL sessions on the target.
 * A translation depends on the session's database and CLIENT_FOUND_ROWS
 * (README.md, "Prepared statements"), so there is one translator per pair,
 * each with its cache; each database has one catalog, read through an idle
 * connection of a session on that database (the catalog is `pg_catalog`,
 * which every user may read), preferably one outside a transaction: a read
 * inside a session's transaction joins it, and fails in one a failed read
 * aborted (reads and writes look their tables up since BOOL columns matter). Translation time and cache hits are tallied
 * for the metrics (`lms_translations_total`, `lms_translation_seconds_total`).
 *
 * @module
 */

import type { Tallies } from "../metrics.ts";
import { CachedCatalog, PgCatalog } from "./catalog.ts";
import type { Target } from "./context.ts";
import { createTranslator, type Translator } from "./translate.ts";
import type { Translation } from "./types.ts";
import type { TargetConnection } from "./target_connection.ts";
import { LmsError } from "../../shared/errors.ts";

interface DatabaseEntry {
  catalog: CachedCatalog;
  connections: Set<TargetConnection>;
}

/** See the module documentation. */
export class TranslatorPool {
  readonly #tallies: Tallies;
  readonly #databases = new Map<string, DatabaseEntry>();
  readonly #translators = new Map<string, Promise<Translator>>();

  /** @param tallies where translation counts and time go */
  constructor(tallies: Tallies) {
    this.#tallies = tallies;
  }

  #database(name: string): DatabaseEntry {
    let entry = this.#databases.get(name);
    if (!entry) {
      const connections = new Set<TargetConnection>();
      const catalog = new CachedCatalog(
        new PgCatalog(async (sql, params) => {
          const open = [...connections].filter((c) => !c.closed);
          const conn = open.find((c) => c.pending === 0 && c.txStatus === "I") ??
            open.find((c) => c.pending === 0 && c.txStatus !== "E") ??
            open.find((c) => c.txStatus !== "E") ?? open[0];
          if (!conn) {
            throw new LmsError("BACKEND_UNAVAILABLE", "no connection to read the catalog with");
          }
          const r = await conn.run([{ sql, params: params.map((p) => String(p)) }]);
          if (r.error) throw r.error;
          const { fields, rows } = r.results[0];
          return rows.map((row) =>
            Object.fromEntries((fields ?? []).map((f, i) => [f.name, row[i]]))
          );
        }),
      );
      entry = { catalog, connections };
      this.#databases.set(name, entry);
    }
    return entry;
  }

  /** Makes `conn` available for catalog reads of its database; returns the undo. */
  register(conn: TargetConnection): () => void {
    const entry = this.#database(conn.database);
    entry.connections.add(conn);
    return () => entry.connections.delete(conn);
  }

  /** The translator for a session on `database` with these options. */
  translator(database: string, clientFoundRows: boolean, target: Target): Promise<Translator> {
    const key = `${target}\u0000${clientFoundRows}\u0000${database}`;
    let t = this.#translators.get(key);
    if (!t) {
      t = createTranslator({
        catalog: this.#database(database).catalog,
        options: { target, database: database || null, clientFoundRows },
      });
      this.#translators.set(key, t);
    }
    return t;
  }

  /** Translates `sql` with `translator`, tallying the time and whether the cache had it. */
  async translate(translator: Translator, sql: string): Promise<Translation> {
    const started = performance.now();
    const hits = translator.cache.hits;
    try {
      return await translator.translate(sql);
    } finally {
      const t = this.#tallies;
      t.translations++;
      if (translator.cache.hits > hits) t.translationHits++;
      t.translationMicros += (performance.now() - started) * 1000;
    }
  }

  /** After DDL on `database`: every translator of it forgets the tables. */
  async invalidate(database: string, tables: string[]): Promise<void> {
    for (const [key, t] of this.#translators) {
      if (key.endsWith(`\u0000${database}`)) (await t).invalidate(tables);
    }
  }
}
