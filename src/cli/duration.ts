/**
 * Durations and start times as people type them on a command line:
 * `30s`, `15m`, `2h`, `1d`, `1h30m`, and ISO 8601 date-times.
 *
 * @module
 */

import { parseUtcDateTime } from "../date_time.ts";
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const DURATION_HINT =
  "expected a number with a unit, like 30s, 15m, 2h or 1d (units: ms, s, m, h, d)";

/**
 * Parses a duration such as `30s`, `15m`, `2h`, `1d`, `500ms` or `1h30m`.
 *
 * @param text The duration text.
 * @param label How to name the value in an error message (a flag name).
 * @returns The duration in milliseconds (rounded to an integer).
 * @throws {TypeError} When `text` is not a duration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./duration.ts";
 *
 * assert.equal(parseDuration("15m"), 900_000);
 * assert.equal(parseDuration("1h30m"), 5_400_000);
 * assert.throws(() => parseDuration("15"), TypeError);
 * ```
 */
export function parseDuration(
  text: string,
  label: string = "duration",
): number {
  if (!DURATION.test(text)) {
    throw new TypeError(`Invalid ${label} '${text}': ${DURATION_HINT}`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  return Math.round(total);
}

/**
 * Formats milliseconds briefly for humans: `850ms`, `4.2s`, `3m05s`, `2h10m`, `3d4h`.
 *
 * @param ms A duration in milliseconds (negative values are shown as 0ms).
 * @returns The short text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./duration.ts";
 *
 * assert.equal(formatDuration(4_200), "4.2s");
 * assert.equal(formatDuration(185_000), "3m05s");
 * ```
 */
export function formatDuration(ms: number): string {
  if (!(ms > 0)) return "0ms";
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 3_600) {
    return `${Math.floor(seconds / 60)}m${
      String(seconds % 60).padStart(2, "0")
    }s`;
  }
  if (seconds < 86_400) {
    return `${Math.floor(seconds / 3_600)}h${
      String(Math.floor(seconds / 60) % 60).padStart(2, "0")
    }m`;
  }
  return `${Math.floor(seconds / 86_400)}d${Math.floor(seconds / 3_600) % 24}h`;
}

const ISO_DATE =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses a `--since` value: an ISO 8601 date or date-time (UTC when it has
 * no offset), or a duration meaning "that long before `nowMs`".
 *
 * @param text `2026-09-27T16:00:00Z`, `2026-09-27`, `2h`, `15m`, `30s`, `1d`, ...
 * @param nowMs The current time, for relative values.
 * @param label How to name the value in an error message.
 * @returns The start time.
 * @throws {TypeError} When `text` is neither.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSince } from "./duration.ts";
 *
 * const now = Date.parse("2026-09-27T12:00:00Z");
 * assert.equal(parseSince("2h", now).toISOString(), "2026-09-27T10:00:00.000Z");
 * assert.equal(parseSince("2026-09-27T08:30", now).toISOString(), "2026-09-27T08:30:00.000Z");
 * ```
 */
export function parseSince(
  text: string,
  nowMs: number,
  label: string = "--since",
): Date {
  if (DURATION.test(text)) return new Date(nowMs - parseDuration(text, label));
  if (ISO_DATE.test(text)) {
    const ms = parseUtcDateTime(text);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  throw new TypeError(
    `Invalid ${label} '${text}': expected an ISO 8601 date-time like 2026-09-27T16:00:00Z, ` +
      "or a duration before now like 30s, 15m, 2h or 1d",
  );
}
