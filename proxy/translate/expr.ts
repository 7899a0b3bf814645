/**
 * Expressions: operators, column references, literals, predicates.
 *
 * MySQL has no boolean type: comparisons yield 1/0 and any number is a
 * condition. CockroachDB insists on BOOL in WHERE/ON/HAVING/CASE WHEN and
 * returns t/f for comparisons. So a condition that is not already boolean is
 * compared with 0, and a boolean used as a value (a projected comparison, an
 * inserted one) is cast to INT8, which gives back MySQL's 1/0.
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { gap, variant } from "./ast.ts";
import { boolLiteral, isBoolColumn, isDefault, isPlaceholder } from "./booleans.ts";
import { castExpr, intervalExpr } from "./casts.ts";
import type { Ctx } from "./context.ts";
import { TranslationGap } from "./errors.ts";
import { functionCall } from "./functions.ts";
import { objectName } from "./identifiers.ts";
import { stringLiteral, valueLiteral } from "./literals.ts";
import { query } from "./select.ts";

const BINARY: Record<string, string> = {
  Eq: "=",
  NotEq: "<>",
  Lt: "<",
  LtEq: "<=",
  Gt: ">",
  GtEq: ">=",
  Plus: "+",
  Minus: "-",
  Multiply: "*",
  Modulo: "%",
  BitwiseAnd: "&",
  BitwiseOr: "|",
  BitwiseXor: "#",
  PGBitwiseShiftLeft: "<<",
  PGBitwiseShiftRight: ">>",
};

const COMPARISON = new Set(["Eq", "NotEq", "Lt", "LtEq", "Gt", "GtEq", "Spaceship"]);
const LOGICAL = new Set(["And", "Or", "Xor", "StringConcat"]);
const PREDICATES = new Set([
  "IsNull",
  "IsNotNull",
  "IsTrue",
  "IsFalse",
  "IsNotTrue",
  "IsNotFalse",
  "IsDistinctFrom",
  "IsNotDistinctFrom",
  "InList",
  "InSubquery",
  "Between",
  "Like",
  "ILike",
  "RLike",
  "Exists",
]);

/** True when the expression is boolean-typed on CockroachDB (a comparison or predicate). */
export function isBoolean(node: Node): boolean {
  const [kind, p] = variant(node);
  if (PREDICATES.has(kind)) return true;
  if (kind === "BinaryOp") return COMPARISON.has(p.op) || LOGICAL.has(p.op);
  if (kind === "UnaryOp") return p.op === "Not";
  if (kind === "Nested") return isBoolean(p);
  return false;
}

/** An expression in a boolean position (WHERE, ON, HAVING, CASE WHEN, AND/OR/NOT operands). */
export function cond(ctx: Ctx, node: Node): string {
  return isBoolean(node) || isBoolColumn(ctx, node) ? expr(ctx, node) : `(${expr(ctx, node)}) <> 0`;
}

/**
 * A value written to a BOOL column (booleans.ts): 1/0/TRUE/FALSE as
 * TRUE/FALSE; a condition, a BOOL column, a parameter or DEFAULT as it is;
 * anything else (a number) cast to BOOL.
 */
export function boolValue(ctx: Ctx, node: Node): string {
  const literal = boolLiteral(node);
  if (literal !== null) return literal;
  if (isBoolean(node) || isBoolColumn(ctx, node) || isPlaceholder(node) || isDefault(node)) {
    return expr(ctx, node);
  }
  return `(${expr(ctx, node)})::BOOL`;
}

/** An expression in a value position (projection, VALUES, SET): booleans become 1/0 (INT: PostgreSQL has no BOOL → INT8 cast). */
export function value(ctx: Ctx, node: Node): string {
  return isBoolean(node) ? `(${expr(ctx, node)})::INT` : expr(ctx, node);
}

