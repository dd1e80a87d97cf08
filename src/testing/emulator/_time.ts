/**
 * Internal: how the emulated server reads a date-time string.
 *
 * @module
 */

/** An ISO-8601 date-time without a UTC offset (`T` or a space between date and time). */
const ISO_LOCAL_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/;

/**
 * `Date.parse` as the server runs it: in UTC. `Date.parse` reads an ISO-8601
 * date-time without an offset in the local time zone of the machine, which
 * for the emulator is the developer's laptop, while production runs in UTC;
 * such a string is read as UTC here (beyond the spec: it pins the server's
 * time zone). Anything else goes to `Date.parse` unchanged.
 *
 * @param text The date-time text, e.g. a `since` query value.
 * @returns Epoch milliseconds, or `NaN` when the text is not a date.
 */
export function parseServerTime(text: string): number {
  return Date.parse(ISO_LOCAL_DATE_TIME.test(text) ? `${text}Z` : text);
}
