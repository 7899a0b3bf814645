/**
 * DDL that ORM migrations emit: CREATE/ALTER/DROP TABLE, CREATE/DROP INDEX,
 * TRUNCATE, RENAME TABLE (column types: column_types.ts).
 *
 * ENGINE=, CHARSET=, COLLATE=, COMMENT and column positions (AFTER/FIRST)
 * have no CockroachDB meaning and are dropped. CockroachDB takes `INDEX name
 * (cols)` inside CREATE TABLE and names indexes per table (`DROP INDEX t@i`);
 * for the `postgresql` target the index becomes a follow-up CREATE INDEX and
 * DROP INDEX names the index alone.
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { variant } from "./ast.ts";
import type { Ctx } from "./context.ts";
import { TranslationGap } from "./errors.ts";
import { expr } from "./expr.ts";
import { identValue, objectName, objectNameParts } from "./identifiers.ts";
import { columnType } from "./column_types.ts";
import { tableName } from "./select.ts";

/** What a DDL statement became. */
export interface DdlTranslation {
  sql: string;
  followUp: string[];
  tables: string[];
}

function columnDef(ctx: Ctx, col: Node, inlinePk: string[]): string {
  const name = identValue(col.name);
  const options = col.options.map((o: Node) => o.option ?? o);
  const auto = options.some(isAutoIncrement);
  const parts = [objectName(name), columnType(col.data_type, name, auto)];
  for (const o of options) {
    const [k, v] = variant(o);
    switch (k) {
      case "NotNull":
        parts.push("NOT NULL");
        break;
      case "Null":
        if (!auto) parts.push("NULL");
        break;
      case "Default":
        if (!auto) parts.push(`DEFAULT ${defaultExpr(ctx, v)}`);
        break;
      case "PrimaryKey":
        inlinePk.push(name.toLowerCase());
        break;
      case "Unique":
        parts.push("UNIQUE");
        break;
      case "Check":
        parts.push(`CHECK (${expr(ctx, v.expr ?? v)})`);
        break;
      case "Comment":
      case "CharacterSet":
      case "Collation":
        break;
      case "DialectSpecific":
        if (!v.some((t: Node) => t.Word?.keyword === "AUTO_INCREMENT")) {
          throw new TranslationGap("the column option", JSON.stringify(v));
        }
        break;
      case "OnUpdate":
        // CockroachDB recomputes ON UPDATE expressions itself; PostgreSQL would need a trigger.
        if (ctx.options.target === "cockroachdb") parts.push(`ON UPDATE ${defaultExpr(ctx, v)}`);
        break;
      default:
        throw new TranslationGap(`the column option ${k}`);
    }
  }
  return parts.join(" ");
}

function isAutoIncrement(option: Node): boolean {
  const [k, v] = variant(option);
  return k === "DialectSpecific" && v.some((t: Node) => t.Word?.keyword === "AUTO_INCREMENT");
}

function defaultExpr(ctx: Ctx, node: Node): string {
  const [kind, p] = variant(node);
  if (kind === "Function" || kind === "Identifier") {
    const name = kind === "Function" ? objectNameParts(p.name).join("") : String(p.value);
    if (/^(CURRENT_TIMESTAMP|NOW|LOCALTIMESTAMP)$/i.test(name)) return "current_timestamp";
  }
  return expr(ctx, node);
}

function indexColumns(cols: Node[]): string {
  return cols.map((c: Node) => {
    const col = c.column ?? c;
    const [k, p] = variant(col.expr);
    // A prefix length (`name(191)`) only works around MySQL's key size limit.
    const name = k === "Identifier"
      ? p.value
      : k === "Function"
      ? objectNameParts(p.name)[0]
      : null;
    if (name === null) throw new TranslationGap("an index on an expression");
    return `${objectName(name)}${col.options?.asc === false ? " DESC" : ""}`;
  }).join(", ");
}

function constraint(
  ctx: Ctx,
  table: string,
  c: Node,
  followUp: string[],
): string | null {
  const [kind, p] = variant(c);
  const named = (n: Node) => (n ? `CONSTRAINT ${objectName(identValue(n))} ` : "");
  switch (kind) {
    case "PrimaryKey":
      return `PRIMARY KEY (${indexColumns(p.columns)})`;
    case "Unique":
      return `${named(p.index_name ?? p.name)}UNIQUE (${indexColumns(p.columns)})`;
    case "Index": {
      const name = p.name ? objectName(identValue(p.name)) : null;
      if (ctx.options.target === "cockroachdb") {
        return `INDEX ${name ? `${name} ` : ""}(${indexColumns(p.columns)})`;
      }
      followUp.push(
        `CREATE INDEX ${name ? `${name} ` : ""}ON ${table} (${indexColumns(p.columns)})`,
      );
      return null;
    }
    case "ForeignKey": {
      const actions = [
        p.on_delete ? ` ON DELETE ${refAction(p.on_delete)}` : "",
        p.on_update ? ` ON UPDATE ${refAction(p.on_update)}` : "",
      ].join("");
      return `${named(p.name)}FOREIGN KEY (${
        p.columns.map((i: Node) => objectName(identValue(i))).join(", ")
      }) REFERENCES ${tableName(ctx, p.foreign_table)} (${
        p.referred_columns.map((i: Node) => objectName(identValue(i))).join(", ")
      })${actions}`;
    }
    case "Check":
      return `${named(p.name)}CHECK (${expr(ctx, p.expr)})`;
    default:
      throw new TranslationGap(`the table constraint ${kind}`);
  }
}

