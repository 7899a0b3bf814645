/**
 * MySQL's `time_zone` values and the CockroachDB setting for each.
 *
 * MySQL accepts `SYSTEM`, an offset `[+-]HH:MM` (−13:59 … +14:00) and, with
 * its time zone tables loaded, IANA names. A bare offset must not become
 * `SET TIME ZONE '+05:00'`: PostgreSQL reads such strings as POSIX zones,
 * where the sign is inverted. Whole-hour offsets use the tz database's
 * fixed zones (`Etc/GMT-5` is UTC+5, on both servers), other offsets the
 * SQL-standard interval form.
 *
 * @module
 */

/** True for a value MySQL would accept for `time_zone` (names from the tz database). */
export function validTimeZone(value: string): boolean {
  if (value.toUpperCase() === "SYSTEM") return true;
  const offset = parseOffset(value);
  if (offset !== null) return offset >= -(13 * 60 + 59) && offset <= 14 * 60;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
    return value.includes("/") || value.toUpperCase() === "UTC";
  } catch {
    return false;
  }
}

/** Minutes east of UTC for `[+-]H[H]:MM`, or null when `value` is not an offset. */
export function parseOffset(value: string): number | null {
  const v = value.trim();
  const sign = v[0];
  if (sign !== "+" && sign !== "-") return null;
  const [h, m, extra] = v.slice(1).split(":");
  if (extra !== undefined || h === undefined || m === undefined) return null;
  if (!/^\d{1,2}$/.test(h) || !/^\d{2}$/.test(m) || Number(m) > 59) return null;
  const minutes = Number(h) * 60 + Number(m);
  return sign === "-" ? -minutes : minutes;
}

/**
 * The CockroachDB (and PostgreSQL) statement for a MySQL `time_zone`.
 * `SYSTEM` is the system time zone the proxy reports (`system_time_zone`, UTC).
 */
export function timeZoneStatement(value: string): string {
  if (value.toUpperCase() === "SYSTEM") return "SET TIME ZONE 'UTC'";
  const offset = parseOffset(value);
  if (offset === null) return `SET TIME ZONE '${value.replace(/'/g, "''")}'`;
  if (offset === 0) return "SET TIME ZONE 'UTC'";
  if (offset % 60 === 0) {
    const hours = offset / 60;
    return `SET TIME ZONE 'Etc/GMT${hours > 0 ? "-" : "+"}${Math.abs(hours)}'`;
  }
  const abs = Math.abs(offset);
  const text = `${offset < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${
    String(abs % 60).padStart(2, "0")
  }`;
  return `SET TIME ZONE INTERVAL '${text}' HOUR TO MINUTE`;
}
