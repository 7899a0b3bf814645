/**
 * Who a throwaway PostgreSQL cluster runs as: PostgreSQL refuses to run as
 * root, so a root process runs it as the `postgres` system user.
 *
 * @module
 */

import { LmsError } from "../errors.ts";

/** The system user PostgreSQL runs as when this process is root. */
export const SYSTEM_USER = "postgres";

/** The uid and gid the cluster's files and processes belong to. */
export interface Owner {
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
}

/** This process's uid, or null where the platform has none. */
export function currentUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

/** The `postgres` system user's ids from `/etc/passwd`, or undefined when it has none. */
export function findSystemUser(): Owner | undefined {
  let passwd = "";
  try {
    passwd = Deno.readTextFileSync("/etc/passwd");
  } catch {
    return undefined;
  }
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields[0] === SYSTEM_USER && fields.length >= 4) {
      return { uid: Number(fields[2]), gid: Number(fields[3]) };
    }
  }
  return undefined;
}

/**
 * The `postgres` system user, which runs the cluster when this process is root.
 *
 * @throws {LmsError} `LOCAL_DATABASE_FAILED` when there is no such user.
 */
export function systemUser(): Owner {
  const owner = findSystemUser();
  if (owner) return owner;
  throw new LmsError(
    "LOCAL_DATABASE_FAILED",
    `running as root, but there is no "${SYSTEM_USER}" system user to run PostgreSQL as`,
    "install the postgresql package (it creates the user) or run as an ordinary user",
  );
}
