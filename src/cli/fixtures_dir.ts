/**
 * Where the repository's fixtures are, for `eventstreams serve` and
 * `eventstreams demo` run from a checkout.
 *
 * @module
 */

/**
 * Finds the repository's fixtures directory (`../../fixtures/` from this
 * file), when this module runs from a local checkout.
 *
 * @returns The directory, or `undefined` (imported from JSR or HTTP, so no
 *   local fixtures, or the directory was removed).
 */
export async function findFixturesDir(): Promise<string | undefined> {
  const url = new URL("../../fixtures/", import.meta.url);
  if (url.protocol !== "file:") return undefined; // Imported from JSR or HTTP: no local fixtures.
  let path = decodeURIComponent(url.pathname);
  if (/^\/[A-Za-z]:/.test(path)) path = path.slice(1); // Windows drive letter.
  try {
    return (await Deno.stat(path)).isDirectory ? path : undefined;
  } catch {
    return undefined;
  }
}
