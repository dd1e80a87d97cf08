/**
 * Time as the library sees it. Everything that waits (the idle watchdog,
 * backoff, connection age) goes through a {@linkcode Clock}, so tests inject
 * a manual clock and never sleep.
 *
 * @module
 */

/**
 * A source of time and timers. The library reads time and sets timers only
 * through the clock it is given (`systemClock` by default); tests pass
 * `ManualClock` from "@eventstreams/client/testing".
 *
 * @example A clock whose timers fire at once, moving its time forward
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Clock, sleep } from "@eventstreams/client";
 *
 * let now = 0;
 * const instant: Clock = {
 *   now: () => now,
 *   setTimeout(fn, ms) {
 *     let cancelled = false;
 *     queueMicrotask(() => {
 *       if (cancelled) return;
 *       now += ms;
 *       fn();
 *     });
 *     return () => cancelled = true;
 *   },
 * };
 * await sleep(instant, 60_000); // returns without waiting a minute
 * assert.equal(instant.now(), 60_000);
 * ```
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Calls `fn` once after `ms` milliseconds.
   *
   * @returns A function that cancels the timer (calling it twice is harmless).
   */
  setTimeout(fn: () => void, ms: number): () => void;
}

/**
 * The longest delay the global `setTimeout` honours (about 24.8 days). Deno
 * and Node fire a longer one after 1 ms; browsers take it modulo 2^32, mostly
 * giving a negative delay, i.e. 0.
 */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * The real clock: `Date.now()` and the global `setTimeout`. Delays longer
 * than `setTimeout` allows (about 24.8 days) are waited in steps instead of
 * firing at once.
 *
 * @example
 * ```ts no-assert
 * import { systemClock } from "@eventstreams/client";
 * const cancel = systemClock.setTimeout(() => {}, 1000);
 * cancel();
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): () => void {
    let id: ReturnType<typeof setTimeout>;
    const arm = (remaining: number) => {
      id = remaining > MAX_TIMER_DELAY_MS
        ? setTimeout(
          () => arm(remaining - MAX_TIMER_DELAY_MS),
          MAX_TIMER_DELAY_MS,
        )
        : setTimeout(fn, remaining);
    };
    arm(ms);
    return () => clearTimeout(id);
  },
};

/**
 * Waits `ms` milliseconds on `clock`, or rejects with the signal's reason as
 * soon as `signal` aborts. Leaves no timer behind either way.
 *
 * @param clock The clock to wait on.
 * @param ms How long to wait, in milliseconds.
 * @param signal Ends the wait early.
 * @returns A promise that resolves after `ms`.
 *
 * @example
 * ```ts no-assert
 * import { sleep, systemClock } from "@eventstreams/client";
 * await sleep(systemClock, 0);
 * ```
 */
export function sleep(
  clock: Clock,
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      cancel();
      reject(signal!.reason);
    };
    const cancel = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
