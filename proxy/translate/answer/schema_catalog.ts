/**
 * The target's tables, columns, indexes and foreign keys, read from
 * `pg_catalog` (served by CockroachDB and by PostgreSQL, its stand-in in the
 * tests) through `AnswerContext.query`, for `SHOW COLUMNS`, `SHOW INDEX`,
 * `SHOW CREATE TABLE`, `DESCRIBE` and `information_schema`.
 *
 * @module
 */

import type { AnswerContext } from "./types.ts";

/** One column as the catalog describes it. */
export interface CatalogColumn {
  name: string;
  ordinal: number;
  /** `format_type()` of the column, e.g. `character varying(255)`. */
  pgType: string;
  notNull: boolean;
  /** `pg_get_expr()` of the default, or null. */
  defaultExpr: string | null;
  /** An identity or sequence-backed column (MySQL's AUTO_INCREMENT). */
  generated: boolean;
  comment: string | null;
}

/** One index (the primary key included). */
export interface CatalogIndex {
  name: string;
  primary: boolean;
  unique: boolean;
  columns: string[];
  /** Per column: sorted descending. */
  descending: boolean[];
}

/** One foreign key. */
export interface CatalogForeignKey {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  /** MySQL's rule names: CASCADE, SET NULL, SET DEFAULT, RESTRICT, NO ACTION. */
  onUpdate: string;
  onDelete: string;
}

/** One table or view. */
export interface CatalogTable {
  name: string;
  view: boolean;
  comment: string | null;
  columns: CatalogColumn[];
  indexes: CatalogIndex[];
  foreignKeys: CatalogForeignKey[];
}

const FROM_TABLES = `FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v') AND ($2 = '' OR c.relname = $2)`;

const TABLES_SQL = `SELECT c.relname AS name, c.relkind AS kind,
       pg_catalog.obj_description(c.oid, 'pg_class') AS comment
  ${FROM_TABLES}
 ORDER BY c.relname`;

const COLUMNS_SQL = `SELECT c.relname AS table_name, a.attname AS name, a.attnum AS ordinal,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       (a.attidentity IN ('a', 'd')) AS identity,
       pg_catalog.col_description(c.oid, a.attnum) AS comment
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v') AND ($2 = '' OR c.relname = $2)
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum`;

const INDEXES_SQL = `SELECT c.relname AS table_name, ic.relname AS name,
       i.indisprimary AS is_primary, i.indisunique AS is_unique,
       array_to_string(ARRAY(
         SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          ORDER BY k.ord), ',') AS columns,
       array_to_string(ARRAY(
         SELECT (o.opt::INT8 & 1)::TEXT FROM unnest(i.indoption) WITH ORDINALITY AS o(opt, ord)
          ORDER BY o.ord), ',') AS options
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND ($2 = '' OR c.relname = $2)
 ORDER BY c.relname, i.indisprimary DESC, ic.relname`;

const FOREIGN_KEYS_SQL =
  `SELECT c.relname AS table_name, con.conname AS name, rc.relname AS ref_table,
       array_to_string(ARRAY(
         SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
          ORDER BY k.ord), ',') AS columns,
       array_to_string(ARRAY(
         SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
          ORDER BY k.ord), ',') AS ref_columns,
       con.confupdtype AS on_update, con.confdeltype AS on_delete
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
  JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE con.contype = 'f' AND n.nspname = $1 AND ($2 = '' OR c.relname = $2)
 ORDER BY c.relname, con.conname`;

// MySQL's default rule is RESTRICT (InnoDB treats NO ACTION as RESTRICT); translated DDL without
// a rule gets CockroachDB's default, NO ACTION, which therefore reads back as MySQL's default.
const RULES: Record<string, string> = {
  a: "RESTRICT",
  r: "RESTRICT",
  c: "CASCADE",
  n: "SET NULL",
  d: "SET DEFAULT",
};

/** The schema MySQL tables live in on the target. */
export function targetSchema(ctx: AnswerContext): string {
  return ctx.schema ?? "public";
}

/**
 * Reads the tables of the session's schema (or only `table`, lower-cased
 * as translated DDL creates it), in name order.
 */
export async function readCatalog(ctx: AnswerContext, table?: string): Promise<CatalogTable[]> {
  const params = [targetSchema(ctx), table === undefined ? "" : table.toLowerCase()];
  const tables = await ctx.query(TABLES_SQL, params);
  if (tables.length === 0) return [];
  const [columns, indexes, foreignKeys] = await Promise.all([
    ctx.query(COLUMNS_SQL, params),
    ctx.query(INDEXES_SQL, params),
    ctx.query(FOREIGN_KEYS_SQL, params),
  ]);
  const byName = new Map<string, CatalogTable>();
  for (const t of tables) {
    const name = String(t.name);
    byName.set(name, {
      name,
      view: t.kind === "v",
      comment: t.comment,
      columns: [],
      indexes: [],
      foreignKeys: [],
    });
  }
  for (const c of columns) {
    const t = byName.get(String(c.table_name));
    if (!t) continue;
    const defaultExpr = c.default_expr;
    // CockroachDB adds a hidden rowid key to a table without a primary key; MySQL has none.
    if (c.name === "rowid" && defaultExpr?.startsWith("unique_rowid()")) continue;
    t.columns.push({
      name: String(c.name),
      ordinal: Number(c.ordinal),
      pgType: String(c.type),
      notNull: isTrue(c.not_null),
      defaultExpr,
      generated: isTrue(c.identity) || /^(nextval\(|unique_rowid\(\))/.test(defaultExpr ?? ""),
      comment: c.comment,
    });
  }
  for (const i of indexes) {
    const t = byName.get(String(i.table_name));
    if (!t) continue;
    const visible = new Set(t.columns.map((c) => c.name));
    const names = String(i.columns ?? "").split(",");
    const options = String(i.options ?? "").split(",");
    const keep = names.map((n, k) => [n, options[k] === "1"] as const).filter(([n]) =>
      visible.has(n)
    );
    if (keep.length === 0) continue;
    t.indexes.push({
      name: String(i.name),
      primary: isTrue(i.is_primary),
      unique: isTrue(i.is_unique) || isTrue(i.is_primary),
      columns: keep.map(([n]) => n),
      descending: keep.map(([, d]) => d),
    });
  }
  for (const f of foreignKeys) {
    const t = byName.get(String(f.table_name));
    if (!t) continue;
    t.foreignKeys.push({
      name: String(f.name),
      columns: String(f.columns).split(","),
      refTable: String(f.ref_table),
      refColumns: String(f.ref_columns).split(","),
      onUpdate: RULES[String(f.on_update)] ?? "NO ACTION",
      onDelete: RULES[String(f.on_delete)] ?? "NO ACTION",
    });
  }
  return [...byName.values()];
}

/** A boolean from a driver that returns booleans as values or as text (`t`). */
function isTrue(v: unknown): boolean {
  return v === true || v === "t" || v === "true";
}
