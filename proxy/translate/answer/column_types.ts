/**
 * CockroachDB column types back to MySQL's, for `SHOW COLUMNS`,
 * `information_schema.COLUMNS` and `SHOW CREATE TABLE`. The reverse of
 * `../column_types.ts`, which folds several MySQL types into one
 * (TINYINT(1), TINYINT and SMALLINT all become INT2; TINYTEXT … LONGTEXT
 * become TEXT), so the reverse picks one MySQL type per CockroachDB type:
 * README.md lists what comes back different. Display widths follow MySQL
 * 5.7 and MariaDB (`int(11)`), which MySQL 8 drivers and ORMs also accept.
 *
 * @module
 */

import type { CatalogColumn } from "./schema_catalog.ts";

/** A column's type in MySQL's terms. */
export interface MysqlColumnType {
  /** `COLUMN_TYPE`, e.g. `varchar(255)`, `bigint(20)`. */
  columnType: string;
  /** `DATA_TYPE`, e.g. `varchar`. */
  dataType: string;
  charMaxLength: number | null;
  numericPrecision: number | null;
  numericScale: number | null;
  datetimePrecision: number | null;
  /** Text types carry the character set and collation; others null. */
  text: boolean;
}

const INTEGERS: Record<string, [string, number, number]> = {
  smallint: ["smallint", 6, 5],
  integer: ["int", 11, 10],
  bigint: ["bigint", 20, 19],
};

/** The MySQL type of a catalog column. */
export function mysqlType(column: CatalogColumn): MysqlColumnType {
  const t = column.pgType.toLowerCase();
  const base: MysqlColumnType = {
    columnType: t,
    dataType: t,
    charMaxLength: null,
    numericPrecision: null,
    numericScale: null,
    datetimePrecision: null,
    text: false,
  };
  const int = INTEGERS[t];
  if (int) {
    return {
      ...base,
      columnType: `${int[0]}(${int[1]})`,
      dataType: int[0],
      numericPrecision: int[2],
      numericScale: 0,
    };
  }
  const args = /\(([\d, ]+)\)/.exec(t)?.[1]?.split(",").map((x) => Number(x.trim())) ?? [];
  const name = t.replace(/\(.*?\)/, "").trim();
  switch (name) {
    case "boolean":
      return {
        ...base,
        columnType: "tinyint(1)",
        dataType: "tinyint",
        numericPrecision: 3,
        numericScale: 0,
      };
    case "numeric": {
      const [p = 65, s = 30] = args;
      return {
        ...base,
        columnType: `decimal(${p},${s})`,
        dataType: "decimal",
        numericPrecision: p,
        numericScale: s,
      };
    }
    case "real":
      return { ...base, columnType: "float", dataType: "float", numericPrecision: 12 };
    case "double precision":
      return { ...base, columnType: "double", dataType: "double", numericPrecision: 22 };
    case "character varying":
    case "character": {
      const type = name === "character" ? "char" : "varchar";
      const len = args[0] ?? 65535;
      return {
        ...base,
        columnType: args[0] === undefined && type === "varchar" ? "text" : `${type}(${len})`,
        dataType: args[0] === undefined && type === "varchar" ? "text" : type,
        charMaxLength: len,
        text: true,
      };
    }
    case "text":
      return { ...base, columnType: "text", dataType: "text", charMaxLength: 65535, text: true };
    case "bytea":
      return { ...base, columnType: "blob", dataType: "blob", charMaxLength: 65535 };
    case "date":
      return { ...base, columnType: "date", dataType: "date" };
    case "timestamp without time zone":
    case "timestamp with time zone":
    case "time without time zone": {
      const p = args[0] ?? 6;
      const type = name.startsWith("time ")
        ? "time"
        : name.endsWith("with time zone") && !name.includes("without")
        ? "timestamp"
        : "datetime";
      return {
        ...base,
        columnType: p ? `${type}(${p})` : type,
        dataType: type,
        datetimePrecision: p,
      };
    }
    case "jsonb":
    case "json":
      return { ...base, columnType: "json", dataType: "json" };
    case "uuid":
      return { ...base, columnType: "char(36)", dataType: "char", charMaxLength: 36, text: true };
    default:
      return base;
  }
}

/**
 * MySQL's rendering of a column default from `pg_get_expr()`: literals
 * without their casts and quotes, the current time as
 * `current_timestamp()`, anything else as the expression. Null for none.
 */
export function mysqlDefault(column: CatalogColumn): string | null {
  const expr = column.defaultExpr;
  if (expr === null || column.generated) return null;
  let e = expr.trim();
  // Strip one trailing cast: PostgreSQL `::type`, CockroachDB `:::TYPE`.
  const cast = /^(.*?)(:::?[a-z0-9_ ]+(\([\d, ]+\))?(\[\])?)$/i.exec(e);
  if (cast && !cast[1].endsWith(":")) e = cast[1].trim();
  while (e.startsWith("(") && e.endsWith(")")) e = e.slice(1, -1).trim();
  const lower = e.toLowerCase();
  if (lower === "null") return null;
  if (
    lower === "now()" || lower.startsWith("current_timestamp") || lower.startsWith("localtimestamp")
  ) {
    // MySQL requires a current-time default to carry its column's precision, so the column's
    // precision is the default's even where translation dropped it.
    const precision = /\((\d+)\)$/.exec(lower)?.[1] ??
      String(mysqlType(column).datetimePrecision ?? 0);
    return `current_timestamp(${precision !== "0" ? precision : ""})`;
  }
  if (lower === "true") return "1";
  if (lower === "false") return "0";
  if (e.startsWith("'") && e.endsWith("'")) e = e.slice(1, -1).replace(/''/g, "'");
  return withScale(e, column);
}

/** MySQL prints a DECIMAL column's numeric default with the column's scale (`0.00`). */
function withScale(value: string, column: CatalogColumn): string {
  const scale = mysqlType(column).dataType === "decimal" ? mysqlType(column).numericScale : null;
  if (!scale || !/^-?\d+(\.\d*)?$/.test(value)) return value;
  const [whole, fraction = ""] = value.split(".");
  return `${whole}.${fraction.padEnd(scale, "0")}`;
}

/**
 * MariaDB's rendering of a default in `information_schema.COLUMNS` (since
 * 10.2.7): an SQL expression, so strings quoted, `NULL` for a nullable
 * column without one, SQL NULL for a NOT NULL column without one.
 */
export function mariaDbDefault(column: CatalogColumn): string | null {
  const value = mysqlDefault(column);
  if (value === null) return column.notNull || column.generated ? null : "NULL";
  const expr = column.defaultExpr?.trim() ?? "";
  const textual = expr.startsWith("'") &&
    !/^'-?\d+(\.\d+)?'::(integer|bigint|smallint|numeric)/.test(expr);
  return textual ? `'${value.replace(/'/g, "''")}'` : value;
}
