/**
 * What the client does differently in a web browser (a page or a worker),
 * detected from the environment: there `fetch` follows CORS, and the
 * server's CORS policy allows only `accept, x-requested-with, content-type`
 * as request headers (PROTOCOL.md), so any other header makes the request
 * need a preflight that the server refuses, and the request fails as a bare
 * network error.
 *
 * @module
 */

/**
 * Whether this scope is a web browser's: a window (it has a `document`) or
 * a worker (`WorkerGlobalScope` with `importScripts`), and not Deno, Node
 * or Bun (which may define some of those names too).
 *
 * @param scope The global scope to look at.
 * @returns `true` in a browser.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBrowser } from "./_browser.ts";
 * assert.equal(isBrowser(globalThis), false); // Deno
 * assert.equal(isBrowser({ document: {}, navigator: {} }), true);
 * ```
 */
export function isBrowser(scope: object): boolean {
  const g = scope as Record<string, unknown>;
  const process = g.process as { versions?: { node?: unknown } } | undefined;
  if (
    "Deno" in g || "Bun" in g || typeof process?.versions?.node === "string"
  ) return false;
  const inWindow = typeof g.document === "object" && g.document !== null;
  const inWorker = typeof g.WorkerGlobalScope === "function" &&
    typeof g.importScripts === "function";
  return inWindow || inWorker;
}

/**
 * Request headers a page may send cross-origin without a preflight (per the
 * Fetch standard's CORS-safelisted request-headers), less `content-type`,
 * which a GET has no use for.
 */
const SAFELISTED = new Set(["accept", "accept-language", "content-language"]);

/**
 * The first header a browser could not send to EventStreams without a
 * preflight the server refuses, or `undefined` when all are safe.
 *
 * @param headers The request headers.
 * @returns The offending header name, as given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unsafeBrowserHeader } from "./_browser.ts";
 * assert.equal(unsafeBrowserHeader(new Headers({ "Api-User-Agent": "x" })), "api-user-agent");
 * assert.equal(unsafeBrowserHeader(new Headers({ "Accept-Language": "de" })), undefined);
 * ```
 */
export function unsafeBrowserHeader(headers: Headers): string | undefined {
  for (const [name] of headers) {
    if (!SAFELISTED.has(name)) return name;
  }
  return undefined;
}
