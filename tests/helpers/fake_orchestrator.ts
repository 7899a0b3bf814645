/**
 * A stand-in for the orchestrator's HTTP API, for testing `molt-lms-cli`
 * without the real orchestrator: it answers each endpoint with queued
 * fixtures, records every request, and can serve HTTPS with a required client
 * certificate (mTLS) like the orchestrator with `CA_TLS_CERT`.
 *
 * Every answer is validated against `shared/api.ts` when it is queued, so the
 * fake cannot drift from the API the CLI codes against.
 *
 * @module
 */

import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { z } from "zod";
import {
  API_ERROR_STATUS,
  API_PATHS,
  ApiErrorBodySchema,
  ConnectionsResponseSchema,
  CutoverResponseSchema,
  InitializeResponseSchema,
  ShadowReportResponseSchema,
  StatusResponseSchema,
} from "../../shared/api.ts";
import { concatBytes } from "../../shared/bytes.ts";

/** An endpoint path of the API. */
export type ApiPath = typeof API_PATHS[keyof typeof API_PATHS];

const SUCCESS_SCHEMAS: Record<ApiPath, z.ZodType> = {
  [API_PATHS.status]: StatusResponseSchema,
  [API_PATHS.initialize]: InitializeResponseSchema,
  [API_PATHS.connections]: ConnectionsResponseSchema,
  [API_PATHS.consistentBegin]: CutoverResponseSchema,
  [API_PATHS.consistentCommit]: CutoverResponseSchema,
  [API_PATHS.consistentAbort]: CutoverResponseSchema,
  [API_PATHS.immediate]: CutoverResponseSchema,
  [API_PATHS.shadowReport]: ShadowReportResponseSchema,
};

/** One queued answer: HTTP status and JSON body. */
export interface FakeAnswer {
  /** HTTP status; 200 for success, otherwise the status of the error code. */
  status: number;
  /** JSON body. */
  body: unknown;
}

/** A request the fake received. */
export interface RecordedRequest {
  /** HTTP method. */
  method: string;
  /** Path without the query. */
  path: string;
  /** The query string parameters. */
  query: Record<string, string>;
  /** The parsed JSON body, or undefined when empty. */
  body: unknown;
  /** The `Authorization` header, if any. */
  authorization?: string;
  /** When it arrived (`Date.now()`). */
  at: number;
}

/** PEM file paths for serving HTTPS. */
export interface FakeTls {
  /** Server certificate. */
  cert: string;
  /** Server key. */
  key: string;
  /** When set, a client certificate signed by this CA is required (mTLS). */
  clientCa?: string;
}

/** Checks that `answer` is what the real orchestrator could send for `path`. */
export function validateAnswer(path: ApiPath, answer: FakeAnswer): void {
  if (answer.status === 200) {
    SUCCESS_SCHEMAS[path].parse(answer.body);
    return;
  }
  const body = ApiErrorBodySchema.parse(answer.body);
  const expected = API_ERROR_STATUS[body.error.code];
  if (expected !== answer.status) {
    throw new Error(
      `fixture ${body.error.code} must come with HTTP ${expected}, not ${answer.status}`,
    );
  }
}

/** A running fake orchestrator. */
export class FakeOrchestrator {
  /** Base URL to pass as `--orchestrator-url`. */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  readonly #server: http.Server;
  readonly #answers = new Map<string, FakeAnswer[]>();

  private constructor(server: http.Server, url: string) {
    this.#server = server;
    this.url = url;
    server.on("request", (req, res) => this.#handle(req, res));
  }

  /** Starts a fake on a free loopback port, over HTTPS when `tls` is given. */
  static async start(tls?: FakeTls): Promise<FakeOrchestrator> {
    const server = tls
      ? https.createServer({
        cert: Deno.readTextFileSync(tls.cert),
        key: Deno.readTextFileSync(tls.key),
        ca: tls.clientCa ? Deno.readTextFileSync(tls.clientCa) : undefined,
        requestCert: tls.clientCa !== undefined,
        rejectUnauthorized: tls.clientCa !== undefined,
      })
      : http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return new FakeOrchestrator(server, `${tls ? "https" : "http"}://localhost:${port}`);
  }

  /**
   * Queues answers for `path`, validated against the API schemas. They are
   * used in order; the last one repeats.
   */
  respond(path: ApiPath, ...answers: FakeAnswer[]): void {
    for (const answer of answers) validateAnswer(path, answer);
    this.#answers.set(path, answers);
  }

  /** Requests received for `path`. */
  requestsTo(path: ApiPath): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const text = new TextDecoder().decode(concatBytes(chunks));
      this.requests.push({
        method: req.method ?? "",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body: text ? JSON.parse(text) : undefined,
        authorization: req.headers.authorization,
        at: Date.now(),
      });
      const answer = this.#next(url.pathname);
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer.body));
    });
  }

  #next(path: string): FakeAnswer {
    const queue = this.#answers.get(path);
    if (!queue || queue.length === 0) {
      return {
        status: 404,
        body: { error: { code: "NOT_FOUND", message: `no fixture for ${path}`, hint: "" } },
      };
    }
    return queue.length > 1 ? queue.shift() as FakeAnswer : queue[0];
  }

  /** Stops the server and drops open connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}
