/**
 * The options of {@linkcode eventStream}, their hooks' payloads and the
 * checks that turn them into a {@linkcode Config} before any request.
 *
 * @module
 */
import type { BackoffOptions } from "./backoff.ts";
import { type Clock, systemClock } from "./clock.ts";
import { Cursor } from "./cursor.ts";
import { parseUtcDateTime } from "./date_time.ts";
import type { EventFilter } from "./filter.ts";
import type { SseFrame } from "./sse/decoder.ts";
import { defaultIdleTimeoutMs, resolveStreamName } from "./streams.ts";
import type { EventStreamsEvent, HeadersLike } from "./types.ts";
import { isBrowser, unsafeBrowserHeader } from "./_browser.ts";
import { quote, show } from "./_show.ts";
const LIBRARY_TOKEN = "eventstreams/0.1.0";
const POLICY_URL =
  "https://foundation.wikimedia.org/wiki/Policy:Wikimedia_Foundation_User-Agent_Policy";
const USER_AGENT_SHAPE = "'<tool>/<version> (<contact: url or email>)'";
const USER_AGENT_EXAMPLE =
  "'MyBot/1.0 (https://example.org/mybot; mybot@example.org)'";
/** Below this, a `since` number is surely seconds, not milliseconds (1e11 ms is March 1973). */
const SECONDS_LIMIT = 1e11;

/**
 * The `fetch` the client calls: `fetch(url, { headers, signal })`. The global
 * `fetch` is one; tests pass a scripted one, recorders wrap the real one.
 *
 * @example A fetch that logs each request
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FetchFunction } from "@eventstreams/client";
 * const logged: FetchFunction = (url, init) => {
 *   console.log("GET", url);
 *   return fetch(url, init);
 * };
 * assert.ok(typeof logged === "function");
 * ```
 */
export type FetchFunction = (
  input: string,
  init: RequestInit,
) => Promise<Response>;

/**
 * Why a connection ended (or never opened):
 * `"eof"` the server ended the body (the 15-minute cut);
 * `"network"` the request or the body read failed;
 * `"idle-timeout"` no progress (no event that moves the cursor) within the
 * idle bound, or no response headers within `headersTimeoutMs`;
 * `"max-connection-age"` the connection reached `maxConnectionMs`;
 * `"error-event"` the server sent `event: error`;
 * `"http"` a 429 or 5xx answer;
 * `"closed"` {@linkcode EventStream.close} (or `break`);
 * `"aborted"` the caller's `signal`;
 * `"failed"` an error ended the iteration (thrown from the iterator);
 * `"resume-gap"` (browsers only) the connection started a partition past
 * the cursor, so the client resumes from an earlier `since`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DisconnectReason } from "@eventstreams/client";
 * const planned = (reason: DisconnectReason): boolean =>
 *   reason === "eof" || reason === "max-connection-age";
 * assert.ok(planned("max-connection-age") && !planned("idle-timeout"));
 * ```
 */
export type DisconnectReason =
  | "eof"
  | "network"
  | "idle-timeout"
  | "max-connection-age"
  | "error-event"
  | "http"
  | "closed"
  | "aborted"
  | "failed"
  | "resume-gap";

/**
 * The kinds of errors counted in {@linkcode EventStreamStats.errors}:
 * `"network"`, `"http"` (any non-200 or non-event-stream answer),
 * `"idle-timeout"`, `"error-event"`, `"invalid-json"` (a frame's data is not
 * JSON), `"invalid-event"` (JSON without a `meta` holding a topic of the
 * connection, and a partition and offset that are safe integers >= 0),
 * `"invalid-id"` (a frame's id is not a KafkaSSE id), `"protocol"` (the body
 * is not a usable event stream, e.g. an oversized frame), `"missing-topics"`
 * (not an error but a notice: the cursor lacked topics of the requested
 * streams, which the client added; the message says which and from when).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EventStreamErrorKind } from "@eventstreams/client";
 * const badData: EventStreamErrorKind[] = ["invalid-json", "invalid-event", "invalid-id"];
 * assert.ok(badData.length === 3);
 * ```
 */
export type EventStreamErrorKind =
  | "network"
  | "http"
  | "idle-timeout"
  | "error-event"
  | "invalid-json"
  | "invalid-event"
  | "invalid-id"
  | "protocol"
  | "missing-topics";

