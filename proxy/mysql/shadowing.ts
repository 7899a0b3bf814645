/**
 * What the MySQL wire of one session does for its shadow, behind a few calls
 * the session makes at the points where bytes pass: the link to the other
 * database (`shadow_link.ts`) and, in `sync`/`strict-sync`, the source of
 * truth's answers held for the shadow's verdict (`shadow_answers.ts`).
 * Without shadowing every call is a no-op and nothing is held.
 *
 * @module
 */

import type { ConnectionSpec } from "../../shared/connstring.ts";
import type { DatabaseSide } from "../../shared/control.ts";
import type { Logger } from "../../shared/log.ts";
import type { ShadowContext } from "../shadow/pairing.ts";
import { Com } from "./constants.ts";
import type { Packet } from "./framing.ts";
import { type MySqlAnswerSink, MySqlHeldAnswers } from "./shadow_answers.ts";
import type { MySqlShadowBackend, ShadowLogin } from "./shadow_backend.ts";
import { MySqlShadowLink } from "./shadow_link.ts";

const UNANSWERED: ReadonlySet<number> = new Set([Com.STMT_CLOSE, Com.STMT_SEND_LONG_DATA]);

/** See the module documentation. */
export class MySqlShadowing {
  readonly #ctx: ShadowContext | undefined;
  readonly #answers: MySqlHeldAnswers;
  #link: MySqlShadowLink | undefined;

  /**
   * @param ctx the proxy's shadow settings; undefined when it does not shadow
   * @param sink where released answers go
   */
  constructor(ctx: ShadowContext | undefined, sink: MySqlAnswerSink) {
    this.#ctx = ctx;
    this.#answers = new MySqlHeldAnswers(sink);
  }

  /** No answer is held back. */
  get settled(): boolean {
    return this.#answers.empty;
  }

  /** Answers wait for the shadow's verdict now. */
  get #waits(): boolean {
    return this.#ctx !== undefined && this.#ctx.mode !== "async" && this.#link?.active === true;
  }

  /**
   * Opens the shadow connection through `backend`; undefined when this
   * proxy does not shadow or `backend` cannot shadow the session.
   */
  open(
    side: DatabaseSide,
    spec: ConnectionSpec,
    login: ShadowLogin,
    backend: MySqlShadowBackend,
    log: Logger,
  ): Promise<void> | undefined {
    if (!this.#ctx) return undefined;
    const link = new MySqlShadowLink(side, this.#ctx, login.capabilities, log);
    const opening = link.open(backend, spec, login);
    if (!opening) return undefined;
    link.onProgress = () => this.#answers.release(this.#link);
    this.#link = link;
    return opening;
  }

  /** Ends the link at a command boundary (what was sent still runs there). */
  close(): void {
    const link = this.#link;
    this.#link = undefined;
    link?.finish();
    this.#answers.release(undefined);
  }

  /** The first packet of a client command, after it went to the source of truth. */
  clientCommand(p: Packet): void {
    const link = this.#link;
    if (!link) return;
    const waits = this.#waits;
    const paired = link.command(p);
    if (waits && !UNANSWERED.has(p.payload[0])) this.#answers.expect(paired);
  }

  /** A packet of the client inside a command, after it went to the source of truth. */
  clientPacket(p: Packet): void {
    this.#link?.clientPacket(p);
  }

  /** The proxy answers a command itself, or sent the source of truth `payload` of its own. */
  proxyAnswer(payload?: Uint8Array): void {
    if (payload) this.#link?.proxyCommand(payload);
    if (this.#waits) this.#answers.expect(false);
  }

  /** During the scan of the source of truth's bytes: an answer ends at `offset`. */
  answerEndsAt(offset: number): void {
    if (this.#link) this.#answers.answerEndsAt(offset);
  }

  /**
   * The source of truth's bytes, scanned. Returns true when they are held
   * (released later); false when the session sends them on itself.
   *
   * @param streaming the database waits for the client inside the current answer
   */
  sourceOfTruthData(chunk: Uint8Array, streaming: boolean): boolean {
    const link = this.#link;
    // In async the link only keeps the chunk: its work runs in a later turn, after the client write.
    link?.sotData(chunk);
    if (this.#answers.empty && !this.#waits) {
      this.#answers.forgetEnds();
      return false;
    }
    this.#answers.hold(chunk, link, streaming);
    return true;
  }

  /** An answer the proxy made itself; true when it is held to keep the order. */
  synthetic(bytes: Uint8Array): boolean {
    if (this.#answers.empty && !this.#waits) return false;
    this.#answers.synthetic(bytes, this.#link);
    return true;
  }
}
