/**
 * Access to the parser's syntax tree.
 *
 * sqlparser-rs serialises its Rust enums as single-key objects
 * (`{ "BinaryOp": {...} }`) or bare strings for unit variants (`"Wildcard"`);
 * `None` comes through as `undefined`. The tree has hundreds of variants; the
 * translator handles the ones it knows and reports every other one as a
 * `TranslationGap` named after the variant, so a loose node type is enough here.
 *
 * @module
 */

import { TranslationGap } from "./errors.ts";

/** A node of the parser's tree (a serialised Rust enum or struct). */
// deno-lint-ignore no-explicit-any
export type Node = any;

/** The variant name and payload of an enum node; a unit variant has an undefined payload. */
export function variant(node: Node): [string, Node] {
  if (typeof node === "string") return [node, undefined];
  if (node === null || typeof node !== "object") {
    throw new TranslationGap("an empty syntax node");
  }
  const keys = Object.keys(node);
  if (keys.length !== 1) throw new TranslationGap("an unexpected syntax node", keys.join(","));
  return [keys[0], node[keys[0]]];
}

/** Throws a gap naming the variant: the one way unknown constructs are refused. */
export function gap(what: string, node: Node): never {
  const name = typeof node === "string"
    ? node
    : node && typeof node === "object"
    ? Object.keys(node)[0]
    : String(node);
  throw new TranslationGap(`${what} ${name}`);
}
