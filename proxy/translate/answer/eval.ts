/**
 * Evaluates MySQL expressions of the parser's tree in the proxy, for the
 * statements it answers itself: `SET` values, `SELECT @@x, DATABASE()`,
 * `SHOW ... WHERE` and `information_schema` filters. Comparisons follow
 * MySQL's default case-insensitive collations and its number/string
 * conversions; anything the evaluator does not know throws
 * {@linkcode Unanswerable}, so the caller can hand the statement to the
 * translator or refuse it by name.
 *
 * @module
 */

import { type Node, variant } from "../ast.ts";
import { lockFunction } from "./locks.ts";
import { readVariable } from "./variables.ts";
import { compare, likeMatch, toNumber, truthy } from "./compare.ts";
import type { AnswerContext, SessionValue } from "./types.ts";

/** A value during evaluation. */
export type Value = string | number | bigint | null;

/** Thrown for a construct the evaluator does not answer; `construct` names it. */
export class Unanswerable extends Error {
  /** What was not understood, for an ER 1235 message. */
  readonly construct: string;

  /** @param construct the construct, e.g. `function NOW` */
  constructor(construct: string) {
    super(`cannot answer ${construct}`);
    this.name = "Unanswerable";
    this.construct = construct;
  }
}

/** What an expression can see. */
export interface EvalEnv {
  ctx: AnswerContext;
  /** The current row's column (qualifier parts then name, lower case); undefined when unknown. */
  column?: (parts: string[]) => Value | undefined;
  /** In `SET x = word`, a bare word is the string `word` (MySQL's `SET sql_mode = TRADITIONAL`). */
  bareWords?: boolean;
  /** Values for `?`, in source order (COM_STMT_EXECUTE). */
  params?: readonly SessionValue[];
  /** `?` positions (`line:column`) to parameter index, from {@linkcode placeholderIndex}. */
  placeholders?: Map<string, number>;
  /** Results of the named-lock calls, run before evaluation (locks.ts `runLockCalls`). */
  lockResults?: Map<Node, number | null>;
  /** Aggregate functions, supplied by the query engine over a group of rows. */
  aggregate?: (name: string, args: Node[], distinct: boolean) => Value;
}

/** Numbers every `?` of a tree in source order, by its position. */
export function placeholderIndex(tree: Node): Map<string, number> {
  const found: [number, number][] = [];
  const walk = (n: Node) => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === "object") {
      const v = n.Value;
      if (
        v && typeof v === "object" && v.value && typeof v.value === "object" &&
        "Placeholder" in v.value
      ) {
        found.push([v.span.start.line, v.span.start.column]);
      }
      for (const k of Object.keys(n)) if (k !== "span") walk(n[k]);
    }
  };
  walk(tree);
  found.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return new Map(found.map(([l, c], i) => [`${l}:${c}`, i]));
}

/** Evaluates one expression node. */
export function evaluate(node: Node, env: EvalEnv): Value {
  const [kind, body] = variant(node);
  switch (kind) {
    case "Value":
      return literal(body, env);
    case "Identifier":
      return identifier([body.value], env, body.quote_style);
    case "CompoundIdentifier":
      return identifier(body.map((p: Node) => p.value), env, undefined);
    case "Nested":
      return evaluate(body, env);
    case "UnaryOp": {
      const v = evaluate(body.expr, env);
      if (body.op === "Not") return v === null ? null : truthy(v) ? 0 : 1;
      if (body.op === "Minus") return v === null ? null : -toNumber(v);
      if (body.op === "Plus") return v;
      throw new Unanswerable(`operator ${body.op}`);
    }
    case "BinaryOp":
      return binary(body.op, body.left, body.right, env);
    case "IsNull":
      return evaluate(body, env) === null ? 1 : 0;
    case "IsNotNull":
      return evaluate(body, env) === null ? 0 : 1;
    case "IsTrue":
    case "IsNotFalse": {
      const v = evaluate(body, env);
      return v !== null && (kind === "IsTrue" ? truthy(v) : true) ? 1 : 0;
    }
    case "IsFalse":
    case "IsNotTrue": {
      const v = evaluate(body, env);
      return v === null ? (kind === "IsNotTrue" ? 1 : 0) : truthy(v) ? 0 : 1;
    }
    case "InList": {
      const v = evaluate(body.expr, env);
      if (v === null) return null;
      let sawNull = false;
      for (const item of body.list) {
        const w = evaluate(item, env);
        if (w === null) sawNull = true;
        else if (compare(v, w) === 0) return body.negated ? 0 : 1;
      }
      return sawNull ? null : body.negated ? 1 : 0;
    }
    case "Between": {
      const v = evaluate(body.expr, env);
      const lo = evaluate(body.low, env);
      const hi = evaluate(body.high, env);
      if (v === null || lo === null || hi === null) return null;
      const inside = compare(v, lo) >= 0 && compare(v, hi) <= 0;
      return inside !== body.negated ? 1 : 0;
    }
    case "Like":
    case "ILike": {
      const v = evaluate(body.expr, env);
      const p = evaluate(body.pattern, env);
      if (v === null || p === null) return null;
      const escape = body.escape_char ? String(literal(body.escape_char, env)) : "\\";
      return likeMatch(String(v), String(p), escape) !== body.negated ? 1 : 0;
    }
    case "Cast":
      // BINARY x and CAST(x AS CHAR) keep the value; the answers' values are text already.
      return evaluate(body.expr, env);
    case "Case":
      return caseExpr(body, env);
    case "Function":
      return call(body, env);
    default:
      throw new Unanswerable(`expression ${kind}`);
  }
}

