/**
 * How error messages show offending values (internal): strings in single
 * quotes, other values as JSON, everything truncated to 200 characters.
 *
 * @module
 */

const MAX_SHOWN = 200;

/** Quotes offending text for a message, truncated to 200 characters. */
export function quote(text: string): string {
  return text.length > MAX_SHOWN
    ? `'${text.slice(0, MAX_SHOWN)}…' (${text.length} characters)`
    : `'${text}'`;
}

/** Shows any value in a message: quoted text, JSON where possible, truncated. */
export function show(value: unknown): string {
  if (typeof value === "string") return quote(value);
  if (typeof value === "function") return "a function";
  let text: string;
  if (value === undefined) text = "undefined";
  else if (typeof value === "number" || typeof value === "bigint") {
    text = String(value);
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}
