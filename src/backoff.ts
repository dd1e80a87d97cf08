/**
 * Reconnect delays: exponential backoff with full jitter, a larger floor for
 * throttled answers (429, 5xx), and `Retry-After` parsing.
 *
 * @module
 */

/**
 * How {@linkcode Backoff} spaces out reconnects.
 *
 * @example Gentler retries
 * ```ts
 * import assert from "node:assert/strict";
 * import { Backoff, type BackoffOptions } from "@eventstreams/client";
 * const options: BackoffOptions = { initialMs: 2_000, maxMs: 120_000 };
 * assert.ok(new Backoff(options).next() < 2_000);
 * ```
 */
export interface BackoffOptions {
  /**
   * The delay scale of the first retry: attempt `n` waits up to
   * `initialMs * 2 ** n`.
   *
   * @default {1_000}
   */
  initialMs?: number;
  /**
   * The cap on the exponential part of a delay.
   *
   * @default {60_000}
   */
  maxMs?: number;
  /**
   * The minimum wait after a throttled answer (429 or 5xx). EventStreams
   * counts connections per client IP and never sends `Retry-After`, so a
   * client that retries at once only gets more 429s.
   *
   * @default {10_000}
   */
  throttledFloorMs?: number;
  /**
   * The source of jitter: returns a number in `[0, 1)`. Tests inject a
   * constant.
   *
   * @default {Math.random}
   */
  random?: () => number;
}

/**
 * What the server said about the failure a delay is computed for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Backoff, type BackoffHint } from "@eventstreams/client";
 * const hint: BackoffHint = { throttled: true, retryAfterMs: 30_000 };
 * assert.ok(new Backoff({ random: () => 0 }).next(hint) === 30_000);
 * ```
 */
export interface BackoffHint {
  /**
   * The server throttled us (429) or failed (5xx): wait at least
   * {@linkcode BackoffOptions.throttledFloorMs}.
   *
   * @default {false}
   */
  throttled?: boolean;
  /**
   * The server's `Retry-After`, in milliseconds (see
   * {@linkcode parseRetryAfter}): wait at least this long.
   *
   * @default {undefined}
   */
  retryAfterMs?: number;
}

/**
 * Exponential backoff with full jitter: attempt `n` waits
 * `random() * min(maxMs, initialMs * 2 ** n)`. A throttled attempt waits
 * `floor + random() * min(maxMs, initialMs * 2 ** n)` where `floor` is the
 * larger of `throttledFloorMs` and the server's `Retry-After`.
 *
 * @example Delays grow until a healthy connection resets them
 * ```ts
 * import assert from "node:assert/strict";
 * import { Backoff } from "@eventstreams/client";
 * const backoff = new Backoff({ initialMs: 1_000, maxMs: 8_000, random: () => 0.5 });
 * assert.ok(backoff.next() === 500); // 0.5 * 1_000
 * assert.ok(backoff.next() === 1_000); // 0.5 * 2_000
 * assert.ok(backoff.next({ throttled: true }) === 12_000); // 10_000 floor + 0.5 * 4_000
 * backoff.reset();
 * assert.ok(backoff.next() === 500);
 * ```
 */
export class Backoff {
  #initialMs: number;
  #maxMs: number;
  #throttledFloorMs: number;
  #random: () => number;
  #attempt = 0;

  /**
   * Creates a backoff schedule at attempt 0.
   *
   * @param options Delays and the jitter source.
   * @throws {RangeError} When a delay option is negative or not finite.
   */
  constructor(options: BackoffOptions = {}) {
    this.#initialMs = checkDelay("initialMs", options.initialMs ?? 1_000);
    this.#maxMs = checkDelay("maxMs", options.maxMs ?? 60_000);
    this.#throttledFloorMs = checkDelay(
      "throttledFloorMs",
      options.throttledFloorMs ?? 10_000,
    );
    this.#random = options.random ?? Math.random;
  }

  /** How many delays were handed out since the last {@linkcode Backoff.reset}. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * The delay before the next retry; moves to the next attempt.
   *
   * @param hint Whether the server throttled us, and its `Retry-After`.
   * @returns The delay in milliseconds.
   */
  next(hint: BackoffHint = {}): number {
    // 2 ** attempt is Infinity from attempt 1024 on, and 0 * Infinity is NaN:
    // cap the exponent (2 ** 1023 is finite), and min() caps the product.
    const ceiling = Math.min(
      this.#maxMs,
      this.#initialMs * 2 ** Math.min(this.#attempt, 1023),
    );
    this.#attempt++;
    const jitter = this.#random() * ceiling;
    if (!hint.throttled && hint.retryAfterMs === undefined) return jitter;
    const floor = Math.max(
      hint.throttled ? this.#throttledFloorMs : 0,
      hint.retryAfterMs ?? 0,
    );
    return floor + jitter;
  }

  /** Starts over at attempt 0 (after a healthy connection). */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Reads an HTTP `Retry-After` header: delay-seconds or an HTTP date.
 *
 * @param value The header value (`null` when absent).
 * @param nowMs The current time, to turn a date into a delay.
 * @returns The delay in milliseconds (0 for a date in the past), or
 * `undefined` when the header is absent or unreadable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRetryAfter } from "@eventstreams/client";
 * assert.ok(parseRetryAfter("120", 0) === 120_000);
 * const now = Date.parse("Wed, 21 Oct 2026 07:28:00 GMT");
 * assert.ok(parseRetryAfter("Wed, 21 Oct 2026 07:28:30 GMT", now) === 30_000);
 * assert.ok(parseRetryAfter(null, now) === undefined);
 * ```
 */
export function parseRetryAfter(
  value: string | null,
  nowMs: number,
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  // Per RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds (1*DIGIT).
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form starts with a day name; Date.parse alone reads "-5" as a year.
  const at = /^[A-Za-z]{3}/.test(text) ? Date.parse(text) : NaN;
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

function checkDelay(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `Cannot use backoff ${name} ${value}: expected a finite number of milliseconds >= 0`,
    );
  }
  return value;
}
