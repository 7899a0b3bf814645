/**
 * The CLI's HTTP client for the orchestrator API.
 *
 * Every failure becomes an `LmsError` whose code decides the exit status
 * (see `exit_codes.ts`) and whose message and hint tell the operator what is
 * wrong and what to do: an unreachable orchestrator names the URL, a rejected
 * certificate names the TLS flags, a refused command carries the
 * orchestrator's own message and hint.
 *
 * @module
 */

import type { z } from "zod";
import { type ApiErrorBody, ApiErrorBodySchema } from "../shared/api.ts";
import { LmsError } from "../shared/errors.ts";
import { PROGRAM } from "./command_tree.ts";
import type { GlobalOptions, TlsFileOption } from "./global_options.ts";
import { postgresPortError } from "./pg_probe.ts";

/** How long one request may take before the orchestrator counts as unreachable. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** A command the orchestrator answered with an API error (4xx/5xx and an error body). */
export class OrchestratorRefusal extends LmsError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The orchestrator's error body, exactly as received. */
  readonly body: ApiErrorBody;

  /**
   * @param status HTTP status of the answer
   * @param body the validated error body
   */
  constructor(status: number, body: ApiErrorBody) {
    super("ORCHESTRATOR_REFUSED", `${body.error.code}: ${body.error.message}`, body.error.hint);
    this.name = "OrchestratorRefusal";
    this.status = status;
    this.body = body;
  }
}

/** A validated answer and the JSON it was parsed from (printed as is by `--output json`). */
export interface ApiResult<T> {
  /** The body, validated against the endpoint's schema. */
  data: T;
  /** The body exactly as the orchestrator sent it. */
  raw: unknown;
}

/** Talks to one orchestrator. */
export interface ApiClient {
  /** `GET path`, validated against `schema`. */
  get<T>(path: string, schema: z.ZodType<T>): Promise<ApiResult<T>>;
  /** `POST path` with a JSON `body`, validated against `schema`. */
  post<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<ApiResult<T>>;
  /** Releases the TLS client, if one was created. */
  close(): void;
}

const PEM_CERT = "-----BEGIN CERTIFICATE-----";
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

async function readPem(file: TlsFileOption, what: string, looksRight: (s: string) => boolean) {
  let text: string;
  try {
    text = await Deno.readTextFile(file.path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "does not exist"
      : err instanceof Deno.errors.PermissionDenied
      ? "is not readable"
      : `cannot be read (${err instanceof Error ? err.message : String(err)})`;
    throw new LmsError(
      "TLS_MATERIAL_INVALID",
      `${file.source}: ${what} file ${file.path} ${reason}`,
      `check the path given by ${file.source}`,
    );
  }
  if (!looksRight(text)) {
    throw new LmsError(
      "TLS_MATERIAL_INVALID",
      `${file.source}: ${file.path} does not contain a PEM ${what}`,
      `point ${file.source} at a PEM file`,
    );
  }
  return text;
}

/** Reads the TLS files named in `options` and builds the Deno HTTP client for them. */
async function createTlsClient(options: GlobalOptions): Promise<Deno.HttpClient | undefined> {
  const { tlsCaCert, tlsClientCert, tlsClientKey } = options;
  if (!tlsCaCert && !tlsClientCert) return undefined;
  const init: Deno.CreateHttpClientOptions = {};
  if (tlsCaCert) {
    init.caCerts = [await readPem(tlsCaCert, "CA certificate", (s) => s.includes(PEM_CERT))];
  }
  let pair: Deno.TlsCertifiedKeyPem | undefined;
  if (tlsClientCert && tlsClientKey) {
    pair = {
      cert: await readPem(tlsClientCert, "certificate", (s) => s.includes(PEM_CERT)),
      key: await readPem(tlsClientKey, "private key", (s) => PEM_KEY.test(s)),
    };
  }
  try {
    return pair ? Deno.createHttpClient({ ...init, ...pair }) : Deno.createHttpClient(init);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const names = [tlsCaCert, tlsClientCert, tlsClientKey]
      .filter((f): f is TlsFileOption => f !== undefined)
      .map((f) => f.source)
      .join(", ");
    throw new LmsError(
      "TLS_MATERIAL_INVALID",
      `the TLS files given by ${names} cannot be used: ${detail}`,
      "check that the client certificate and key belong together and are PEM encoded",
    );
  }
}

function describeCause(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let i = 0; i < 4 && current instanceof Error; i++) {
    parts.push(current.message);
    current = current.cause;
  }
  if (parts.length === 0) parts.push(String(err));
  return parts.join(": ");
}

/**
 * Turns a failed `fetch` into the error the operator should see.
 *
 * Deno reports TLS and connection failures only as message text, so the
 * classification matches on the rustls/hyper wording.
 */
