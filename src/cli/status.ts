/**
 * The status line `eventstreams tail` keeps on stderr: events, rate, lag
 * behind real time, reconnects and the cursor. It never carries event data
 * and never goes to stdout.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { formatDuration } from "./duration.ts";

/** What the status line shows, read from the stream when it is drawn. */
export interface StatusSample {
  /** Events written so far. */
  events: number;
  /** Reconnections so far. */
  reconnects: number;
  /** The stream's cursor (`""` before any event). */
  cursor: string;
  /** `meta.dt` of the last event written. */
  lastEventDt?: string;
  /** More fields for the line, before the cursor (e.g. `batch 500 | leader` for `sink`). */
  extra?: string;
}

/**
 * Shortens a cursor for the status line: `topic/partition@offset` per
 * entry (`@latest` for -1, `@t=<ISO>` for timestamps), at most `maxLength`
 * characters.
 *
 * @param cursor A KafkaSSE id (`""` gives `-`).
 * @param maxLength Longest result.
 * @returns The summary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeCursor } from "./status.ts";
 *
 * assert.equal(
 *   summarizeCursor('[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":42},' +
 *     '{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]'),
 *   "eqiad.mediawiki.recentchange/0@42 codfw.mediawiki.recentchange/0@latest",
 * );
 * ```
 */
export function summarizeCursor(
  cursor: string,
  maxLength: number = 120,
): string {
  if (cursor === "") return "-";
  let entries: unknown;
  try {
    entries = JSON.parse(cursor);
  } catch {
    entries = undefined;
  }
  let text: string;
  if (Array.isArray(entries)) {
    text = entries.map((entry) => {
      const { topic, partition, offset, timestamp } = (entry ?? {}) as Record<
        string,
        unknown
      >;
      const at = typeof offset === "number"
        ? (offset < 0 ? "latest" : String(offset))
        : typeof timestamp === "number"
        ? `t=${new Date(timestamp).toISOString()}`
        : "?";
      return `${topic}/${partition}@${at}`;
    }).join(" ");
  } else {
    text = cursor;
  }
  return text.length > maxLength ? text.slice(0, maxLength - 1) + "…" : text;
}

/**
 * Computes status lines: the event rate since the previous line, and the
 * lag (now minus the last event's `meta.dt`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StatusMeter } from "./status.ts";
 *
 * const start = Date.parse("2026-09-27T16:00:00Z");
 * const meter = new StatusMeter(start);
 * const line = meter.render(
 *   { events: 50, reconnects: 1, cursor: "", lastEventDt: "2026-09-27T15:59:58Z" },
 *   start + 2_000,
 * );
 * assert.equal(line, "50 events | 25.0/s | lag 4.0s | 1 reconnect | cursor -");
 * ```
 */
export class StatusMeter {
  #lastAt: number;
  #lastEvents = 0;

  /**
   * Creates a meter.
   *
   * @param startMs When counting started.
   */
  constructor(startMs: number) {
    this.#lastAt = startMs;
  }

