/**
 * A throwaway MariaDB with the auth users, and an in-process proxy in front
 * of it with `sourceDialect: mysql`, for the MySQL integration tests.
 *
 * @module
 */

import mysql from "mysql2/promise";
import { MARIADB_AUTH_USERS } from "../../shared/local/mariadb_auth_users.ts";
import {
  type MariaDbServer,
  type MariaDbServerOptions,
  startMariaDbServer,
} from "../../shared/local/mariadb_server.ts";
import type { ProxyServer } from "../../proxy/server.ts";
import { type ProxyEnv, startTestProxy } from "./proxy.ts";

/** The database and the proxy in front of it. */
export interface MySqlFixture extends AsyncDisposable {
  db: MariaDbServer;
  proxy: ProxyServer;
  /** mysql2 options for the `mysql_native_password` user, to the proxy or directly. */
  options(target: "direct" | "proxy", extra?: mysql.ConnectionOptions): mysql.ConnectionOptions;
  /** Opens a mysql2 connection (native-password user, database `app`). */
  connect(target: "direct" | "proxy", extra?: mysql.ConnectionOptions): Promise<mysql.Connection>;
}

/**
 * Starts MariaDB (database `app`, the auth users) and a proxy whose
 * `INIT_SOURCE` is root on it. `initSql` runs as root before the proxy starts.
 */
export async function startMySqlFixture(
  opts: { server?: MariaDbServerOptions; proxyEnv?: ProxyEnv; initSql?: string[] } = {},
): Promise<MySqlFixture> {
  const db = await startMariaDbServer({
    authUsers: true,
    ...opts.server,
    initSql: ["CREATE DATABASE app", ...(opts.server?.initSql ?? []), ...(opts.initSql ?? [])],
  });
  let proxy: ProxyServer;
  try {
    proxy = await startTestProxy({
      LMS_SOURCE_DIALECT: "mysql",
      INIT_SOURCE: db.url({ database: "app" }),
      ...opts.proxyEnv,
    });
  } catch (err) {
    await db.stop();
    throw err;
  }
  const options = (target: "direct" | "proxy", extra: mysql.ConnectionOptions = {}) => ({
    host: "127.0.0.1",
    port: target === "direct" ? db.port : proxy.port,
    user: MARIADB_AUTH_USERS.native.user,
    password: MARIADB_AUTH_USERS.native.password,
    database: "app",
    ...extra,
  });
  return {
    db,
    proxy,
    options,
    connect: (target, extra) => mysql.createConnection(options(target, extra)),
    async [Symbol.asyncDispose]() {
      await proxy.close();
      await db.stop();
    },
  };
}
