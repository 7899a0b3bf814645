/**
 * Which connection a MySQL session's shadow runs on: the one place that
 * chooses it, so the CockroachDB-side backend of the MySQL wire (MySQL
 * command packets in, translated to CockroachDB SQL, MySQL packets out) drops
 * in here without the shadowing plumbing changing.
 *
 * A shadow connection speaks the MySQL command phase: it takes the client's
 * command packets (statement ids rewritten to its own) and answers with MySQL
 * packets. Until the translated backend exists, {@linkcode defaultShadowBackend}
 * declines, and a MySQL session runs without a shadow. Tests plug in another
 * MariaDB as the "other" database through the proxy's hooks.
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
 * The proxy's choice: the translated CockroachDB backend once the MySQL wire
 * has one; until then none, so MySQL sessions are not shadowed.
 */
export const defaultShadowBackend: MySqlShadowBackend = () => undefined;

/** Whether {@linkcode defaultShadowBackend} can shadow at all (the proxy warns when not). */
export const defaultShadowBackendReady = false;
