/**
 * Internal: reading a dotted path (`performer.user_text`) from an event, for
 * the filters and the CLI's output.
 *
 * @module
 */

/**
 * Reads a dotted path (`performer.user_text`) from a JSON value.
 *
 * @param value The object to read.
 * @param path Dot-separated property names.
 * @returns The value there, or `undefined` when any step is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getPath } from "./_path.ts";
 *
 * assert.equal(getPath({ page: { namespace_id: 0 } }, "page.namespace_id"), 0);
 * assert.equal(getPath({ page: null }, "page.namespace_id"), undefined);
 * ```
 */
export function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