export function classifyFetchError(err: unknown, url: URL, method = "GET"): LmsError {
  const where = url.origin;
  if (err instanceof DOMException && err.name === "TimeoutError") {
    // A command the orchestrator received but did not confirm may still be applied.
    const pending = method === "GET"
      ? ""
      : `the command may still take effect: run \`${PROGRAM} status\` before retrying; `;
    return new LmsError(
      "ORCHESTRATOR_UNREACHABLE",
      `the orchestrator at ${where} did not answer within ${REQUEST_TIMEOUT_MS / 1000}s`,
      `${pending}check --orchestrator-url (or CLI_ORCHESTRATOR_URL), that the orchestrator is ` +
        "running and that it can reach its state store (the target database)",
    );
  }
  const detail = describeCause(err);
  if (/CertificateRequired/i.test(detail)) {
    return new LmsError(
      "ORCHESTRATOR_TLS_REJECTED",
      `the orchestrator at ${where} requires a client certificate and none was given`,
      "pass --tls-client-cert and --tls-client-key (or CLI_TLS_CLIENT_CERT and " +
        "CLI_TLS_CLIENT_KEY), and --tls-ca-cert for the orchestrator's CA",
    );
  }
  if (/invalid peer certificate/i.test(detail)) {
    const why = /invalid peer certificate: ([^:]+)/i.exec(detail)?.[1]?.trim() ?? "rejected";
    return new LmsError(
      "ORCHESTRATOR_TLS_REJECTED",
      `the orchestrator's certificate at ${where} is not trusted (${why})`,
      "pass --tls-ca-cert (or CLI_TLS_CA_CERT) with the CA that signed the orchestrator's " +
        "certificate, and check that the URL's host name is in that certificate",
    );
  }
  if (/corrupt message|InvalidContentType|wrong version number/i.test(detail)) {
    return new LmsError(
      "ORCHESTRATOR_TLS_REJECTED",
      `the orchestrator at ${where} does not speak TLS`,
      "use an http:// --orchestrator-url, or configure TLS_CERT/TLS_KEY on the orchestrator",
    );
  }
  if (/invalid HTTP version/i.test(detail)) {
    return new LmsError(
      "ORCHESTRATOR_TLS_REJECTED",
      `the orchestrator at ${where} expects TLS but the URL uses http://`,
      "use an https:// --orchestrator-url and pass --tls-ca-cert",
    );
  }
  if (/alert|close_notify|BadCertificate|UnknownCA|handshake|certificate/i.test(detail)) {
    return new LmsError(
      "ORCHESTRATOR_TLS_REJECTED",
      `the orchestrator at ${where} rejected the TLS connection (client certificate refused?)`,
      "check that --tls-client-cert and --tls-client-key are signed by the CA the " +
        "orchestrator trusts (CA_TLS_CERT) and not expired",
    );
  }
  return new LmsError(
    "ORCHESTRATOR_UNREACHABLE",
    `cannot reach the orchestrator at ${where}: ${lastPart(detail)}`,
    "check --orchestrator-url (or CLI_ORCHESTRATOR_URL), that the orchestrator is running, " +
      "and any kubectl port-forward to it",
  );
}

function lastPart(detail: string): string {
  const parts = detail.split(/: (?=[a-z])/i);
  return parts.slice(-2).join(": ");
}

async function readAnswer<T>(
  res: Response,
  method: string,
  path: string,
  schema: z.ZodType<T>,
): Promise<ApiResult<T>> {
  const text = await res.text();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  if (!res.ok) {
    const body = ApiErrorBodySchema.safeParse(raw);
    if (body.success) throw new OrchestratorRefusal(res.status, body.data);
    throw new LmsError(
      "ORCHESTRATOR_REFUSED",
      `${method} ${path} failed with HTTP ${res.status}: ${text.slice(0, 200)}`,
      "check that --orchestrator-url points at the LMS orchestrator (port 4200)",
    );
  }
  if (raw === undefined) {
    throw new LmsError(
      "ORCHESTRATOR_BAD_RESPONSE",
      `${method} ${path} did not answer with JSON`,
      "check that --orchestrator-url points at the LMS orchestrator (port 4200)",
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3)
      .map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`)
      .join("; ");
    throw new LmsError(
      "ORCHESTRATOR_BAD_RESPONSE",
      `${method} ${path} answered with an unexpected body (${issues})`,
      "use a molt-lms-cli from the same release as the orchestrator",
    );
  }
  return { data: parsed.data, raw };
}

/**
 * Creates a client for the orchestrator named in `options`, reading the TLS
 * files first so that a bad path fails before any request.
 *
 * @throws LmsError `TLS_MATERIAL_INVALID` when a TLS file is missing, unreadable or not PEM
 */
export async function createApiClient(options: GlobalOptions): Promise<ApiClient> {
  const client = await createTlsClient(options);
  const base = options.orchestratorUrl;
  const send = async <T>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
  ): Promise<ApiResult<T>> => {
    // Keep a path prefix of the URL (an ingress may mount the orchestrator under one).
    const url = new URL(base.pathname.replace(/\/+$/, "") + path, base.origin);
    try {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers["content-type"] = "application/json";
      if (options.apiToken !== undefined) headers.authorization = `Bearer ${options.apiToken}`;
      const res = await fetch(url, {
        method,
        client,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return await readAnswer(res, method, url.pathname, schema);
    } catch (err) {
      if (err instanceof LmsError) throw err;
      const classified = classifyFetchError(err, base, method);
      const timedOut = err instanceof DOMException && err.name === "TimeoutError";
      throw (timedOut ? undefined : await postgresPortError(base)) ?? classified;
    }
  };
  return {
    get: (path, schema) => send("GET", path, undefined, schema),
    post: (path, body, schema) => send("POST", path, body, schema),
    close: () => client?.close(),
  };
}
