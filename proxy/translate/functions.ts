/**
 * MySQL functions → CockroachDB expressions, one table entry per function.
 *
 * A function missing from the table is passed through only when CockroachDB
 * has the same function with the same meaning (`PASS_THROUGH`); any other is a
 * gap naming it, never a guess.
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { variant } from "./ast.ts";
import type { Ctx } from "./context.ts";
import { convertDateFormat } from "./date_format.ts";
import { TranslationGap } from "./errors.ts";
import { cond, expr, numberValue } from "./expr.ts";
import { objectName, objectNameParts } from "./identifiers.ts";
import { stringLiteral } from "./literals.ts";
import { orderBy } from "./select.ts";

interface Call {
  ctx: Ctx;
  /** The printed arguments. */
  args: string[];
  /** The argument nodes. */
  nodes: Node[];
  distinct: boolean;
  clauses: Node[];
}

type Handler = (call: Call) => string;

const PASS_THROUGH = new Set([
  "COALESCE",
  "NULLIF",
  "GREATEST",
  "LEAST",
  "LOWER",
  "UPPER",
  "ABS",
  "CEIL",
  "FLOOR",
  "ROUND",
  "SIGN",
  "SQRT",
  "POWER",
  "EXP",
  "LN",
  "REPLACE",
  "REVERSE",
  "LPAD",
  "RPAD",
  "LEFT",
  "RIGHT",
  "REPEAT",
  "MD5",
  "CHAR_LENGTH",
  "MIN",
  "MAX",
  "ROW_NUMBER",
  "RANK",
  "DENSE_RANK",
]);

function arity(name: string, call: Call, min: number, max = min): void {
  if (call.args.length < min || call.args.length > max) {
    throw new TranslationGap(`${name} with ${call.args.length} arguments`);
  }
}

function literalString(node: Node): string | null {
  const [kind, p] = variant(node);
  if (kind !== "Value") return null;
  const [vk, vp] = variant(p.value);
  return vk === "SingleQuotedString" || vk === "DoubleQuotedString" ? String(vp) : null;
}

