/**
 * Casts and intervals: `CAST(x AS SIGNED)`, `CONVERT(x, CHAR)`, `INTERVAL n DAY`.
 *
 * @module
 */

import type { Node } from "./ast.ts";
import { variant } from "./ast.ts";
import type { Ctx } from "./context.ts";
import { TranslationGap } from "./errors.ts";
import { expr } from "./expr.ts";

/** `CAST(text AS type)` with MySQL's cast target mapped to CockroachDB's type. */
export function castExpr(_ctx: Ctx, text: string, dataType: Node): string {
  const [kind, p] = variant(dataType);
  const length = p?.IntegerLength?.length;
  switch (kind) {
    case "Signed":
    case "Unsigned":
    case "SignedInteger":
    case "UnsignedInteger":
      // MySQL rounds a fractional value to the nearest integer, as CockroachDB's cast does.
      return `CAST(${text} AS INT8)`;
    case "Char":
    case "Character":
    case "Nchar":
    case "Varchar":
    case "Text":
      return length === undefined ? `CAST(${text} AS TEXT)` : `CAST(${text} AS VARCHAR(${length}))`;
    case "Decimal":
    case "Numeric":
    case "Dec": {
      const [pk, pp] = p === undefined ? ["None", undefined] : variant(p);
      if (pk === "PrecisionAndScale") return `CAST(${text} AS DECIMAL(${pp[0]}, ${pp[1]}))`;
      if (pk === "Precision") return `CAST(${text} AS DECIMAL(${pp}, 0))`;
      return `CAST(${text} AS DECIMAL(10, 0))`;
    }
    case "Date":
      return `CAST(${text} AS DATE)`;
    case "Datetime":
    case "Timestamp":
      return `CAST(${text} AS TIMESTAMP)`;
    case "Time":
      return `CAST(${text} AS TIME)`;
    case "JSON":
      return `CAST(${text} AS JSONB)`;
    case "Binary":
    case "Varbinary":
      return `CAST(${text} AS BYTEA)`;
    case "Double":
    case "DoublePrecision":
      return `CAST(${text} AS FLOAT8)`;
    case "Float":
    case "Real":
      return `CAST(${text} AS FLOAT4)`;
    default:
      throw new TranslationGap(`CAST to ${kind}`);
  }
}

const UNITS: Record<string, string> = {
  Microsecond: "microsecond",
  Second: "second",
  Minute: "minute",
  Hour: "hour",
  Day: "day",
  Week: "week",
  Month: "month",
  Year: "year",
};

/** `INTERVAL n UNIT` as CockroachDB interval arithmetic. */
export function intervalExpr(ctx: Ctx, p: Node): string {
  const field = typeof p.leading_field === "object" && p.leading_field !== null
    ? Object.keys(p.leading_field)[0]
    : String(p.leading_field);
  let unit = UNITS[field];
  let amount = expr(ctx, p.value);
  if (field === "Quarter") {
    unit = "month";
    amount = `(${amount}) * 3`;
  }
  if (!unit || p.last_field || p.fractional_seconds_precision) {
    throw new TranslationGap(`INTERVAL with unit ${String(p.leading_field ?? "none")}`);
  }
  if (/^[0-9]+$/.test(amount)) return `INTERVAL '${amount} ${unit}'`;
  return `(${amount}) * INTERVAL '1 ${unit}'`;
}
