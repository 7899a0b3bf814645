/**
 * Transaction control: START TRANSACTION [READ ONLY|READ WRITE], BEGIN [WORK],
 * COMMIT, ROLLBACK, savepoints, SET [SESSION] TRANSACTION.
 *
 * MySQL's `SET TRANSACTION` (no SESSION) sets the characteristics of the
 * *next* transaction and is refused inside one; CockroachDB's applies to the
 * current one. So it is not sent: the session records it (`tx.action =
 * set_next`) and adds it to the next BEGIN. `SET SESSION TRANSACTION` becomes
 * `SET SESSION CHARACTERISTICS AS TRANSACTION`. The parser does not say
 * whether SESSION was written, so the caller tells (translate.ts looks at the
 * first words).
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { variant } from "./ast.ts";
import { TranslationGap } from "./errors.ts";
import { objectName } from "./identifiers.ts";
import type { TxControl } from "./types.ts";

const ISOLATION: Record<string, string> = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

function modes(list: Node[]): { text: string; isolation?: string; readOnly?: boolean } {
  const parts: string[] = [];
  let isolation: string | undefined;
  let readOnly: boolean | undefined;
  for (const m of list) {
    const [k, v] = variant(m);
    if (k === "IsolationLevel") {
      isolation = ISOLATION[v];
      if (!isolation) throw new TranslationGap(`the isolation level ${v}`);
      parts.push(`ISOLATION LEVEL ${isolation}`);
    } else if (k === "AccessMode") {
      readOnly = v === "ReadOnly";
      parts.push(readOnly ? "READ ONLY" : "READ WRITE");
    } else throw new TranslationGap(`the transaction mode ${k}`);
  }
  return { text: parts.join(", "), isolation, readOnly };
}

/** Translates a transaction-control statement; null when `kind` is not one. */
export function transaction(
  kind: string,
  p: Node,
  sessionScope: boolean,
): { sql: string; tx: TxControl } | null {
  switch (kind) {
    case "StartTransaction": {
      const m = modes(p.modes ?? []);
      return {
        sql: `BEGIN${m.text ? ` ${m.text}` : ""}`,
        tx: { action: "begin", isolation: m.isolation, readOnly: m.readOnly },
      };
    }
    case "Commit":
      if (p.chain) throw new TranslationGap("COMMIT AND CHAIN");
      return { sql: "COMMIT", tx: { action: "commit" } };
    case "Rollback":
      if (p.chain) throw new TranslationGap("ROLLBACK AND CHAIN");
      if (p.savepoint) {
        return {
          sql: `ROLLBACK TO SAVEPOINT ${objectName(p.savepoint.value)}`,
          tx: { action: "rollback_to", name: p.savepoint.value },
        };
      }
      return { sql: "ROLLBACK", tx: { action: "rollback" } };
    case "Savepoint":
      return {
        sql: `SAVEPOINT ${objectName(p.name.value)}`,
        tx: { action: "savepoint", name: p.name.value },
      };
    case "ReleaseSavepoint":
      return {
        sql: `RELEASE SAVEPOINT ${objectName(p.name.value)}`,
        tx: { action: "release", name: p.name.value },
      };
    case "SetTransaction": {
      const m = modes(p.modes ?? []);
      if (sessionScope) {
        return {
          sql: `SET SESSION CHARACTERISTICS AS TRANSACTION ${m.text}`,
          tx: { action: "set_session", isolation: m.isolation, readOnly: m.readOnly },
        };
      }
      return {
        sql: `SET TRANSACTION ${m.text}`,
        tx: { action: "set_next", isolation: m.isolation, readOnly: m.readOnly },
      };
    }
    default:
      return null;
  }
}
