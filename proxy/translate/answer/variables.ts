/**
 * MySQL's system variables as the proxy serves them once MySQL is gone: the
 * table of names, defaults, types and scopes (MySQL 8.0's defaults, with
 * the character sets and collation the proxy speaks), validation the way
 * MySQL validates `SET`, and the CockroachDB statement that carries a value
 * over where CockroachDB has an equivalent setting.
 *
 * @module
 */

import { AnswerError, ER } from "./result.ts";
import type { AnswerContext, SessionValue } from "./types.ts";
import { timeZoneStatement, validTimeZone } from "./time_zone.ts";

/** How a variable's values look and are checked. */
export type VariableKind = "bool" | "int" | "string" | "enum" | "sql_mode";

/** One system variable. */
export interface VariableDef {
  kind: VariableKind;
  /** MySQL's default (also what `@@global.x` reads). */
  default: SessionValue;
  /** `session` variables also have a global value; `global` ones have only that. */
  scope: "session" | "global";
  /** True when `SET` must refuse it (ER 1238). */
  readOnly?: boolean;
  /** Allowed values of an `enum`, upper case. */
  values?: string[];
  /** True when NULL is a valid value (`character_set_results`). */
  nullable?: boolean;
  /** The CockroachDB statement that gives a session this value, when it has an equivalent. */
  target?: (value: SessionValue) => string | null;
}

const ISOLATION = ["READ-UNCOMMITTED", "READ-COMMITTED", "REPEATABLE-READ", "SERIALIZABLE"];

/** MySQL 8.0's default sql_mode. */
export const DEFAULT_SQL_MODE =
  "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";

const SQL_MODES = new Set([
  "ALLOW_INVALID_DATES",
  "ANSI_QUOTES",
  "ERROR_FOR_DIVISION_BY_ZERO",
  "HIGH_NOT_PRECEDENCE",
  "IGNORE_SPACE",
  "NO_AUTO_CREATE_USER",
  "NO_AUTO_VALUE_ON_ZERO",
  "NO_BACKSLASH_ESCAPES",
  "NO_DIR_IN_CREATE",
  "NO_ENGINE_SUBSTITUTION",
  "NO_UNSIGNED_SUBTRACTION",
  "NO_ZERO_DATE",
  "NO_ZERO_IN_DATE",
  "ONLY_FULL_GROUP_BY",
  "PAD_CHAR_TO_FULL_LENGTH",
  "PIPES_AS_CONCAT",
  "REAL_AS_FLOAT",
  "STRICT_ALL_TABLES",
  "STRICT_TRANS_TABLES",
  "TIME_TRUNCATE_FRACTIONAL",
  "NO_FIELD_OPTIONS",
  "NO_KEY_OPTIONS",
  "NO_TABLE_OPTIONS",
]);

/** MySQL's combination modes and what they stand for. */
const SQL_MODE_COMBINATIONS: Record<string, string[]> = {
  ANSI: ["REAL_AS_FLOAT", "PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE", "ONLY_FULL_GROUP_BY"],
  TRADITIONAL: [
    "STRICT_TRANS_TABLES",
    "STRICT_ALL_TABLES",
    "NO_ZERO_IN_DATE",
    "NO_ZERO_DATE",
    "ERROR_FOR_DIVISION_BY_ZERO",
    "NO_ENGINE_SUBSTITUTION",
  ],
};

const isolationTarget = (v: SessionValue) =>
  `SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL ${String(v).replace("-", " ")}`;
const readOnlyTarget = (v: SessionValue) =>
  `SET SESSION CHARACTERISTICS AS TRANSACTION ${Number(v) ? "READ ONLY" : "READ WRITE"}`;

const s = (d: SessionValue, more: Partial<VariableDef> = {}): VariableDef => ({
  kind: "string",
  default: d,
  scope: "session",
  ...more,
});
const n = (d: number, more: Partial<VariableDef> = {}): VariableDef => ({
  kind: "int",
  default: d,
  scope: "session",
  ...more,
});
const b = (d: 0 | 1, more: Partial<VariableDef> = {}): VariableDef => ({
  kind: "bool",
  default: d,
  scope: "session",
  ...more,
});
const ro = { readOnly: true, scope: "global" } as const;

