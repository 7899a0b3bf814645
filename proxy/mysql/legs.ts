/**
 * The two kinds of database connection a MySQL session can run on, and how
 * a session gets one on the other side when it moves: on the target, a
 * translated backend (`proxy/translate/backend.ts`) logged in as the
 * session's mapped role, carrying its database, settings and prepared
 * statements; on MySQL, the session's own parked connection, revived
 * (`parked.ts`).
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { LmsError } from "../../shared/errors.ts";
import { TranslatedBackend } from "../translate/backend.ts";
import { targetIdentity } from "../translate/target_identity.ts";
import type { TranslatorPool } from "../translate/translator_pool.ts";
import { ParkedMySql } from "./parked.ts";
import type { MySqlSessionState } from "./session_state.ts";
import type { LocalAuthContext } from "./auth_local.ts";

/** A database connection of a MySQL session, ready to relay. */
export type MySqlLeg =
  | {
    kind: "mysql";
    socket: Duplex;
    thread: number;
    /** Client statement id → MySQL's, where they differ. */
    idMap: Map<number, number>;
  }
  | { kind: "translated"; backend: TranslatedBackend };

/** What serving MySQL sessions from the target needs, shared by a proxy's sessions. */
export interface TargetServing {
  /** The translators. */
  pool: TranslatorPool;
  /** `LMS_MYSQL_TARGET_USERS`: MySQL user → CockroachDB role. */
  roles: ReadonlyMap<string, string>;
  /** The source's recorded accounts, for COM_CHANGE_USER on the target (needs INIT_TARGET). */
  localAuth?: LocalAuthContext;
}

/** What a session knows that a new connection needs. */
export interface LegFacts {
  state: MySqlSessionState;
  parked: ParkedMySql | undefined;
  capabilities: number;
  mariadbCapabilities: number;
  serverVersion: string;
  connectionId: number;
  clientHost: string;
  /** Whether the client's connection is TLS. */
  clientEncrypted: boolean;
  serving: TargetServing;
  nextStatementId: () => number;
  /** Per statement: the parameter types the client last bound (2 bytes each). */
  paramTypes: ReadonlyMap<number, { types: Uint8Array | undefined }>;
}

/** Opens the session's connection on `side`; see the module documentation. */
export async function openLeg(
  side: DatabaseSide,
  spec: ConnectionSpec,
  f: LegFacts,
): Promise<MySqlLeg> {
  if (side === "target") {
    const state = f.state;
    const backend = await TranslatedBackend.open({
      spec,
      identity: targetIdentity(state.user, spec, f.serving.roles),
      user: state.user,
      host: f.clientHost,
      connectionId: f.connectionId,
      serverVersion: f.serverVersion,
      database: state.database,
      capabilities: f.capabilities,
      mariadbCapabilities: f.mariadbCapabilities,
      pool: f.serving.pool,
      statements: [...state.statements].map(([id, sql]) => {
        const raw = f.paramTypes.get(id)?.types;
        const types: number[] = [];
        for (let i = 0; raw && i + 1 < raw.length; i += 2) types.push(raw[i] | (raw[i + 1] << 8));
        return { id, sql, types };
      }),
      settings: [...new Set([state.setNames, ...state.sessionVars.values()])].filter((s) => s),
      nextStatementId: f.nextStatementId,
      localAuth: f.serving.localAuth,
      clientEncrypted: f.clientEncrypted,
    });
    return { kind: "translated", backend };
  }
  if (!f.parked) {
    throw new LmsError(
      "IDENTITY_UNAVAILABLE",
      `LMS cannot move this session of ${f.state.user} back to MySQL: it holds no MySQL ` +
        "connection of that user (the proxy cannot log in to MySQL with the client's password; " +
        "it did not log in on MySQL through this proxy)",
      "reconnect: a new connection authenticates on MySQL directly",
    );
  }
  const revived = await f.parked.revive(f.state);
  return { kind: "mysql", ...revived };
}

/** Keeps a MySQL leg the session leaves, for a move back. */
export function parkLeg(
  leg: Extract<MySqlLeg, { kind: "mysql" }>,
  state: MySqlSessionState,
  capabilities: number,
): ParkedMySql {
  const held = new Map<number, number>();
  for (const id of state.statements.keys()) held.set(id, leg.idMap.get(id) ?? id);
  return new ParkedMySql(leg.socket, leg.thread, capabilities, held);
}