function literal(body: Node, env: EvalEnv): Value {
  const [kind, v] = variant(body.value);
  switch (kind) {
    case "Number":
      return Number(v[0]);
    case "SingleQuotedString":
    case "DoubleQuotedString":
    case "NationalStringLiteral":
      return v;
    case "HexStringLiteral":
      return new TextDecoder().decode(
        Uint8Array.from(v.match(/../g) ?? [], (h: string) => parseInt(h, 16)),
      );
    case "Boolean":
      return v ? 1 : 0;
    case "Null":
      return null;
    case "Placeholder": {
      const at = env.placeholders?.get(`${body.span.start.line}:${body.span.start.column}`);
      if (at === undefined || !env.params || at >= env.params.length) {
        throw new Unanswerable("a parameter without a value");
      }
      const p = env.params[at];
      return p;
    }
    default:
      throw new Unanswerable(`literal ${kind}`);
  }
}

function identifier(parts: string[], env: EvalEnv, quote: string | undefined): Value {
  const first = parts[0];
  if (first.startsWith("@@")) {
    const scope = parts.length === 2 ? first.slice(2).toLowerCase() : "";
    const name = parts.length === 2 ? parts[1] : first.slice(2);
    if (parts.length > 2 || (scope && !["session", "global", "local"].includes(scope))) {
      throw new Unanswerable(`variable ${parts.join(".")}`);
    }
    return readVariable(name, env.ctx, scope === "global");
  }
  if (first.startsWith("@") && parts.length === 1) {
    return env.ctx.userVariables.get(unquoteUserVariable(first.slice(1)).toLowerCase()) ?? null;
  }
  const lower = parts.map((p) => p.toLowerCase());
  const col = env.column?.(lower);
  if (col !== undefined) return col;
  if (parts.length === 1 && !quote) {
    const word = parts[0].toUpperCase();
    if (word === "CURRENT_USER") return currentUser(env.ctx);
    if (env.bareWords) return parts[0];
  }
  throw new Unanswerable(`column ${parts.join(".")}`);
}

/** `@'name'` and `` @`name` `` spell the same user variable as `@name`. */
export function unquoteUserVariable(name: string): string {
  const q = name[0];
  if ((q === "'" || q === '"' || q === "`") && name.endsWith(q)) return name.slice(1, -1);
  return name;
}

function currentUser(ctx: AnswerContext): string {
  return `${ctx.user}@%`;
}

function binary(op: string, l: Node, r: Node, env: EvalEnv): Value {
  if (op === "And") {
    const a = evaluate(l, env);
    if (a !== null && !truthy(a)) return 0;
    const b = evaluate(r, env);
    if (b !== null && !truthy(b)) return 0;
    return a === null || b === null ? null : 1;
  }
  if (op === "Or") {
    const a = evaluate(l, env);
    if (a !== null && truthy(a)) return 1;
    const b = evaluate(r, env);
    if (b !== null && truthy(b)) return 1;
    return a === null || b === null ? null : 0;
  }
  const a = evaluate(l, env);
  const b = evaluate(r, env);
  if (op === "Spaceship") {
    if (a === null || b === null) return a === b ? 1 : 0;
    return compare(a, b) === 0 ? 1 : 0;
  }
  if (a === null || b === null) return null;
  switch (op) {
    case "Eq":
      return compare(a, b) === 0 ? 1 : 0;
    case "NotEq":
      return compare(a, b) !== 0 ? 1 : 0;
    case "Lt":
      return compare(a, b) < 0 ? 1 : 0;
    case "LtEq":
      return compare(a, b) <= 0 ? 1 : 0;
    case "Gt":
      return compare(a, b) > 0 ? 1 : 0;
    case "GtEq":
      return compare(a, b) >= 0 ? 1 : 0;
    case "Xor":
      return truthy(a) !== truthy(b) ? 1 : 0;
    case "Plus":
      return toNumber(a) + toNumber(b);
    case "Minus":
      return toNumber(a) - toNumber(b);
    case "Multiply":
      return toNumber(a) * toNumber(b);
    case "Divide":
      return toNumber(b) === 0 ? null : toNumber(a) / toNumber(b);
    case "Modulo":
      return toNumber(b) === 0 ? null : toNumber(a) % toNumber(b);
    case "MyIntegerDivide":
      return toNumber(b) === 0 ? null : Math.trunc(toNumber(a) / toNumber(b));
    default:
      throw new Unanswerable(`operator ${op}`);
  }
}