function refAction(a: string): string {
  const map: Record<string, string> = {
    Cascade: "CASCADE",
    SetNull: "SET NULL",
    Restrict: "RESTRICT",
    NoAction: "NO ACTION",
    SetDefault: "SET DEFAULT",
  };
  if (!map[a]) throw new TranslationGap(`the referential action ${a}`);
  return map[a];
}

/** CREATE TABLE. */
export function createTable(ctx: Ctx, p: Node): DdlTranslation {
  const table = tableName(ctx, p.name);
  const raw = objectNameParts(p.name).at(-1)!.toLowerCase();
  if (p.temporary) throw new TranslationGap("CREATE TEMPORARY TABLE");
  const ifNot = p.if_not_exists ? "IF NOT EXISTS " : "";
  if (p.like) {
    const [, like] = variant(p.like);
    return {
      sql: `CREATE TABLE ${ifNot}${table} (LIKE ${tableName(ctx, like.name)} INCLUDING ALL)`,
      followUp: [],
      tables: [raw],
    };
  }
  if (p.query) throw new TranslationGap("CREATE TABLE ... SELECT");
  const followUp: string[] = [];
  const inlinePk: string[] = [];
  const items = p.columns.map((c: Node) => columnDef(ctx, c, inlinePk));
  if (inlinePk.length) items.push(`PRIMARY KEY (${inlinePk.map(objectName).join(", ")})`);
  for (const c of p.constraints ?? []) {
    const printed = constraint(ctx, table, c, followUp);
    if (printed) items.push(printed);
  }
  return { sql: `CREATE TABLE ${ifNot}${table} (${items.join(", ")})`, followUp, tables: [raw] };
}

/** ALTER TABLE, one CockroachDB ALTER per MySQL operation where they must be split. */
export function alterTable(ctx: Ctx, p: Node): DdlTranslation {
  const table = tableName(ctx, p.name);
  const raw = objectNameParts(p.name).at(-1)!.toLowerCase();
  const actions: string[] = [];
  const after: string[] = [];
  for (const op of p.operations) {
    const [kind, o] = variant(op);
    switch (kind) {
      case "AddColumn":
        actions.push(
          `ADD COLUMN ${o.if_not_exists ? "IF NOT EXISTS " : ""}${
            columnDef(ctx, o.column_def, [])
          }`,
        );
        break;
      case "DropColumn":
        for (const c of o.column_names) {
          actions.push(
            `DROP COLUMN ${o.if_exists ? "IF EXISTS " : ""}${objectName(identValue(c))}`,
          );
        }
        break;
      case "ModifyColumn":
      case "ChangeColumn": {
        const oldName = identValue(kind === "ModifyColumn" ? o.col_name : o.old_name);
        const newName = kind === "ModifyColumn" ? oldName : identValue(o.new_name);
        const col = objectName(newName);
        if (newName.toLowerCase() !== oldName.toLowerCase()) {
          after.push(`ALTER TABLE ${table} RENAME COLUMN ${objectName(oldName)} TO ${col}`);
        }
        const options = (o.options ?? []).map((x: Node) => x.option ?? x);
        const auto = options.some(isAutoIncrement);
        // MODIFY restates the whole column: what it leaves out (NOT NULL, DEFAULT) is dropped.
        const alters = [
          `ALTER COLUMN ${col} TYPE ${auto ? "INT8" : columnType(o.data_type, newName, false)}`,
        ];
        const notNull = auto || options.some((x: Node) => variant(x)[0] === "NotNull");
        alters.push(`ALTER COLUMN ${col} ${notNull ? "SET" : "DROP"} NOT NULL`);
        const def = options.find((x: Node) => variant(x)[0] === "Default");
        alters.push(
          auto
            // The dump pattern `MODIFY id ... AUTO_INCREMENT` after CREATE TABLE; a column that
            // already is an identity makes CockroachDB refuse this (README.md).
            ? `ALTER COLUMN ${col} ADD GENERATED BY DEFAULT AS IDENTITY`
            : def
            ? `ALTER COLUMN ${col} SET DEFAULT ${defaultExpr(ctx, variant(def)[1])}`
            : `ALTER COLUMN ${col} DROP DEFAULT`,
        );
        after.push(...alters.map((a) => `ALTER TABLE ${table} ${a}`));
        break;
      }
      case "RenameColumn":
        after.push(
          `ALTER TABLE ${table} RENAME COLUMN ${objectName(identValue(o.old_column_name))} TO ${
            objectName(identValue(o.new_column_name))
          }`,
        );
        break;
      case "AddConstraint": {
        const followUp: string[] = [];
        const [ck, cp] = variant(o.constraint);
        if (ck === "Index") {
          const name = cp.name ? objectName(identValue(cp.name)) : "";
          after.push(`CREATE INDEX ${name} ON ${table} (${indexColumns(cp.columns)})`);
        } else {
          actions.push(`ADD ${constraint(ctx, table, o.constraint, followUp)}`);
        }
        break;
      }
      case "DropForeignKey":
        actions.push(`DROP CONSTRAINT ${objectName(identValue(o.name))}`);
        break;
      case "DropIndex":
        after.push(dropIndex(ctx, table, identValue(o.name)));
        break;
      case "RenameTable": {
        const [, to] = variant(o.table_name);
        after.push(`ALTER TABLE ${table} RENAME TO ${tableName(ctx, to)}`);
        break;
      }
      default:
        throw new TranslationGap(`ALTER TABLE ... ${kind}`);
    }
  }
  const statements = [
    ...(actions.length ? [`ALTER TABLE ${table} ${actions.join(", ")}`] : []),
    ...after,
  ];
  return { sql: statements[0], followUp: statements.slice(1), tables: [raw] };
}

