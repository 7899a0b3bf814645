/**
 * The translator: MySQL statement text in, CockroachDB statement out.
 *
 * ```ts
 * const translator = await createTranslator({ catalog });
 * const t = await translator.translate("SELECT * FROM `users` WHERE id = ? LIMIT ?, ?");
 * // t.sql === "SELECT * FROM users WHERE id = $1 LIMIT $2 OFFSET $3"
 * // t.params: $2 is the client's third `?`, $3 its second (see types.ts, params.ts)
 * ```
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { gap, variant } from "./ast.ts";
import { CachedCatalog, type Catalog } from "./catalog.ts";
import { TranslationCache } from "./cache.ts";
import { type Ctx, DEFAULT_TRANSLATE_OPTIONS, type TranslateOptions } from "./context.ts";
import { booleanColumns, referencedTables } from "./booleans.ts";
import { alterTable, createIndex, createTable, drop, truncateOrRename } from "./ddl.ts";
import { TranslationGap } from "./errors.ts";
import { insert } from "./insert.ts";
import { ParamAllocator } from "./params.ts";
import { DEFAULT_PARSE_LIMITS, initParser, type ParseLimits, parseMysql } from "./parse.ts";
import { scan, wordsAt } from "./scan.ts";
import { selectItemTexts } from "./labels.ts";
import { query } from "./select.ts";
import { transaction } from "./transactions.ts";
import type { Translation } from "./types.ts";
import { deleteStatement, update } from "./update_delete.ts";

/** How to build a translator. */
export interface TranslatorConfig {
  /** Table metadata; wrapped in a `CachedCatalog` unless it is one. */
  catalog: Catalog;
  options?: Partial<TranslateOptions>;
  limits?: Partial<ParseLimits>;
  /** Cached translations kept (default 10 000). */
  cacheEntries?: number;
}

/** Translates statements for one session's settings, with a shared cache. */
export class Translator {
  readonly options: TranslateOptions;
  readonly limits: ParseLimits;
  readonly catalog: CachedCatalog;
  readonly cache: TranslationCache;

  /** Use `createTranslator`, which loads the parser first. */
  constructor(config: TranslatorConfig) {
    this.options = { ...DEFAULT_TRANSLATE_OPTIONS, ...config.options };
    this.limits = { ...DEFAULT_PARSE_LIMITS, ...config.limits };
    this.catalog = config.catalog instanceof CachedCatalog
      ? config.catalog
      : new CachedCatalog(config.catalog);
    this.cache = new TranslationCache(config.cacheEntries);
  }

  /**
   * Translates one statement, from the cache when it was seen before.
   *
   * @throws {TranslationGap} for a construct that cannot be translated
   * @throws {TranslationLimit} when a parser guard refuses the text
   * @throws {SqlSyntaxError} when the text is not MySQL
   */
  async translate(sql: string): Promise<Translation> {
    const cached = this.cache.get(sql);
    if (cached) {
      if (cached.ok) return cached.value;
      throw cached.error;
    }
    try {
      const { reads, ...value } = await this.#translate(sql);
      this.cache.set(sql, { ok: true, value, tables: value.invalidates.concat(reads) });
      return value;
    } catch (err) {
      if (err instanceof Error && "mysqlErrno" in err) {
        this.cache.set(sql, { ok: false, error: err, tables: [] });
      }
      throw err;
    }
  }

  /** After DDL ran: forget the catalog entries and cached translations of its tables. */
  invalidate(tables: string[]): void {
    for (const t of tables) {
      this.catalog.invalidate(t);
      this.cache.invalidateTable(t);
    }
  }