/**
 * An operand where MySQL needs a number (function arguments, arithmetic,
 * casts, CASE results, BETWEEN): a BOOL column (MySQL's TINYINT(1), booleans.ts)
 * as its integer 1/0, since CockroachDB has no BOOL → number conversion for
 * `sum`, `-`, `/`, `COALESCE(b, 0)` and the like; otherwise as `value`.
 */
export function numberValue(ctx: Ctx, node: Node): string {
  return isBoolColumn(ctx, node) ? `(${expr(ctx, node)})::INT` : value(ctx, node);
}

/** A column reference `a`, `t.a` or `db.t.a`. */
export function columnRef(ctx: Ctx, parts: string[]): string {
  if (parts.length === 3) {
    if (ctx.options.database === null || parts[0] !== ctx.options.database) {
      throw new TranslationGap("a reference to another database", parts[0]);
    }
    parts = parts.slice(1);
  }
  return parts.map((p) => (p === "*" ? "*" : objectName(p))).join(".");
}

/** Any expression. */
export function expr(ctx: Ctx, node: Node): string {
  const [kind, p] = variant(node);
  switch (kind) {
    case "Identifier": {
      if (p.value.startsWith("@")) throw new TranslationGap("user and system variables (@, @@)");
      if (!p.quote_style && p.value.toUpperCase() === "DEFAULT") return "DEFAULT";
      const label = ctx.labels?.get(p.value.toLowerCase());
      if (label) return label;
      // Inside ON CONFLICT DO UPDATE a bare name would be ambiguous with excluded's.
      if (ctx.upsert) return `${ctx.upsert.table}.${objectName(p.value)}`;
      return columnRef(ctx, [p.value]);
    }
    case "CompoundIdentifier": {
      const parts = p.map((i: Node) => String(i.value));
      if (ctx.upsert?.rowAlias && parts.length === 2 && parts[0] === ctx.upsert.rowAlias) {
        return `excluded.${objectName(parts[1])}`;
      }
      return columnRef(ctx, parts);
    }
    case "Value":
      if (p.value && typeof p.value === "object" && "Placeholder" in p.value) {
        return ctx.params.client(p);
      }
      return valueLiteral(p.value);
    case "Nested":
      return `(${expr(ctx, p)})`;
    case "BinaryOp":
      return binary(ctx, p);
    case "UnaryOp":
      switch (p.op) {
        case "Not":
          return `NOT ${cond(ctx, p.expr)}`;
        case "Minus":
          return `-${numberValue(ctx, p.expr)}`;
        case "Plus":
          return expr(ctx, p.expr);
        case "BitwiseNot":
          throw new TranslationGap("the ~ operator (unsigned 64-bit complement)");
        default:
          return gap("the unary operator", p.op);
      }
    case "IsNull":
      return `${expr(ctx, p)} IS NULL`;
    case "IsNotNull":
      return `${expr(ctx, p)} IS NOT NULL`;
    case "IsTrue":
      if (isBoolColumn(ctx, p)) return `${expr(ctx, p)} IS TRUE`;
      return `(${expr(ctx, p)}) <> 0`;
    case "IsNotTrue":
      if (isBoolColumn(ctx, p)) return `${expr(ctx, p)} IS NOT TRUE`;
      return `((${expr(ctx, p)}) <> 0) IS NOT TRUE`;
    case "IsFalse":
      if (isBoolColumn(ctx, p)) return `${expr(ctx, p)} IS FALSE`;
      return `(${expr(ctx, p)}) = 0`;
    case "IsNotFalse":
      if (isBoolColumn(ctx, p)) return `${expr(ctx, p)} IS NOT FALSE`;
      return `((${expr(ctx, p)}) = 0) IS NOT TRUE`;
    case "InList": {
      if (p.list.length === 0) throw new TranslationGap("an empty IN list");
      // A BOOL column stays BOOL when every item is 1/0/TRUE/FALSE, else compares as an integer.
      const asBool = isBoolColumn(ctx, p.expr) &&
        p.list.every((e: Node) => boolLiteral(e) !== null);
      const subject = isBoolColumn(ctx, p.expr) && !asBool
        ? `${expr(ctx, p.expr)}::INT`
        : expr(ctx, p.expr);
      return `${subject} ${p.negated ? "NOT IN" : "IN"} (${
        p.list.map((e: Node) => asBool ? boolLiteral(e) : expr(ctx, e)).join(", ")
      })`;
    }
    case "InSubquery":
      return `${expr(ctx, p.expr)} ${p.negated ? "NOT IN" : "IN"} (${query(ctx, p.subquery)})`;
    case "Between":
      return `${numberValue(ctx, p.expr)} ${p.negated ? "NOT BETWEEN" : "BETWEEN"} ${
        numberValue(ctx, p.low)
      } AND ${numberValue(ctx, p.high)}`;
    case "Like":
      return like(ctx, p, ctx.options.caseInsensitiveMatch ? "ILIKE" : "LIKE");
    case "ILike":
      return like(ctx, p, "ILIKE");
    case "RLike": {
      const op = (p.negated ? "!~" : "~") + (ctx.options.caseInsensitiveMatch ? "*" : "");
      return `${expr(ctx, p.expr)} ${op} ${expr(ctx, p.pattern)}`;
    }
    case "Exists":
      return `${p.negated ? "NOT " : ""}EXISTS (${query(ctx, p.subquery)})`;
    case "Subquery":
      return `(${query(ctx, p)})`;
    case "Tuple":
      return `(${p.map((e: Node) => expr(ctx, e)).join(", ")})`;
    case "Case":
      return caseExpr(ctx, p);
    case "Function":
      return functionCall(ctx, p);
    case "Cast":
      return castExpr(ctx, numberValue(ctx, p.expr), p.data_type);
    case "Convert":
      if (p.charset) return expr(ctx, p.expr);
      return castExpr(ctx, numberValue(ctx, p.expr), p.data_type);
    case "Interval":
      return intervalExpr(ctx, p);
    case "Collate":
      // Only the case-sensitive collations mean something on CockroachDB, whose default is one.
      if (/_(bin|cs)$/i.test(String(p.collation.at(-1)?.Identifier?.value ?? ""))) {
        return expr(ctx, p.expr);
      }
      throw new TranslationGap("COLLATE with a case-insensitive collation");
    case "Prefixed":
      return expr(ctx, p.value);
    case "TypedString": {
      const text = stringLiteral(String(variant(p.value.value)[1]));
      return castExpr(ctx, text, p.data_type);
    }
    case "Extract":
      return `EXTRACT(${String(p.field).toUpperCase()} FROM ${expr(ctx, p.expr)})::INT8`;
    case "Trim":
      if (p.trim_where || p.trim_what) throw new TranslationGap("TRIM with LEADING/TRAILING/BOTH");
      return `btrim(${expr(ctx, p.expr)}, ' ')`;
    case "Substring":
      return `substr(${expr(ctx, p.expr)}, ${expr(ctx, p.substring_from)}${
        p.substring_for ? `, ${expr(ctx, p.substring_for)}` : ""
      })`;
    case "Floor":
    case "Ceil":
      if (p.field && typeof p.field === "object" && "Scale" in p.field) {
        throw new TranslationGap(`${kind.toUpperCase()} with a scale`);
      }
      return `${kind.toLowerCase()}(${expr(ctx, p.expr)})`;
    case "Position":
      return `strpos(${expr(ctx, p.in)}, ${expr(ctx, p.expr)})`;
    default:
      return gap("the expression", node);
  }
}

