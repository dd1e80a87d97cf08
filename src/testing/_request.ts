/**
 * Internal: what a `fetch(input, init)` call asks for, read without
 * consuming the request (a `new Request(input, init)` would disturb a body).
 *
 * @module
 */

/** The parts of a fetch call that recording and replay look at. */
export interface FetchCall {
  /** The absolute URL, as `new URL()` serializes it. */
  url: string;
  /** The method, normalized like fetch does (`get` -> `GET`). */
  method: string;
  /** The request headers. */
  headers: Headers;
  /** The request's abort signal, if any. */
  signal: AbortSignal | undefined;
}

const NORMALIZED_METHODS = new Set([
  "DELETE",
  "GET",
  "HEAD",
  "OPTIONS",
  "POST",
  "PUT",
]);

/**
 * Reads the URL, method, headers and signal of a fetch call.
 *
 * @throws {TypeError} When the URL is not absolute or the headers are invalid.
 */
export function describeFetchCall(
  input: Request | URL | string,
  init?: RequestInit,
): FetchCall {
  const request = input instanceof Request ? input : undefined;
  const url = new URL(request ? request.url : String(input)).href;
  // Per Fetch spec: init.method and init.headers replace the Request's.
  let method = init?.method ?? request?.method ?? "GET";
  if (NORMALIZED_METHODS.has(method.toUpperCase())) {
    method = method.toUpperCase();
  }
  const headers = new Headers(init?.headers ?? request?.headers);
  const signal = init?.signal === undefined
    ? request?.signal
    : init.signal ?? undefined;
  return { url, method, headers, signal };
}

/** The error's message, or the value as text when it is not an Error. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** True when a fetch or body read failed because the caller aborted. */
export function isAbort(
  error: unknown,
  signal: AbortSignal | undefined,
): boolean {
  return signal?.aborted === true ||
    (error instanceof Error && error.name === "AbortError");
}