const FUNCTIONS: Record<string, Handler> = {
  NOW: (c) => `localtimestamp(${c.args[0] ?? "0"})`,
  CURRENT_TIMESTAMP: (c) => `localtimestamp(${c.args[0] ?? "0"})`,
  SYSDATE: (c) => `localtimestamp(${c.args[0] ?? "0"})`,
  LOCALTIMESTAMP: (c) => `localtimestamp(${c.args[0] ?? "0"})`,
  UTC_TIMESTAMP: () => "(now() AT TIME ZONE 'UTC')::TIMESTAMP(0)",
  CURDATE: () => "current_date",
  CURRENT_DATE: () => "current_date",
  CURTIME: () => "localtime(0)",
  IFNULL: (c) => (arity("IFNULL", c, 2), `COALESCE(${c.args.join(", ")})`),
  IF: (c) => {
    arity("IF", c, 3);
    return `CASE WHEN ${cond(c.ctx, c.nodes[0])} THEN ${c.args[1]} ELSE ${c.args[2]} END`;
  },
  // MySQL's CONCAT is NULL when any argument is; || behaves so, concat() does not.
  CONCAT: (c) => `(${c.args.map((a) => `(${a})::TEXT`).join(" || ")})`,
  CONCAT_WS: (c) => `concat_ws(${c.args.map((a, i) => i === 0 ? a : `(${a})::TEXT`).join(", ")})`,
  GROUP_CONCAT: (c) => {
    let separator = "','";
    let order = "";
    for (const clause of c.clauses) {
      const [kind, p] = variant(clause);
      if (kind === "OrderBy") order = ` ORDER BY ${orderBy(c.ctx, p)}`;
      else if (kind === "Separator") separator = stringLiteral(String(variant(p.value ?? p)[1]));
      else throw new TranslationGap(`GROUP_CONCAT with ${kind}`);
    }
    // With DISTINCT, CockroachDB wants the ORDER BY expression to be the argument as written.
    const arg = c.args.length === 1
      ? (c.distinct ? c.args[0] : `(${c.args[0]})::TEXT`)
      : CONCAT_ARGS(c.args);
    return `string_agg(${c.distinct ? "DISTINCT " : ""}${arg}, ${separator}${order})`;
  },
  DATE_FORMAT: (c) => {
    arity("DATE_FORMAT", c, 2);
    const format = literalString(c.nodes[1]);
    if (format === null) {
      throw new TranslationGap("DATE_FORMAT with a format that is not a literal");
    }
    return `to_char((${c.args[0]})::TIMESTAMP, ${stringLiteral(convertDateFormat(format))})`;
  },
  UNIX_TIMESTAMP: (c) =>
    c.args.length === 0
      ? "floor(extract(epoch FROM now()))::INT8"
      : `floor(extract(epoch FROM (${c.args[0]})::TIMESTAMPTZ))::INT8`,
  FROM_UNIXTIME: (c) => {
    arity("FROM_UNIXTIME", c, 1, 2);
    const ts = `to_timestamp(${c.args[0]})::TIMESTAMP`;
    if (c.args.length === 1) return ts;
    const format = literalString(c.nodes[1]);
    if (format === null) throw new TranslationGap("FROM_UNIXTIME with a non-literal format");
    return `to_char(${ts}, ${stringLiteral(convertDateFormat(format))})`;
  },
  DATE_ADD: (c) => (arity("DATE_ADD", c, 2), `((${c.args[0]})::TIMESTAMP + ${c.args[1]})`),
  ADDDATE: (c) => (arity("ADDDATE", c, 2), `((${c.args[0]})::TIMESTAMP + ${c.args[1]})`),
  DATE_SUB: (c) => (arity("DATE_SUB", c, 2), `((${c.args[0]})::TIMESTAMP - ${c.args[1]})`),
  SUBDATE: (c) => (arity("SUBDATE", c, 2), `((${c.args[0]})::TIMESTAMP - ${c.args[1]})`),
  DATEDIFF: (c) => (arity("DATEDIFF", c, 2), `((${c.args[0]})::DATE - (${c.args[1]})::DATE)`),
  DATE: (c) => (arity("DATE", c, 1), `(${c.args[0]})::DATE`),
  YEAR: (c) => `EXTRACT(YEAR FROM (${c.args[0]})::TIMESTAMP)::INT8`,
  MONTH: (c) => `EXTRACT(MONTH FROM (${c.args[0]})::TIMESTAMP)::INT8`,
  DAY: (c) => `EXTRACT(DAY FROM (${c.args[0]})::TIMESTAMP)::INT8`,
  DAYOFMONTH: (c) => `EXTRACT(DAY FROM (${c.args[0]})::TIMESTAMP)::INT8`,
  HOUR: (c) => `EXTRACT(HOUR FROM (${c.args[0]})::TIMESTAMP)::INT8`,
  LAST_INSERT_ID: (c) => {
    if (c.args.length > 0) throw new TranslationGap("LAST_INSERT_ID(expr)");
    return `${c.ctx.params.session("last_insert_id")}::INT8`;
  },
  FOUND_ROWS: (c) => `${c.ctx.params.session("found_rows")}::INT8`,
  ROW_COUNT: () => {
    throw new TranslationGap("ROW_COUNT()");
  },
  VALUES: (c) => {
    const [kind, p] = c.nodes.length === 1 ? variant(c.nodes[0]) : ["", null];
    if (!c.ctx.upsert || kind !== "Identifier") {
      throw new TranslationGap("VALUES() outside ON DUPLICATE KEY UPDATE");
    }
    return `excluded.${objectName(p.value)}`;
  },
  UUID: () => "gen_random_uuid()::TEXT",
  LENGTH: (c) => `octet_length(${c.args[0]})`,
  OCTET_LENGTH: (c) => `octet_length(${c.args[0]})`,
  CHARACTER_LENGTH: (c) => `char_length(${c.args[0]})`,
  SUBSTRING: (c) => `substr(${c.args.join(", ")})`,
  SUBSTR: (c) => `substr(${c.args.join(", ")})`,
  LOCATE: (c) => (arity("LOCATE", c, 2), `strpos(${c.args[1]}, ${c.args[0]})`),
  TRIM: (c) => `btrim(${c.args[0]}, ' ')`,
  LTRIM: (c) => `ltrim(${c.args[0]}, ' ')`,
  RTRIM: (c) => `rtrim(${c.args[0]}, ' ')`,
  LCASE: (c) => `lower(${c.args[0]})`,
  UCASE: (c) => `upper(${c.args[0]})`,
  CEILING: (c) => `ceil(${c.args[0]})`,
  TRUNCATE: (c) => (arity("TRUNCATE", c, 2), `trunc(${c.args[0]}::NUMERIC, ${c.args[1]})`),
  MOD: (c) => (arity("MOD", c, 2), `(${c.args[0]} % ${c.args[1]})`),
  RAND: (c) => (arity("RAND", c, 0), "random()"),
  COUNT: (c) => `count(${c.distinct ? "DISTINCT " : ""}${c.args.join(", ")})`,
  // MySQL's SUM of integers is DECIMAL; NUMERIC keeps CockroachDB's result exact and alike.
  SUM: (c) => `sum(${c.distinct ? "DISTINCT " : ""}(${c.args[0]})::NUMERIC)`,
  AVG: (c) => `avg(${c.distinct ? "DISTINCT " : ""}(${c.args[0]})::NUMERIC)`,
  JSON_EXTRACT: (c) => {
    arity("JSON_EXTRACT", c, 2);
    const path = literalString(c.nodes[1]);
    const keys = path === null ? null : jsonPathKeys(path);
    if (keys === null) throw new TranslationGap("JSON_EXTRACT with a path other than $.a.b");
    return `((${c.args[0]})::JSONB #> ${stringLiteral(`{${keys.join(",")}}`)})`;
  },
  JSON_UNQUOTE: (c) => `(${c.args[0]} #>> '{}')`,
};

