/**
 * Encoders and decoders for the PostgreSQL messages the proxy reads or writes
 * itself. Everything else passes through untouched.
 *
 * @module
 */

import { concatBytes } from "../../shared/bytes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads a NUL-terminated string at `at`; returns it and the offset after the NUL. */
export function readCString(body: Uint8Array, at: number): [string, number] {
  let end = body.indexOf(0, at);
  if (end < 0) end = body.length;
  return [decoder.decode(body.subarray(at, end)), end + 1];
}

/** Reads a big-endian signed 32-bit integer. */
export function readInt32(body: Uint8Array, at: number): number {
  return (body[at] << 24) | (body[at + 1] << 16) | (body[at + 2] << 8) | body[at + 3];
}

/** Reads a big-endian signed 16-bit integer. */
export function readInt16(body: Uint8Array, at: number): number {
  const v = (body[at] << 8) | body[at + 1];
  return v & 0x8000 ? v - 0x10000 : v;
}

/** Concatenates byte arrays into one. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

/** Builds a typed message from its type character and body parts. */
export function message(type: string, ...parts: Uint8Array[]): Uint8Array {
  const header = new Uint8Array(5);
  header[0] = type.charCodeAt(0);
  new DataView(header.buffer).setInt32(1, parts.reduce((n, p) => n + p.length, 4));
  return concat(header, ...parts);
}

/** A NUL-terminated UTF-8 string. */
export function cstring(s: string): Uint8Array {
  const b = encoder.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Big-endian 32-bit integers. */
export function int32(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setInt32(i * 4, v));
  return out;
}

/** Severity of an ErrorResponse or NoticeResponse. */
export type Severity = "ERROR" | "FATAL" | "PANIC" | "WARNING" | "NOTICE" | "INFO" | "LOG";

/** Fields of an ErrorResponse / NoticeResponse, by their single-letter codes. */
export interface ErrorFields {
  /** S / V: severity. */
  severity: Severity;
  /** C: SQLSTATE. */
  code: string;
  /** M: primary message. */
  message: string;
  /** D: detail. */
  detail?: string;
  /** H: hint. */
  hint?: string;
}

/** Encodes an ErrorResponse. */
export function errorResponse(fields: ErrorFields): Uint8Array {
  return fieldMessage("E", fields);
}

/** Encodes a NoticeResponse. */
export function noticeResponse(fields: ErrorFields): Uint8Array {
  return fieldMessage("N", fields);
}

function fieldMessage(type: string, f: ErrorFields): Uint8Array {
  const parts = [
    "S" + f.severity,
    "V" + f.severity,
    "C" + f.code,
    "M" + f.message,
    ...(f.detail ? ["D" + f.detail] : []),
    ...(f.hint ? ["H" + f.hint] : []),
  ].map(cstring);
  return message(type, ...parts, new Uint8Array(1));
}

/** Decodes an ErrorResponse or NoticeResponse body into its fields by code letter. */
export function decodeFields(body: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at]);
    const [value, next] = readCString(body, at + 1);
    out.set(code, value);
    at = next;
  }
  return out;
}

/** Encodes ReadyForQuery with a transaction status of `I`, `T` or `E`. */
export function readyForQuery(status: "I" | "T" | "E"): Uint8Array {
  return message("Z", new Uint8Array([status.charCodeAt(0)]));
}

/** Encodes BackendKeyData. */
export function backendKeyData(processId: number, secretKey: number): Uint8Array {
  return message("K", int32(processId, secretKey));
}

/** Encodes a simple Query. */
export function query(sql: string): Uint8Array {
  return message("Q", cstring(sql));
}

/** Encodes a Parse for a named statement. */
export function parse(name: string, sql: string, paramTypes: number[]): Uint8Array {
  const count = new Uint8Array(2);
  new DataView(count.buffer).setInt16(0, paramTypes.length);
  return message("P", cstring(name), cstring(sql), count, int32(...paramTypes));
}

/** Encodes Sync. */
export const SYNC: Uint8Array = message("S");

/** Encodes Terminate. */
export const TERMINATE: Uint8Array = message("X");

/** A decoded Parse message. */
export interface ParseMessage {
  /** Statement name; empty for the unnamed statement. */
  name: string;
  /** SQL text. */
  sql: string;
  /** Parameter type OIDs the client specified. */
  paramTypes: number[];
}

/** Decodes a Parse body. */
export function decodeParse(body: Uint8Array): ParseMessage {
  const [name, a] = readCString(body, 0);
  const [sql, b] = readCString(body, a);
  const count = b + 2 <= body.length ? readInt16(body, b) : 0;
  const paramTypes: number[] = [];
  for (let i = 0; i < count && b + 2 + i * 4 + 4 <= body.length; i++) {
    paramTypes.push(readInt32(body, b + 2 + i * 4) >>> 0);
  }
  return { name, sql, paramTypes };
}

/** Decodes a Close body: `S` (statement) or `P` (portal) and the name. */
export function decodeClose(body: Uint8Array): { kind: string; name: string } {
  return { kind: String.fromCharCode(body[0]), name: readCString(body, 1)[0] };
}

/** Decodes the text body of Query or CommandComplete. */
export function decodeText(body: Uint8Array): string {
  return readCString(body, 0)[0];
}

/** Decodes a ParameterStatus body into name and value. */
export function decodeParameterStatus(body: Uint8Array): [string, string] {
  const [name, at] = readCString(body, 0);
  return [name, readCString(body, at)[0]];
}
