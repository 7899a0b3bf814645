/**
 * Parsing, redaction and display of the database connection strings in
 * `INIT_SOURCE` and `INIT_TARGET`.
 *
 * Accepted forms:
 * - libpq URLs: `postgres://` or `postgresql://user:pass@host:port/db?sslmode=...`, with
 *   IPv6 hosts in brackets and the `host`, `port`, `user`, `password` and `dbname` query
 *   parameters that libpq also accepts;
 * - MySQL URLs: `mysql://user:pass@host:port/db?...`;
 * - the Go-driver MySQL form the product docs show: `mysql://user:pass@tcp(host:port)/db?...`.
 *
 * The product docs write a second `?` where a `&` belongs
 * (`?sslmode=verify-full?sslrootcert=...`); that is accepted as a separator.
 *
 * No message produced here ever contains the password.
 *
 * @module
 */

import { LmsError } from "./errors.ts";

/** libpq's `sslmode` values, used for both dialects. */
export type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

/** Every accepted `sslmode` value, in libpq's order (weakest first). */
export const SSL_MODES: readonly SslMode[] = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
];

/** A parsed connection string. */
export interface ConnectionSpec {
  /** Wire protocol of the database. */
  dialect: "postgres" | "mysql";
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** TCP port; 5432 for postgres and 3306 for mysql when not given. */
  port: number;
  /** User name, percent-decoded. */
  user: string;
  /** Password, percent-decoded; absent when the string carries none. */
  password?: string;
  /** Database name; postgres defaults to the user name, mysql may be empty. */
  database: string;
  /** TLS mode towards the database; `prefer` when not given. */
  sslmode: SslMode;
  /** CA certificate file path, as written. */
  sslrootcert?: string;
  /** Client certificate file path, as written. */
  sslcert?: string;
  /** Client key file path, as written. */
  sslkey?: string;
  /** Every other query parameter (application_name, options, charset, ...). */
  params: Record<string, string>;
}

/** Default TCP port per dialect. */
export const DEFAULT_PORTS: Readonly<Record<ConnectionSpec["dialect"], number>> = {
  postgres: 5432,
  mysql: 3306,
};

/** A connection string that cannot be used; `problem` is the message without the key. */
export class ConnectionStringError extends LmsError {
  /** Config key the string came from, e.g. `INIT_SOURCE`. */
  readonly key: string;
  /** What is wrong, without the key prefix; never contains the password. */
  readonly problem: string;

  /**
   * @param key config key named in the message
   * @param problem what is wrong (must not contain a secret)
   */
  constructor(key: string, problem: string) {
    super(
      "CONNSTRING_INVALID",
      `${key}: ${problem}`,
      "write it as postgres://user:password@host:5432/db?sslmode=... or " +
        "mysql://user:password@tcp(host:3306)/db?sslmode=...; percent-encode special " +
        "characters in the user name and password",
    );
    this.name = "ConnectionStringError";
    this.key = key;
    this.problem = problem;
  }
}

