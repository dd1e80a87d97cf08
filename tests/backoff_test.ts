import assert from "node:assert/strict";
import { Backoff, parseRetryAfter } from "../src/backoff.ts";

/** A random source that replays `values` in order. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

Deno.test("full jitter: attempt n waits random() * min(maxMs, initialMs * 2 ** n)", () => {
  const backoff = new Backoff({
    initialMs: 1_000,
    maxMs: 60_000,
    random: () => 0.5,
  });
  const delays = Array.from({ length: 9 }, () => backoff.next());
  assert.deepEqual(delays, [
    500,
    1_000,
    2_000,
    4_000,
    8_000,
    16_000,
    30_000,
    30_000,
    30_000,
  ]);
  assert.equal(backoff.attempt, 9);
});

Deno.test("the jitter spans the whole range from 0 to the ceiling", () => {
  const backoff = new Backoff({
    initialMs: 1_000,
    maxMs: 60_000,
    random: sequence(0, 0.999),
  });
  assert.equal(backoff.next(), 0);
  assert.equal(backoff.next(), 1_998);
});

Deno.test("the cap holds after very many attempts (no Infinity, no NaN)", () => {
  const backoff = new Backoff({ random: () => 1 - Number.EPSILON });
  let last = 0;
  for (let i = 0; i < 5_000; i++) last = backoff.next();
  assert.ok(last < 60_000 && last > 59_999);
});

Deno.test("the throttled floor holds after very many attempts with initialMs 0 (no NaN)", () => {
  // 2 ** 1024 is Infinity and 0 * Infinity is NaN: the delay used to become
  // NaN, which a timer treats as 0, so a client answered 429 a thousand times
  // would then have retried without waiting.
  const backoff = new Backoff({
    initialMs: 0,
    throttledFloorMs: 10_000,
    random: () => 0.5,
  });
  for (let i = 0; i < 1_100; i++) {
    assert.equal(backoff.next({ throttled: true }), 10_000, `attempt ${i}`);
  }
  assert.equal(backoff.next(), 0);
});

Deno.test("a throttled answer waits the floor plus the jitter", () => {
  const backoff = new Backoff({
    initialMs: 1_000,
    throttledFloorMs: 10_000,
    random: () => 0.25,
  });
  assert.equal(backoff.next({ throttled: true }), 10_250);
  assert.equal(backoff.next({ throttled: true }), 10_500);
  const zero = new Backoff({ random: () => 0 });
  assert.equal(zero.next({ throttled: true }), 10_000, "never below the floor");
});

Deno.test("Retry-After raises the floor, never lowers it", () => {
  const backoff = new Backoff({ throttledFloorMs: 10_000, random: () => 0 });
  assert.equal(backoff.next({ throttled: true, retryAfterMs: 30_000 }), 30_000);
  assert.equal(backoff.next({ throttled: true, retryAfterMs: 2_000 }), 10_000);
  assert.equal(backoff.next({ retryAfterMs: 2_000 }), 2_000);
});

Deno.test("reset() starts over at attempt 0", () => {
  const backoff = new Backoff({
    initialMs: 1_000,
    random: () => 1 - Number.EPSILON,
  });
  backoff.next();
  backoff.next();
  backoff.next();
  backoff.reset();
  assert.equal(backoff.attempt, 0);
  assert.ok(backoff.next() < 1_000);
});

Deno.test("defaults: 1 s initial, 60 s cap, 10 s throttled floor", () => {
  const backoff = new Backoff({ random: () => 1 - Number.EPSILON });
  assert.ok(Math.abs(backoff.next() - 1_000) < 1e-6);
  for (let i = 0; i < 10; i++) backoff.next();
  assert.ok(Math.abs(backoff.next() - 60_000) < 1e-6);
  assert.ok(
    Math.abs(
      new Backoff({ random: () => 0 }).next({ throttled: true }) - 10_000,
    ) < 1e-6,
  );
});

Deno.test("rejects negative or non-finite delays", () => {
  assert.throws(() => new Backoff({ initialMs: -1 }), {
    name: "RangeError",
    message:
      "Cannot use backoff initialMs -1: expected a finite number of milliseconds >= 0",
  });
  assert.throws(() => new Backoff({ maxMs: Infinity }), RangeError);
  assert.throws(() => new Backoff({ throttledFloorMs: NaN }), RangeError);
});

Deno.test("parseRetryAfter reads delay-seconds and HTTP dates", () => {
  const now = Date.parse("Wed, 21 Oct 2026 07:28:00 GMT");
  assert.equal(parseRetryAfter("0", now), 0);
  assert.equal(parseRetryAfter(" 120 ", now), 120_000);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2026 07:29:00 GMT", now), 60_000);
  assert.equal(
    parseRetryAfter("Wed, 21 Oct 2026 07:00:00 GMT", now),
    0,
    "a past date means now",
  );
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("-5", now), undefined);
});
