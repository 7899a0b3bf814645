import assert from "node:assert/strict";
import { Slots } from "../../proxy/session/standby_slots.ts";

Deno.test("standby slots: at most the limit at once, waiters served in arrival order", async () => {
  const slots = new Slots(2);
  const order: number[] = [];
  assert.equal(slots.tryAcquire(), true);
  await slots.acquire();
  assert.equal(slots.inUse, 2);
  assert.equal(slots.tryAcquire(), false, "no slot is taken past the limit");
  const third = slots.acquire().then(() => order.push(3));
  const fourth = slots.acquire().then(() => order.push(4));
  await Promise.resolve();
  assert.deepEqual(order, [], "nobody past the limit runs before a release");
  slots.release();
  await third;
  assert.deepEqual(order, [3]);
  assert.equal(slots.inUse, 2, "the released slot went to the waiter");
  slots.release();
  await fourth;
  assert.deepEqual(order, [3, 4]);
  slots.release();
  slots.release();
  assert.equal(slots.inUse, 0);
});