/**
 * Passed to {@linkcode EventStreamOptions.onConnect} once a response is a 200 event stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ConnectInfo } from "@eventstreams/client";
 * const show = (info: ConnectInfo): string =>
 *   `#${info.connection} ${info.url}${info.lastEventId ? " (resuming)" : ""}`;
 * assert.ok(show({ connection: 1, url: "u", lastEventId: undefined, status: 200 }) === "#1 u");
 * ```
 */
export interface ConnectInfo {
  /** The 1-based number of this request within the stream's life. */
  connection: number;
  /** The requested URL. */
  url: string;
  /** The `Last-Event-ID` sent, or `undefined` for a fresh start. */
  lastEventId: string | undefined;
  /** The response status (200). */
  status: number;
}

/**
 * Passed to {@linkcode EventStreamOptions.onDisconnect} when an opened connection ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DisconnectInfo } from "@eventstreams/client";
 * const show = (info: DisconnectInfo): string => `#${info.connection} ended: ${info.reason}`;
 * assert.ok(show({ connection: 2, reason: "eof", durationMs: 900_000, events: 12 }) === "#2 ended: eof");
 * ```
 */
export interface DisconnectInfo {
  /** The number of the connection that ended (as in {@linkcode ConnectInfo}). */
  connection: number;
  /** Why it ended. */
  reason: DisconnectReason;
  /** How long it was open, in milliseconds of the injected clock. */
  durationMs: number;
  /** How many valid event frames it carried (handed over or dropped). */
  events: number;
}

/**
 * Passed to {@linkcode EventStreamOptions.onRetry} before waiting to reconnect.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RetryInfo } from "@eventstreams/client";
 * const show = (info: RetryInfo): string => `retry ${info.attempt} in ${Math.round(info.delayMs)} ms (${info.reason})`;
 * assert.ok(show({ attempt: 1, delayMs: 10_000, reason: "http", status: 429 }) === "retry 1 in 10000 ms (http)");
 * ```
 */
export interface RetryInfo {
  /** The 1-based retry number since the last healthy connection. */
  attempt: number;
  /** How long the client waits before the next request, in milliseconds. */
  delayMs: number;
  /** Why the previous connection ended. */
  reason: DisconnectReason;
  /** The HTTP status, when the reason is `"http"`. */
  status?: number;
}

/**
 * Passed to {@linkcode EventStreamOptions.onError} with each error the stream survives.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ErrorContext } from "@eventstreams/client";
 * const show = (error: Error, context: ErrorContext): string => `[${context.kind}] ${error.message}`;
 * assert.ok(show(new Error("x"), { kind: "network", connection: 1, url: "u" }) === "[network] x");
 * ```
 */
export interface ErrorContext {
  /** What kind of error it was (also the key counted in stats). */
  kind: EventStreamErrorKind;
  /** The number of the connection it happened on. */
  connection: number;
  /** The requested URL. */
  url: string;
  /** The offending frame, for frame-level errors. */
  frame?: SseFrame;
}

/**
 * Counters of an {@linkcode EventStream}, as a snapshot.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EventStreamStats } from "@eventstreams/client";
 * const errorCount = (stats: EventStreamStats): number =>
 *   Object.values(stats.errors).reduce((sum, n) => sum + n, 0);
 * assert.ok(typeof errorCount === "function");
 * ```
 */
export interface EventStreamStats {
  /** Events handed to the caller. */
  events: number;
  /** Body bytes received (all connections). */
  bytes: number;
  /** Connections opened (200 event-stream responses). */
  connections: number;
  /** Retries scheduled (each followed by a new request). */
  reconnects: number;
  /** Events dropped as already delivered: below the cursor, or a `meta.id` seen recently. */
  duplicates: number;
  /**
   * Canary events dropped (see {@linkcode EventStreamOptions.canary}); one
   * that a prefilter rejected unparsed counts as `filtered`.
   */
  canaryDropped: number;
  /** Events the {@linkcode EventStreamOptions.filter} rejected. */
  filtered: number;
  /** Frames of event types other than `message` and `error`, ignored. */
  ignoredFrames: number;
  /** Errors by kind, recovered from or not. */
  errors: Record<EventStreamErrorKind, number>;
  /** When the last event was handed to the caller (epoch ms of the injected clock). */
  lastEventAt: number | undefined;
}