/**
 * The variables the proxy knows, lower-case names. `version` is filled
 * from the handshake's server version at read time.
 */
export const VARIABLES: Record<string, VariableDef> = {
  auto_increment_increment: n(1),
  auto_increment_offset: n(1),
  autocommit: b(1),
  big_tables: b(0),
  character_set_client: s("utf8mb4"),
  character_set_connection: s("utf8mb4"),
  character_set_database: s("utf8mb4"),
  character_set_filesystem: s("binary"),
  character_set_results: s("utf8mb4", { nullable: true }),
  character_set_server: s("utf8mb4"),
  character_set_system: s("utf8mb3", ro),
  collation_connection: s("utf8mb4_general_ci"),
  collation_database: s("utf8mb4_general_ci"),
  collation_server: s("utf8mb4_general_ci"),
  connect_timeout: n(10, { scope: "global" }),
  default_storage_engine: s("InnoDB"),
  default_tmp_storage_engine: s("InnoDB"),
  default_week_format: n(0),
  div_precision_increment: n(4),
  error_count: n(0, { readOnly: true }),
  explicit_defaults_for_timestamp: b(1),
  foreign_key_checks: b(1),
  group_concat_max_len: n(1024),
  gtid_mode: s("OFF", ro),
  hostname: s("lms-proxy", ro),
  init_connect: s("", { scope: "global" }),
  innodb_autoinc_lock_mode: n(2, ro),
  innodb_lock_wait_timeout: n(50, { target: (v) => `SET lock_timeout = '${Number(v)}s'` }),
  innodb_read_only: b(0, ro),
  innodb_strict_mode: b(1),
  interactive_timeout: n(28800),
  lc_messages: s("en_US"),
  lc_time_names: s("en_US"),
  license: s("GPL", ro),
  log_bin: b(0, ro),
  lower_case_table_names: n(1, ro),
  max_allowed_packet: n(67108864),
  max_connections: n(151, { scope: "global" }),
  max_execution_time: n(0, {
    target: (v) => `SET statement_timeout = '${Number(v)}ms'`,
  }),
  net_buffer_length: n(16384),
  net_read_timeout: n(30),
  net_write_timeout: n(60),
  performance_schema: b(0, ro),
  port: n(3306, ro),
  protocol_version: n(10, ro),
  query_cache_size: n(0, { scope: "global" }),
  query_cache_type: {
    kind: "enum",
    default: "OFF",
    scope: "session",
    values: ["OFF", "ON", "DEMAND"],
  },
  read_only: b(0, { scope: "global" }),
  socket: s("", ro),
  sql_auto_is_null: b(0),
  sql_big_selects: b(1),
  sql_mode: { kind: "sql_mode", default: DEFAULT_SQL_MODE, scope: "session" },
  sql_notes: b(1),
  sql_quote_show_create: b(1),
  sql_require_primary_key: b(0),
  sql_safe_updates: b(0),
  sql_select_limit: n(Number.MAX_SAFE_INTEGER),
  sql_warnings: b(0),
  super_read_only: b(0, { scope: "global" }),
  system_time_zone: s("UTC", ro),
  time_zone: s("SYSTEM", { target: (v) => timeZoneStatement(String(v)) }),
  transaction_isolation: {
    kind: "enum",
    default: "REPEATABLE-READ",
    scope: "session",
    values: ISOLATION,
    target: isolationTarget,
  },
  transaction_read_only: b(0, { target: readOnlyTarget }),
  unique_checks: b(1),
  version: s("", ro),
  version_comment: s("LMS proxy, served by CockroachDB", ro),
  version_compile_machine: s("x86_64", ro),
  version_compile_os: s("Linux", ro),
  wait_timeout: n(28800),
  warning_count: n(0, { readOnly: true }),
};

/** Older names MySQL and MariaDB still accept for the same variable. */
export const ALIASES: Record<string, string> = {
  tx_isolation: "transaction_isolation",
  tx_read_only: "transaction_read_only",
};

