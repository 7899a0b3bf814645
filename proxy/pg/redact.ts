/**
 * Literal redaction for query texts shown to operators (`connections list`):
 * string, dollar-quoted, bit/hex and numeric literals become `?`, so values
 * such as e-mail addresses or card numbers never leave the proxy.
 *
 * @module
 */

const TOKEN =
  /(--[^\n]*|\/\*[\s\S]*?\*\/)|("(?:[^"]|"")*")|([EeBbXxUu]&?)?'(?:[^'\\]|''|\\.)*'|(\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\5\$)|(\b\d+(?:\.\d*)?(?:[eE][+-]?\d+)?\b|\B\.\d+(?:[eE][+-]?\d+)?\b)|(\$\d+)/g;

/** Replaces the literals of `sql` with `?`; identifiers, comments and `$n` parameters stay. */
export function redactLiterals(sql: string): string {
  return sql.replace(TOKEN, (match, comment, ident, _prefix, _dollar, _tag, _num, param) => {
    if (comment !== undefined || ident !== undefined || param !== undefined) return match;
    return "?";
  });
}
