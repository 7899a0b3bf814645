/**
 * The shadow side of one PostgreSQL client session: a connection to the
 * database that is not the source of truth, fed the same client bytes. Both
 * databases' answers are decoded into neutral results (`result_collector.ts`)
 * and handed, request by request, to the wire-neutral pairing
 * (`../shadow/pairing.ts`), which compares and records them.
 *
 * Client bytes reach it when `../shadow/forwarding.ts` says: at once in
 * `async` (bounded; a shadow that falls behind is dropped for the session),
 * and in `sync` and `strict-sync` only once the source of truth answered the
 * request (a lock-free query outside a transaction: at once), while the
 * session waits for {@linkcode ShadowLink.takeVerdict} before it answers the
 * client.
 *
 * In `async` the client never waits for any of it: the session hands the
 * link whole chunks (client bytes after they went to the source of truth,
 * source-of-truth answers after they went to the client) and the link keeps
 * them, with the shadow's answers, in a {@linkcode ShadowBacklog}. Writing to
 * the shadow, scanning, decoding and comparing happen there, once the event
 * loop has forwarded what was due. In `sync` and `strict-sync` the client
 * waits for the verdict anyway, so the session feeds the link message by
 * message as it scans.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import type { BacklogSource, ShadowBacklog } from "../shadow/after_io.ts";
import { sessionBacklog, shadowDataListener } from "../shadow/session_backlog.ts";
import { ShadowForwarder } from "../shadow/forwarding.ts";
import { type RequestVerdict, type ShadowContext, ShadowPairing } from "../shadow/pairing.ts";
import { FrameScanner, typeSet } from "./framing.ts";
import { decodeFields, TERMINATE } from "./messages.ts";
import { openReplayedBackend } from "./replay.ts";
import type { SessionIdentity } from "./identity.ts";
import { identityRefusal } from "../session/identity_context.ts";
import { ResultCollector } from "./result_collector.ts";
import type { SessionState } from "./session_state.ts";

/**
 * What the session needs to know about one request once both databases
 * answered it; in `strict-sync`, the ErrorResponse body the shadow returned
 * for a request the source of truth completed without error.
 */
export type ShadowVerdict = RequestVerdict<Uint8Array>;

const CHAR_Z = 0x5a, CHAR_E = 0x45, CHAR_Q = 0x51, CHAR_S = 0x53, CHAR_F = 0x46;

const SHADOW_WATCHED = typeSet(ResultCollector.BACKEND_TYPES + "EZ");
const CLIENT_WATCHED = typeSet(ResultCollector.FRONTEND_TYPES);
/** The session's own scanners checked sizes already; the link's only follow the stream. */
const ANY_SIZE = 1 << 30;

/** See the module documentation. */
export class ShadowLink {
  /** The database this link shadows to. */
  readonly side: DatabaseSide;
  readonly #ctx: ShadowContext;
  readonly #log: Logger;
  readonly #sot: ResultCollector;
  readonly #shadow: ResultCollector;
  readonly #pairing: ShadowPairing<Uint8Array>;
  readonly #sentAt: number[] = [];
  readonly #forwarder: ShadowForwarder;
  #socket: Duplex | undefined;
  #firstError: Uint8Array | undefined;
  #stopped = false;
  #scanner: FrameScanner;
  /** `async`: the work kept until the event loop forwarded what was due. */
  readonly #backlog: ShadowBacklog | undefined;
  readonly #clientScanner: FrameScanner | undefined;
  readonly #sotScanner: FrameScanner | undefined;
  /** When the chunk being processed arrived (`performance.now()`). */
  #arrivedAt = 0;
  /** Called after each request the shadow completed, and when the link stops. */
  onProgress: () => void = () => {};

