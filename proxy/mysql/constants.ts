/**
 * Numbers of the MySQL client/server protocol used by the proxy: capability
 * flags, server status flags, command bytes and the error codes the proxy
 * sends itself.
 *
 * @module
 */

/** Capability flags (`CLIENT_*`). */
export const Cap = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  COMPRESS: 32,
  ODBC: 64,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  IGNORE_SIGPIPE: 4096,
  TRANSACTIONS: 8192,
  RESERVED: 16384,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
  OPTIONAL_RESULTSET_METADATA: 1 << 25,
  ZSTD_COMPRESSION: 1 << 26,
  QUERY_ATTRIBUTES: 1 << 27,
} as const;

/**
 * Every capability the proxy relays. Compression and query attributes are
 * never offered: the proxy would have to implement them on both legs.
 * Optional result-set metadata is left out because the response tracker
 * counts column definitions.
 */
export const SUPPORTED_CAPABILITIES: number = Cap.LONG_PASSWORD | Cap.FOUND_ROWS |
  Cap.LONG_FLAG | Cap.CONNECT_WITH_DB | Cap.NO_SCHEMA | Cap.ODBC | Cap.LOCAL_FILES |
  Cap.IGNORE_SPACE | Cap.PROTOCOL_41 | Cap.INTERACTIVE | Cap.IGNORE_SIGPIPE |
  Cap.TRANSACTIONS | Cap.RESERVED | Cap.SECURE_CONNECTION | Cap.MULTI_STATEMENTS |
  Cap.MULTI_RESULTS | Cap.PS_MULTI_RESULTS | Cap.PLUGIN_AUTH | Cap.CONNECT_ATTRS |
  Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA | Cap.CAN_HANDLE_EXPIRED_PASSWORDS | Cap.SESSION_TRACK |
  Cap.DEPRECATE_EOF;

/**
 * MariaDB's extended capabilities (the upper 32 bits, sent in reserved bytes
 * when `CLIENT_LONG_PASSWORD`, MySQL's bit, is clear). Only extended type
 * information is relayed: it adds fields to column definitions and nothing
 * else. Progress reports, COM_MULTI, bulk execution and metadata caching
 * change the packet flow and are never offered.
 */
export const MARIADB_EXTENDED_TYPE_INFO = 1 << 3;
/** The MariaDB extended capabilities the proxy relays. */
export const SUPPORTED_MARIADB_CAPABILITIES: number = MARIADB_EXTENDED_TYPE_INFO;

/** Server status flags (`SERVER_STATUS_*`) carried by OK and EOF packets. */
export const Status = {
  IN_TRANS: 0x0001,
  AUTOCOMMIT: 0x0002,
  MORE_RESULTS_EXISTS: 0x0008,
  CURSOR_EXISTS: 0x0040,
  LAST_ROW_SENT: 0x0080,
  IN_TRANS_READONLY: 0x2000,
  SESSION_STATE_CHANGED: 0x4000,
} as const;

/** Command bytes (`COM_*`). */
export const Com = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  REFRESH: 0x07,
  STATISTICS: 0x09,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  CHANGE_USER: 0x11,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  RESET_CONNECTION: 0x1f,
} as const;

/** Names of the commands the proxy relays, for logs and errors. */
export const COMMAND_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(Com).filter(([name]) => name !== "SLEEP").map(([name, code]) => [
    code,
    `COM_${name}`,
  ]),
);

/** Error codes the proxy sends itself, with their SQLSTATE. */
export const Err = {
  CON_COUNT: { code: 1040, state: "08004" },
  OUT_OF_RESOURCES: { code: 1041, state: "HY000" },
  HANDSHAKE_ERROR: { code: 1043, state: "08S01" },
  ACCESS_DENIED: { code: 1045, state: "28000" },
  UNKNOWN_COM_ERROR: { code: 1047, state: "08S01" },
  SERVER_SHUTDOWN: { code: 1053, state: "08S01" },
  NO_SUCH_THREAD: { code: 1094, state: "HY000" },
  HOST_IS_BLOCKED: { code: 1129, state: "HY000" },
  NET_PACKET_TOO_LARGE: { code: 1153, state: "08S01" },
  NET_PACKETS_OUT_OF_ORDER: { code: 1156, state: "08S01" },
  NET_READ_ERROR: { code: 1158, state: "08S01" },
  MALFORMED_PACKET: { code: 1835, state: "HY000" },
  SECURE_TRANSPORT_REQUIRED: { code: 3159, state: "HY000" },
  CONNECTION_KILLED: { code: 1927, state: "70100" },
  NOT_SUPPORTED_YET: { code: 1235, state: "42000" },
  UNKNOWN_ERROR: { code: 1105, state: "HY000" },
} as const;

/** An error code and its SQLSTATE, e.g. one of {@link Err}. */
export interface ProxyErrorCode {
  readonly code: number;
  readonly state: string;
}

/** Largest payload of one physical packet; a payload this long continues in the next packet. */
export const MAX_PACKET_PAYLOAD = 0xffffff;

/** MySQL column type codes (`MYSQL_TYPE_*`), as column definitions and binary parameters carry them. */
export const MyType = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;
