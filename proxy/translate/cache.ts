/**
 * Translations cached by statement text, and prepared statements by id.
 *
 * A translation depends on the text, the translator's options and the
 * catalog (conflict targets, generated keys), so DDL that touches a table
 * drops every cached translation that read it. Refusals (gaps, limits,
 * syntax errors) are cached too: the same text is not parsed twice.
 *
 * @module
 */

import type { Translation } from "./types.ts";

/** A cached outcome: a translation, or the error it raised. */
export type CacheEntry = { ok: true; value: Translation; tables: string[] } | {
  ok: false;
  error: Error;
  tables: string[];
};

/** An LRU map from statement text to its translation. */
export class TranslationCache {
  readonly #max: number;
  readonly #entries = new Map<string, CacheEntry>();
  /** Lookups answered from the cache. */
  hits = 0;
  /** Lookups that had to translate. */
  misses = 0;

  /** @param maxEntries entries kept before the least recently used is dropped (default 10 000) */
  constructor(maxEntries = 10_000) {
    this.#max = maxEntries;
  }

  /** The entry for `text`, counting the hit or miss. */
  get(text: string): CacheEntry | undefined {
    const entry = this.#entries.get(text);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#entries.delete(text);
    this.#entries.set(text, entry);
    return entry;
  }

  /** Stores an entry, evicting the least recently used beyond the limit. */
  set(text: string, entry: CacheEntry): void {
    this.#entries.delete(text);
    this.#entries.set(text, entry);
    while (this.#entries.size > this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** Drops every entry that read `table`. */
  invalidateTable(table: string): void {
    for (const [text, entry] of this.#entries) {
      if (entry.tables.includes(table)) this.#entries.delete(text);
    }
  }

  /** How many entries are held. */
  get size(): number {
    return this.#entries.size;
  }
}

/** Prepared statements of one session: MySQL statement id → its text. */
export class PreparedStatements {
  readonly #byId = new Map<number, string>();

  /** Records the text COM_STMT_PREPARE gave the id. */
  add(id: number, text: string): void {
    this.#byId.set(id, text);
  }

  /** The text of a prepared statement, or undefined for an unknown id. */
  text(id: number): string | undefined {
    return this.#byId.get(id);
  }

  /** COM_STMT_CLOSE. */
  remove(id: number): void {
    this.#byId.delete(id);
  }

  /** Every prepared statement, for re-preparing after a move. */
  entries(): [number, string][] {
    return [...this.#byId];
  }
}