interface Parsed {
  spec: ConnectionSpec;
  /** Offsets of the URL password in the raw string, if it has one. */
  passwordSpan?: [number, number];
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s;
const NET_FORM = /(^|@)(tcp|tcp4|tcp6|unix|udp)\(/i;
/** A second `?` that starts a `name=` pair is the docs' typo for `&`. */
const STRAY_QUESTION_MARK = /\?(?=[A-Za-z_][A-Za-z0-9_.-]*=)/g;
const PG_URL_KEYS = new Set(["host", "port", "user", "password", "dbname"]);
const TLS_KEYS = new Set(["sslmode", "sslrootcert", "sslcert", "sslkey"]);
/** go-sql-driver/mysql `tls=` values mapped onto sslmode. */
const MYSQL_TLS: Readonly<Record<string, SslMode>> = {
  "false": "disable",
  "preferred": "prefer",
  "skip-verify": "require",
  "true": "verify-full",
};

/**
 * Parses a connection string; `key` (e.g. "INIT_SOURCE") is named in errors.
 * Throws {@linkcode ConnectionStringError} (an LmsError with code CONNSTRING_INVALID);
 * the message never contains the password.
 */
export function parseConnectionString(raw: string, key = "connection string"): ConnectionSpec {
  return parse(raw, key).spec;
}

/** The string with the password replaced by "[redacted]" (works even when the string does not parse). */
export function redactConnectionString(raw: string): string {
  let out: string;
  try {
    const { passwordSpan } = parse(raw, "");
    out = passwordSpan
      ? raw.slice(0, passwordSpan[0]) + "[redacted]" + raw.slice(passwordSpan[1])
      : raw;
  } catch {
    out = redactUnparsed(raw);
  }
  if (out.includes("://")) return out.replace(/([?&]password=)[^&?]*/gi, "$1[redacted]");
  return out.replace(/(\bpassword\s*=\s*)('[^']*'|\S+)/gi, "$1[redacted]");
}

/** A display form without password, e.g. "postgres://app@db:5432/shop?sslmode=require". */
export function describeConnection(spec: ConnectionSpec): string {
  const host = spec.host.includes(":") ? `[${spec.host}]` : spec.host;
  return `${spec.dialect}://${encodeURIComponent(spec.user)}@${host}:${spec.port}/` +
    `${encodeURIComponent(spec.database)}?sslmode=${spec.sslmode}`;
}

/**
 * When the string does not parse, the password position is unknown: everything
 * between the first `:` of the user part and the last `@` is hidden, which may hide
 * more than the password but never less.
 */
function redactUnparsed(raw: string): string {
  const m = SCHEME.exec(raw);
  const base = m ? raw.length - m[2].length : 0;
  const colon = raw.indexOf(":", base);
  const at = raw.lastIndexOf("@");
  if (colon === -1 || at === -1 || colon > at) return raw;
  return raw.slice(0, colon + 1) + "[redacted]" + raw.slice(at);
}

function parse(raw: string, key: string): Parsed {
  const fail = (problem: string): never => {
    throw new ConnectionStringError(key, problem);
  };
  const text = raw.trim();
  if (text === "") {
    fail(
      "is empty; expected a URL such as postgres://user@host:5432/db or mysql://user@tcp(host:3306)/db",
    );
  }
  const m = SCHEME.exec(text);
  if (!m) {
    if (/^[A-Za-z_]+\s*=/.test(text)) {
      fail(
        "key=value connection strings are not supported; write it as a URL: postgres://user@host:5432/db",
      );
    }
    fail("is not a URL; it must start with postgres://, postgresql:// or mysql://");
  }
  const [, schemeRaw, rest] = m as RegExpExecArray;
  const scheme = schemeRaw.toLowerCase();
  let dialect: ConnectionSpec["dialect"];
  if (scheme === "postgres" || scheme === "postgresql") dialect = "postgres";
  else if (scheme === "mysql") dialect = "mysql";
  else {
    return fail(
      `unknown scheme "${schemeRaw.slice(0, 20)}://"; use postgres://, postgresql:// or mysql://`,
    );
  }
  const restOffset = raw.indexOf(text) + schemeRaw.length + 3;

  const { userinfo, hostPart, after } = splitAuthority(rest, dialect, scheme, fail);
  const q = after.indexOf("?");
  const path = q === -1 ? after : after.slice(0, q);
  const query = q === -1 ? "" : after.slice(q + 1);
  if (path.includes("@")) fail(unencodedUserinfo());

  let user = "";
  let password: string | undefined;
  let passwordSpan: [number, number] | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(":");
    const rawUser = colon === -1 ? userinfo : userinfo.slice(0, colon);
    user = decode(rawUser, () => fail("the user name has an invalid percent-encoding"));
    if (colon !== -1) {
      passwordSpan = [restOffset + colon + 1, restOffset + userinfo.length];
      const decoded = decode(
        userinfo.slice(colon + 1),
        () => fail("the password has an invalid percent-encoding (the password is not shown)"),
      );
      if (decoded !== "") password = decoded;
    }
  }

  let { host, port } = splitHostPort(hostPart, dialect, fail);
  let database = decode(
    path.replace(/^\//, ""),
    () => fail("the database name has an invalid percent-encoding"),
  );
  let sslmode: SslMode | undefined;
  let mysqlTls: SslMode | undefined;
  const tls: Partial<Record<"sslrootcert" | "sslcert" | "sslkey", string>> = {};
  const params: Record<string, string> = {};

  for (const [name, value] of parseQuery(query, fail)) {
    if (dialect === "postgres" && PG_URL_KEYS.has(name)) {
      if (name === "host") {
        if (value.startsWith("/")) {
          fail("host names a unix socket directory; LMS connects over TCP, give a host name");
        }
        if (value.includes(",")) fail("multiple hosts are not supported; give exactly one host");
        host = value;
      } else if (name === "port") port = value;
      else if (name === "user") user = value;
      else if (name === "password") password = value === "" ? undefined : value;
      else database = value;
    } else if (name === "sslmode") {
      if (!(SSL_MODES as readonly string[]).includes(value)) {
        fail(`sslmode "${value.slice(0, 40)}" is not one of ${SSL_MODES.join(", ")}`);
      }
      sslmode = value as SslMode;
    } else if (TLS_KEYS.has(name)) {
      if (value === "") fail(`${name} is empty; give the path of a PEM file`);
      tls[name as "sslrootcert" | "sslcert" | "sslkey"] = value;
    } else if (dialect === "mysql" && name === "tls" && Object.hasOwn(MYSQL_TLS, value)) {
      mysqlTls = MYSQL_TLS[value];
    } else params[name] = value;
  }

  if (host === "") {
    fail(
      dialect === "postgres"
        ? "missing host; write postgres://user@HOST:5432/db"
        : "missing host; write mysql://user@tcp(HOST:3306)/db",
    );
  }
  if (user === "") fail(`missing user name; write ${scheme}://USER@host/db`);
  if (tls.sslcert !== undefined && tls.sslkey === undefined) {
    fail("sslcert is given without sslkey; a client certificate needs its key");
  }
  if (tls.sslkey !== undefined && tls.sslcert === undefined) {
    fail("sslkey is given without sslcert; a client key needs its certificate");
  }
  if (dialect === "postgres" && database === "") database = user;

  const spec: ConnectionSpec = {
    dialect,
    host,
    port: port === undefined ? DEFAULT_PORTS[dialect] : parsePort(port, fail),
    user,
    database,
    sslmode: sslmode ?? mysqlTls ?? "prefer",
    params,
  };
  if (password !== undefined) spec.password = password;
  if (tls.sslrootcert !== undefined) spec.sslrootcert = tls.sslrootcert;
  if (tls.sslcert !== undefined) spec.sslcert = tls.sslcert;
  if (tls.sslkey !== undefined) spec.sslkey = tls.sslkey;
  return { spec, passwordSpan };
}

interface UrlParts {
  /** Text before the '@' that ends the user part, undecoded. */
  userinfo?: string;
  /** `host`, `host:port` or `[v6]:port`, undecoded. */
  hostPart: string;
  /** Path and query: empty or starting with '/' or '?'. */
  after: string;
}

/** Splits what follows "scheme://" into user part, host part and the rest. */
function splitAuthority(
  rest: string,
  dialect: ConnectionSpec["dialect"],
  scheme: string,
  fail: (problem: string) => never,
): UrlParts {
  const net = NET_FORM.exec(rest);
  if (net) {
    const proto = net[2].toLowerCase();
    const open = net.index + net[0].length;
    if (dialect !== "mysql") {
      fail(
        `the ${proto}(host:port) form is only for mysql://; write ${scheme}://user@host:port/db`,
      );
    }
    if (proto === "unix") {
      fail("unix(...) sockets are not supported: LMS connects over TCP; write tcp(host:port)");
    }
    if (proto !== "tcp") fail(`unsupported protocol "${proto}(...)"; write tcp(host:port)`);
    const close = rest.indexOf(")", open);
    if (close === -1) fail("unbalanced parenthesis: tcp( is not closed; write tcp(host:port)");
    const hostPart = rest.slice(open, close);
    if (/[/?]/.test(hostPart)) {
      fail("unbalanced parenthesis: tcp( is not closed before the database; write tcp(host:port)");
    }
    const after = rest.slice(close + 1);
    if (after !== "" && after[0] !== "/" && after[0] !== "?") {
      fail("unexpected text after tcp(...); write tcp(host:port)/database");
    }
    return { userinfo: net[1] === "@" ? rest.slice(0, net.index) : undefined, hostPart, after };
  }
  const end = rest.search(/[/?]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  const after = end === -1 ? "" : rest.slice(end);
  const at = authority.lastIndexOf("@");
  const hostPart = authority.slice(at + 1);
  // "user:pa/ss@host" splits before the '@': an '@' ahead of any "name=" means the
  // password was cut in two, and neither half may be echoed.
  const nextAt = after.indexOf("@");
  if (
    at === -1 && hostPart.includes(":") && nextAt !== -1 && !after.slice(0, nextAt).includes("=")
  ) {
    fail(unencodedUserinfo());
  }
  return { userinfo: at === -1 ? undefined : authority.slice(0, at), hostPart, after };
}

function unencodedUserinfo(): string {
  return "an '@' appears after the host part: if the user name or password contains " +
    "'/', '?' or '@', percent-encode it (%2F, %3F, %40)";
}

function decode(text: string, onError: () => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return onError();
  }
}

function splitHostPort(
  text: string,
  dialect: ConnectionSpec["dialect"],
  fail: (problem: string) => never,
): { host: string; port?: string } {
  if (text.includes(",")) fail("multiple hosts are not supported; give exactly one host");
  let host: string;
  let port: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) fail("the IPv6 address is missing its closing ']'; write [::1]:port");
    host = text.slice(1, close);
    const tail = text.slice(close + 1);
    if (tail.startsWith(":")) port = tail.slice(1);
    else if (tail !== "") fail("unexpected text after ']'; write [address]:port");
    if (host === "") fail("the IPv6 address in brackets is empty");
  } else {
    const parts = text.split(":");
    if (parts.length > 2) {
      fail(`an IPv6 address must be in brackets, e.g. [::1]:${DEFAULT_PORTS[dialect]}`);
    }
    host = parts[0];
    port = parts[1];
  }
  if (port === "") fail("the port after ':' is empty; give a port between 1 and 65535");
  return { host: decode(host, () => fail("the host has an invalid percent-encoding")), port };
}

function parsePort(text: string, fail: (problem: string) => never): number {
  if (!/^\d+$/.test(text)) fail("the port is not a number; give a port between 1 and 65535");
  const port = Number(text);
  if (port < 1 || port > 65535) {
    fail(
      `port ${
        text.length > 10 ? text.slice(0, 10) + "..." : text
      } is out of range; give a port between 1 and 65535`,
    );
  }
  return port;
}

function parseQuery(query: string, fail: (problem: string) => never): [string, string][] {
  const out: [string, string][] = [];
  for (const piece of query.replace(STRAY_QUESTION_MARK, "&").split("&")) {
    if (piece === "") continue;
    const eq = piece.indexOf("=");
    const rawName = eq === -1 ? piece : piece.slice(0, eq);
    const name = decode(
      rawName,
      () => fail("a query parameter name has an invalid percent-encoding"),
    )
      .slice(0, 64);
    if (name === "") fail("a query parameter has no name; write name=value");
    if (eq === -1) fail(`query parameter "${name}" has no value; write ${name}=value`);
    const value = decode(
      piece.slice(eq + 1),
      () => fail(`query parameter "${name}" has an invalid percent-encoding`),
    );
    out.push([name, value]);
  }
  return out;
}
