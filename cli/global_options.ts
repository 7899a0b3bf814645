/**
 * The global flags of `molt-lms-cli` (orchestrator URL, TLS files, API token,
 * output format): their values from the command line or the `CLI_*`
 * environment variables, checked together.
 *
 * @module
 */

import { LmsError } from "../shared/errors.ts";
import { PROGRAM } from "./command_tree.ts";
import { usage } from "./help.ts";

/** How results are printed. */
export type OutputFormat = "table" | "json";

/** A TLS file path and where it came from, so errors can name the right flag or variable. */
export interface TlsFileOption {
  /** Path to the PEM file. */
  path: string;
  /** The flag (`--tls-ca-cert`) or environment variable (`CLI_TLS_CA_CERT`) that named it. */
  source: string;
}

/** Flags every command accepts. */
export interface GlobalOptions {
  /** Base URL of the orchestrator API (`http:` or `https:`). */
  orchestratorUrl: URL;
  /** CA certificate that signed the orchestrator's certificate. */
  tlsCaCert?: TlsFileOption;
  /** Client certificate presented to an orchestrator that requires mTLS. */
  tlsClientCert?: TlsFileOption;
  /** Private key of the client certificate. */
  tlsClientKey?: TlsFileOption;
  /** The orchestrator's `LMS_API_TOKEN`, sent as a bearer token. */
  apiToken?: string;
  /** Output format. */
  output: OutputFormat;
}

/** Reads an environment variable; empty values count as unset. */
export type EnvReader = (name: string) => string | undefined;

function fromFlagOrEnv(
  flagValue: string | undefined,
  flag: string,
  envName: string,
  env: EnvReader,
): TlsFileOption | undefined {
  if (flagValue !== undefined) {
    if (flagValue === "") throw usage(`--${flag} is empty`, []);
    return { path: flagValue, source: `--${flag}` };
  }
  const fromEnv = env(envName);
  if (fromEnv) return { path: fromEnv, source: envName };
  return undefined;
}

function resolveUrl(flagValue: string | undefined, env: EnvReader, path: string[]): URL {
  const raw = flagValue ?? env("CLI_ORCHESTRATOR_URL");
  if (!raw) {
    throw new LmsError(
      "CLI_USAGE",
      "no orchestrator URL given",
      "pass --orchestrator-url https://<host>:4200 or export CLI_ORCHESTRATOR_URL " +
        `(run \`${[PROGRAM, ...path, "--help"].join(" ")}\` for usage)`,
    );
  }
  const source = flagValue !== undefined ? "--orchestrator-url" : "CLI_ORCHESTRATOR_URL";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LmsError(
      "CLI_USAGE",
      `${source} "${raw}" is not a URL`,
      "give a full URL such as https://lms-orchestrator:4200",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new LmsError(
      "CLI_USAGE",
      `${source} must use http:// or https://, got ${url.protocol}//`,
      "give a full URL such as https://lms-orchestrator:4200",
    );
  }
  if (url.username || url.password) {
    throw new LmsError(
      "CLI_USAGE",
      `${source} must not contain a user name or password`,
      "the orchestrator authenticates the CLI by client certificate (--tls-client-cert) or " +
        "by API token (--api-token or CLI_API_TOKEN)",
    );
  }
  return url;
}

function resolveOutput(value: string | undefined, path: string[]): OutputFormat {
  if (value === undefined || value === "table") return "table";
  if (value === "json") return "json";
  throw usage(`--output must be table or json, got "${value}"`, path);
}

/**
 * Resolves the global flags, falling back to the `CLI_*` variables.
 *
 * @param values parsed flag values
 * @param env environment lookup
 * @param path the command, for the hint of a usage error
 * @throws LmsError with code `CLI_USAGE` for anything malformed or missing
 */
export function resolveGlobals(
  values: Record<string, string | boolean | undefined>,
  env: EnvReader,
  path: string[],
): GlobalOptions {
  const str = (k: string) => values[k] as string | undefined;
  const output = resolveOutput(str("output"), path);
  const orchestratorUrl = resolveUrl(str("orchestrator-url"), env, path);
  const tlsCaCert = fromFlagOrEnv(str("tls-ca-cert"), "tls-ca-cert", "CLI_TLS_CA_CERT", env);
  const tlsClientCert = fromFlagOrEnv(
    str("tls-client-cert"),
    "tls-client-cert",
    "CLI_TLS_CLIENT_CERT",
    env,
  );
  const tlsClientKey = fromFlagOrEnv(
    str("tls-client-key"),
    "tls-client-key",
    "CLI_TLS_CLIENT_KEY",
    env,
  );
  if (Boolean(tlsClientCert) !== Boolean(tlsClientKey)) {
    const given = tlsClientCert ?? tlsClientKey;
    throw new LmsError(
      "CLI_USAGE",
      `${given?.source} was given without its counterpart`,
      "give both --tls-client-cert and --tls-client-key (or CLI_TLS_CLIENT_CERT and " +
        "CLI_TLS_CLIENT_KEY)",
    );
  }
  const apiToken = resolveToken(str("api-token"), env);
  const anyTls = tlsCaCert ?? tlsClientCert;
  if (anyTls && orchestratorUrl.protocol === "http:") {
    // Certificates with a plain-http URL mean the operator expects TLS; sending in clear
    // text instead would hide that mistake.
    throw new LmsError(
      "CLI_USAGE",
      `${anyTls.source} was given but the orchestrator URL uses http://`,
      "use an https:// URL, or drop the TLS flags and CLI_TLS_* variables",
    );
  }
  return { orchestratorUrl, tlsCaCert, tlsClientCert, tlsClientKey, apiToken, output };
}

function resolveToken(flagValue: string | undefined, env: EnvReader): string | undefined {
  if (flagValue !== undefined) {
    if (flagValue.trim() === "") throw usage("--api-token is empty", []);
    return flagValue.trim();
  }
  return env("CLI_API_TOKEN")?.trim() || undefined;
}
