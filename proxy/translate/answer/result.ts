/**
 * Building blocks of answers: MySQL column definitions, result sets and
 * errors with MySQL's numbers, SQLSTATEs and message shapes.
 *
 * @module
 */

import { MyType } from "../../mysql/constants.ts";
import type { Answer, AnswerColumn, AnswerContext } from "./types.ts";

/** Column flags used by the answers. */
export const COLUMN_FLAG = { NOT_NULL: 1, UNSIGNED: 32, BINARY: 128 } as const;

/** utf8mb4_general_ci, the character set of answered text columns. */
export const UTF8MB4 = 45;
/** The binary character set, for numbers. */
export const BINARY_CHARSET = 63;

/** A text column (VAR_STRING, utf8mb4) of `chars` characters. */
export function textColumn(name: string, chars = 64, notNull = false): AnswerColumn {
  return {
    name,
    type: MyType.VAR_STRING,
    length: chars * 4,
    flags: notNull ? COLUMN_FLAG.NOT_NULL : 0,
    decimals: 31,
    charset: UTF8MB4,
  };
}

/** A BIGINT column. */
export function intColumn(name: string, unsigned = false, notNull = false): AnswerColumn {
  return {
    name,
    type: MyType.LONGLONG,
    length: 21,
    flags: COLUMN_FLAG.BINARY | (unsigned ? COLUMN_FLAG.UNSIGNED : 0) |
      (notNull ? COLUMN_FLAG.NOT_NULL : 0),
    decimals: 0,
    charset: BINARY_CHARSET,
  };
}

/** A result set; values are rendered with {@linkcode render}. */
export function rowsAnswer(columns: AnswerColumn[], rows: unknown[][]): Answer {
  return { kind: "rows", columns, rows: rows.map((r) => r.map(render)) };
}

/** MySQL's text rendering of a value: numbers as digits, null as NULL. */
export function render(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return v ? "1" : "0";
  return String(v);
}

/** MySQL error numbers the answers send, with their SQLSTATE. */
export const ER = {
  NO_DB_ERROR: [1046, "3D000"],
  BAD_DB_ERROR: [1049, "42000"],
  PARSE_ERROR: [1064, "42000"],
  UNKNOWN_CHARACTER_SET: [1115, "42000"],
  NO_SUCH_TABLE: [1146, "42S02"],
  UNKNOWN_SYSTEM_VARIABLE: [1193, "HY000"],
  GLOBAL_VARIABLE: [1229, "HY000"],
  WRONG_VALUE_FOR_VAR: [1231, "42000"],
  WRONG_TYPE_FOR_VAR: [1232, "42000"],
  NOT_SUPPORTED_YET: [1235, "42000"],
  INCORRECT_GLOBAL_LOCAL_VAR: [1238, "HY000"],
  COLLATION_CHARSET_MISMATCH: [1253, "42000"],
  UNKNOWN_COLLATION: [1273, "HY000"],
  UNKNOWN_TIME_ZONE: [1298, "HY000"],
} as const satisfies Record<string, readonly [number, string]>;

/**
 * A statement this module recognised and refuses, carried as an exception
 * through the evaluator and turned into an error answer at the top.
 */
export class AnswerError extends Error {
  /** MySQL error number. */
  readonly code: number;
  /** SQLSTATE. */
  readonly sqlState: string;

  /** @param error one of {@linkcode ER} */
  constructor(error: readonly [number, string], message: string) {
    super(message);
    this.name = "AnswerError";
    this.code = error[0];
    this.sqlState = error[1];
  }

  /** The error as an answer. */
  toAnswer(): Answer {
    return { kind: "error", code: this.code, sqlState: this.sqlState, message: this.message };
  }
}

/** ER_NOT_SUPPORTED_YET naming the construct and the reason, as MySQL words it. */
export function notSupported(construct: string, reason: string): AnswerError {
  return new AnswerError(
    ER.NOT_SUPPORTED_YET,
    `This version of MySQL doesn't yet support '${construct}' (${reason})`,
  );
}

/**
 * True when the client was told it talks to MariaDB (the handshake's
 * version): a few answers then take MariaDB's shape (SHOW INDEX's `Ignored`
 * column, information_schema defaults as SQL literals), which drivers and
 * ORMs read by flavour.
 */
export function mariaDbFlavour(ctx: AnswerContext): boolean {
  return ctx.serverVersion.toLowerCase().includes("mariadb");
}
