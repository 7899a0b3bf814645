/**
 * Prepared statements of one session on two connections: MySQL numbers them
 * per connection, so the source of truth's statement 7 may be the shadow's
 * statement 3. Both connections get the same COM_STMT_PREPAREs in the same
 * order, so the n-th prepare on one is the n-th on the other; statement
 * commands name the source of truth's id and are rewritten to the shadow's.
 *
 * @module
 */

import type { NeutralResult } from "../shadow/result.ts";
import { packet } from "./packets.ts";

/** What the shadow answered to one prepare. */
export interface ShadowPrepare {
  /** Its statement id; -1 when it failed. */
  id: number;
  /** The failed result, when it failed. */
  failure?: NeutralResult;
}

/** See the module documentation. */
export class StatementIds {
  /** Source-of-truth statement id → index of its prepare. */
  readonly #sot = new Map<number, number>();
  readonly #sql: string[] = [];
  readonly #uncompared = new Set<number>();
  #sotAnswers = 0;
  readonly #shadow: ShadowPrepare[] = [];

  /**
   * A prepare of `sql` was sent to both connections; `uncompared` when the
   * shadow's backend answers its executions itself.
   */
  sent(sql: string, uncompared: boolean): void {
    if (uncompared) this.#uncompared.add(this.#sql.length);
    this.#sql.push(sql);
  }

  /** Executions of prepare `index` are answered by the shadow's backend itself: not compared. */
  uncompared(index: number): boolean {
    return this.#uncompared.has(index);
  }

  /** The source of truth answered the next prepare with statement `id` (-1: failed). */
  sourceOfTruthAnswered(id: number): void {
    if (id >= 0) this.#sot.set(id, this.#sotAnswers);
    this.#sotAnswers++;
  }

  /** The shadow answered the next prepare. */
  shadowAnswered(answer: ShadowPrepare): void {
    this.#shadow.push(answer);
  }

  /** The index of the prepare that made the source of truth's statement `id`, if known. */
  prepareOf(id: number): number | undefined {
    return this.#sot.get(id);
  }

  /** The source of truth closed statement `id`. */
  closed(id: number): void {
    this.#sot.delete(id);
  }

  /** What the shadow answered to prepare `index`; undefined until it has. */
  shadowAnswer(index: number): ShadowPrepare | undefined {
    return this.#shadow[index];
  }

  /** The SQL of prepare `index`. */
  sqlOf(index: number): string {
    return this.#sql[index] ?? "";
  }
}

/** The statement id in bytes 1–4 of a command payload. */
export function statementIdOf(payload: Uint8Array): number {
  return (payload[1] | (payload[2] << 8) | (payload[3] << 16) | (payload[4] << 24)) >>> 0;
}

/** A command packet (header included) with its statement id replaced. */
export function withStatementId(raw: Uint8Array, id: number): Uint8Array {
  const out = packet(raw[3], raw.subarray(4));
  out[5] = id & 0xff;
  out[6] = (id >>> 8) & 0xff;
  out[7] = (id >>> 16) & 0xff;
  out[8] = (id >>> 24) & 0xff;
  return out;
}
