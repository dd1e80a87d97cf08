import type { Clock } from "../clock.ts";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A {@linkcode Clock} that only moves when a test tells it to, so that
 * timeouts, backoff and connection ages are tested without sleeping.
 *
 * `tick(ms)` fires due timers in time order and lets pending promise work run
 * between them (one macrotask turn), so code awaiting a timer continues before
 * the next one fires.
 *
 * @example Firing a timer without waiting
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualClock } from "@eventstreams/client/testing";
 * const clock = new ManualClock(0);
 * let fired = false;
 * clock.setTimeout(() => fired = true, 5_000);
 * await clock.tick(4_999);
 * assert.ok(!fired);
 * await clock.tick(1);
 * assert.ok(fired && clock.now() === 5_000);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: Timer[] = [];
  #nextId = 1;
  #waiters: { count: number; resolve: () => void }[] = [];

  /**
   * Creates a manual clock.
   *
   * @param startMs The initial time, in milliseconds since the epoch.
   */
  constructor(startMs: number = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  /** The current manual time. */
  now(): number {
    return this.#now;
  }

  /**
   * Schedules `fn` at `now() + ms`.
   *
   * @param fn What to call.
   * @param ms Delay in milliseconds (negative counts as 0).
   * @returns A cancel function.
   */
  setTimeout(fn: () => void, ms: number): () => void {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    this.#notify();
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** How many timers are scheduled and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** The time at which the earliest pending timer fires, or `undefined`. */
  get nextTimerAt(): number | undefined {
    let next: number | undefined;
    for (const t of this.#timers) {
      if (next === undefined || t.at < next) next = t.at;
    }
    return next;
  }

  /**
   * Resolves once at least `count` timers are pending: the code under test is
   * now waiting on time.
   *
   * @param count How many pending timers to wait for.
   * @returns A promise that resolves when that many timers are pending.
   */
  waitForTimers(count = 1): Promise<void> {
    if (this.#timers.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, in order.
   * Time never moves backwards, even when ticks overlap (a timer callback
   * that ticks further wins).
   *
   * @param ms How far to move, in milliseconds.
   */
  async tick(ms: number): Promise<void> {
    const target = this.#now + ms;
    while (true) {
      const due = this.#earliestDue(target);
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      // Never backwards: a timer callback may itself have ticked further.
      this.#now = Math.max(this.#now, due.at);
      due.fn();
      await flushPendingWork();
    }
    this.#now = Math.max(this.#now, target);
    await flushPendingWork();
  }

  /**
   * Moves time forward by `ms` at once when no timer falls due on the way,
   * without the macrotask turn that {@linkcode ManualClock.prototype.tick}
   * takes; when a timer would fall due (at or before `now() + ms`), does
   * nothing and returns false, so the caller ticks instead. Replay uses it to
   * cross recorded silences cheaply.
   *
   * @param ms How far to move, in milliseconds.
   * @returns True when time moved, false when a timer is due within `ms`.
   *
   * @example Crossing a quiet span at once, ticking through a busy one
   * ```ts
   * import assert from "node:assert/strict";
   * import { ManualClock } from "@eventstreams/client/testing";
   * const clock = new ManualClock(0);
   * clock.setTimeout(() => {}, 1_000);
   * assert.ok(clock.advanceIfIdle(999) && clock.now() === 999);
   * assert.ok(!clock.advanceIfIdle(1) && clock.now() === 999);
   * await clock.tick(1);
   * assert.ok(clock.pendingTimers === 0);
   * ```
   */
  advanceIfIdle(ms: number): boolean {
    const target = this.#now + ms;
    if (this.#earliestDue(target) !== undefined) return false;
    this.#now = Math.max(this.#now, target);
    return true;
  }

  /**
   * Moves time to the earliest pending timer and fires it (and any others due
   * at the same instant).
   *
   * @returns The number of milliseconds time moved, or `undefined` when no timer was pending.
   */
  async runNext(): Promise<number | undefined> {
    const next = this.nextTimerAt;
    if (next === undefined) return undefined;
    const moved = next - this.#now;
    await this.tick(moved);
    return moved;
  }

  #earliestDue(limit: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) {
      if (
        t.at <= limit &&
        (!best || t.at < best.at || (t.at === best.at && t.id < best.id))
      ) {
        best = t;
      }
    }
    return best;
  }

  #notify(): void {
    const ready = this.#waiters.filter((w) => this.#timers.length >= w.count);
    this.#waiters = this.#waiters.filter((w) => this.#timers.length < w.count);
    for (const w of ready) w.resolve();
  }
}

/** Lets queued promise reactions and I/O callbacks run: one macrotask turn. */
function flushPendingWork(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
