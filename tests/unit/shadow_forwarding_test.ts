import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Registry } from "prom-client";
import { ShadowForwarder } from "../../proxy/shadow/forwarding.ts";
import { createShadowMetrics } from "../../proxy/shadow/metrics.ts";
import type { ShadowContext } from "../../proxy/shadow/pairing.ts";
import { DEFAULT_SHADOW_RULES } from "../../proxy/shadow/rules.ts";
import { ShadowStats } from "../../proxy/shadow/stats.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function setup(mode: ShadowContext["mode"], maxQueueBytes = 1 << 20) {
  const ctx: ShadowContext = {
    mode,
    stats: new ShadowStats(),
    rules: DEFAULT_SHADOW_RULES,
    metrics: createShadowMetrics(new Registry()),
    maxQueueBytes,
    rowLimit: 1000,
  };
  const written: string[] = [];
  const stopped: string[] = [];
  const sink = {
    writableLength: 0,
    write(chunk: Uint8Array) {
      written.push(dec.decode(chunk));
      this.writableLength += chunk.length;
    },
  };
  const f = new ShadowForwarder(ctx, (reason) => stopped.push(reason));
  return { ctx, f, sink, written, stopped };
}

Deno.test("sync: a request reaches the shadow only once the source of truth answered it", () => {
  const { f, sink, written } = setup("sync");
  f.connected(sink);
  f.send(enc.encode("AAAbb"), [0, 3]);
  assertEquals(written, []);
  f.answered();
  assertEquals(written, ["AAA"]);
  // The second request's tail arrives in the next chunk, then a third request begins.
  f.send(enc.encode("bCC"), [1]);
  f.answered();
  assertEquals(written.join(""), "AAAbbb");
  f.answered();
  assertEquals(written.join(""), "AAAbbbCC");
});

Deno.test("sync: a request that began in the previous chunk is carried over whole", () => {
  const { f, sink, written } = setup("strict-sync");
  f.connected(sink);
  f.send(enc.encode("AAAB"), [0]);
  // "B" began a new request one byte before this chunk.
  f.send(enc.encode("BB"), [-1]);
  f.answered();
  assertEquals(written.join(""), "AAA");
  f.answered();
  assertEquals(written.join(""), "AAABBB");
});

Deno.test("async: bytes go at once; a shadow too far behind is dropped and counted", () => {
  const { ctx, f, sink, written, stopped } = setup("async", 4);
  f.connected(sink);
  f.send(enc.encode("abc"), [0]);
  assertEquals([written, stopped], [["abc"], []]);
  f.send(enc.encode("de"), [0]);
  assertEquals(stopped.length, 1);
  assertEquals(ctx.stats.report("p", "async", null).droppedSessions, 1);
});

Deno.test("before the connection opens, bytes are kept up to the bound, then sent in order", () => {
  const { f, sink, written, stopped } = setup("async", 8);
  f.send(enc.encode("one"), [0]);
  f.send(enc.encode("two"), [0]);
  f.connected(sink);
  assertEquals(written, ["one", "two"]);
  const late = setup("async", 4);
  late.f.send(enc.encode("12345"), [0]);
  assertEquals(late.stopped.length, 1);
  assertEquals(stopped, []);
});

Deno.test("sync: a lock-free request goes at once; its answer does not release the next", () => {
  const { f, sink, written } = setup("sync");
  f.connected(sink);
  f.send(enc.encode("QQ"), [0], true);
  assertEquals(written, ["QQ"], "sent before the source of truth answered");
  f.send(enc.encode("RR"), [0]);
  f.answered();
  assertEquals(written, ["QQ"], "the first answer was the early request's own");
  f.answered();
  assertEquals(written, ["QQ", "RR"]);
});

Deno.test("sync: a lock-free request behind one still waiting keeps its place", () => {
  const { f, sink, written } = setup("sync");
  f.connected(sink);
  f.send(enc.encode("AAAQQ"), [0, 3], true);
  assertEquals(written, []);
  f.answered();
  assertEquals(written, ["AAA"]);
  f.answered();
  assertEquals(written, ["AAA", "QQ"]);
});
