/**
 * Which connection a MySQL session's shadow runs on: the one place that
 * chooses it, so the CockroachDB-side backend of the MySQL wire (MySQL
 * command packets in, translated to CockroachDB SQL, MySQL packets out) drops
 * in here without the shadowing plumbing changing.
 *
 * A shadow connection speaks the MySQL command phase: it takes the client's
 * command packets (statement ids rewritten to its own) and answers with MySQL
 * packets. {@linkcode defaultShadowBackend} opens, for a session whose source
 * of truth is MySQL, the translated backend (`../translate/backend.ts`) to
 * the target, logged in as the session's own user the way a session served
 * from the target is (`SET ROLE` to its mapped role, `target_identity.ts`),
 * with the client's capabilities and its session settings carried over.
 * Tests plug in another MariaDB as the "other" database through the proxy's
 * hooks.
 *
 * Once the target is the source of truth the shadow would be MySQL, and
 * there the default declines: logging in on MySQL as the client's user
 * needs its password, which the proxy never holds (mysql_native_password
 * and caching_sha2_password prove it against the server's own scramble, so
 * the client's answer cannot be replayed to a second connection), and
 * running the session's statements as the `INIT_SOURCE` user instead would
 * compare them under other privileges. Those sessions run without a shadow.
 *
 * Statements the translated backend answers itself (`SELECT @@version`,
 * `SHOW VARIABLES`, …) say nothing about CockroachDB: `answersItself` tells
 * the link, which then runs them on both sides but does not compare them
 * (nor the executions of such a prepared statement). A translated connection
 * without it is taken to answer what the proxy's answerers may take
 * (`prepareAnswer` in `../translate/answer/mod.ts`).
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { TranslatedBackend } from "../translate/backend.ts";
import { targetIdentity } from "../translate/target_identity.ts";
import type { TargetServing } from "./legs.ts";

/** Who the shadow connection logs in as, and how the client's leg is set up. */
export interface ShadowLogin {
  /** The MySQL user the client authenticated as. */
  user: string;
  /** The current database ("" for none). */
  database: string;
  /** Capabilities the client's leg negotiated (the shadow leg should match them). */
  capabilities: number;
  /** The client's character set (collation id). */
  charset: number;
  /** What opening a translated backend for the session needs (absent: none can be opened). */
  session?: ShadowSession;
}

/** The session facts a translated shadow connection is opened with. */
export interface ShadowSession {
  /** The client's address (for `USER()`). */
  host: string;
  /** The session's connection id (for `CONNECTION_ID()`). */
  connectionId: number;
  /** The server version the client was told. */
  serverVersion: string;
  /** MariaDB's extended capabilities the client negotiated (0 with MySQL). */
  mariadbCapabilities: number;
  /** The proxy's translators and role mapping. */
  serving: TargetServing;
  /** The `SET` statements that made the session's settings, in order. */
  settings: string[];
}

/** An open shadow connection in its command phase. */
export interface MySqlShadowConnection {
  /** MySQL packets both ways. */
  socket: Duplex;
  /** Capabilities the connection negotiated (how to read its answers). */
  capabilities: number;
  /** The database is reached through translation (ERR 1235 naming a gap is a `translation_gap`). */
  translated: boolean;
  /** True for a statement the backend answers itself rather than the database. */
  answersItself?(sql: string): boolean;
}

/**
 * Opens the shadow connection to `side`, or returns undefined when this
 * proxy cannot shadow MySQL sessions there.
 */
export type MySqlShadowBackend = (
  side: DatabaseSide,
  spec: ConnectionSpec,
  login: ShadowLogin,
) => Promise<MySqlShadowConnection> | undefined;

/**
 * The proxy's choice: the translated backend when the shadow is the target;
 * undefined when it is MySQL (see the module documentation).
 */
export const defaultShadowBackend: MySqlShadowBackend = (side, spec, login) => {
  const session = login.session;
  if (!defaultShadowBackendReady(side) || !session) return undefined;
  let nextId = 1;
  return TranslatedBackend.open({
    spec,
    identity: targetIdentity(login.user, spec, session.serving.roles),
    user: login.user,
    host: session.host,
    connectionId: session.connectionId,
    serverVersion: session.serverVersion,
    database: login.database,
    capabilities: login.capabilities,
    mariadbCapabilities: session.mariadbCapabilities,
    pool: session.serving.pool,
    // Statements prepared before the shadow opened stay the source of truth's (shadow_link.ts).
    statements: [],
    settings: session.settings,
    nextStatementId: () => nextId++,
  }).then((backend) => ({
    socket: backend,
    capabilities: login.capabilities,
    translated: true,
  }));
};

/**
 * Whether {@linkcode defaultShadowBackend} can shadow a MySQL session to
 * `side` (the proxy warns when it cannot).
 */
export function defaultShadowBackendReady(side: DatabaseSide): boolean {
  return side === "target";
}
