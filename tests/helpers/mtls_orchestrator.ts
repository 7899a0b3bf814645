/**
 * The set-up of an in-process orchestrator behind mTLS, for tests that drive
 * it over its real HTTPS API and WSS control channel: its configuration from
 * the test certificates, and an API client presenting an `lms-cli` client
 * certificate.
 *
 * @module
 */

import { type LmsConfig, loadConfig } from "../../shared/config.ts";
import { API_PATHS, type StatusResponse } from "../../shared/api.ts";
import type { CertFiles } from "./certs.ts";

/** Where the orchestrator listens and what it stores in. */
export interface MtlsOrchestratorSettings {
  /** Test certificates (server certificate, client CA). */
  certs: CertFiles;
  /** Port of its API and control channel on 127.0.0.1. */
  port: number;
  /** `INIT_SOURCE`. */
  source: string;
  /** `INIT_TARGET`, where the state store lives. */
  target: string;
  /** `LMS_PROXY_ID` of the orchestrator. */
  proxyId: string;
  /** CA whose client certificates it admits (default: the test CA). */
  clientCa?: string;
  /** Further settings, over the ones above. */
  env?: Record<string, string>;
}

/** The orchestrator's configuration: mTLS with the test certificates, errors-only logging. */
export function mtlsOrchestratorConfig(settings: MtlsOrchestratorSettings): LmsConfig {
  const { certs, port } = settings;
  return loadConfig("orchestrator", {
    args: [],
    env: {
      INIT_SOURCE: settings.source,
      INIT_TARGET: settings.target,
      TLS_CERT: certs.serverCert,
      TLS_KEY: certs.serverKey,
      CA_TLS_CERT: settings.clientCa ?? certs.caCert,
      LMS_LISTEN: `127.0.0.1:${port}`,
      LMS_METRICS_LISTEN: "127.0.0.1:0",
      LMS_PROXY_ID: settings.proxyId,
      LMS_SOURCE_DIALECT: "postgres",
      LMS_LOG_LEVEL: "error",
      ...settings.env,
    },
  });
}

/** An API answer: HTTP status and the parsed JSON body. */
export interface ApiReply<T> {
  status: number;
  body: T;
}

/** The orchestrator's API over mTLS, and the PEM a proxy of the test CA connects with. */
export interface MtlsApi extends Disposable {
  /** `https://localhost:<port>`. */
  base: string;
  /** The test CA, PEM. */
  ca: string;
  /** Files of an `lms-proxy` client certificate. */
  proxyCert: { cert: string; key: string };
  /** That certificate, its key and the CA as PEM, for `startControlClient`'s `tls`. */
  proxyTls: { cert: string; key: string; ca: string };
  /** Sends `body` as JSON; the body of the answer is taken to be a `T`. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiReply<T>>;
  /** `GET /api/v1/status`. */
  status(): Promise<StatusResponse>;
}

/** How {@linkcode mtlsApi} sends. */
export interface MtlsApiOptions {
  /**
   * Send a request again once if it fails: a kept-alive connection to an
   * orchestrator that was just restarted fails once.
   */
  retryOnce?: boolean;
}

/** An API client presenting an `lms-cli` certificate of the test CA; dispose it to close. */
export async function mtlsApi(
  certs: CertFiles,
  port: number,
  options: MtlsApiOptions = {},
): Promise<MtlsApi> {
  const read = (path: string) => Deno.readTextFileSync(path);
  const base = `https://localhost:${port}`;
  const ca = read(certs.caCert);
  const cliCert = await certs.client("lms-cli");
  const proxyCert = await certs.client("lms-proxy");
  const client = Deno.createHttpClient({
    caCerts: [ca],
    cert: read(cliCert.cert),
    key: read(cliCert.key),
  });
  const api = async <T = unknown>(method: string, path: string, body?: unknown) => {
    const send = () =>
      fetch(base + path, {
        method,
        client,
        headers: { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const res = await (options.retryOnce ? send().catch(() => send()) : send());
    return { status: res.status, body: (await res.json()) as T };
  };
  return {
    base,
    ca,
    proxyCert,
    proxyTls: { cert: read(proxyCert.cert), key: read(proxyCert.key), ca },
    api,
    status: async () => (await api<StatusResponse>("GET", API_PATHS.status)).body,
    [Symbol.dispose]: () => client.close(),
  };
}
