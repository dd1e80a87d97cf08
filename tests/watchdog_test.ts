import assert from "node:assert/strict";
import { IdleWatchdog } from "../src/watchdog.ts";

/** Feeds `events` events at `perSecond` from `startMs`; returns the time of the last. */
function feed(
  watchdog: IdleWatchdog,
  perSecond: number,
  events: number,
  startMs = 0,
): number {
  let t = startMs;
  for (let i = 0; i < events; i++) {
    t = startMs + Math.round(i * 1000 / perSecond);
    watchdog.progress(1, t);
  }
  return t;
}

Deno.test("the adaptive bound follows the stream's rate, between 5 s and the static bound", () => {
  const cases: [number, number][] = [
    [100, 5_000], // Floor.
    [20, 5_000],
    [10, 5_000],
    [5, 10_000], // 50 gaps of 200 ms.
    [2, 60_000], // 20 events in a window: too few, the static bound.
  ];
  for (const [perSecond, bound] of cases) {
    const watchdog = new IdleWatchdog({ ceilingMs: 60_000, adaptive: true });
    feed(watchdog, perSecond, perSecond * 10 + 1);
    assert.equal(watchdog.boundMs, bound, `${perSecond} events/s`);
  }
});

Deno.test("a fixed idleTimeoutMs does not adapt", () => {
  const watchdog = new IdleWatchdog({ ceilingMs: 60_000, adaptive: false });
  feed(watchdog, 100, 2_000);
  assert.equal(watchdog.boundMs, 60_000);
});

Deno.test("waiting without progress uses up the budget; progress and a new connection refill it", () => {
  const watchdog = new IdleWatchdog({ ceilingMs: 60_000, adaptive: true });
  watchdog.waited(20_000);
  watchdog.waited(30_000);
  assert.equal(watchdog.remainingMs, 10_000);
  watchdog.progress(0, 1); // No event moved the cursor: nothing changes.
  assert.equal(watchdog.remainingMs, 10_000);
  watchdog.progress(1, 2);
  assert.equal(watchdog.remainingMs, 60_000);
  watchdog.waited(70_000);
  assert.equal(watchdog.remainingMs, 0);
  watchdog.reconnected();
  assert.equal(watchdog.remainingMs, 60_000);
});

Deno.test("a busy stream that turns sparse gets the static bound back at the next window", () => {
  const watchdog = new IdleWatchdog({ ceilingMs: 60_000, adaptive: true });
  const t = feed(watchdog, 20, 201);
  assert.equal(watchdog.boundMs, 5_000);
  feed(watchdog, 0.5, 6, t + 2_000);
  assert.equal(watchdog.boundMs, 60_000);
});