/** Canonical lower-case name and definition, or ER 1193 naming the variable as given. */
export function lookup(name: string): [string, VariableDef] {
  const lower = name.toLowerCase();
  const canonical = ALIASES[lower] ?? lower;
  const def = VARIABLES[canonical];
  if (!def) {
    throw new AnswerError(ER.UNKNOWN_SYSTEM_VARIABLE, `Unknown system variable '${name}'`);
  }
  return [canonical, def];
}

/**
 * A variable's value for `SELECT @@x` (booleans and numbers as numbers):
 * the session's value, or MySQL's default; `global` reads the default.
 */
export function readVariable(name: string, ctx: AnswerContext, global = false): SessionValue {
  const [canonical, def] = lookup(name);
  if (canonical === "version") return ctx.serverVersion;
  // MySQL counts errors, warnings and notes in warning_count.
  if (canonical === "warning_count") return ctx.warnings.length;
  if (canonical === "error_count") return ctx.warnings.filter((w) => w.level === "Error").length;
  if (!global && def.scope === "session" && ctx.variables.has(canonical)) {
    return ctx.variables.get(canonical) ?? null;
  }
  return def.default;
}

/** How `SHOW VARIABLES` prints a value (booleans as ON/OFF, NULL as empty). */
export function showValue(def: VariableDef, v: SessionValue): string {
  if (v === null) return "";
  if (def.kind === "bool") return Number(v) ? "ON" : "OFF";
  return String(v);
}

/**
 * Checks a value for `SET name = value` the way MySQL does and returns it
 * normalised as the session keeps it (booleans 0/1, enums upper case,
 * sql_mode expanded and ordered as written).
 */
export function validate(name: string, def: VariableDef, value: SessionValue): SessionValue {
  const wrongValue = () =>
    new AnswerError(
      ER.WRONG_VALUE_FOR_VAR,
      `Variable '${name}' can't be set to the value of '${value === null ? "NULL" : value}'`,
    );
  if (value === null) {
    if (def.nullable) return null;
    throw wrongValue();
  }
  switch (def.kind) {
    case "bool": {
      const t = String(value).toUpperCase();
      if (t === "1" || t === "ON" || t === "TRUE") return 1;
      if (t === "0" || t === "OFF" || t === "FALSE") return 0;
      throw wrongValue();
    }
    case "int": {
      if (typeof value === "string" && !/^-?\d+$/.test(value.trim())) {
        throw new AnswerError(
          ER.WRONG_TYPE_FOR_VAR,
          `Incorrect argument type to variable '${name}'`,
        );
      }
      const num = Number(value);
      if (!Number.isInteger(num)) {
        throw new AnswerError(
          ER.WRONG_TYPE_FOR_VAR,
          `Incorrect argument type to variable '${name}'`,
        );
      }
      return num;
    }
    case "enum": {
      const values = def.values ?? [];
      if (typeof value === "number" || typeof value === "bigint") {
        const v = values[Number(value)];
        if (v === undefined) throw wrongValue();
        return v;
      }
      const upper = value.toUpperCase().replace(/ /g, "-");
      if (!values.includes(upper)) throw wrongValue();
      return upper;
    }
    case "sql_mode": {
      const modes: string[] = [];
      for (const part of String(value).split(",")) {
        const m = part.trim().toUpperCase();
        if (m === "") continue;
        const expanded = SQL_MODE_COMBINATIONS[m] ?? (SQL_MODES.has(m) ? [m] : null);
        if (!expanded) {
          throw new AnswerError(
            ER.WRONG_VALUE_FOR_VAR,
            `Variable '${name}' can't be set to the value of '${part.trim()}'`,
          );
        }
        for (const e of expanded) if (!modes.includes(e)) modes.push(e);
      }
      return modes.join(",");
    }
    case "string":
      if (name === "time_zone" && !validTimeZone(String(value))) {
        throw new AnswerError(
          ER.UNKNOWN_TIME_ZONE,
          `Unknown or incorrect time zone: '${value}'`,
        );
      }
      return String(value);
  }
}
