/**
 * Structured JSON logging on stderr, one object per line.
 *
 * The level comes from `LMS_LOG_LEVEL` (`debug`, `info`, `warn`, `error`;
 * default `info`). Field values whose key looks like a secret are replaced by
 * `"[redacted]"`, and connection strings are passed through
 * {@linkcode redactSecrets} so a password can never reach a log line. An
 * `Error` value is written as its fields (`code`, `message`, `hint`), never as
 * text to be parsed again.
 *
 * @module
 */

/** Log severities, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

const SECRET_KEY = /pass(word)?|secret|token|private|^key$|_key$|authorization/i;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]*)(@)/gi;
const KV_PASSWORD = /(\bpassword\s*=\s*)('[^']*'|\S+)/gi;

/** Removes passwords from free text: URL userinfo and `password=` pairs. */
export function redactSecrets(text: string): string {
  return text.replace(URL_PASSWORD, "$1[redacted]$3").replace(KV_PASSWORD, "$1[redacted]");
}

/**
 * An error as log fields: an error with a code (LmsError and typed errors
 * alike) becomes `{ code, message, hint }`, any other its message.
 */
function errorFields(err: Error): unknown {
  const { code, hint } = err as Error & { code?: unknown; hint?: unknown };
  if (typeof code !== "string") return redactSecrets(err.message);
  const fields: Record<string, string> = { code, message: redactSecrets(err.message) };
  if (typeof hint === "string" && hint !== "") fields.hint = redactSecrets(hint);
  return fields;
}

function sanitize(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactSecrets(value);
  if (value instanceof Error) return errorFields(value);
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => sanitize(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? "[redacted]" : sanitize(v, depth + 1);
  }
  return out;
}

/** A logger bound to a component name. */
export interface Logger {
  /** Verbose detail for debugging. */
  debug(msg: string, fields?: LogFields): void;
  /** Normal operational events. */
  info(msg: string, fields?: LogFields): void;
  /** Something unexpected that LMS handled. */
  warn(msg: string, fields?: LogFields): void;
  /** Something failed. */
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields`. */
  child(fields: LogFields): Logger;
}

function parseLevel(raw: string | undefined): LogLevel {
  const v = (raw ?? "info").toLowerCase();
  return v in ORDER ? v as LogLevel : "info";
}

let threshold: number = ORDER[parseLevel(readEnv("LMS_LOG_LEVEL"))];

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Overrides the level read from `LMS_LOG_LEVEL`. */
export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

const encoder = new TextEncoder();

function write(
  level: LogLevel,
  component: string,
  base: LogFields,
  msg: string,
  fields?: LogFields,
) {
  if (ORDER[level] < threshold) return;
  const line = {
    ts: new Date().toISOString(),
    level,
    component,
    msg: redactSecrets(msg),
    ...(sanitize({ ...base, ...fields }) as LogFields),
  };
  Deno.stderr.writeSync(encoder.encode(JSON.stringify(line) + "\n"));
}

/** Creates a logger for `component` (e.g. `proxy`, `orchestrator`). */
export function createLogger(component: string, base: LogFields = {}): Logger {
  return {
    debug: (m, f) => write("debug", component, base, m, f),
    info: (m, f) => write("info", component, base, m, f),
    warn: (m, f) => write("warn", component, base, m, f),
    error: (m, f) => write("error", component, base, m, f),
    child: (f) => createLogger(component, { ...base, ...f }),
  };
}