function CONCAT_ARGS(args: string[]): string {
  return `(${args.map((a) => `(${a})::TEXT`).join(" || ")})`;
}

function jsonPathKeys(path: string): string[] | null {
  if (!path.startsWith("$")) return null;
  const keys = path.slice(1).split(".").slice(1);
  if (path !== "$" && !path.startsWith("$.")) return null;
  return keys.every((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) ? keys : null;
}

/** A function call node printed for CockroachDB. */
export function functionCall(ctx: Ctx, p: Node): string {
  const parts = objectNameParts(p.name);
  if (parts.length !== 1) throw new TranslationGap("a qualified function name", parts.join("."));
  const name = parts[0].toUpperCase();
  const nodes: Node[] = [];
  const args: string[] = [];
  let distinct = false;
  let clauses: Node[] = [];
  const [argsKind, list] = variant(p.args);
  if (argsKind === "List") {
    distinct = list.duplicate_treatment === "Distinct";
    clauses = list.clauses ?? [];
    for (const arg of list.args) {
      const [ak, ap] = variant(arg);
      if (ak !== "Unnamed") throw new TranslationGap(`a ${ak} function argument`);
      if (ap === "Wildcard") {
        args.push("*");
        nodes.push(null);
        continue;
      }
      const [ek, ep] = variant(ap);
      if (ek !== "Expr") throw new TranslationGap(`a ${ek} function argument`);
      nodes.push(ep);
      // MySQL's functions take TINYINT(1) as the number it is; on the target it is BOOL.
      args.push(numberValue(ctx, ep));
    }
  } else if (argsKind !== "None") {
    throw new TranslationGap(`${name} with ${argsKind} arguments`);
  }
  const call: Call = { ctx, args, nodes, distinct, clauses };
  let printed: string;
  const handler = FUNCTIONS[name];
  if (handler) printed = handler(call);
  else if (PASS_THROUGH.has(name)) {
    if (clauses.length > 0) throw new TranslationGap(`${name} with clauses`);
    printed = `${name.toLowerCase()}(${distinct ? "DISTINCT " : ""}${args.join(", ")})`;
  } else throw new TranslationGap(`the function ${name}()`);
  if (p.filter) throw new TranslationGap(`${name} with FILTER`);
  if (p.over) printed += ` OVER (${windowSpec(ctx, p.over)})`;
  return printed;
}

function windowSpec(ctx: Ctx, over: Node): string {
  const [kind, spec] = variant(over);
  if (kind !== "WindowSpec" || spec.window_frame || spec.window_name) {
    throw new TranslationGap("this window specification");
  }
  const parts: string[] = [];
  if (spec.partition_by?.length) {
    parts.push(`PARTITION BY ${spec.partition_by.map((e: Node) => expr(ctx, e)).join(", ")}`);
  }
  if (spec.order_by?.length) parts.push(`ORDER BY ${orderBy(ctx, spec.order_by)}`);
  return parts.join(" ");
}