function binary(ctx: Ctx, p: Node): string {
  switch (p.op) {
    case "And":
      return `${cond(ctx, p.left)} AND ${cond(ctx, p.right)}`;
    case "Or":
    case "StringConcat": // MySQL's || is OR unless sql_mode has PIPES_AS_CONCAT.
      return `${cond(ctx, p.left)} OR ${cond(ctx, p.right)}`;
    case "Xor":
      return `(${cond(ctx, p.left)}) <> (${cond(ctx, p.right)})`;
    case "Spaceship": {
      const [l, r] = boolOperands(ctx, p) ?? [expr(ctx, p.left), expr(ctx, p.right)];
      return `(${l} IS NOT DISTINCT FROM ${r})`;
    }
    case "Divide":
      // MySQL's / is exact division even on integers; CockroachDB's / on INT8 is too (DECIMAL),
      // PostgreSQL's truncates: NUMERIC makes both agree.
      return `${numberOperand(ctx, p.left)}::NUMERIC / ${numberOperand(ctx, p.right)}`;
    case "MyIntegerDivide":
      return `div(${numberValue(ctx, p.left)}, ${numberValue(ctx, p.right)})::INT8`;
  }
  const op = BINARY[p.op];
  if (!op) return gap("the operator", p.op);
  const [rk] = variant(p.right);
  if (rk === "Interval" && (p.op === "Plus" || p.op === "Minus")) {
    return `(${expr(ctx, p.left)})::TIMESTAMP ${op} ${expr(ctx, p.right)}`;
  }
  if (COMPARISON.has(p.op)) {
    const both = boolOperands(ctx, p);
    if (both) return `${both[0]} ${op} ${both[1]}`;
  } else if (isBoolColumn(ctx, p.left) || isBoolColumn(ctx, p.right)) {
    // Arithmetic on a BOOL column: MySQL's TINYINT(1) is a number.
    const operand = (n: Node) => isBoolColumn(ctx, n) ? `${expr(ctx, n)}::INT` : value(ctx, n);
    return `${operand(p.left)} ${op} ${operand(p.right)}`;
  }
  return `${value(ctx, p.left)} ${op} ${value(ctx, p.right)}`;
}

