/**
 * What the translator needs to know about tables, and where it comes from.
 *
 * `ON DUPLICATE KEY UPDATE` and `REPLACE` need a conflict target (the table's
 * primary or unique keys) and INSERT needs the AUTO_INCREMENT column for
 * MySQL's last insert id; none of that is in the statement. The executor
 * supplies a `Catalog`; `PgCatalog` reads CockroachDB's (and PostgreSQL's)
 * `pg_catalog` through whatever query function the executor has, and
 * `CachedCatalog` keeps answers until DDL invalidates them.
 *
 * @module
 */

/** One table's keys and columns, all names lower case. */
export interface TableInfo {
  /** Column names in table order. */
  columns: string[];
  /** Primary key columns, empty when there is none. */
  primaryKey: string[];
  /** Each unique constraint or unique index (not the primary key), in name order. */
  uniqueKeys: string[][];
  /** The column filled from a sequence or identity (MySQL's AUTO_INCREMENT), if any. */
  generatedKey: string | null;
  /** The BOOL columns (a MySQL TINYINT(1) converted for CockroachDB); absent when none. */
  booleans?: string[];
}

/** Supplies table metadata to the translator. */
export interface Catalog {
  /** The table, or null when it does not exist. */
  table(name: string): Promise<TableInfo | null>;
}

/** Runs one parameterised query and returns its rows as objects. */
export type CatalogQuery = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

const COLUMNS_SQL = `SELECT a.attname AS name,
       (a.attidentity IN ('a', 'd')
        OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%'
        OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'unique_rowid()%') AS generated,
       a.atttypid = 16 AS boolean
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum`;

const KEYS_SQL = `SELECT i.indisprimary AS primary, ic.relname AS name,
       array_to_string(ARRAY(
         SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          ORDER BY k.ord), ',') AS columns
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2 AND (i.indisunique OR i.indisprimary)
 ORDER BY i.indisprimary DESC, ic.relname`;

/** A catalog read from `pg_catalog` (CockroachDB and PostgreSQL both serve it). */
export class PgCatalog implements Catalog {
  readonly #query: CatalogQuery;
  readonly #schema: string;

  /**
   * @param query runs SQL on the target as the session's user
   * @param schema the schema MySQL tables live in (default `public`)
   */
  constructor(query: CatalogQuery, schema = "public") {
    this.#query = query;
    this.#schema = schema;
  }

  /** Reads the table's columns and keys; null when it does not exist. */
  async table(name: string): Promise<TableInfo | null> {
    const columns = await this.#query(COLUMNS_SQL, [this.#schema, name]);
    if (columns.length === 0) return null;
    const keys = await this.#query(KEYS_SQL, [this.#schema, name]);
    const visible = new Set(columns.map((c) => String(c.name)));
    const keyColumns = (k: Record<string, unknown>) =>
      String(k.columns).split(",").filter((c) => visible.has(c));
    const primary = keys.find((k) => isTrue(k.primary));
    return {
      columns: columns.map((c) => String(c.name)),
      primaryKey: primary ? keyColumns(primary) : [],
      uniqueKeys: keys.filter((k) => !isTrue(k.primary)).map(keyColumns).filter((k) =>
        k.length > 0
      ),
      generatedKey: String(columns.find((c) => isTrue(c.generated))?.name ?? "") || null,
      booleans: columns.filter((c) => isTrue(c.boolean)).map((c) => String(c.name)),
    };
  }
}

/** A boolean from a driver that returns booleans as values or as text (`t`). */
function isTrue(v: unknown): boolean {
  return v === true || v === "t" || v === "true";
}

/** Caches another catalog's answers until `invalidate`. */
export class CachedCatalog implements Catalog {
  readonly #inner: Catalog;
  readonly #entries = new Map<string, Promise<TableInfo | null>>();

  /** @param inner the catalog asked on a miss */
  constructor(inner: Catalog) {
    this.#inner = inner;
  }

  /** The cached answer, or the inner catalog's (a failed lookup is not cached). */
  table(name: string): Promise<TableInfo | null> {
    let entry = this.#entries.get(name);
    if (!entry) {
      entry = this.#inner.table(name);
      entry.catch(() => this.#entries.delete(name));
      this.#entries.set(name, entry);
    }
    return entry;
  }

  /** Forgets one table (after DDL on it), or every table when no name is given. */
  invalidate(name?: string): void {
    if (name === undefined) this.#entries.clear();
    else this.#entries.delete(name);
  }
}
