/**
 * Neutral results (proxy/shadow/result.ts) from the answers of the two clients
 * the translation corpus uses: mysql2 against MariaDB (decoded the way the
 * MySQL wire's decoder maps MariaDB column types: integer types → int,
 * NEWDECIMAL → decimal, DATETIME → timestamp, TIMESTAMP → timestamptz in the
 * session's UTC, `_ci` text marked case-insensitive) and node-postgres against
 * PostgreSQL (text values through the PostgreSQL wire's own decoder).
 */

import type { FieldPacket, ResultSetHeader } from "mysql2/promise";
import type pg from "pg";
import { hasTopLevelOrderBy } from "../../proxy/pg/order_by.ts";
import { decodeValue, neutralColumn } from "../../proxy/pg/result_values.ts";
import { RowDigest } from "../../proxy/shadow/digest.ts";
import type {
  NeutralColumn,
  NeutralResult,
  NeutralType,
  NeutralValue,
} from "../../proxy/shadow/result.ts";
import {
  canonicalDecimal,
  canonicalJson,
  canonicalTime,
  canonicalTimestamp,
  roundFloat,
} from "../../proxy/shadow/values.ts";

const BINARY_CHARSET = 63;
/** Collation ids of MariaDB's case-sensitive utf8/utf8mb4 collations. */
const CASE_SENSITIVE = new Set([46, 83, BINARY_CHARSET]);

function mysqlType(columnType: number, charset: number): [NeutralType, string] {
  switch (columnType) {
    case 1:
    case 2:
    case 3:
    case 8:
    case 9:
    case 13:
      return ["int", `type ${columnType}`];
    case 0:
    case 246:
      return ["decimal", "NEWDECIMAL"];
    case 4:
      return ["float", "FLOAT"];
    case 5:
      return ["float", "DOUBLE"];
    case 7:
      return ["timestamptz", "TIMESTAMP"];
    case 12:
      return ["timestamp", "DATETIME"];
    case 10:
      return ["date", "DATE"];
    case 11:
      return ["time", "TIME"];
    case 245:
      return ["json", "JSON"];
    case 6:
      return ["unknown", "NULL"];
    default:
      return charset === BINARY_CHARSET ? ["bytes", "BLOB"] : ["text", "VAR_STRING"];
  }
}

function mysqlValue(column: NeutralColumn, v: unknown): NeutralValue {
  if (v === null || v === undefined) return null;
  // MariaDB's JSON is LONGTEXT with a JSON format marker, which mysql2 parses.
  if (typeof v === "object" && !(v instanceof Uint8Array)) return canonicalJson(JSON.stringify(v));
  if (v instanceof Uint8Array && column.type !== "bytes" && column.type !== "text") {
    v = new TextDecoder().decode(v);
  }
  switch (column.type) {
    case "int":
      return BigInt(String(v));
    case "decimal":
      return canonicalDecimal(String(v));
    case "float":
      return roundFloat(Number(v), column.nativeType === "FLOAT");
    case "timestamp":
      return canonicalTimestamp(String(v), false);
    case "timestamptz":
      return canonicalTimestamp(String(v), true);
    case "time":
      return canonicalTime(String(v));
    case "json":
      return canonicalJson(typeof v === "string" ? v : JSON.stringify(v));
    case "bytes":
      return v instanceof Uint8Array ? new Uint8Array(v) : new TextEncoder().encode(String(v));
    default:
      return v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v);
  }
}

function withDigest(r: NeutralResult): NeutralResult {
  const digest = new RowDigest();
  for (const row of r.rows) {
    digest.beginRow();
    for (const v of row) digest.value(v);
    digest.endRow();
  }
  r.digest = digest.hex();
  return r;
}

/** A mysql2 answer (`rowsAsArray`) as a neutral result. */
export function fromMysql2(
  sql: string,
  command: string,
  result: unknown,
  fields: FieldPacket[] | undefined,
): NeutralResult {
  const ordered = hasTopLevelOrderBy(sql);
  if (!Array.isArray(result)) {
    const ok = result as ResultSetHeader;
    const r: NeutralResult = {
      sql,
      kind: "ok",
      command,
      rows: [],
      rowCount: 0,
      digest: "",
      affectedRows: ok.affectedRows,
      ordered,
    };
    if (ok.insertId) r.lastInsertId = BigInt(ok.insertId);
    return r;
  }
  const columns = (fields ?? []).map((f): NeutralColumn => {
    const [type, nativeType] = mysqlType(f.columnType ?? 253, f.characterSet ?? 45);
    const column: NeutralColumn = { name: f.name, type, nativeType };
    if (type === "text" && !CASE_SENSITIVE.has(f.characterSet ?? 45)) {
      column.caseInsensitive = true;
    }
    return column;
  });
  const rows = (result as unknown[][]).map((row) => row.map((v, i) => mysqlValue(columns[i], v)));
  return withDigest({
    sql,
    kind: "rows",
    command,
    columns,
    rows,
    rowCount: rows.length,
    digest: "",
    ordered,
  });
}

/**
 * A node-postgres answer (`rowMode: "array"`, every type parser returning the text) as a neutral
 * result; `affectedRows` and `lastInsertId` come from the caller, which knows the translation.
 */
export function fromPg(
  sql: string,
  command: string,
  result: pg.QueryResult,
  returnsRows: boolean,
  extra: { affectedRows?: number; lastInsertId?: bigint; dropLastColumn?: boolean },
): NeutralResult {
  const ordered = hasTopLevelOrderBy(sql);
  if (!returnsRows) {
    const r: NeutralResult = {
      sql,
      kind: "ok",
      command,
      rows: [],
      rowCount: 0,
      digest: "",
      ordered,
    };
    if (extra.affectedRows !== undefined) r.affectedRows = extra.affectedRows;
    if (extra.lastInsertId !== undefined) r.lastInsertId = extra.lastInsertId;
    return r;
  }
  let fields: pg.FieldDef[] = result.fields;
  if (extra.dropLastColumn) fields = fields.slice(0, -1);
  const columns = fields.map((f: pg.FieldDef) =>
    neutralColumn(f.name, f.dataTypeID, f.dataTypeModifier)
  );
  const encoder = new TextEncoder();
  const rows = (result.rows as unknown[][]).map((row) =>
    fields.map((f: pg.FieldDef, i: number) =>
      row[i] === null ? null : decodeValue(f.dataTypeID, 0, encoder.encode(String(row[i])))
    )
  );
  return withDigest({
    sql,
    kind: "rows",
    command,
    columns,
    rows,
    rowCount: rows.length,
    digest: "",
    ordered,
  });
}
