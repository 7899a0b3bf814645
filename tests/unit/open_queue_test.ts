import assert from "node:assert/strict";
import { OpenQueue } from "../../proxy/session/open_queue.ts";

/** An open the test finishes by hand. */
function manual(name: string, log: string[]) {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return {
    open: () => {
      log.push(name);
      return done.then(() => name);
    },
    finish,
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("open queue: idle opens run at most the background limit at once, in arrival order", async () => {
  const queue = new OpenQueue(2, 4);
  const started: string[] = [];
  const a = manual("a", started), b = manual("b", started), c = manual("c", started);
  queue.open(a.open, false);
  queue.open(b.open, false);
  const third = queue.open(c.open, false);
  assert.deepEqual(started, ["a", "b"]);
  assert.equal(third.started, false);
  a.finish();
  await settle();
  assert.deepEqual(started, ["a", "b", "c"], "a finished open lets the next one start");
  b.finish();
  c.finish();
  assert.equal(await third.result, "c");
  await settle();
  assert.equal(queue.running, 0);
});

Deno.test("open queue: an urgent open starts past the background limit and ahead of idle ones", async () => {
  const queue = new OpenQueue(2, 3);
  const started: string[] = [];
  const opens = ["a", "b", "c", "d", "u1", "u2"].map((n) => manual(n, started));
  const [a, b, c, d, u1, u2] = opens;
  queue.open(a.open, false);
  queue.open(b.open, false);
  queue.open(c.open, false);
  const waitingIdle = queue.open(d.open, false);
  queue.open(u1.open, true);
  assert.deepEqual(started, ["a", "b", "u1"], "urgent opens have room above the idle ones");
  const second = queue.open(u2.open, true);
  assert.equal(second.started, false, "not past the urgent limit");
  a.finish();
  await settle();
  assert.deepEqual(started, ["a", "b", "u1", "u2"], "the urgent waiter goes before idle ones");
  b.finish();
  await settle();
  assert.equal(
    waitingIdle.started,
    false,
    "idle opens wait until fewer than the background limit run",
  );
  u1.finish();
  u2.finish();
  await settle();
  assert.deepEqual(started, ["a", "b", "u1", "u2", "c", "d"]);
  for (const o of opens) o.finish();
  await settle();
});

Deno.test("open queue: hurry moves a waiting idle open to the urgent lane; cancel drops one", async () => {
  const queue = new OpenQueue(1, 2);
  const started: string[] = [];
  const a = manual("a", started), b = manual("b", started), c = manual("c", started);
  queue.open(a.open, false);
  const second = queue.open(b.open, false);
  const third = queue.open(c.open, false);
  assert.deepEqual(started, ["a"]);
  third.hurry();
  assert.deepEqual(started, ["a", "c"], "hurried past the one ahead of it");
  second.cancel();
  assert.equal(await second.result, undefined, "a cancelled open gives nothing");
  a.finish();
  c.finish();
  await settle();
  assert.deepEqual(started, ["a", "c"], "a cancelled open never starts");
  assert.equal(queue.waiting, 0);
  third.hurry();
  third.cancel();
  assert.equal(await third.result, "c", "hurry and cancel do nothing once started");
});

Deno.test("open queue: a failing open rejects its result and frees its place", async () => {
  const queue = new OpenQueue(1, 1);
  const failing = queue.open(() => Promise.reject(new Error("refused")), false);
  const next = queue.open(() => Promise.resolve("next"), false);
  await assert.rejects(failing.result, /refused/);
  assert.equal(await next.result, "next");
  const throwing = queue.open((): Promise<string> => {
    throw new Error("thrown");
  }, false);
  await assert.rejects(throwing.result, /thrown/);
  await settle();
  assert.equal(queue.running, 0);
});
