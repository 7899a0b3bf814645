import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { type BacklogSource, ShadowBacklog } from "../../proxy/shadow/after_io.ts";

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("a backlog processes its chunks after the callback that kept them, in order", async () => {
  const seen: [BacklogSource, number][] = [];
  let gauge = 0;
  const backlog = new ShadowBacklog(
    (from, chunk) => seen.push([from, chunk[0]]),
    100,
    () => assert.fail("no overflow"),
    (delta) => (gauge += delta),
  );
  backlog.add("client", bytes(1));
  backlog.add("source of truth", bytes(2, 2));
  backlog.add("shadow", bytes(3));
  assert.deepEqual(seen, [], "nothing runs inside the callback that kept the chunks");
  assert.equal(gauge, 4);
  await turn();
  await turn();
  assert.deepEqual(seen, [["client", 1], ["source of truth", 2], ["shadow", 3]]);
  assert.equal(gauge, 0);
  backlog.add("client", bytes(4));
  backlog.drain();
  assert.deepEqual(seen.at(-1), ["client", 4], "drain processes at once");
});

Deno.test("a backlog over its bound discards everything and reports the overflow once", async () => {
  let processed = 0, overflows = 0, gauge = 0;
  const backlog = new ShadowBacklog(
    () => processed++,
    4,
    () => overflows++,
    (delta) => (gauge += delta),
  );
  backlog.add("client", bytes(1, 1, 1));
  backlog.add("source of truth", bytes(2, 2));
  backlog.add("shadow", bytes(3));
  await turn();
  await turn();
  assert.equal(overflows, 1);
  assert.equal(processed, 0);
  assert.equal(gauge, 0, "the queue gauge gets back what the backlog held");
});

Deno.test("a handler that discards stops the rest of the drain", () => {
  const seen: number[] = [];
  const backlog: ShadowBacklog = new ShadowBacklog(
    (_from, chunk) => {
      seen.push(chunk[0]);
      backlog.discard();
    },
    100,
    () => {},
    () => {},
  );
  backlog.add("shadow", bytes(1));
  backlog.add("shadow", bytes(2));
  backlog.drain();
  backlog.add("shadow", bytes(3));
  backlog.drain();
  assert.deepEqual(seen, [1]);
});