  /**
   * @param side the database shadowed to
   * @param ctx the proxy's shadow settings
   * @param log the session's logger
   */
  constructor(side: DatabaseSide, ctx: ShadowContext, log: Logger) {
    this.side = side;
    this.#ctx = ctx;
    this.#log = log.child({ shadow: side });
    this.#sot = new ResultCollector({ rowLimit: ctx.rowLimit });
    this.#shadow = new ResultCollector({ rowLimit: ctx.rowLimit });
    this.#pairing = new ShadowPairing(side, ctx);
    this.#forwarder = new ShadowForwarder(ctx, (reason) => this.stop(reason));
    this.#scanner = new FrameScanner(SHADOW_WATCHED, undefined, ANY_SIZE, (type, body) => {
      this.#onShadowMessage(type, body);
    });
    this.#backlog = sessionBacklog(
      ctx,
      this.#forwarder,
      (from, chunk, at) => this.#process(from, chunk, at),
    );
    if (!this.#backlog) return;
    this.#clientScanner = new FrameScanner(CLIENT_WATCHED, undefined, ANY_SIZE, (type, body) => {
      this.#onClientMessage(type, body);
    });
    this.#sotScanner = new FrameScanner(SHADOW_WATCHED, undefined, ANY_SIZE, (type, body) => {
      this.#onSourceOfTruthMessage(type, body);
    });
  }

  /** Whether the link still shadows. */
  get active(): boolean {
    return !this.#stopped;
  }

  /**
   * Connects to `spec` as the session's own user (`identity`) and replays
   * `state`. Client bytes sent meanwhile are kept (bounded) and sent once
   * connected.
   */
  async open(spec: ConnectionSpec, state: SessionState, identity: SessionIdentity): Promise<void> {
    try {
      const { socket } = await openReplayedBackend(
        spec,
        state,
        `${this.side} database (shadow)`,
        identity,
      );
      if (this.#stopped) {
        socket.destroy();
        return;
      }
      this.#socket = socket;
      socket.on("error", () => {});
      socket.on("close", () => this.stop("the shadow database closed the connection"));
      socket.on(
        "data",
        shadowDataListener(this.#backlog, (chunk, at) => this.#onShadowData(chunk, at)),
      );
      socket.resume();
      this.#forwarder.connected(socket);
    } catch (err) {
      // Identity refusals are counted, and logged once per reason, by the session core.
      const identity = identityRefusal(err) !== undefined;
      if (!identity) this.#ctx.metrics.error(this.side, "08006");
      this.stop(identity ? undefined : `cannot open the shadow connection: ${errorMessage(err)}`);
      throw err;
    }
  }

  /** Not `async`: a whole frontend message the client sent (collector and timing). */
  frontMessage(type: number, body: Uint8Array): void {
    if (this.#stopped) return;
    this.#arrivedAt = performance.now();
    this.#onClientMessage(type, body);
  }

  #onClientMessage(type: number, body: Uint8Array): void {
    this.#sot.onFrontend(type, body);
    this.#shadow.onFrontend(type, body);
    if (type === CHAR_Q || type === CHAR_S || type === CHAR_F) this.#sentAt.push(this.#arrivedAt);
  }

  /** Not `async`: a whole backend message from the source of truth. */
  sotMessage(type: number, body: Uint8Array): void {
    if (this.#stopped) return;
    this.#onSourceOfTruthMessage(type, body);
  }

  /** `async`: source-of-truth bytes, after they went to the client. */
  sourceOfTruthData(chunk: Uint8Array): void {
    if (!this.#stopped) this.#backlog!.add("source of truth", chunk);
  }

  #onSourceOfTruthMessage(type: number, body: Uint8Array): void {
    this.#sot.onBackend(type, body);
    if (type !== CHAR_Z) return;
    const paired = this.#pairing.sourceOfTruthRequest(this.#sot.takeRequest() ?? []);
    if (paired && this.#ctx.mode !== "async") this.#forwarder.answered();
  }

  /** The next source-of-truth answer is to a request the proxy made itself; do not pair it. */
  skipNextSourceOfTruthRequest(): void {
    this.#pairing.skipNextSourceOfTruthRequest();
  }

  /**
   * Client bytes, after they went to the source of truth (in `async` kept
   * for the backlog; the caller must not change them afterwards).
   *
   * @param requestStarts offsets in `chunk` where a new request begins (not read in `async`)
   * @param lockFree the last request may go to the shadow at once (see `forwarding.ts`)
   */
  send(chunk: Uint8Array, requestStarts: readonly number[], lockFree = false): void {
    if (this.#stopped) return;
    if (this.#backlog) this.#backlog.add("client", chunk);
    else this.#forwarder.send(chunk, requestStarts, lockFree);
  }

  /** `async`: one kept chunk, in arrival order. */
  #process(from: BacklogSource, chunk: Uint8Array, at: number): void {
    if (from === "shadow") return this.#onShadowData(chunk, at);
    this.#arrivedAt = at;
    try {
      if (from === "client") {
        this.#clientScanner!.scan(chunk);
        // Requests and their boundaries do not matter in async: everything goes at once.
        this.#forwarder.send(chunk, []);
      } else this.#sotScanner!.scan(chunk);
    } catch (err) {
      this.stop(`cannot follow the session's messages: ${errorMessage(err)}`);
    }
  }

  /** The verdict on the oldest request both databases answered, if any. */
  takeVerdict(): ShadowVerdict | undefined {
    return this.#pairing.takeVerdict();
  }

  #onShadowData(chunk: Uint8Array, at: number): void {
    this.#arrivedAt = at;
    try {
      this.#scanner.scan(chunk);
    } catch (err) {
      this.stop(`the shadow database sent a malformed message: ${errorMessage(err)}`);
    }
  }

  #onShadowMessage(type: number, body: Uint8Array): void {
    this.#shadow.onBackend(type, body);
    if (type === CHAR_E) {
      this.#firstError ??= body.slice();
      const sqlstate = decodeFields(body).get("C") ?? "";
      this.#ctx.metrics.error(this.side, sqlstate);
      return;
    }
    if (type !== CHAR_Z) return;
    const sentAt = this.#sentAt.shift();
    if (sentAt !== undefined) {
      this.#ctx.metrics.observeDuration(this.side, (this.#arrivedAt - sentAt) / 1000);
    }
    const failure = this.#firstError;
    this.#firstError = undefined;
    this.#pairing.shadowRequest(this.#shadow.takeRequest() ?? [], failure);
    this.onProgress();
  }

  /**
   * Ends the link at a request boundary without losing what was sent: the
   * shadow database still executes everything already written to it.
   */
  finish(): void {
    if (this.#stopped) return;
    // What the client sent and the source of truth answered still reaches the shadow and pairing.
    this.#backlog?.drain();
    if (this.#stopped) return;
    this.#stopped = true;
    this.#socket?.removeAllListeners("close");
    this.#socket?.end(TERMINATE);
    this.onProgress();
  }

  /** Stops shadowing for this session; logs `reason` once. */
  stop(reason?: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (reason) this.#log.warn("shadowing stopped for this session", { reason });
    this.#forwarder.discard();
    this.#backlog?.discard();
    this.#socket?.destroy();
    this.onProgress();
  }
}
