/**
 * How a wire's shadow link sets up its {@linkcode ShadowBacklog} in `async`,
 * the same for every wire: bounded by `LMS_SHADOW_QUEUE`, counted in the
 * queue gauge, and an overflow handled as any shadow that falls behind (the
 * forwarder counts the dropped session in the metrics and the shadow stats,
 * then the link stops with the reason). `sync` and `strict-sync` have no
 * backlog: the client waits for the verdict, so the work runs at once.
 *
 * @module
 */

import { type BacklogHandler, type BacklogSource, ShadowBacklog } from "./after_io.ts";
import type { ShadowForwarder } from "./forwarding.ts";
import type { ShadowContext } from "./pairing.ts";

/**
 * The backlog of one session's link in `async`, undefined in the other modes.
 *
 * @param ctx the proxy's shadow settings
 * @param forwarder the link's forwarder, which drops the session on overflow
 * @param handler processes each kept chunk, in arrival order
 */
export function sessionBacklog<From extends string = BacklogSource>(
  ctx: ShadowContext,
  forwarder: ShadowForwarder,
  handler: BacklogHandler<From>,
): ShadowBacklog<From> | undefined {
  if (ctx.mode !== "async") return undefined;
  return new ShadowBacklog<From>(
    handler,
    ctx.maxQueueBytes,
    () => forwarder.drop(),
    (delta) => ctx.metrics.addQueueBytes(delta),
  );
}

/**
 * The shadow socket's `data` listener: into `backlog` when there is one,
 * else straight to `direct` with the arrival time.
 */
export function shadowDataListener(
  backlog: { add(from: "shadow", chunk: Uint8Array): void } | undefined,
  direct: (chunk: Uint8Array, at: number) => void,
): (chunk: Uint8Array) => void {
  if (backlog) return (chunk) => backlog.add("shadow", chunk);
  return (chunk) => direct(chunk, performance.now());
}
