/**
 * The MySQL packets a translated session answers with: OK (affected rows,
 * last insert id, status flags, warnings), ERR, the classic EOF or, with
 * `CLIENT_DEPRECATE_EOF`, the OK that replaces it, column definitions, and
 * whole result sets in the text or the binary protocol.
 *
 * @module
 */

import { Cap, MARIADB_EXTENDED_TYPE_INFO } from "../mysql/constants.ts";
import type { PacketOut } from "./packet_out.ts";
import type { MySqlColumn } from "./result_columns.ts";
import {
  type MySqlValue,
  writeBinaryRow,
  writeBinaryRowFrom,
  writeTextRow,
  writeTextRowFrom,
} from "./result_values.ts";

/** What the client negotiated that changes packet shapes. */
export interface ClientShape {
  /** `CLIENT_DEPRECATE_EOF`: OK packets (0xFE) end result sets, no EOF after columns. */
  deprecateEof: boolean;
  /** `CLIENT_SESSION_TRACK`: OK packets carry a length-encoded info string. */
  sessionTrack: boolean;
  /** MariaDB's extended type information: column definitions carry one more field. */
  extendedTypeInfo: boolean;
}

/** The shape for negotiated capability flags. */
export function clientShape(capabilities: number, mariadbCapabilities = 0): ClientShape {
  return {
    deprecateEof: (capabilities & Cap.DEPRECATE_EOF) !== 0,
    sessionTrack: (capabilities & Cap.SESSION_TRACK) !== 0,
    extendedTypeInfo: (mariadbCapabilities & MARIADB_EXTENDED_TYPE_INFO) !== 0,
  };
}

/** Fields of an OK packet. */
export interface OkFields {
  affectedRows: number;
  lastInsertId: number | bigint;
  status: number;
  warnings: number;
  info?: string;
}

function lastId(out: PacketOut, id: number | bigint): void {
  const n = typeof id === "bigint" ? id : BigInt(Math.max(0, Math.trunc(id)));
  if (n < 0xfb) out.u8(Number(n));
  else if (n < 2n ** 53n) out.lenenc(Number(n));
  else out.u8(0xfe).u64(n);
}

/** Writes an OK packet (header 0x00, or 0xFE when it ends a result set). */
export function writeOk(out: PacketOut, shape: ClientShape, ok: OkFields, header = 0x00): void {
  out.begin().u8(header).lenenc(ok.affectedRows);
  lastId(out, ok.lastInsertId);
  out.u16(ok.status).u16(ok.warnings);
  if (shape.sessionTrack) out.lenencStr(ok.info ?? "");
  else if (ok.info) out.str(ok.info);
  out.end();
}

/** Writes a classic EOF packet. */
export function writeEof(out: PacketOut, status: number, warnings = 0): void {
  out.begin().u8(0xfe).u16(warnings).u16(status).end();
}

/** Writes an ERR packet. */
export function writeErr(out: PacketOut, code: number, sqlState: string, message: string): void {
  out.begin().u8(0xff).u16(code).str("#").str(sqlState.padEnd(5, "0").slice(0, 5)).str(message)
    .end();
}

/** Writes one column definition (Protocol::ColumnDefinition41). */
export function writeColumn(
  out: PacketOut,
  shape: ClientShape,
  c: MySqlColumn,
  schema = "",
  table = "",
): void {
  out.begin().lenencStr("def").lenencStr(c.schema ?? schema).lenencStr(c.table ?? table)
    .lenencStr(c.table ?? table).lenencStr(c.name).lenencStr(c.name);
  if (shape.extendedTypeInfo) out.u8(0);
  out.u8(0x0c).u16(c.charset)
    .u32(c.length).u8(c.type).u16(c.flags).u8(c.decimals).u16(0).end();
}

/** Writes the end of a column list or a result set: EOF, or nothing / OK-as-EOF when deprecated. */
export function writeEnd(
  out: PacketOut,
  shape: ClientShape,
  status: number,
  warnings: number,
  final: boolean,
): void {
  if (!shape.deprecateEof) return writeEof(out, status, warnings);
  if (final) writeOk(out, shape, { affectedRows: 0, lastInsertId: 0, status, warnings }, 0xfe);
}

/** Per row, bytes a packet adds to its DataRow body at most (header, NULL bitmap). */
const ROW_OVERHEAD = 8;

/**
 * Writes a whole result set: column count, definitions, rows, terminator.
 * The rows are `bodies` (CockroachDB's DataRows) when given, else `rows`.
 */
export function writeResultSet(
  out: PacketOut,
  shape: ClientShape,
  columns: MySqlColumn[],
  rows: MySqlValue[][],
  binary: boolean,
  status: number,
  warnings: number,
  bodies?: Uint8Array[],
): void {
  out.begin().lenenc(columns.length).end();
  for (const c of columns) writeColumn(out, shape, c);
  writeEnd(out, shape, status, warnings, false);
  if (bodies) {
    let size = 0;
    for (const b of bodies) size += b.length + ROW_OVERHEAD;
    out.reserve(size);
    if (binary) { for (const b of bodies) writeBinaryRowFrom(out, columns, b); }
    else for (const b of bodies) writeTextRowFrom(out, columns, b);
  } else if (binary) { for (const r of rows) writeBinaryRow(out, columns, r); }
  else for (const r of rows) writeTextRow(out, r);
  writeEnd(out, shape, status, warnings, true);
}
