/**
 * Which simple-query requests take no locks that another session could wait
 * for, so that `sync` and `strict-sync` may send them to the shadow database
 * at the same time as to the source of truth (see `../shadow/forwarding.ts`).
 *
 * Deliberately narrow: one statement, starting with `SELECT`, `SHOW` or
 * `VALUES`, without a locking clause (`FOR UPDATE` / `FOR SHARE` / …), without
 * `INTO` (which creates a table) and without calls known to lock or write
 * (`nextval`, `setval`, advisory locks, large objects, `txid_current`). A
 * statement sent early on a session outside a transaction never waits on one
 * database for something held on the other, so it cannot close a cycle
 * across the two; everything else keeps the ordered path. A user-defined
 * function that writes is not recognised; its writes may then run in a
 * different order on the two databases than the source of truth's, which the
 * comparison reports as any divergence.
 *
 * @module
 */

const LEADING = ["select", "show", "values"];
const REFUSED = [
  " for update",
  " for no key update",
  " for share",
  " for key share",
  "into",
  "nextval",
  "setval",
  "advisory",
  "lo_",
  "txid_current",
  "pg_current_xact_id",
];

/** Longest query text looked at; anything longer takes the ordered path. */
const MAX_SCANNED = 4096;

/**
 * Whether the body of a Query message (SQL text and its NUL) is a single
 * statement that takes no locks; see the module documentation.
 */
export function takesNoLocks(body: Uint8Array): boolean {
  let end = body.length;
  if (end > 0 && body[end - 1] === 0) end--;
  if (end > MAX_SCANNED) return false;
  let start = 0;
  while (start < end && isSpace(body[start])) start++;
  while (end > start && (isSpace(body[end - 1]) || body[end - 1] === 0x3b)) end--;
  if (start === end) return false;
  // Lower-cased ASCII; any other byte (an identifier in another script) stays as it is.
  let text = "";
  for (let i = start; i < end; i++) {
    const c = body[i];
    if (c === 0x3b) return false; // a second statement
    if (c === 0x2d || c === 0x2f) return false; // comments could hide anything from this scan
    text += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  }
  if (!LEADING.some((w) => text.startsWith(w) && !isWordChar(text.charCodeAt(w.length)))) {
    return false;
  }
  const spaced = text.replace(/\s+/g, " ");
  return !REFUSED.some((w) => spaced.includes(w));
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}