/**
 * Options of {@linkcode eventStream}.
 *
 * @typeParam E The event type the stream yields.
 *
 * @example Options of a resumable bot
 * ```ts
 * import assert from "node:assert/strict";
 * import { byWiki, type EventStreamOptions, type RecentChangeEvent } from "@eventstreams/client";
 * const options: EventStreamOptions<RecentChangeEvent> = {
 *   userAgent: "MyBot/1.0 (https://example.org/mybot; mybot@example.org)",
 *   cursor: undefined, // or a saved stream.cursor
 *   since: "2026-01-01T00:00:00Z",
 *   filter: byWiki("enwiki"),
 *   onRetry: ({ attempt, delayMs, reason }) => console.log(`retry ${attempt} in ${delayMs} ms: ${reason}`),
 * };
 * assert.ok(options.userAgent.startsWith("MyBot/"));
 * ```
 */
export interface EventStreamOptions<E = EventStreamsEvent> {
  /**
   * Who you are, as Wikimedia's User-Agent policy requires
   * (https://foundation.wikimedia.org/wiki/Policy:Wikimedia_Foundation_User-Agent_Policy):
   * `<tool>/<version> (<contact: url or email>)`, optionally followed by
   * library tokens, e.g. `MyBot/1.0 (https://example.org/mybot; mybot@example.org)`.
   * The client appends its own token `eventstreams/0.1.0`. Missing or
   * generic agents (`curl/8`, `Mozilla/5.0 ...`, `node`, `Deno/2`) are
   * rejected with a TypeError before any request: the server rate-limits,
   * then blocks them. In a browser it is checked but not sent: a page cannot
   * set `User-Agent` (Chromium drops it; Firefox sends it, and the server's
   * CORS preflight then refuses the request), and the browser identifies
   * itself.
   */
  userAgent: string;
  /**
   * Start at this time instead of live: a `Date`, an ISO-8601 string (UTC
   * unless it has an offset), or epoch milliseconds. Sent as ISO-8601 UTC. Ignored when a cursor is known
   * (the `cursor` option, or after the first event). The server keeps about 7
   * days; older starts at the oldest retained event.
   *
   * @default {undefined} (live)
   */
  since?: Date | string | number;
  /**
   * Resume from this cursor (a saved {@linkcode EventStream.cursor} or a
   * {@linkcode Cursor}). Wins over `since`. An empty string counts as absent.
   *
   * @default {undefined}
   */
  cursor?: string | Cursor;
  /**
   * The server's base URL (a path prefix is kept).
   *
   * @default {"https://stream.wikimedia.org"}
   */
  baseUrl?: string;
  /**
   * The fetch to use (inject one to record, replay or test). A rejection
   * with a `TypeError` is a network error, retried; any other rejection ends
   * the stream with it.
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchFunction;
  /**
   * Ends the stream: a pending `next()` rejects with the signal's reason
   * (like `fetch`), and the connection is released.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * How long a connection may go without progress before it is presumed
   * dead, aborted and resumed from the cursor. Progress is a valid event that
   * moves the cursor (handed over or dropped); bytes alone (comments, pings,
   * an unfinished line, repeats of consumed events) are not. Only time spent
   * waiting on the server counts. The server sends no heartbeats, so this
   * must exceed the stream's quietest normal gap.
   *
   * Unset, the bound adapts to the stream's rhythm: the per-stream default
   * is the ceiling, and a stream that has been delivering 10 events/s or
   * more is dropped after 5 s of silence (50 mean gaps of the last 10 s
   * window with 50 events or more, at least 5 s). Set, it is the fixed bound.
   *
   * @default {defaultIdleTimeoutMs(streams)} (60 s for busy streams, longer for sparse ones), adaptive
   */
  idleTimeoutMs?: number;
  /**
   * How long the server may take to answer a request with its response
   * headers before the attempt is dropped and retried.
   *
   * @default {30_000}
   */
  headersTimeoutMs?: number;
  /**
   * Reconnect (from the cursor) after this long, before the edge's
   * 15-minute cut does it less cleanly.
   *
   * @default {840_000} (14 minutes)
   */
  maxConnectionMs?: number;
  /**
   * Reconnect delays.
   *
   * @default {{ initialMs: 1_000, maxMs: 60_000, throttledFloorMs: 10_000, random: Math.random }}
   */
  backoff?: BackoffOptions;
  /**
   * Keep canary events (`meta.domain === "canary"`), the server's synthetic
   * monitoring events.
   *
   * @default {false}
   */
  canary?: boolean;
  /**
   * Drop events whose `meta.id` was seen among the last N events (`true`
   * means N = 10_000; a number sets N). Events below the cursor are always
   * dropped, whatever this says.
   *
   * @default {true}
   */
  dedupe?: boolean | number;
  /**
   * Keep only events for which this returns `true`. Rejected events still
   * move the cursor, so they never come back. If it throws, the iteration
   * ends with that error.
   *
   * When the filter carries a `prefilter` (the library's `byWiki`,
   * `byDomain`, `byType`, `byNamespace`, `byBot` and their `allOf`/`anyOf`
   * do), events it rejects on their raw text are dropped without parsing
   * them in full: only their `meta` is read, so the cursor moves exactly.
   *
   * @default {undefined} (keep all)
   */
  filter?: EventFilter<E>;
  /**
   * A test on each event's raw JSON text (the frame's `data`), run before
   * the full `JSON.parse`: `false` drops the event unparsed (counted as
   * filtered; its `meta` alone is read, so the cursor still moves past it).
   * Return `false` only for events you surely do not want, e.g.
   * `(text) => text.includes('"enwiki"')`. Combined with the filter's own
   * `prefilter`, if any: both must pass.
   *
   * @default {undefined}
   */
  prefilter?: (text: string) => boolean;
  /**
   * The source of time and timers (tests inject a manual clock).
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /**
   * Extra request headers. `Accept` and `User-Agent` are the client's and
   * override these; `Last-Event-ID` is refused with a TypeError (pass it as
   * `cursor`). In a browser only CORS-safelisted ones (`Accept-Language`,
   * `Content-Language`) are allowed, others (`Api-User-Agent` too) are
   * refused with a TypeError: the server's CORS preflight would refuse the
   * request.
   *
   * @default {undefined}
   */
  headers?: HeadersLike;
  /**
   * Allow stream names this library does not know (they are sent as given
   * and yield {@linkcode EventStreamsEvent}).
   *
   * @default {false}
   */
  allowUnknownStreams?: boolean;
  /**
   * Called when a connection opens (a 200 event stream).
   *
   * @default {undefined}
   */
  onConnect?: (info: ConnectInfo) => void;
  /**
   * Called when an opened connection ends, with the reason.
   *
   * @default {undefined}
   */
  onDisconnect?: (info: DisconnectInfo) => void;
  /**
   * Called before waiting to reconnect, with the delay.
   *
   * @default {undefined}
   */
  onRetry?: (info: RetryInfo) => void;
  /**
   * Called for each error the stream survives: network errors, 429/5xx,
   * idle timeouts, `event: error`, and frames it skips (data not JSON,
   * not an event, id not a KafkaSSE id). Errors that end the iteration are
   * thrown from it instead.
   *
   * @default {undefined}
   */
  onError?: (error: Error, context: ErrorContext) => void;
}