  async #translate(sql: string): Promise<Translation & { reads: string[] }> {
    const statement = parseMysql(sql, this.limits);
    const ctx: Ctx = {
      options: this.options,
      params: new ParamAllocator(statement),
      foundRowsColumn: null,
      labels: null,
      itemTexts: null,
      upsert: null,
      booleans: new Set(),
    };
    const base = {
      followUp: [] as string[],
      generatedKey: null as string | null,
      affectedRows: "plain" as const,
      proposedRows: 0,
      foundRowsColumn: null as string | null,
      tx: null,
      invalidates: [] as string[],
      reads: [] as string[],
    };
    const done = (t: Omit<Translation, "params" | "clientParamCount"> & { reads: string[] }) => ({
      ...t,
      params: ctx.params.sources,
      clientParamCount: ctx.params.clientCount,
    });
    const [kind, p] = variant(statement);
    // Reads and writes depend on which of their tables' columns are BOOL; DDL and the rest do not.
    const named = kind === "Query" || kind === "Insert" || kind === "Update" || kind === "Delete"
      ? referencedTables(statement)
      : [];
    if (named.length > 0) {
      ctx.booleans = await booleanColumns(this.catalog, named);
      base.reads = named;
    }
    switch (kind) {
      case "Query": {
        ctx.itemTexts = selectItemTexts(sql, this.limits.maxTokens, this.limits.maxDepth);
        const text = query(ctx, p, true);
        return done({
          ...base,
          sql: text,
          kind: "select",
          returnsRows: true,
          foundRowsColumn: ctx.foundRowsColumn,
        });
      }
      case "Insert": {
        const t = await insert(ctx, p, this.catalog);
        return done({
          ...base,
          sql: t.sql,
          kind: "insert",
          returnsRows: false,
          generatedKey: t.generatedKey,
          affectedRows: t.affectedRows,
          proposedRows: t.proposedRows,
        });
      }
      case "Update": {
        const t = update(ctx, p);
        return done({ ...base, sql: t.sql, kind: "update", returnsRows: false });
      }
      case "Delete": {
        const t = deleteStatement(ctx, p);
        return done({ ...base, sql: t.sql, kind: "delete", returnsRows: false });
      }
      case "CreateTable":
      case "AlterTable":
      case "CreateIndex":
      case "Drop":
      case "Truncate":
      case "RenameTable": {
        const t = kind === "CreateTable"
          ? createTable(ctx, p)
          : kind === "AlterTable"
          ? alterTable(ctx, p)
          : kind === "CreateIndex"
          ? createIndex(ctx, p)
          : kind === "Drop"
          ? drop(ctx, p)
          : truncateOrRename(ctx, kind, p);
        return done({
          ...base,
          sql: t.sql,
          followUp: t.followUp,
          kind: "ddl",
          returnsRows: false,
          invalidates: t.tables,
        });
      }
      case "StartTransaction":
      case "Commit":
      case "Rollback":
      case "Savepoint":
      case "ReleaseSavepoint":
      case "Set": {
        const [innerKind, inner] = kind === "Set" ? variant(p) : [kind, p];
        const { tokens } = scan(sql, 8, 8);
        if (kind === "Set" && wordsAt(tokens, 1, ["GLOBAL"])) {
          throw new TranslationGap("SET GLOBAL");
        }
        const t = transaction(innerKind, inner, wordsAt(tokens, 1, ["SESSION"]));
        if (t === null) {
          // Session variables are answered by the proxy itself (issue 10, part 2).
          const name = innerKind === "SingleAssignment"
            ? ` ${
              String(
                inner.variable?.map?.((i: Node) => i.Identifier?.value ?? i.value).join(".") ?? "",
              )
            }`
            : "";
          throw new TranslationGap(
            `SET${name || ` ${innerKind}`} (session variables are answered by the proxy)`,
          );
        }
        return done({ ...base, sql: t.sql, kind: "tx", returnsRows: false, tx: t.tx });
      }
      default:
        return gap("the statement", statement as Node);
    }
  }
}

/** Loads the parser and builds a translator. */
export async function createTranslator(config: TranslatorConfig): Promise<Translator> {
  await initParser();
  return new Translator(config);
}
