/**
 * How long a connection may go without progress before it is presumed dead:
 * the pure rule behind `eventStream()`'s idle watchdog.
 *
 * Progress is a valid event that moves the cursor (handed over or dropped);
 * bytes alone are not: comments, `event: ping` frames, a `data:` line that
 * never ends and repeats of consumed events keep a zombie connection busy
 * without it delivering anything. Only time spent waiting on the server
 * counts, never time the consumer spends with an event.
 *
 * Beyond every peer: the bound adapts to the stream's own rhythm. The rate
 * of progress is measured over windows of {@linkcode RATE_WINDOW_MS}; once a
 * window holds at least {@linkcode MIN_WINDOW_EVENTS} events, the bound is
 * {@linkcode GAPS_BEFORE_IDLE} mean gaps of that window, never below
 * {@linkcode MIN_ADAPTIVE_IDLE_MS} nor above the static bound (the
 * per-stream default). A window with fewer events puts the static bound
 * back. So a stream delivering 10 events/s or more that goes silent is
 * dropped after 5 s, while a sparse stream keeps its long static bound.
 *
 * @module
 */

/** Length of the windows the rate of progress is measured over. */
export const RATE_WINDOW_MS = 10_000;
/** Fewest events in a window for its rate to shorten the bound. */
export const MIN_WINDOW_EVENTS = 50;
/** The adaptive bound, in mean gaps between events. */
export const GAPS_BEFORE_IDLE = 50;
/** The adaptive bound's floor. */
export const MIN_ADAPTIVE_IDLE_MS = 5_000;

/** Options of {@linkcode IdleWatchdog}. */
export interface IdleWatchdogOptions {
  /** The static bound: the most silence ever allowed, in milliseconds. */
  ceilingMs: number;
  /** Let the stream's rate shorten the bound (off when the caller set `idleTimeoutMs`). */
  adaptive: boolean;
}

/**
 * The idle budget of a session. The connection loop reports time spent
 * waiting for bytes ({@linkcode IdleWatchdog.waited}) and progress
 * ({@linkcode IdleWatchdog.progress}); {@linkcode IdleWatchdog.remainingMs}
 * says how long the next wait may last.
 *
 * @example A busy stream that stalls is dropped after 5 s
 * ```ts
 * import assert from "node:assert/strict";
 * import { IdleWatchdog } from "./watchdog.ts";
 *
 * const watchdog = new IdleWatchdog({ ceilingMs: 60_000, adaptive: true });
 * assert.equal(watchdog.remainingMs, 60_000);
 * for (let t = 0; t <= 10_000; t += 50) watchdog.progress(1, t); // 20 events/s
 * assert.equal(watchdog.boundMs, 5_000);
 * watchdog.waited(3_000); // bytes, but no event
 * assert.equal(watchdog.remainingMs, 2_000);
 * ```
 */
export class IdleWatchdog {
  readonly #ceilingMs: number;
  readonly #adaptive: boolean;
  #boundMs: number;
  /** Time spent waiting on the server since the last progress. */
  #idleMs = 0;
  #windowStartMs: number | undefined;
  #windowEvents = 0;

  /**
   * Starts with the static bound.
   *
   * @param options The static bound and whether the rate may shorten it.
   */
  constructor(options: IdleWatchdogOptions) {
    this.#ceilingMs = options.ceilingMs;
    this.#adaptive = options.adaptive;
    this.#boundMs = options.ceilingMs;
  }

  /** The current bound on silence, in milliseconds. */
  get boundMs(): number {
    return this.#boundMs;
  }

  /** How long the next wait for bytes may last before the connection is dropped. */
  get remainingMs(): number {
    return Math.max(0, this.#boundMs - this.#idleMs);
  }

  /**
   * Counts time spent waiting on the server without progress.
   *
   * @param ms The length of the wait.
   */
  waited(ms: number): void {
    this.#idleMs += ms;
  }

  /**
   * Records progress: `events` events moved the cursor at `nowMs`. Resets
   * the idle time and, when a rate window closes, the bound.
   *
   * @param events How many events moved the cursor (0 is no progress).
   * @param nowMs The time of the progress.
   */
  progress(events: number, nowMs: number): void {
    if (events <= 0) return;
    this.#idleMs = 0;
    if (!this.#adaptive) return;
    if (this.#windowStartMs === undefined) {
      this.#windowStartMs = nowMs;
      return; // The window counts the gaps after its first event.
    }
    this.#windowEvents += events;
    const elapsed = nowMs - this.#windowStartMs;
    if (elapsed < RATE_WINDOW_MS) return;
    this.#boundMs = this.#windowEvents < MIN_WINDOW_EVENTS
      ? this.#ceilingMs
      : Math.min(
        this.#ceilingMs,
        Math.max(
          MIN_ADAPTIVE_IDLE_MS,
          GAPS_BEFORE_IDLE * elapsed / this.#windowEvents,
        ),
      );
    this.#windowStartMs = nowMs;
    this.#windowEvents = 0;
  }

  /** A new connection: the idle time starts over, the learnt rhythm stays. */
  reconnected(): void {
    this.#idleMs = 0;
  }
}
