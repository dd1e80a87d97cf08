/**
 * Internal: the directory part of a file path, for the code that writes a
 * temporary file next to its target (the file checkpoint store, the CLI's
 * path checks).
 *
 * @module
 */

/**
 * The directory of `path`: everything before its last `/` or `\`, `.` for a
 * bare file name, the root for a file in it.
 *
 * @param path A file path.
 * @returns Its directory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dirname } from "./_dirname.ts";
 *
 * assert.equal(dirname("state/rc.cursor"), "state");
 * assert.equal(dirname("rc.cursor"), ".");
 * assert.equal(dirname("/rc.cursor"), "/");
 * ```
 */
export function dirname(path: string): string {
  const index = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (index < 0) return ".";
  if (index === 0) return path[0];
  return path.slice(0, index);
}
