/**
 * The one reading of a date-time text shared by the client, the CLI and the
 * emulator: an ISO-8601 date-time without an offset is UTC.
 *
 * @module
 */

/** An ISO-8601 date-time without `Z` or a UTC offset, `T` or a space between date and time. */
const NO_OFFSET = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;
/** An ISO-8601 date-time with `Z` or an offset, written with a space. */
const SPACED = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}.*)$/;

/**
 * Reads a date-time text as EventStreams does, in UTC. `Date.parse` reads an
 * ISO-8601 date-time without an offset (`2026-01-01T00:00`, or with a space,
 * `2026-01-01 00:00`) in the machine's local time zone; the server runs in
 * UTC, so such a text is read as UTC here (beyond ECMAScript: it pins the
 * server's time zone). A date alone is UTC already; a text with `Z` or an
 * offset keeps it; anything else goes to `Date.parse` unchanged.
 *
 * @param text A date-time text, e.g. a `since` value.
 * @returns Epoch milliseconds, or `NaN` when the text is not a date.
 *
 * @example A space instead of `T` is UTC too
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseUtcDateTime } from "./date_time.ts";
 *
 * assert.equal(parseUtcDateTime("2026-01-01 05:00"), Date.UTC(2026, 0, 1, 5));
 * assert.equal(parseUtcDateTime("2026-01-01T05:00:00+01:00"), Date.UTC(2026, 0, 1, 4));
 * assert.ok(Number.isNaN(parseUtcDateTime("yesterday")));
 * ```
 */
export function parseUtcDateTime(text: string): number {
  const local = NO_OFFSET.exec(text);
  if (local) return Date.parse(`${local[1]}T${local[2]}Z`);
  const spaced = SPACED.exec(text);
  return Date.parse(spaced ? `${spaced[1]}T${spaced[2]}` : text);
}
