/**
 * Whether a PostgreSQL statement orders its own result, which decides whether
 * the shadow comparison compares its rows in order or as a multiset. Reads
 * PostgreSQL's lexical rules (quotes, comments, dollar quoting) without a
 * parser: it runs for every shadowed statement.
 *
 * @module
 */

/**
 * True when the statement has an ORDER BY outside parentheses, quotes and
 * comments, i.e. one that orders the statement's own result.
 */
export function hasTopLevelOrderBy(sql: string): boolean {
  const n = sql.length;
  let depth = 0;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 0x27 || c === 0x22) { // ' or "
      const end = sql.indexOf(sql[i], i + 1);
      i = end < 0 ? n : end + 1;
    } else if (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d) {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === 0x24) { // $
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (m) {
        const end = sql.indexOf(m[0], i + m[0].length);
        i = end < 0 ? n : end + m[0].length;
      } else i++;
    } else if (c === 0x28) {
      depth++;
      i++;
    } else if (c === 0x29) {
      depth--;
      i++;
    } else if (depth === 0 && (c === 0x6f || c === 0x4f) && isOrderBy(sql, i)) {
      return true;
    } else i++;
  }
  return false;
}

const ORDER_BY = /^order\s+by\b/i;

function isOrderBy(sql: string, i: number): boolean {
  if (i > 0 && /[A-Za-z0-9_$]/.test(sql[i - 1])) return false;
  return ORDER_BY.test(sql.slice(i, i + 32));
}
