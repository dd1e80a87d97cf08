import assert from "node:assert/strict";
import { ManualClock } from "../src/testing/manual_clock.ts";

Deno.test("ManualClock fires due timers in time order, then insertion order", async () => {
  const clock = new ManualClock(0);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push("b@20"), 20);
  clock.setTimeout(() => fired.push("a@10"), 10);
  clock.setTimeout(() => fired.push("c@20"), 20);
  clock.setTimeout(() => fired.push("d@30"), 30);
  await clock.tick(20);
  assert.deepEqual(fired, ["a@10", "b@20", "c@20"]);
  assert.equal(clock.now(), 20);
  assert.equal(clock.pendingTimers, 1);
  assert.equal(clock.nextTimerAt, 30);
});

Deno.test("ManualClock cancelled timers never fire", async () => {
  const clock = new ManualClock(0);
  let fired = false;
  const cancel = clock.setTimeout(() => fired = true, 5);
  cancel();
  cancel();
  await clock.tick(10);
  assert.equal(fired, false);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("ManualClock never moves backwards when a timer callback ticks further", async () => {
  const clock = new ManualClock(0);
  let inner: Promise<void> | undefined;
  clock.setTimeout(() => inner = clock.tick(500), 100);
  await clock.tick(100);
  await inner;
  assert.equal(clock.now(), 600);
});

Deno.test("ManualClock waitForTimers resolves once the code under test waits on time", async () => {
  const clock = new ManualClock(0);
  const waiting = clock.waitForTimers(2);
  let resolved = false;
  waiting.then(() => resolved = true);
  clock.setTimeout(() => {}, 1);
  await Promise.resolve();
  assert.equal(resolved, false);
  clock.setTimeout(() => {}, 2);
  await waiting;
  assert.equal(await clock.runNext(), 1);
  assert.equal(await clock.runNext(), 1);
  assert.equal(await clock.runNext(), undefined);
});
