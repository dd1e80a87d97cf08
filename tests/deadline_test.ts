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

Deno.test("deadline: a wall clock stepped back during the wait delays it by at most its bound", () => {
  let now = 10_000;
  const timers: { at: number; fn: () => void }[] = [];
  // A clock whose reading jumps, with timers that wait their delay in "real" time.
  let real = 0;
  const clock = {
    now: () => now,
    setTimeout(fn: () => void, ms: number) {
      const timer = { at: real + ms, fn };
      timers.push(timer);
      return () => void timers.splice(timers.indexOf(timer), 1);
    },
  };
  const advance = (ms: number) => {
    real += ms;
    now += ms;
    for (const timer of [...timers].sort((a, b) => a.at - b.at)) {
      if (timer.at > real) break;
      timers.splice(timers.indexOf(timer), 1);
      timer.fn();
    }
  };
  let expiredAt: number | undefined;
  const deadline = new Deadline(clock, () => expiredAt = real);
  deadline.setIn(5_000);
  advance(1_000);
  now -= 3_600_000; // NTP steps the clock back an hour.
  advance(4_000); // The timer fires; the deadline seems an hour away.
  assert.equal(expiredAt, undefined);
  advance(5_000); // At most one more bound.
  assert.equal(expiredAt, 10_000);
  assert.equal(timers.length, 0);
});
