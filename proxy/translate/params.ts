/**
 * Parameters: MySQL's `?` → CockroachDB's `$n`, with the mapping between them.
 *
 * MySQL numbers placeholders by their position in the text; a translation may
 * print clauses in another order (`LIMIT a, b` → `LIMIT b OFFSET a`), so each
 * placeholder's client index is fixed from its source position before
 * printing, and `$n` is handed out in output order. Values that only the
 * proxy session knows (`LAST_INSERT_ID()`, `FOUND_ROWS()`) are parameters too,
 * so cached translations stay valid across sessions.
 *
 * @module
 */

import type { Node } from "./ast.ts";

/** Where the value of one `$n` comes from. */
export type ParamSource =
  | { kind: "client"; index: number }
  | { kind: "session"; name: "last_insert_id" | "found_rows" };

/** Hands out `$n` in output order and records each one's source. */
export class ParamAllocator {
  readonly sources: ParamSource[] = [];
  readonly #clientIndex = new Map<Node, number>();
  readonly clientCount: number;

  /** @param root the statement, searched for placeholders in source order */
  constructor(root: Node) {
    const found: { node: Node; line: number; column: number }[] = [];
    collectPlaceholders(root, found);
    found.sort((a, b) => a.line - b.line || a.column - b.column);
    found.forEach((p, i) => this.#clientIndex.set(p.node, i));
    this.clientCount = found.length;
  }

  /** The `$n` for the placeholder `Value` payload node. */
  client(valueNode: Node): string {
    const index = this.#clientIndex.get(valueNode) ?? this.sources.length;
    this.sources.push({ kind: "client", index });
    return `$${this.sources.length}`;
  }

  /** A `$n` that the session fills in. */
  session(name: "last_insert_id" | "found_rows"): string {
    this.sources.push({ kind: "session", name });
    return `$${this.sources.length}`;
  }
}

function collectPlaceholders(
  node: Node,
  out: { node: Node; line: number; column: number }[],
): void {
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const child of node) collectPlaceholders(child, out);
    return;
  }
  const value = node.value;
  if (value && typeof value === "object" && "Placeholder" in value && node.span) {
    out.push({ node, line: node.span.start.line, column: node.span.start.column });
    return;
  }
  for (const key in node) {
    if (key !== "span") collectPlaceholders(node[key], out);
  }
}

/** Builds the `$n` values in order from the client's `?` values and the session's. */
export function bindParams<T>(
  sources: ParamSource[],
  clientValues: readonly T[],
  session: { lastInsertId: T; foundRows: T },
): T[] {
  return sources.map((s) =>
    s.kind === "client"
      ? clientValues[s.index]
      : s.name === "last_insert_id"
      ? session.lastInsertId
      : session.foundRows
  );
}
