/**
 * Error classes thrown by the library. Each names what happened, the
 * offending value, and what to do about it.
 *
 * @module
 */

/**
 * The byte stream is not a usable Server-Sent Events stream, for example a
 * frame longer than {@linkcode SseParseStreamOptions.maxFrameBytes}.
 *
 * @example Catching a parse error
 * ```ts
 * import assert from "node:assert/strict";
 * import { SseParseError } from "@eventstreams/client";
 * const error = new SseParseError("Cannot parse frame: it exceeds maxFrameBytes (8388608)");
 * assert.ok(error.name === "SseParseError");
 * ```
 */
export class SseParseError extends Error {
  /**
   * Creates an SseParseError.
   *
   * @param message What went wrong, with the offending value.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SseParseError";
  }
}

/**
 * A text that should be a KafkaSSE event id (a `Last-Event-ID` value) is not
 * one. The message quotes the offending text.
 *
 * @example Catching a cursor error
 * ```ts
 * import assert from "node:assert/strict";
 * import { CursorError } from "@eventstreams/client";
 * const error = new CursorError("Cannot parse Last-Event-ID: expected a JSON array, got 'abc'");
 * assert.ok(error.name === "CursorError");
 * ```
 */
export class CursorError extends Error {
  /**
   * Creates a CursorError.
   *
   * @param message What went wrong, quoting the offending text.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CursorError";
  }
}

/**
 * The server answered with something other than a 200 event stream. Thrown
 * from the iteration when retrying cannot fix it (400, 404, other 4xx, a
 * response that is not an event stream); passed to `onError` for the 429s and
 * 5xx that the client retries. Carries the status and body.
 *
 * @example Inspecting an HTTP error
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventStreamsHttpError } from "@eventstreams/client";
 * const error = new EventStreamsHttpError(
 *   "https://stream.wikimedia.org/v2/stream/nope",
 *   400,
 *   '{"status":400,"type":"not_found","title":"Stream Not Found"}',
 * );
 * assert.ok(error.status === 400);
 * assert.ok(error.message.includes("Stream Not Found"));
 * ```
 */
export class EventStreamsHttpError extends Error {
  /** The HTTP status code of the response. */
  readonly status: number;
  /** The response body as text (truncated to 4 KiB). */
  readonly body: string;
  /** The URL that was requested. */
  readonly url: string;

  /**
   * Creates an EventStreamsHttpError.
   *
   * @param url The URL that was requested.
   * @param status The HTTP status of the response.
   * @param body The response body as text.
   * @param options Standard error options (`cause`).
   */
  constructor(
    url: string,
    status: number,
    body: string,
    options?: ErrorOptions,
  ) {
    const shown = body.length > 4096 ? body.slice(0, 4096) + "…" : body;
    super(
      `EventStreams answered ${status} for ${url}: ${summarizeBody(shown)}`,
      options,
    );
    this.name = "EventStreamsHttpError";
    this.status = status;
    this.body = shown;
    this.url = url;
  }
}

/** Picks the server's `title` and `detail` out of a JSON error body, else the raw text. */
function summarizeBody(body: string): string {
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed === "object") {
      const parts = [parsed.title, parsed.detail].filter((p) =>
        typeof p === "string" && p
      );
      if (parts.length > 0) return parts.join(": ");
    }
  } catch {
    // Not JSON: show the text as it is.
  }
  return body.trim() === "" ? "(empty body)" : body.trim();
}

/**
 * Thrown from the iteration in a browser when every attempt to connect fails
 * as a bare network error before any event arrived: the browser refused the
 * request (a CORS preflight the server rejects, a Content-Security-Policy
 * that blocks the origin, a blocked mixed-content URL) or the network is
 * down. Browsers do not say which; the message lists what to check.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventStreamsRefusedError } from "@eventstreams/client";
 * const error = new EventStreamsRefusedError("https://stream.wikimedia.org/v2/stream/test", 4);
 * assert.equal(error.attempts, 4);
 * assert.match(error.message, /CORS/);
 * ```
 */
export class EventStreamsRefusedError extends Error {
  /** The URL that was requested. */
  readonly url: string;
  /** How many requests failed in a row. */
  readonly attempts: number;

  /**
   * Creates an EventStreamsRefusedError.
   *
   * @param url The URL that was requested.
   * @param attempts How many requests failed in a row.
   * @param options Standard error options (`cause`: the last network error).
   */
  constructor(url: string, attempts: number, options?: ErrorOptions) {
    super(
      `Cannot connect to ${url} from this page: the browser refused all ${attempts} requests before any event ` +
        "(a cross-origin request the server's CORS policy blocks, a Content-Security-Policy connect-src " +
        "that leaves the origin out, mixed content, or no network; the browser does not say which). " +
        "The client sends only CORS-safelisted headers from a browser; check baseUrl, the page's " +
        "Content-Security-Policy and the browser's network panel",
      options,
    );
    this.name = "EventStreamsRefusedError";
    this.url = url;
    this.attempts = attempts;
  }
}
