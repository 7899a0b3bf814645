/**
 * The shadow side of one PostgreSQL client session: a connection to the
 * database that is not the source of truth, fed the same client bytes. Both
 * databases' answers are decoded into neutral results (`result_collector.ts`)
 * and handed, request by request, to the wire-neutral pairing
 * (`../shadow/pairing.ts`), which compares and records them.
 *
 * In `async` mode the client never waits for it: client bytes are queued in
 * the socket's buffer up to a bound, and a shadow that falls further behind
 * is dropped for the session (counted, logged once). In `sync` and
 * `strict-sync` the session waits for {@linkcode ShadowLink.takeVerdict}
 * before it answers the client, and each request reaches the shadow only
 * once the source of truth has answered it: the shadow then takes row locks
 * in the order the source of truth granted them, so two sessions can never
 * wait for each other across the two databases (a deadlock neither database
 * could see).
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import { type RequestVerdict, type ShadowContext, ShadowPairing } from "../shadow/pairing.ts";
import { FrameScanner, typeSet } from "./framing.ts";
import { decodeFields, TERMINATE } from "./messages.ts";
import { openReplayedBackend } from "./replay.ts";
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
  #socket: Duplex | undefined;
  #before: Uint8Array[] = [];
  #beforeBytes = 0;
  #firstError: Uint8Array | undefined;
  /** `sync`/`strict-sync`: whole requests waiting for the source of truth to answer them. */
  #waiting: Uint8Array[][] = [];
  /** `sync`/`strict-sync`: the bytes of the latest request, still arriving. */
  #current: Uint8Array[] = [];
  /** Requests the source of truth answered whose bytes have not gone to the shadow yet. */
  #answered = 0;
  #stopped = false;
  #scanner: FrameScanner;
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
    this.#scanner = new FrameScanner(SHADOW_WATCHED, undefined, 1 << 30, (type, body) => {
      this.#onShadowMessage(type, body);
    });
  }

  /** Whether the link still shadows. */
  get active(): boolean {
    return !this.#stopped;
  }

  /**
   * Connects to `spec` with its configured credentials and replays `state`.
   * Client bytes sent meanwhile are kept (bounded) and sent once connected.
   */
  async open(spec: ConnectionSpec, state: SessionState): Promise<void> {
    try {
      const { socket } = await openReplayedBackend(spec, state, `${this.side} database (shadow)`);
      if (this.#stopped) {
        socket.destroy();
        return;
      }
      this.#socket = socket;
      socket.on("error", () => {});
      socket.on("close", () => this.stop("the shadow database closed the connection"));
      socket.on("data", (chunk: Uint8Array) => this.#onShadowData(chunk));
      socket.resume();
      for (const chunk of this.#before) this.#write(chunk);
      this.#before = [];
      this.#ctx.metrics.addQueueBytes(-this.#beforeBytes);
      this.#beforeBytes = 0;
    } catch (err) {
      this.#ctx.metrics.error(this.side, "08006");
      this.stop(`cannot open the shadow connection: ${errorMessage(err)}`);
      throw err;
    }
  }

  /** A whole frontend message the client sent (collector and timing). */
  frontMessage(type: number, body: Uint8Array): void {
    if (this.#stopped) return;
    this.#sot.onFrontend(type, body);
    this.#shadow.onFrontend(type, body);
    if (type === CHAR_Q || type === CHAR_S || type === CHAR_F) this.#sentAt.push(performance.now());
  }

  /** A whole backend message from the source of truth. */
  sotMessage(type: number, body: Uint8Array): void {
    if (this.#stopped) return;
    this.#sot.onBackend(type, body);
    if (type !== CHAR_Z) return;
    const paired = this.#pairing.sourceOfTruthRequest(this.#sot.takeRequest() ?? []);
    if (paired && this.#ctx.mode !== "async") {
      this.#answered++;
      this.#forwardAnswered();
    }
  }

  /** The next source-of-truth answer is to a request the proxy made itself; do not pair it. */
  skipNextSourceOfTruthRequest(): void {
    this.#pairing.skipNextSourceOfTruthRequest();
  }

  /**
   * Client bytes, after they went to the source of truth.
   *
   * @param requestStarts offsets in `chunk` where a new request begins
   */
  send(chunk: Uint8Array, requestStarts: readonly number[]): void {
    if (this.#stopped) return;
    if (this.#ctx.mode !== "async") {
      let from = 0;
      for (const at of requestStarts) {
        // A message that began in an earlier chunk starts before this one (at < 0).
        const carried = at < 0 ? this.#takeTail(-at) : [];
        if (at > from) this.#current.push(chunk.subarray(from, at));
        if (this.#current.length > 0) this.#waiting.push(this.#current);
        this.#current = carried;
        from = Math.max(at, 0);
      }
      if (from < chunk.length) this.#current.push(chunk.subarray(from));
      this.#forwardAnswered();
      return;
    }
    this.#sendNow(chunk);
  }

  /** Removes and returns the last `n` bytes of the current request. */
  #takeTail(n: number): Uint8Array[] {
    const tail: Uint8Array[] = [];
    while (n > 0 && this.#current.length > 0) {
      const last = this.#current.pop()!;
      if (last.length <= n) {
        tail.unshift(last);
        n -= last.length;
      } else {
        this.#current.push(last.subarray(0, last.length - n));
        tail.unshift(last.subarray(last.length - n));
        n = 0;
      }
    }
    return tail;
  }

  /** Sends the shadow every request the source of truth has answered. */
  #forwardAnswered(): void {
    while (this.#answered > 0) {
      let request = this.#waiting.shift();
      if (!request) {
        if (this.#current.length === 0) return;
        request = this.#current;
        this.#current = [];
      }
      this.#answered--;
      for (const part of request) this.#sendNow(part);
    }
  }

  /** Writes to the shadow, or keeps the bytes (bounded) until it is connected. */
  #sendNow(chunk: Uint8Array): void {
    if (!this.#socket) {
      this.#before.push(chunk);
      this.#beforeBytes += chunk.length;
      this.#ctx.metrics.addQueueBytes(chunk.length);
      if (this.#beforeBytes > this.#ctx.maxQueueBytes) this.#drop();
      return;
    }
    this.#write(chunk);
  }

  #write(chunk: Uint8Array): void {
    const socket = this.#socket!;
    socket.write(chunk);
    if (this.#ctx.mode === "async" && socket.writableLength > this.#ctx.maxQueueBytes) this.#drop();
  }

  /** The verdict on the oldest request both databases answered, if any. */
  takeVerdict(): ShadowVerdict | undefined {
    return this.#pairing.takeVerdict();
  }

  #drop(): void {
    this.#ctx.metrics.droppedSession();
    this.#ctx.stats.recordDroppedSession();
    this.stop(
      `the shadow fell more than ${this.#ctx.maxQueueBytes} bytes behind; ` +
        "shadowing stops for this session",
    );
  }

  #onShadowData(chunk: Uint8Array): void {
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
      this.#ctx.metrics.observeDuration(this.side, (performance.now() - sentAt) / 1000);
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
    this.#ctx.metrics.addQueueBytes(-this.#beforeBytes);
    this.#before = [];
    this.#socket?.destroy();
    this.onProgress();
  }
}
