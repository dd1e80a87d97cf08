import assert from "node:assert/strict";
import { Deadline } from "../src/deadline.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";

Deno.test("deadline: expires once when it passes while set, on one timer however often it moves later", async () => {
  const clock = new ManualClock(0);
  const expired: number[] = [];
  const deadline = new Deadline(clock, () => expired.push(clock.now()));
  deadline.setIn(100);
  for (let t = 10; t <= 90; t += 10) {
    await clock.tick(10);
    deadline.clear(); // A read ended...
    deadline.set(t + 100); // ...and the next one has a later bound.
    assert.equal(clock.pendingTimers, 1);
  }
  await clock.tick(110); // The first timer fires at 100, runs on to 190.
  assert.deepEqual(expired, [190]);
  assert.equal(clock.pendingTimers, 0);
  deadline.setIn(5); // Set again after expiring.
  await clock.tick(5);
  assert.deepEqual(expired, [190, 205]);
});

Deno.test("deadline: an earlier deadline replaces the timer; a cleared one never expires; dispose stops the timer", async () => {
  const clock = new ManualClock(0);
  let expired = 0;
  const deadline = new Deadline(clock, () => expired++);
  deadline.set(30_000); // Response headers.
  deadline.set(5_000); // A shorter bound: the timer moves up.
  assert.equal(clock.pendingTimers, 1);
  assert.equal(clock.nextTimerAt, 5_000);
  deadline.clear();
  await clock.tick(60_000);
  assert.equal(expired, 0);
  deadline.set(70_000);
  deadline.dispose();
  assert.equal(clock.pendingTimers, 0);
  await clock.tick(60_000);
  assert.equal(expired, 0);
});