/**
 * The two sides of a comparison where one is a BOOL column and the other is
 * not: a 1/0/TRUE/FALSE literal, a parameter or a condition meets the column
 * as a BOOL; anything else is compared with the column as an integer (MySQL's
 * `active = 2`). Null when neither or both sides are BOOL columns.
 */
/** An operand of `/`: as written, but a BOOL column as its integer. */
function numberOperand(ctx: Ctx, node: Node): string {
  return isBoolColumn(ctx, node) ? `(${expr(ctx, node)})::INT` : expr(ctx, node);
}

function boolOperands(ctx: Ctx, p: Node): [string, string] | null {
  const left = isBoolColumn(ctx, p.left);
  if (left === isBoolColumn(ctx, p.right)) return null;
  const [column, other] = left ? [p.left, p.right] : [p.right, p.left];
  const literal = boolLiteral(other);
  const asBool = literal !== null || isPlaceholder(other) || isBoolean(other);
  const c = asBool ? expr(ctx, column) : `${expr(ctx, column)}::INT`;
  const o = literal ??
    (isBoolean(other) ? `(${expr(ctx, other)})` : asBool ? expr(ctx, other) : value(ctx, other));
  return left ? [c, o] : [o, c];
}

function like(ctx: Ctx, p: Node, op: string): string {
  if (p.any) throw new TranslationGap("LIKE ANY");
  const escape = p.escape_char
    ? ` ESCAPE ${valueLiteral(p.escape_char.value ?? p.escape_char)}`
    : "";
  return `${expr(ctx, p.expr)} ${p.negated ? `NOT ${op}` : op} ${expr(ctx, p.pattern)}${escape}`;
}

function caseExpr(ctx: Ctx, p: Node): string {
  const parts = ["CASE"];
  if (p.operand) parts.push(numberValue(ctx, p.operand));
  for (const c of p.conditions) {
    parts.push(
      "WHEN",
      p.operand ? expr(ctx, c.condition) : cond(ctx, c.condition),
      "THEN",
      numberValue(ctx, c.result),
    );
  }
  if (p.else_result) parts.push("ELSE", numberValue(ctx, p.else_result));
  parts.push("END");
  return parts.join(" ");
}