// ---------------------------------------------------------------------------
// Checked configuration
// ---------------------------------------------------------------------------

/** The checked options of one stream (internal). */
export interface Config {
  path: string;
  /** The canonical names of the requested streams. */
  streams: string[];
  /** The caller's `since`, epoch milliseconds (kept when a cursor is given: it places missing topics). */
  sinceMs: number | undefined;
  cursor: Cursor | undefined;
  fetch: FetchFunction;
  clock: Clock;
  idleTimeoutMs: number;
  /** The caller left `idleTimeoutMs` unset: the watchdog adapts to the rate. */
  idleAdaptive: boolean;
  headersTimeoutMs: number;
  maxConnectionMs: number;
  canary: boolean;
  dedupeWindow: number;
  /** The caller's prefilter and the filter's, combined. */
  prefilter: ((text: string) => boolean) | undefined;
  headers: Headers;
  /** In a browser: resume by since, send only CORS-safelisted headers. */
  browser: boolean;
  options: EventStreamOptions<EventStreamsEvent>;
}

/**
 * Checks the arguments of `eventStream()` before any request (internal).
 *
 * @param streams The stream names or aliases.
 * @param options The caller's options.
 * @returns The checked configuration.
 */
export function resolveConfig(
  streams: string | readonly string[],
  options: EventStreamOptions<EventStreamsEvent>,
): Config {
  const userAgent = checkUserAgent(options?.userAgent);
  const list = typeof streams === "string" ? [streams] : streams;
  if (
    !Array.isArray(list) || list.length === 0 ||
    list.some((s) => typeof s !== "string")
  ) {
    throw new TypeError(
      `Cannot open eventStream: expected a stream name or a non-empty array of names, got ${
        show(streams)
      }`,
    );
  }
  const allowUnknown = options.allowUnknownStreams === true;
  const names = [
    ...new Set(list.map((name) => resolveStreamName(name, { allowUnknown }))),
  ];
  const baseUrl = options.baseUrl ?? "https://stream.wikimedia.org";
  if (!/^https?:\/\/[^/]/i.test(baseUrl) || !URL.canParse(baseUrl)) {
    throw new TypeError(
      `Cannot use baseUrl ${
        show(baseUrl)
      }: expected an absolute http(s) URL such as 'https://stream.wikimedia.org'`,
    );
  }
  const cursor = options.cursor instanceof Cursor
    ? options.cursor.clone()
    : options.cursor
    ? Cursor.parse(options.cursor)
    : undefined;
  if (cursor && cursor.entries.length === 0) {
    throw new TypeError(
      "Cannot resume from an empty cursor '[]': pass a cursor with entries, or omit it to start live or at since",
    );
  }
  const fetchFn = options.fetch ??
    ((input: string, init: RequestInit) => globalThis.fetch(input, init));
  if (typeof fetchFn !== "function") {
    throw new TypeError(
      `Cannot use fetch ${show(fetchFn)}: expected a function`,
    );
  }
  if (options.filter !== undefined && typeof options.filter !== "function") {
    throw new TypeError(
      `Cannot use filter ${
        show(options.filter)
      }: expected a function (event) => boolean`,
    );
  }
  const dedupe = options.dedupe ?? true;
  const dedupeWindow = dedupe === true ? 10_000 : dedupe === false ? 0 : dedupe;
  if (!Number.isInteger(dedupeWindow) || dedupeWindow < 0) {
    throw new RangeError(
      `Cannot use dedupe ${
        show(dedupe)
      }: expected true, false or a window size (a positive integer)`,
    );
  }
  // Checked even when a cursor makes it unused: a wrong since is a bug either way.
  const sinceMs = sinceToMs(options.since);
  const headers = new Headers(options.headers);
  const stray = headers.get("Last-Event-ID");
  if (stray !== null) {
    // Sent as is, it would resume the first request from an id the client
    // never advances (and the client would think it started fresh).
    throw new TypeError(
      `Cannot send headers with Last-Event-ID ${
        quote(stray)
      }: pass it as the cursor option instead, ` +
        "which the client sends and advances itself",
    );
  }
  const browser = isBrowser(globalThis);
  const unsafe = browser ? unsafeBrowserHeader(headers) : undefined;
  if (unsafe !== undefined) {
    throw new TypeError(
      `Cannot send header ${
        quote(unsafe)
      } from a browser: EventStreams allows only accept, x-requested-with and content-type ` +
        "in cross-origin requests, so the CORS preflight would fail and the request with it; " +
        "remove it (the browser sends its own User-Agent)",
    );
  }
  headers.set("Accept", "text/event-stream");
  // Per PROTOCOL.md: a page cannot set User-Agent; Firefox would send it and fail the preflight.
  if (!browser) headers.set("User-Agent", userAgent);
  return {
    path: `${baseUrl.replace(/\/+$/, "")}/v2/stream/${
      names.map(encodeURIComponent).join(",")
    }`,
    streams: names,
    sinceMs,
    cursor,
    fetch: fetchFn,
    clock: options.clock ?? systemClock,
    idleTimeoutMs: checkDuration(
      "idleTimeoutMs",
      options.idleTimeoutMs ?? defaultIdleTimeoutMs(names),
    ),
    idleAdaptive: options.idleTimeoutMs === undefined,
    headersTimeoutMs: checkDuration(
      "headersTimeoutMs",
      options.headersTimeoutMs ?? 30_000,
    ),
    maxConnectionMs: checkDuration(
      "maxConnectionMs",
      options.maxConnectionMs ?? 840_000,
    ),
    canary: options.canary ?? false,
    dedupeWindow,
    prefilter: combinePrefilters(options.prefilter, options.filter?.prefilter),
    headers,
    browser,
    options,
  };
}

