/**
 * A throwaway PostgreSQL cluster with one login role per authentication
 * method the proxy must relay: trust, cleartext password, MD5 and
 * SCRAM-SHA-256, plus a client-certificate role when TLS with a CA is given.
 *
 * Every role owns a database of its own name holding `lms_auth_probe(who)`
 * with one row, the role's name; the `postgres` database has the same table
 * (row `postgres`) readable by everyone. Connections are logged
 * (`log_connections`), so the server log records which method authenticated.
 *
 * @module
 */

import {
  type PgCluster,
  type PgClusterOptions,
  startPgCluster,
} from "../../shared/local/postgres_cluster.ts";

/** A login role and its password (empty where the method takes none). */
export interface AuthUser {
  /** Role name, also the name of the role's own database. */
  user: string;
  /** The password to send; empty for trust and certificate roles. */
  password: string;
}

/** The roles of {@linkcode startAuthCluster}, by authentication method. */
export const AUTH_USERS: {
  readonly trust: AuthUser;
  readonly cleartext: AuthUser;
  readonly md5: AuthUser;
  readonly scram: AuthUser;
  readonly cert: AuthUser;
} = {
  trust: { user: "lms_trust", password: "" },
  cleartext: { user: "lms_clear", password: "clear-Pass-1" },
  md5: { user: "lms_md5", password: "md5-Pass-2" },
  scram: { user: "lms_scram", password: "scram-Pass-3" },
  cert: { user: "lms_cert", password: "" },
};

/** The probe table present in every database of the auth cluster. */
export const AUTH_PROBE_TABLE = "lms_auth_probe";

/**
 * Starts a cluster whose `pg_hba.conf` gives each role of {@linkcode AUTH_USERS}
 * its method over TCP from 127.0.0.1. `lms_cert` may only log in with a client
 * certificate signed by `tls.caFile` over TLS; without `caFile` it is refused.
 * The superuser `postgres` stays trusted.
 */
export async function startAuthCluster(
  opts: { tls?: PgClusterOptions["tls"]; name?: string } = {},
): Promise<PgCluster> {
  const net = "127.0.0.1/32";
  const hba = [
    `host all ${AUTH_USERS.trust.user} ${net} trust`,
    `host all ${AUTH_USERS.cleartext.user} ${net} password`,
    `host all ${AUTH_USERS.md5.user} ${net} md5`,
    `host all ${AUTH_USERS.scram.user} ${net} scram-sha-256`,
    ...(opts.tls?.caFile ? [`hostssl all ${AUTH_USERS.cert.user} ${net} cert`] : []),
    `host all ${AUTH_USERS.cert.user} ${net} reject`,
  ];
  const roles = [
    `SET password_encryption = 'scram-sha-256'`,
    `CREATE ROLE ${AUTH_USERS.trust.user} LOGIN`,
    `CREATE ROLE ${AUTH_USERS.cert.user} LOGIN`,
    `CREATE ROLE ${AUTH_USERS.cleartext.user} LOGIN PASSWORD '${AUTH_USERS.cleartext.password}'`,
    `CREATE ROLE ${AUTH_USERS.scram.user} LOGIN PASSWORD '${AUTH_USERS.scram.password}'`,
    `SET password_encryption = 'md5'`,
    `CREATE ROLE ${AUTH_USERS.md5.user} LOGIN PASSWORD '${AUTH_USERS.md5.password}'`,
    `CREATE TABLE ${AUTH_PROBE_TABLE} (who text NOT NULL)`,
    `INSERT INTO ${AUTH_PROBE_TABLE} VALUES ('postgres')`,
    `GRANT SELECT ON ${AUTH_PROBE_TABLE} TO PUBLIC`,
  ];
  const cluster = await startPgCluster({
    name: opts.name ?? "auth",
    hba,
    tls: opts.tls,
    settings: { log_connections: "on" },
    initSql: [roles.join(";\n") + ";"],
  });
  try {
    const users = Object.values(AUTH_USERS).map((u) => u.user);
    await cluster.psql(users.map((user) => `CREATE DATABASE ${user} OWNER ${user};`).join("\n"));
    for (const user of users) {
      await cluster.psql(
        `CREATE TABLE ${AUTH_PROBE_TABLE} (who text NOT NULL);
         INSERT INTO ${AUTH_PROBE_TABLE} VALUES ('${user}');`,
        { user, database: user },
      );
    }
    return cluster;
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
}
