/**
 * CockroachDB result columns as MySQL column definitions: which MySQL type,
 * length, flags, decimals and character set a column of each CockroachDB
 * type is announced with, so drivers decode values as they would MySQL's.
 *
 * | CockroachDB / PostgreSQL      | MySQL                          |
 * | ----------------------------- | ------------------------------ |
 * | INT8                          | LONGLONG (8)                   |
 * | INT4 / INT2                   | LONG (3) / SHORT (2)           |
 * | NUMERIC(p,s)                  | NEWDECIMAL (246), decimals = s |
 * | FLOAT8 / FLOAT4               | DOUBLE (5) / FLOAT (4)         |
 * | BOOL                          | TINY (1), length 1             |
 * | TEXT, VARCHAR, CHAR, NAME     | VAR_STRING (253), utf8mb4      |
 * | BYTEA                         | BLOB (252), binary charset     |
 * | TIMESTAMP(p)                  | DATETIME (12), decimals = p    |
 * | TIMESTAMPTZ(p)                | TIMESTAMP (7), decimals = p    |
 * | DATE / TIME(p)                | DATE (10) / TIME (11)          |
 * | UUID                          | STRING (254), 36 characters    |
 * | JSONB / JSON                  | JSON (245), binary charset     |
 * | anything else                 | VAR_STRING, its text form      |
 *
 * @module
 */

import type { AnswerColumn } from "./answer/types.ts";
import { MyType } from "../mysql/constants.ts";
import { OID } from "../pg/result_values.ts";
import type { PgField } from "./target_connection.ts";

/** Column definition flags. */
export const ColFlag = { NOT_NULL: 1, BLOB: 16, UNSIGNED: 32, BINARY: 128, NUM: 32768 } as const;

/** utf8mb4_general_ci, what text columns are announced with. */
export const UTF8MB4 = 45;
/** The binary pseudo character set. */
export const BINARY = 63;

/** How a column's text values are turned into MySQL's (see result_values.ts). */
export type ValueKind =
  | "int"
  | "bigint"
  | "float"
  | "double"
  | "decimal"
  | "bool"
  | "datetime"
  | "timestamptz"
  | "date"
  | "time"
  | "bytes"
  | "text";

/** A MySQL column definition and how its values are converted. */
export interface MySqlColumn extends AnswerColumn {
  kind: ValueKind;
}

function col(
  name: string,
  type: number,
  length: number,
  flags: number,
  decimals: number,
  charset: number,
  kind: ValueKind,
): MySqlColumn {
  return { name, type, length, flags, decimals, charset, kind };
}

/** Fractional-second digits of a time type's typmod (-1: PostgreSQL's default, 6). */
function fsp(typmod: number): number {
  return typmod >= 0 && typmod <= 6 ? typmod : 6;
}

/** The MySQL column for a CockroachDB result column; see the module documentation. */
export function mysqlColumn(field: PgField): MySqlColumn {
  const n = field.name;
  const num = ColFlag.NUM | ColFlag.BINARY;
  switch (field.typeOid) {
    case OID.int8:
      return col(n, MyType.LONGLONG, 20, num, 0, BINARY, "bigint");
    case OID.int4:
    case OID.oid:
      return col(n, MyType.LONG, 11, num, 0, BINARY, "int");
    case OID.int2:
      return col(n, MyType.SHORT, 6, num, 0, BINARY, "int");
    case OID.bool:
      return col(n, MyType.TINY, 1, num, 0, BINARY, "bool");
    case OID.float4:
      return col(n, MyType.FLOAT, 12, num, 31, BINARY, "float");
    case OID.float8:
      return col(n, MyType.DOUBLE, 22, num, 31, BINARY, "double");
    case OID.numeric: {
      if (field.typmod >= 4) {
        const precision = ((field.typmod - 4) >> 16) & 0xffff;
        const scale = (field.typmod - 4) & 0xffff;
        return col(
          n,
          MyType.NEWDECIMAL,
          precision + (scale > 0 ? 2 : 1),
          num,
          scale,
          BINARY,
          "decimal",
        );
      }
      // An unconstrained NUMERIC (SUM, AVG, arithmetic): MySQL's widest DECIMAL.
      return col(n, MyType.NEWDECIMAL, 67, num, 30, BINARY, "decimal");
    }
    case OID.text:
    case OID.name:
      return col(n, MyType.VAR_STRING, 4 * 65_535, 0, 0, UTF8MB4, "text");
    case OID.varchar:
    case OID.bpchar: {
      const chars = field.typmod >= 4 ? field.typmod - 4 : 65_535;
      return col(n, MyType.VAR_STRING, 4 * chars, 0, 0, UTF8MB4, "text");
    }
    case OID.bytea:
      return col(
        n,
        MyType.BLOB,
        65_535,
        ColFlag.BLOB | ColFlag.BINARY,
        0,
        BINARY,
        "bytes",
      );
    case OID.timestamp: {
      const d = fsp(field.typmod);
      return col(
        n,
        MyType.DATETIME,
        19 + (d > 0 ? d + 1 : 0),
        ColFlag.BINARY,
        d,
        BINARY,
        "datetime",
      );
    }
    case OID.timestamptz: {
      const d = fsp(field.typmod);
      return col(
        n,
        MyType.TIMESTAMP,
        19 + (d > 0 ? d + 1 : 0),
        ColFlag.BINARY,
        d,
        BINARY,
        "timestamptz",
      );
    }
    case OID.date:
      return col(n, MyType.DATE, 10, ColFlag.BINARY, 0, BINARY, "date");
    case OID.time:
    case OID.timetz: {
      const d = fsp(field.typmod);
      return col(n, MyType.TIME, 10 + (d > 0 ? d + 1 : 0), ColFlag.BINARY, d, BINARY, "time");
    }
    case OID.uuid:
      return col(n, MyType.STRING, 36 * 4, 0, 0, UTF8MB4, "text");
    case OID.json:
    case OID.jsonb:
      return col(
        n,
        MyType.JSON,
        4_294_967_295,
        ColFlag.BLOB | ColFlag.BINARY,
        0,
        BINARY,
        "text",
      );
    default:
      return col(n, MyType.VAR_STRING, 4 * 65_535, 0, 0, UTF8MB4, "text");
  }
}

/** The value kind for a column the proxy answered itself (its MySQL type says how to encode). */
export function kindOfMySqlType(type: number): ValueKind {
  switch (type) {
    case MyType.TINY:
    case MyType.SHORT:
    case MyType.LONG:
    case MyType.INT24:
    case MyType.YEAR:
      return "int";
    case MyType.LONGLONG:
      return "bigint";
    case MyType.FLOAT:
      return "float";
    case MyType.DOUBLE:
      return "double";
    case MyType.DECIMAL:
    case MyType.NEWDECIMAL:
      return "decimal";
    case MyType.DATETIME:
    case MyType.TIMESTAMP:
      return "datetime";
    case MyType.DATE:
      return "date";
    case MyType.TIME:
      return "time";
    default:
      return "text";
  }
}
