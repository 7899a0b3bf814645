/**
 * MySQL's `information_schema` tables, as rows built from the target's
 * catalog (schema_catalog.ts) in MySQL's column names and value shapes,
 * for the query engine (query_engine.ts). Only the session's database (and
 * `information_schema` itself in SCHEMATA) exists here: the proxy serves one
 * MySQL database per session. Defaults are MySQL 8's (unquoted, NULL for
 * none); sizes and counts that CockroachDB does not track are NULL or 0.
 *
 * @module
 */

import { CHARSETS, COLLATIONS } from "./charsets.ts";
import { mariaDbDefault, mysqlDefault, mysqlType } from "./column_types.ts";
import type { Value } from "./eval.ts";
import { AnswerError, mariaDbFlavour } from "./result.ts";
import type { CatalogTable } from "./schema_catalog.ts";
import { columnKey } from "./show_columns.ts";
import type { AnswerContext } from "./types.ts";

/** A table the query engine reads: column names (upper case), integer columns, rows. */
export interface VirtualTable {
  columns: string[];
  intColumns: Set<string>;
  rows: Value[][];
}

/** ER_UNKNOWN_TABLE for an information_schema table the proxy does not provide. */
const UNKNOWN_TABLE = [1109, "42S02"] as const;

function table(spec: string, rows: Value[][]): VirtualTable {
  const cols = spec.trim().split(/\s+/);
  return {
    columns: cols.map((c) => c.replace(/:i$/, "")),
    intColumns: new Set(cols.filter((c) => c.endsWith(":i")).map((c) => c.slice(0, -2))),
    rows,
  };
}

/**
 * The rows of `information_schema.<name>`; `tables` is loaded on first use
 * (one catalog read per statement).
 */