  /**
   * Renders one status line (no newline) and starts the next rate window.
   *
   * @param sample The current counters.
   * @param nowMs The current time.
   * @returns The line.
   */
  render(sample: StatusSample, nowMs: number): string {
    const elapsed = nowMs - this.#lastAt;
    const rate = elapsed > 0
      ? ((sample.events - this.#lastEvents) * 1000) / elapsed
      : 0;
    this.#lastAt = nowMs;
    this.#lastEvents = sample.events;
    const dt = sample.lastEventDt === undefined
      ? NaN
      : Date.parse(sample.lastEventDt);
    const lag = Number.isNaN(dt) ? "-" : formatDuration(nowMs - dt);
    const reconnects = `${sample.reconnects} reconnect${
      sample.reconnects === 1 ? "" : "s"
    }`;
    return `${sample.events} events | ${
      rate.toFixed(1)
    }/s | lag ${lag} | ${reconnects} | ${
      sample.extra === undefined ? "" : `${sample.extra} | `
    }cursor ${summarizeCursor(sample.cursor)}`;
  }
}

/** Options for {@linkcode StatusReporter}. */
export interface StatusReporterOptions {
  /** Writes text to stderr, synchronously. */
  write: (text: string) => void;
  /** Reads the counters. */
  sample: () => StatusSample;
  /** Redraw in place (terminal) instead of one line per update. */
  terminal: boolean;
  /** Whether stdout shares the terminal (then the line is cleared around output). */
  stdoutIsTerminal: boolean;
  /** Time source. */
  clock: Clock;
  /**
   * How often to redraw.
   *
   * @default 1000
   */
  intervalMs?: number;
  /**
   * The terminal's width. A line redrawn in place is cut to fit one row:
   * a line that wraps cannot be cleared.
   *
   * @default undefined (no limit)
   */
  columns?: () => number;
}

const CLEAR = "\r\x1b[2K";

/**
 * Draws the status line on stderr about once a second: in place on a
 * terminal (cleared around event output when stdout is the same terminal),
 * or as plain lines otherwise (`--status` with redirected stderr).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualClock } from "@eventstreams/client/testing";
 * import { StatusReporter } from "./status.ts";
 *
 * const clock = new ManualClock(Date.parse("2026-09-27T16:00:00Z"));
 * const written: string[] = [];
 * const reporter = new StatusReporter({
 *   write: (text) => written.push(text),
 *   sample: () => ({ events: 3, reconnects: 0, cursor: "" }),
 *   terminal: false,
 *   stdoutIsTerminal: false,
 *   clock,
 * });
 * reporter.start();
 * await clock.tick(1_000);
 * reporter.stop(); // A final line when stderr is not a terminal.
 * assert.deepEqual(written, [
 *   "3 events | 3.0/s | lag - | 0 reconnects | cursor -\n",
 *   "3 events | 0.0/s | lag - | 0 reconnects | cursor -\n",
 * ]);
 * ```
 */
export class StatusReporter {
  #options: StatusReporterOptions;
  #meter: StatusMeter;
  #cancel: (() => void) | undefined;
  #line = "";
  #drawn = false;

  /**
   * Creates a reporter; nothing is drawn before {@linkcode start}.
   *
   * @param options See {@linkcode StatusReporterOptions}.
   */
  constructor(options: StatusReporterOptions) {
    this.#options = options;
    this.#meter = new StatusMeter(options.clock.now());
  }

  /** Starts redrawing every `intervalMs`. */
  start(): void {
    if (this.#cancel) return;
    const schedule = () => {
      this.#cancel = this.#options.clock.setTimeout(() => {
        this.#update();
        schedule();
      }, this.#options.intervalMs ?? 1000);
    };
    schedule();
  }

  /**
   * Stops redrawing and leaves no timer. On a terminal the line is cleared;
   * otherwise a final line sums up the run. Later calls do nothing.
   */
  stop(): void {
    if (!this.#cancel) return;
    this.#cancel();
    this.#cancel = undefined;
    if (this.#options.terminal) this.#clear();
    else this.#update();
  }

  /** Call before writing to stdout: clears the line if stdout shares the terminal. */
  beforeOutput(): void {
    if (this.#options.stdoutIsTerminal) this.#clear();
  }

  /** Call after writing to stdout: redraws the line cleared by {@linkcode beforeOutput}. */
  afterOutput(): void {
    if (this.#options.stdoutIsTerminal) this.#redraw();
  }

  /**
   * Writes a message line to stderr without garbling the status line: on a
   * terminal the line is cleared first and redrawn below the message.
   *
   * @param text The message, without a newline.
   */
  note(text: string): void {
    this.#clear();
    this.#options.write(text + "\n");
    this.#redraw();
  }

  #redraw(): void {
    const o = this.#options;
    if (o.terminal && !this.#drawn && this.#line !== "" && this.#cancel) {
      o.write(this.#line);
      this.#drawn = true;
    }
  }

  #clear(): void {
    if (this.#drawn && this.#options.terminal) {
      this.#options.write(CLEAR);
      this.#drawn = false;
    }
  }

  #update(): void {
    const line = this.#meter.render(
      this.#options.sample(),
      this.#options.clock.now(),
    );
    if (this.#options.terminal) {
      const columns = this.#options.columns?.() ?? Infinity;
      // At most columns - 1 characters: some terminals wrap when the last column is written.
      this.#line = line.length < columns
        ? line
        : line.slice(0, Math.max(columns - 2, 0)) + "…";
      this.#options.write(CLEAR + this.#line);
      this.#drawn = true;
    } else {
      this.#options.write(line + "\n");
    }
  }
}
