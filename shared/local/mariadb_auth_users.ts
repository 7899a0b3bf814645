/**
 * The users a throwaway MariaDB server creates with `authUsers`
 * ({@linkcode ./mariadb_server.ts}): one per authentication plugin MariaDB
 * offers for password logins, with their passwords.
 *
 * @module
 */

/** A user created by `authUsers`, one per authentication plugin. */
export interface MariaDbAuthUser {
  /** The user name (host `%`). */
  readonly user: string;
  /** Its password. */
  readonly password: string;
  /** The server-side plugin it authenticates with. */
  readonly plugin: "mysql_native_password" | "ed25519" | "pam";
  /** The plugin the client runs for it. */
  readonly clientPlugin: "mysql_native_password" | "client_ed25519" | "mysql_clear_password";
}

/** The users `authUsers` creates; every one may use every database. */
export const MARIADB_AUTH_USERS: {
  readonly native: MariaDbAuthUser;
  readonly ed25519: MariaDbAuthUser;
  readonly cleartext: MariaDbAuthUser;
} = {
  native: {
    user: "lms_native",
    password: "native-secret",
    plugin: "mysql_native_password",
    clientPlugin: "mysql_native_password",
  },
  ed25519: {
    user: "lms_ed25519",
    password: "ed25519-secret",
    plugin: "ed25519",
    clientPlugin: "client_ed25519",
  },
  cleartext: {
    user: "lms_clear",
    password: "clear-secret",
    plugin: "pam",
    clientPlugin: "mysql_clear_password",
  },
};