function dropIndex(ctx: Ctx, table: string, name: string): string {
  // CockroachDB names indexes per table (t@i); PostgreSQL per schema.
  return ctx.options.target === "cockroachdb"
    ? `DROP INDEX ${table}@${objectName(name)}`
    : `DROP INDEX ${objectName(name)}`;
}

/** CREATE INDEX. */
export function createIndex(ctx: Ctx, p: Node): DdlTranslation {
  if (p.index_type || p.using) throw new TranslationGap("CREATE FULLTEXT/SPATIAL/USING index");
  const table = tableName(ctx, p.table_name);
  const name = p.name ? objectName(objectNameParts(p.name).at(-1)!) + " " : "";
  return {
    sql: `CREATE ${p.unique ? "UNIQUE " : ""}INDEX ${
      p.if_not_exists ? "IF NOT EXISTS " : ""
    }${name}ON ${table} (${indexColumns(p.columns)})`,
    followUp: [],
    tables: [objectNameParts(p.table_name).at(-1)!.toLowerCase()],
  };
}

/** DROP TABLE / DROP INDEX ... ON t. */
export function drop(ctx: Ctx, p: Node): DdlTranslation {
  const ifExists = p.if_exists ? "IF EXISTS " : "";
  if (p.object_type === "Table") {
    if (p.temporary) throw new TranslationGap("DROP TEMPORARY TABLE");
    const names = p.names.map((n: Node) => tableName(ctx, n));
    return {
      sql: `DROP TABLE ${ifExists}${names.join(", ")}${p.cascade ? " CASCADE" : ""}`,
      followUp: [],
      tables: p.names.map((n: Node) => objectNameParts(n).at(-1)!.toLowerCase()),
    };
  }
  if (p.object_type === "Index") {
    if (!p.table) throw new TranslationGap("DROP INDEX without ON table");
    const table = tableName(ctx, p.table);
    return {
      sql: dropIndex(ctx, table, objectNameParts(p.names[0]).at(-1)!),
      followUp: [],
      tables: [objectNameParts(p.table).at(-1)!.toLowerCase()],
    };
  }
  throw new TranslationGap(`DROP ${p.object_type}`);
}

/** TRUNCATE TABLE / RENAME TABLE. */
export function truncateOrRename(ctx: Ctx, kind: string, p: Node): DdlTranslation {
  if (kind === "Truncate") {
    const names = p.table_names.map((t: Node) => tableName(ctx, t.name));
    return {
      sql: `TRUNCATE ${names.join(", ")}`,
      followUp: [],
      tables: p.table_names.map((t: Node) => objectNameParts(t.name).at(-1)!.toLowerCase()),
    };
  }
  const statements = p.map((r: Node) =>
    `ALTER TABLE ${tableName(ctx, r.old_name)} RENAME TO ${tableName(ctx, r.new_name)}`
  );
  return {
    sql: statements[0],
    followUp: statements.slice(1),
    tables: p.flatMap((r: Node) => [r.old_name, r.new_name]).map((n: Node) =>
      objectNameParts(n).at(-1)!.toLowerCase()
    ),
  };
}
