/**
 * One shared copy of the short strings every session repeats: ParameterStatus
 * names and values (`client_encoding`, `UTF8`, `server_version`, …) and
 * StartupMessage parameters. Each session decodes its own copies from the
 * wire; kept per session they cost several hundred bytes of every idle
 * connection. The table stops growing at {@linkcode MAX_INTERNED} entries, so
 * values that differ per client (application names) cannot grow it without
 * bound; past that, strings are kept as they are.
 *
 * @module
 */

/** Most distinct strings kept. */
export const MAX_INTERNED = 4096;

const table = new Map<string, string>();

/** The shared copy of `s`: the first equal string seen, or `s` itself. */
export function interned(s: string): string {
  const known = table.get(s);
  if (known !== undefined) return known;
  if (table.size < MAX_INTERNED) table.set(s, s);
  return s;
}
