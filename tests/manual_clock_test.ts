import assert from "node:assert/strict";
import { sleep, systemClock } from "../src/clock.ts";
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

Deno.test("ManualClock advanceIfIdle moves time at once only when no timer falls due on the way", async () => {
  const clock = new ManualClock(0);
  const fired: number[] = [];
  clock.setTimeout(() => fired.push(clock.now()), 100);
  assert.equal(clock.advanceIfIdle(99), true);
  assert.equal(clock.now(), 99);
  // A timer due at the target counts: time stays, the caller ticks instead.
  assert.equal(clock.advanceIfIdle(1), false);
  assert.equal(clock.now(), 99);
  assert.equal(fired.length, 0);
  await clock.tick(1);
  assert.deepEqual(fired, [100]);
  // A timer already due (0 ms, not yet fired) also makes it refuse.
  clock.setTimeout(() => fired.push(clock.now()), 0);
  assert.equal(clock.advanceIfIdle(5), false);
  await clock.tick(0);
  assert.deepEqual(fired, [100, 100]);
  assert.equal(clock.advanceIfIdle(0), true);
  assert.equal(clock.now(), 100);
});

// The one test of the real clock (src/clock.ts has no test file of its own):
// it must use real time, briefly. A delay above setTimeout's 2^31 - 1 ms limit
// used to fire after 1 ms (Deno, Node) or at once (browsers), so a
// maxConnectionMs, idleTimeoutMs, backoff or Retry-After of 25 days or more
// dropped every connection at once or retried without waiting.
Deno.test("systemClock waits out a delay beyond setTimeout's 2^31 - 1 ms limit instead of firing at once", async () => {
  let fired = false;
  const cancel = systemClock.setTimeout(() => fired = true, 2 ** 31);
  await sleep(systemClock, 30); // Far beyond the 1 ms an overflowed timer waits.
  cancel();
  assert.equal(fired, false);
});