/** Per Wikimedia's User-Agent policy: `<tool>/<version> (<contact>)` then optional `<library>/<version>` tokens. */
const AGENT_FORMAT =
  /^([A-Za-z0-9][\w.+-]*)\/([\w.+-]+) \(([^()]+)\)( [\w.+-]+\/[\w.+-]+(?: \([^()]*\))?)*$/;
const CONTACT = /https?:\/\/\S+|[^\s@;()<>]+@[^\s@;()<>]+\.[^\s@;()<>]+/i;
/** Tool names of browsers, runtimes, HTTP libraries and command-line clients: not a tool of yours. */
const GENERIC_TOOLS = new Set([
  "mozilla",
  "curl",
  "wget",
  "node",
  "nodejs",
  "node-fetch",
  "undici",
  "deno",
  "bun",
  "axios",
  "got",
  "python",
  "python-requests",
  "python-urllib",
  "aiohttp",
  "httpx",
  "go-http-client",
  "okhttp",
  "java",
  "libwww-perl",
  "ruby",
  "postman",
  "postmanruntime",
  "insomnia",
  "httpie",
  "eventstreams",
]);

function checkUserAgent(value: unknown): string {
  const policy =
    `Wikimedia's User-Agent policy (${POLICY_URL}) requires ${USER_AGENT_SHAPE}, ` +
    `for example ${USER_AGENT_EXAMPLE}`;
  if (typeof value !== "string" || value.trim() === "") {
    throw new TypeError(
      `Cannot open eventStream without options.userAgent (got ${
        show(value)
      }): ${policy}`,
    );
  }
  const agent = value.trim();
  const match = AGENT_FORMAT.exec(agent);
  const tool = (match?.[1] ?? agent.split(/[/\s]/, 1)[0]).toLowerCase();
  if (GENERIC_TOOLS.has(tool)) {
    throw new TypeError(
      `Cannot use userAgent '${agent}': it names a generic client, not your tool; ${policy}`,
    );
  }
  if (!match) {
    // Name what is missing: "MyBot (me@example.org)" lacks the version, not a contact.
    const missing = !/^[^\s/()]+\/[^\s/()]+/.test(agent)
      ? "a /version after the tool name"
      : !/\([^()]*\)/.test(agent)
      ? "a contact url or email in parentheses"
      : "the shape";
    throw new TypeError(
      `Cannot use userAgent '${agent}': it lacks ${missing}; ${policy}`,
    );
  }
  if (!CONTACT.test(match[3])) {
    throw new TypeError(
      `Cannot use userAgent '${agent}': it lacks a contact url or email in parentheses; ${policy}`,
    );
  }
  return agent.includes(" eventstreams/") ? agent : `${agent} ${LIBRARY_TOKEN}`;
}

