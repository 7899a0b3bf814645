/**
 * Who a MySQL session runs as on CockroachDB. The proxy never holds a MySQL
 * client's password (mysql_native_password and caching_sha2_password prove
 * it without sending it), so it cannot log in to CockroachDB with it.
 * Instead it logs in as the `INIT_TARGET` user and switches, before the
 * session's first statement, to the CockroachDB role mapped from the MySQL
 * user with `SET ROLE`: the session's statements then run with that role's
 * privileges only. The mapped role is the MySQL user's own name unless
 * `LMS_MYSQL_TARGET_USERS` maps it to another. `SET ROLE` needs the
 * `INIT_TARGET` user to be allowed to assume the role (CockroachDB: an
 * admin; PostgreSQL: a member of it); when it is not, or the role does not
 * exist, the session is not served from the target: a consistent cutover
 * blocks on it with the reason, an immediate one tells it to reconnect.
 *
 * The translator never passes `SET ROLE`/`RESET ROLE` from a client to
 * CockroachDB (session statements are answered by the proxy), so a session
 * cannot leave its role.
 *
 * @module
 */

import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { LoginOptions } from "../pg/backend_auth.ts";

/** How a session logs in on the target and which role it takes there. */
export interface TargetIdentity {
  login: LoginOptions;
  /** The role to switch to; undefined when it is the login user itself. */
  role: string | undefined;
}

/**
 * The identity of the MySQL user `user` on the target.
 *
 * @param spec `INIT_TARGET`
 * @param roles `LMS_MYSQL_TARGET_USERS`: MySQL user → CockroachDB role
 */
export function targetIdentity(
  user: string,
  spec: ConnectionSpec,
  roles: ReadonlyMap<string, string>,
): TargetIdentity {
  const role = roles.get(user) ?? user;
  return {
    login: {
      user: spec.user,
      credential: spec.password === undefined
        ? { kind: "none" }
        : { kind: "password", password: spec.password },
      label: "target database",
      origin: "INIT_TARGET",
      hint: "check the credentials in INIT_TARGET",
    },
    role: role === spec.user ? undefined : role,
  };
}