function caseExpr(body: Node, env: EvalEnv): Value {
  const operand = body.operand ? evaluate(body.operand, env) : undefined;
  for (const { condition, result } of body.conditions ?? []) {
    const c = evaluate(condition, env);
    const hit = operand === undefined
      ? c !== null && truthy(c)
      : operand !== null && c !== null && compare(operand, c) === 0;
    if (hit) return evaluate(result, env);
  }
  return body.else_result ? evaluate(body.else_result, env) : null;
}

/** The arguments of a function call node, as expression nodes (`*` as the string "*"). */
export function functionArgs(body: Node): Node[] {
  const [kind, list] = variant(body.args);
  if (kind === "None") return [];
  if (kind !== "List") throw new Unanswerable(`function arguments ${kind}`);
  return list.args.map((a: Node) => {
    const [k, v] = variant(a);
    if (k !== "Unnamed") throw new Unanswerable("named function arguments");
    if (v === "Wildcard") return "*";
    return v.Expr ?? (() => {
      throw new Unanswerable("function argument");
    })();
  });
}

/** The upper-case name of a function call node. */
export function functionName(body: Node): string {
  return body.name.map((p: Node) => (p.Identifier ?? p).value).join(".").toUpperCase();
}

const AGGREGATES = new Set(["COUNT", "SUM", "MIN", "MAX", "AVG", "GROUP_CONCAT"]);

/** True for MySQL's aggregate functions the query engine computes. */
export function isAggregate(name: string): boolean {
  return AGGREGATES.has(name);
}

function call(body: Node, env: EvalEnv): Value {
  const name = functionName(body);
  const args = functionArgs(body);
  if (isAggregate(name)) {
    if (!env.aggregate) throw new Unanswerable(`aggregate ${name} without FROM`);
    const [, list] = variant(body.args);
    return env.aggregate(name, args, list?.duplicate_treatment === "Distinct");
  }
  if (env.lockResults?.has(body)) return env.lockResults.get(body) ?? null;
  const lock = lockFunction(name);
  if (lock) throw lock;
  const ev = () => args.map((a) => evaluate(a, env));
  const ctx = env.ctx;
  switch (name) {
    case "DATABASE":
    case "SCHEMA":
      return ctx.database;
    case "VERSION":
      return ctx.serverVersion;
    case "CONNECTION_ID":
      return ctx.connectionId;
    case "USER":
    case "SESSION_USER":
    case "SYSTEM_USER":
      return `${ctx.user}@${ctx.host}`;
    case "CURRENT_USER":
      return currentUser(ctx);
    case "CONCAT": {
      const vs = ev();
      return vs.some((v) => v === null) ? null : vs.map(String).join("");
    }
    case "CONCAT_WS": {
      const [sep, ...vs] = ev();
      return sep === null ? null : vs.filter((v) => v !== null).map(String).join(String(sep));
    }
    case "IFNULL":
    case "COALESCE":
      return ev().find((v) => v !== null) ?? null;
    case "NULLIF": {
      const [a, b] = ev();
      return a !== null && b !== null && compare(a, b) === 0 ? null : a;
    }
    case "IF": {
      const c = evaluate(args[0], env);
      return evaluate(c !== null && truthy(c) ? args[1] : args[2], env);
    }
    case "LOWER":
    case "LCASE": {
      const [v] = ev();
      return v === null ? null : String(v).toLowerCase();
    }
    case "UPPER":
    case "UCASE": {
      const [v] = ev();
      return v === null ? null : String(v).toUpperCase();
    }
    case "REPLACE": {
      const [v, from, to] = ev();
      if (v === null || from === null || to === null) return null;
      return from === "" ? String(v) : String(v).split(String(from)).join(String(to));
    }
    case "LENGTH": {
      const [v] = ev();
      return v === null ? null : new TextEncoder().encode(String(v)).length;
    }
    case "CHAR_LENGTH":
    case "CHARACTER_LENGTH": {
      const [v] = ev();
      return v === null ? null : [...String(v)].length;
    }
    case "FIND_IN_SET": {
      const [needle, list] = ev();
      if (needle === null || list === null) return null;
      const at = String(list).split(",").findIndex((x) =>
        x.toLowerCase() === String(needle).toLowerCase()
      );
      return at + 1;
    }
    default:
      throw new Unanswerable(`function ${name}`);
  }
}

export { compare, likeMatch, toNumber, truthy };
