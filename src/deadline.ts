/**
 * A deadline that moves often, on one timer: the connection's wait bounds
 * (response headers, then each body read) are set before every read and
 * cleared after it, hundreds of times a second while catching up, and a
 * timer set and cancelled each time cost more than the read's bookkeeping.
 * Here a later deadline leaves the running timer alone: when it fires early
 * it finds the deadline not yet due and runs again for the rest.
 *
 * @module
 */

import type { Clock } from "./clock.ts";

/**
 * Calls `onExpire` once the deadline passes while it is set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deadline } from "./deadline.ts";
 * import { ManualClock } from "./testing/manual_clock.ts";
 *
 * const clock = new ManualClock(0);
 * let expired = 0;
 * const deadline = new Deadline(clock, () => expired++);
 * deadline.set(1_000);
 * deadline.clear();
 * deadline.set(3_000); // Later: the timer for 1,000 stays, and runs on.
 * await clock.tick(2_999);
 * assert.equal(expired, 0);
 * await clock.tick(1);
 * assert.equal(expired, 1);
 * deadline.dispose();
 * assert.equal(clock.pendingTimers, 0);
 * ```
 */
export class Deadline {
  readonly #clock: Clock;
  readonly #onExpire: () => void;
  /** When the deadline is, epoch ms; `Infinity` when clear. */
  #at = Infinity;
  /** How far ahead the deadline was when set: a wall clock stepped back is no reason to wait longer. */
  #boundMs = 0;
  /** When the running timer fires; `Infinity` when none runs. */
  #firesAt = Infinity;
  #cancel: (() => void) | undefined;

  /**
   * @param clock The time source and its timers.
   * @param onExpire Called when a set deadline passes.
   */
  constructor(clock: Clock, onExpire: () => void) {
    this.#clock = clock;
    this.#onExpire = onExpire;
  }

  /**
   * Sets the deadline `ms` from now.
   *
   * @param ms Milliseconds from now.
   */
  setIn(ms: number): void {
    this.set(this.#clock.now() + ms);
  }

  /**
   * Sets the deadline.
   *
   * @param at Epoch milliseconds.
   */
  set(at: number): void {
    this.#at = at;
    this.#boundMs = at - this.#clock.now();
    if (at < this.#firesAt) this.#schedule(at);
  }

  /** Clears the deadline (the timer, if one runs, finds nothing due). */
  clear(): void {
    this.#at = Infinity;
  }

  /** Clears the deadline and stops the timer. */
  dispose(): void {
    this.#at = Infinity;
    this.#firesAt = Infinity;
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #schedule(at: number): void {
    this.#cancel?.();
    this.#firesAt = at;
    this.#cancel = this.#clock.setTimeout(
      () => this.#fire(),
      at - this.#clock.now(),
    );
  }

  #fire(): void {
    this.#cancel = undefined;
    this.#firesAt = Infinity;
    if (this.#at === Infinity) return;
    const now = this.#clock.now();
    if (now >= this.#at) {
      this.#at = Infinity;
      this.#onExpire();
      return;
    }
    // Further away than it was ever set: the clock was stepped back. The
    // wait is not made longer than its bound (a timer waits the delay it
    // was given, whatever the clock says).
    if (this.#at - now > this.#boundMs) this.#at = now + this.#boundMs;
    this.#schedule(this.#at);
  }
}