/** Reads the `since` option as epoch milliseconds (sent as ISO-8601 UTC). */
function sinceToMs(
  since: Date | string | number | undefined,
): number | undefined {
  if (since === undefined) return undefined;
  let ms: number;
  if (since instanceof Date) {
    ms = since.getTime();
    if (Number.isNaN(ms)) {
      throw new RangeError("Cannot use since: the Date is invalid");
    }
  } else if (typeof since === "number") {
    if (!Number.isFinite(since)) {
      throw new RangeError(
        `Cannot use since ${since}: expected epoch milliseconds`,
      );
    }
    if (Math.abs(since) < SECONDS_LIMIT) {
      throw new RangeError(
        `Cannot use since ${since}: it looks like seconds since the epoch, but since takes milliseconds; pass ${since} * 1000`,
      );
    }
    ms = since;
  } else if (typeof since === "string") {
    // Date.parse alone accepts "1" (year 2001) and other surprises: require an ISO-8601 date first.
    const text = since.trim();
    ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? parseUtcDateTime(text) : NaN;
    if (Number.isNaN(ms)) {
      throw new RangeError(
        `Cannot use since '${since}': expected an ISO-8601 date such as '2026-01-01T00:00:00Z', a Date, or epoch milliseconds`,
      );
    }
  } else {
    throw new TypeError(
      `Cannot use since ${
        show(since)
      }: expected a Date, an ISO-8601 string or epoch milliseconds`,
    );
  }
  return ms;
}

function combinePrefilters(
  own: unknown,
  filters: ((text: string) => boolean) | undefined,
): ((text: string) => boolean) | undefined {
  if (own !== undefined && typeof own !== "function") {
    throw new TypeError(
      `Cannot use prefilter ${
        show(own)
      }: expected a function (text) => boolean`,
    );
  }
  const mine = own as ((text: string) => boolean) | undefined;
  if (mine && filters) return (text) => mine(text) && filters(text);
  return mine ?? filters;
}

function checkDuration(name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot use ${name} ${
        show(value)
      }: expected a positive number of milliseconds`,
    );
  }
  return value;
}