export async function informationSchemaTable(
  name: string,
  ctx: AnswerContext,
  tables: () => Promise<CatalogTable[]>,
): Promise<VirtualTable> {
  const db = ctx.database;
  const mine = async () => (db === null ? [] : await tables());
  const mariaDb = mariaDbFlavour(ctx);
  switch (name.toUpperCase()) {
    case "SCHEMATA":
      return table(
        "CATALOG_NAME SCHEMA_NAME DEFAULT_CHARACTER_SET_NAME DEFAULT_COLLATION_NAME SQL_PATH",
        ["information_schema", ...(db ? [db] : [])].map((s) => [
          "def",
          s,
          "utf8mb4",
          "utf8mb4_general_ci",
          null,
        ]),
      );
    case "TABLES":
      return table(
        `TABLE_CATALOG TABLE_SCHEMA TABLE_NAME TABLE_TYPE ENGINE VERSION:i ROW_FORMAT TABLE_ROWS:i
         AVG_ROW_LENGTH:i DATA_LENGTH:i MAX_DATA_LENGTH:i INDEX_LENGTH:i DATA_FREE:i
         AUTO_INCREMENT:i CREATE_TIME UPDATE_TIME CHECK_TIME TABLE_COLLATION CHECKSUM:i
         CREATE_OPTIONS TABLE_COMMENT`,
        (await mine()).map((t) => [
          "def",
          db,
          t.name,
          t.view ? "VIEW" : "BASE TABLE",
          t.view ? null : "InnoDB",
          t.view ? null : 10,
          t.view ? null : "Dynamic",
          t.view ? null : 0,
          t.view ? null : 0,
          t.view ? null : 0,
          t.view ? null : 0,
          t.view ? null : 0,
          t.view ? null : 0,
          null,
          null,
          null,
          null,
          t.view ? null : "utf8mb4_general_ci",
          null,
          t.view ? null : "",
          t.view ? "VIEW" : t.comment ?? "",
        ]),
      );
    case "COLUMNS":
      return table(
        `TABLE_CATALOG TABLE_SCHEMA TABLE_NAME COLUMN_NAME ORDINAL_POSITION:i COLUMN_DEFAULT
         IS_NULLABLE DATA_TYPE CHARACTER_MAXIMUM_LENGTH:i CHARACTER_OCTET_LENGTH:i
         NUMERIC_PRECISION:i NUMERIC_SCALE:i DATETIME_PRECISION:i CHARACTER_SET_NAME
         COLLATION_NAME COLUMN_TYPE COLUMN_KEY EXTRA PRIVILEGES COLUMN_COMMENT
         GENERATION_EXPRESSION SRS_ID:i`,
        (await mine()).flatMap((t) =>
          t.columns.map((c, k) => {
            const type = mysqlType(c);
            return [
              "def",
              db,
              t.name,
              c.name,
              k + 1,
              mariaDb ? mariaDbDefault(c) : mysqlDefault(c),
              c.notNull ? "NO" : "YES",
              type.dataType,
              type.charMaxLength,
              type.charMaxLength === null ? null : type.charMaxLength * (type.text ? 4 : 1),
              type.numericPrecision,
              type.numericScale,
              type.datetimePrecision,
              type.text ? "utf8mb4" : null,
              type.text ? "utf8mb4_general_ci" : null,
              type.columnType,
              columnKey(t, c),
              c.generated ? "auto_increment" : "",
              "select,insert,update,references",
              c.comment ?? "",
              "",
              null,
            ];
          })
        ),
      );
    case "STATISTICS":
      return table(
        `TABLE_CATALOG TABLE_SCHEMA TABLE_NAME NON_UNIQUE:i INDEX_SCHEMA INDEX_NAME SEQ_IN_INDEX:i
         COLUMN_NAME COLLATION CARDINALITY:i SUB_PART:i PACKED NULLABLE INDEX_TYPE COMMENT
         INDEX_COMMENT ${mariaDb ? "IGNORED" : "IS_VISIBLE EXPRESSION"}`,
        (await mine()).flatMap((t) =>
          t.indexes.flatMap((i) =>
            i.columns.map((col, k) => [
              "def",
              db,
              t.name,
              i.unique ? 0 : 1,
              db,
              i.primary ? "PRIMARY" : i.name,
              k + 1,
              col,
              i.descending[k] ? "D" : "A",
              null,
              null,
              null,
              t.columns.find((c) => c.name === col)?.notNull ? "" : "YES",
              "BTREE",
              "",
              "",
              ...(mariaDb ? ["NO"] : ["YES", null]),
            ])
          )
        ),
      );
    case "KEY_COLUMN_USAGE":
      return table(
        `CONSTRAINT_CATALOG CONSTRAINT_SCHEMA CONSTRAINT_NAME TABLE_CATALOG TABLE_SCHEMA
         TABLE_NAME COLUMN_NAME ORDINAL_POSITION:i POSITION_IN_UNIQUE_CONSTRAINT:i
         REFERENCED_TABLE_SCHEMA REFERENCED_TABLE_NAME REFERENCED_COLUMN_NAME`,
        (await mine()).flatMap((t) => [
          ...t.indexes.filter((i) => i.unique).flatMap((i) =>
            i.columns.map((col, k) => [
              "def",
              db,
              i.primary ? "PRIMARY" : i.name,
              "def",
              db,
              t.name,
              col,
              k + 1,
              null,
              null,
              null,
              null,
            ])
          ),
          ...t.foreignKeys.flatMap((f) =>
            f.columns.map((col, k) => [
              "def",
              db,
              f.name,
              "def",
              db,
              t.name,
              col,
              k + 1,
              k + 1,
              db,
              f.refTable,
              f.refColumns[k] ?? null,
            ])
          ),
        ]),
      );
    case "REFERENTIAL_CONSTRAINTS": {
      const all = await mine();
      return table(
        `CONSTRAINT_CATALOG CONSTRAINT_SCHEMA CONSTRAINT_NAME UNIQUE_CONSTRAINT_CATALOG
         UNIQUE_CONSTRAINT_SCHEMA UNIQUE_CONSTRAINT_NAME MATCH_OPTION UPDATE_RULE DELETE_RULE
         TABLE_NAME REFERENCED_TABLE_NAME`,
        all.flatMap((t) =>
          t.foreignKeys.map((f) => {
            const ref = all.find((r) => r.name === f.refTable)?.indexes.find((i) =>
              i.unique && i.columns.join(",") === f.refColumns.join(",")
            );
            return [
              "def",
              db,
              f.name,
              "def",
              db,
              ref ? (ref.primary ? "PRIMARY" : ref.name) : null,
              "NONE",
              f.onUpdate,
              f.onDelete,
              t.name,
              f.refTable,
            ];
          })
        ),
      );
    }
    case "TABLE_CONSTRAINTS":
      return table(
        "CONSTRAINT_CATALOG CONSTRAINT_SCHEMA CONSTRAINT_NAME TABLE_SCHEMA TABLE_NAME CONSTRAINT_TYPE ENFORCED",
        (await mine()).flatMap((t) => [
          ...t.indexes.filter((i) => i.unique).map((i) => [
            "def",
            db,
            i.primary ? "PRIMARY" : i.name,
            db,
            t.name,
            i.primary ? "PRIMARY KEY" : "UNIQUE",
            "YES",
          ]),
          ...t.foreignKeys.map((f) => ["def", db, f.name, db, t.name, "FOREIGN KEY", "YES"]),
        ]),
      );
    case "VIEWS":
      return table(
        `TABLE_CATALOG TABLE_SCHEMA TABLE_NAME VIEW_DEFINITION CHECK_OPTION IS_UPDATABLE DEFINER
         SECURITY_TYPE CHARACTER_SET_CLIENT COLLATION_CONNECTION`,
        (await mine()).filter((t) => t.view).map((t) => [
          "def",
          db,
          t.name,
          null,
          "NONE",
          "NO",
          null,
          "DEFINER",
          "utf8mb4",
          "utf8mb4_general_ci",
        ]),
      );
    case "ROUTINES":
      return table(
        "SPECIFIC_NAME ROUTINE_CATALOG ROUTINE_SCHEMA ROUTINE_NAME ROUTINE_TYPE ROUTINE_DEFINITION",
        [],
      );
    case "TRIGGERS":
      return table(
        "TRIGGER_CATALOG TRIGGER_SCHEMA TRIGGER_NAME EVENT_MANIPULATION EVENT_OBJECT_SCHEMA EVENT_OBJECT_TABLE ACTION_STATEMENT ACTION_TIMING",
        [],
      );
    case "CHECK_CONSTRAINTS":
      return table("CONSTRAINT_CATALOG CONSTRAINT_SCHEMA CONSTRAINT_NAME CHECK_CLAUSE", []);
    case "PARTITIONS":
      return table("TABLE_CATALOG TABLE_SCHEMA TABLE_NAME PARTITION_NAME TABLE_ROWS:i", []);
    case "CHARACTER_SETS":
      return table(
        "CHARACTER_SET_NAME DEFAULT_COLLATE_NAME DESCRIPTION MAXLEN:i",
        CHARSETS.map((c) => [c.name, c.defaultCollation, c.description, c.maxLen]),
      );
    case "COLLATIONS":
      return table(
        "COLLATION_NAME CHARACTER_SET_NAME ID:i IS_DEFAULT IS_COMPILED SORTLEN:i PAD_ATTRIBUTE",
        COLLATIONS.map((c) => [
          c.name,
          c.charset,
          c.id,
          c.isDefault ? "Yes" : "",
          "Yes",
          1,
          c.name.includes("0900") ? "NO PAD" : "PAD SPACE",
        ]),
      );
    case "ENGINES":
      return table("ENGINE SUPPORT COMMENT TRANSACTIONS XA SAVEPOINTS", [[
        "InnoDB",
        "DEFAULT",
        "Transactional tables, served by CockroachDB through LMS",
        "YES",
        "NO",
        "YES",
      ]]);
    default:
      throw new AnswerError(
        UNKNOWN_TABLE,
        `Unknown table '${name.toUpperCase()}' in information_schema`,
      );
  }
}
