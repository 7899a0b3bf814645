/**
 * The accounts of a MySQL source, read so the proxy can verify logins itself
 * once MySQL is gone (see `proxy/mysql/auth_local.ts`): user, host pattern,
 * authentication plugin and the stored authentication string (a hash or a
 * public key, never a password). MariaDB keeps them in `mysql.global_priv`
 * (JSON), MySQL in `mysql.user`; roles, locked accounts and accounts without
 * a host are left out, since nobody logs in as them.
 *
 * The stored string is a secret: it lets anyone who has it answer the
 * `mysql_native_password` challenge. {@linkcode MySqlAccount} keeps it out of
 * `JSON.stringify`, `console.log` and log fields.
 *
 * @module
 */

import mysql from "mysql2/promise";
import type { ConnectionSpec } from "./connstring.ts";
import { mysqlClientConfig, StoreDatabaseUnavailable } from "./db_clients.ts";
import { LmsError } from "./errors.ts";

/** One account of the source. The stored authentication string never leaves it by accident. */
export class MySqlAccount {
  /** The user name ("" for the anonymous account). */
  readonly user: string;
  /** The host pattern (`%`, `_` wildcards, an IP, `ip/mask`). */
  readonly host: string;
  /** The server-side plugin, e.g. `mysql_native_password`. */
  readonly plugin: string;
  readonly #auth: Uint8Array;

  /**
   * @param user the user name
   * @param host the host pattern
   * @param plugin the authentication plugin
   * @param auth the stored authentication string, as bytes
   */
  constructor(user: string, host: string, plugin: string, auth: Uint8Array) {
    this.user = user;
    this.host = host;
    this.plugin = plugin;
    this.#auth = auth;
  }

  /** The stored authentication string (secret: never log it). */
  get auth(): Uint8Array {
    return this.#auth;
  }

  /** `'user'@'host'`, as MySQL names accounts. */
  get name(): string {
    return `'${this.user}'@'${this.host}'`;
  }

  /** Whether `other` is the same account with the same plugin and stored string. */
  sameAs(other: MySqlAccount): boolean {
    return this.user === other.user && this.host === other.host &&
      this.plugin === other.plugin && equalBytes(this.#auth, other.#auth);
  }

  /** Without the stored string. */
  toJSON(): { user: string; host: string; plugin: string } {
    return { user: this.user, host: this.host, plugin: this.plugin };
  }

  /** Without the stored string. */
  [Symbol.for("Deno.customInspect")](): string {
    return `MySqlAccount ${this.name} (${this.plugin})`;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Whether two account lists hold the same accounts, in any order. */
export function sameAccounts(a: readonly MySqlAccount[], b: readonly MySqlAccount[]): boolean {
  if (a.length !== b.length) return false;
  const byName = new Map(b.map((x) => [x.name, x]));
  return a.every((x) => byName.get(x.name)?.sameAs(x) ?? false);
}

/** MariaDB 10.4+: accounts are JSON in `mysql.global_priv`. HEX keeps binary bytes intact. */
const MARIADB_ACCOUNTS = "SELECT User AS u, Host AS h, " +
  "JSON_VALUE(Priv, '$.plugin') AS p, HEX(JSON_VALUE(Priv, '$.authentication_string')) AS a " +
  "FROM mysql.global_priv WHERE Host <> '' " +
  "AND COALESCE(JSON_VALUE(Priv, '$.account_locked'), 'false') <> 'true' " +
  "AND COALESCE(JSON_VALUE(Priv, '$.is_role'), 'false') <> 'true'";
/** MySQL: `mysql.user`; caching_sha2_password's salt is binary, hence HEX. */
const MYSQL_ACCOUNTS = "SELECT user AS u, host AS h, plugin AS p, " +
  "HEX(authentication_string) AS a FROM mysql.user WHERE host <> '' AND account_locked = 'N'";

/** MySQL's ER_NO_SUCH_TABLE and ER_TABLEACCESS_DENIED_ERROR. */
const NO_SUCH_TABLE = 1146;
const TABLE_ACCESS_DENIED = 1142;

function fromHex(hex: string | null): Uint8Array {
  const text = hex ?? "";
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Reads the source's accounts with the `INIT_SOURCE` user, which needs
 * `SELECT` on `mysql.global_priv` (MariaDB) or `mysql.user` (MySQL).
 *
 * @throws {StoreDatabaseUnavailable} when the source cannot be reached
 * @throws {LmsError} `IDENTITY_UNAVAILABLE` when the user may not read the accounts
 */
export async function readMySqlAccounts(spec: ConnectionSpec): Promise<MySqlAccount[]> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({
      ...await mysqlClientConfig(spec),
      connectTimeout: 5_000,
    });
  } catch (err) {
    if (err instanceof LmsError) throw err;
    throw new StoreDatabaseUnavailable("source", err);
  }
  try {
    let rows: mysql.RowDataPacket[];
    try {
      [rows] = await conn.query<mysql.RowDataPacket[]>(MARIADB_ACCOUNTS);
    } catch (err) {
      if ((err as { errno?: number }).errno !== NO_SUCH_TABLE) throw err;
      [rows] = await conn.query<mysql.RowDataPacket[]>(MYSQL_ACCOUNTS);
    }
    return rows.map((r) =>
      new MySqlAccount(
        String(r.u),
        String(r.h),
        String(r.p ?? "mysql_native_password"),
        fromHex(r.a),
      )
    );
  } catch (err) {
    if ((err as { errno?: number }).errno === TABLE_ACCESS_DENIED) {
      throw new LmsError(
        "IDENTITY_UNAVAILABLE",
        `the source's user ${spec.user} may not read the accounts table`,
        `GRANT SELECT ON mysql.global_priv (MariaDB) or mysql.user (MySQL) TO that user`,
      );
    }
    throw new StoreDatabaseUnavailable("source", err);
  } finally {
    await conn.end().catch(() => {});
  }
}
