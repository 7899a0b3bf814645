/**
 * A source and a target cluster with the same application users, as a
 * migration leaves them: the target's roles were created from the source's
 * stored verifiers (`CREATE ROLE … PASSWORD 'SCRAM-SHA-256$…'`, what a
 * migration to CockroachDB copies), except `app_drift`, whose target password
 * is another, and `app_same`, whose same password was set anew there (another
 * salt: another verifier).
 *
 * Each database holds `docs` under a row-level security policy (a user sees
 * only its own rows), `audit` whose `who` defaults to `current_user`, and
 * `secrets`, readable only by the superuser. `app_trusted` is trusted on the
 * source, while the target asks it for a password. The superuser `postgres` stays
 * trusted and is the service user of `INIT_SOURCE`/`INIT_TARGET`; `lms_svc`
 * is a service user without access to `pg_shadow`, and
 * `lms_auth_lookup($1)` a SECURITY DEFINER function it may call instead.
 *
 * @module
 */

import { type PgCluster, startPgCluster } from "../../shared/local/postgres_cluster.ts";

/** An application user: role, password, and how the clusters authenticate it. */
export interface AppUser {
  /** Role name. */
  user: string;
  /** Its password on the source (empty for trust). */
  password: string;
  /** The `pg_hba.conf` method. */
  method: "trust" | "password" | "md5" | "scram-sha-256";
}

/** The application users, by authentication method. */
export const APP_USERS: {
  readonly scram: AppUser;
  readonly md5: AppUser;
  readonly cleartext: AppUser;
  readonly trust: AppUser;
  readonly drift: AppUser;
  readonly samePassword: AppUser;
  readonly trustOnSource: AppUser;
} = {
  scram: { user: "app_scram", password: "scram-Pw-1", method: "scram-sha-256" },
  md5: { user: "app_md5", password: "md5-Pw-2", method: "md5" },
  cleartext: { user: "app_clear", password: "clear-Pw-3", method: "password" },
  trust: { user: "app_trust", password: "", method: "trust" },
  drift: { user: "app_drift", password: "drift-Pw-4", method: "scram-sha-256" },
  samePassword: { user: "app_same", password: "same-Pw-6", method: "scram-sha-256" },
  trustOnSource: { user: "app_trusted", password: "trusted-Pw-7", method: "trust" },
};

/** `app_drift`'s password on the target, set there anew. */
export const DRIFT_TARGET_PASSWORD = "drift-Target-5";

const users = () => Object.values(APP_USERS);

const SCHEMA = () => {
  const names = users().map((u) => u.user).join(", ");
  return `
CREATE TABLE docs (id int PRIMARY KEY, owner text NOT NULL, body text NOT NULL);
INSERT INTO docs VALUES ${
    users().map((u, i) => `(${i + 1}, '${u.user}', 'doc of ${u.user}')`).join(", ")
  }, (100, 'postgres', 'the superuser''s');
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON docs USING (owner = current_user);
GRANT SELECT ON docs TO ${names};
CREATE TABLE audit (id serial PRIMARY KEY, who text NOT NULL DEFAULT current_user, what text);
GRANT SELECT, INSERT ON audit TO ${names};
GRANT USAGE ON SEQUENCE audit_id_seq TO ${names};
CREATE TABLE secrets (x int);
CREATE ROLE lms_svc LOGIN;
CREATE FUNCTION lms_auth_lookup(name) RETURNS TABLE (usename name, passwd text)
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT usename, passwd FROM pg_shadow WHERE usename = $1 $$;
REVOKE ALL ON FUNCTION lms_auth_lookup(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lms_auth_lookup(name) TO lms_svc;
`;
};

/** `app_trusted` is trusted on the source only; the target asks it for its password. */
const HBA = (side: "source" | "target") =>
  users().map((u) =>
    `host all ${u.user} 127.0.0.1/32 ${
      side === "target" && u === APP_USERS.trustOnSource ? "scram-sha-256" : u.method
    }`
  );

/** The two clusters of {@linkcode startIdentityClusters}. */
export interface IdentityClusters extends AsyncDisposable {
  /** The source. */
  source: PgCluster;
  /** The target. */
  target: PgCluster;
}

/** Starts both clusters; see the module documentation. */
export async function startIdentityClusters(): Promise<IdentityClusters> {
  const [source, target] = await Promise.all([
    startPgCluster({ name: "identity-source", hba: HBA("source") }),
    startPgCluster({ name: "identity-target", hba: HBA("target") }),
  ]);
  const dispose = async () => {
    await Promise.allSettled([source.destroy(), target.destroy()]);
  };
  try {
    const roles = users().map((u) => {
      const encryption = u.method === "md5" ? "md5" : "scram-sha-256";
      const password = u.password ? ` PASSWORD '${u.password}'` : "";
      return `SET password_encryption = '${encryption}'; CREATE ROLE ${u.user} LOGIN${password};`;
    });
    await source.psql(roles.join("\n"));
    // What a migration copies: the stored verifiers, not the passwords.
    const stored = await source.psql(
      `SELECT rolname || ' ' || coalesce(rolpassword, '') FROM pg_authid ` +
        `WHERE rolname IN (${users().map((u) => `'${u.user}'`).join(", ")})`,
    );
    const copied = stored.split("\n").map((line) => {
      const [name, verifier] = line.split(" ");
      if (name === APP_USERS.drift.user || name === APP_USERS.samePassword.user) {
        const password = name === APP_USERS.drift.user
          ? DRIFT_TARGET_PASSWORD
          : APP_USERS.samePassword.password;
        return `SET password_encryption = 'scram-sha-256'; ` +
          `CREATE ROLE ${name} LOGIN PASSWORD '${password}';`;
      }
      return `CREATE ROLE ${name} LOGIN${verifier ? ` PASSWORD '${verifier}'` : ""};`;
    });
    await target.psql(copied.join("\n"));
    await source.psql(SCHEMA());
    await target.psql(SCHEMA());
    return { source, target, [Symbol.asyncDispose]: dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
