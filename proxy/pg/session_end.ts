/**
 * How a session's end is told apart: a database that said why it ends the
 * session (a FATAL or PANIC ErrorResponse: `pg_terminate_backend`, an
 * administrator shutdown, `idle_session_timeout`) and one that vanished
 * without a word. PostgreSQL clients expect the first to reach them exactly
 * as sent, followed only by the close; the proxy speaks up only for the second.
 *
 * @module
 */

const FIELD_SEVERITY = 0x53; // 'S', localized
const FIELD_SEVERITY_RAW = 0x56; // 'V', never localized (PostgreSQL 9.6+)
const ENDING = new Set(["FATAL", "PANIC"]);

/**
 * Whether an ErrorResponse body (the fields after the length word) ends the
 * session. The non-localized severity is used when present.
 */
export function endsSession(body: Uint8Array): boolean {
  let localized: string | undefined;
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const field = body[at];
    const end = body.indexOf(0, at + 1);
    if (end === -1) return false;
    if (field === FIELD_SEVERITY_RAW || field === FIELD_SEVERITY) {
      const value = new TextDecoder().decode(body.subarray(at + 1, end));
      if (field === FIELD_SEVERITY_RAW) return ENDING.has(value);
      localized = value;
    }
    at = end + 1;
  }
  return localized !== undefined && ENDING.has(localized);
}
