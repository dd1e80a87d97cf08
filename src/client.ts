/**
 * `eventStream()`: typed events from Wikimedia EventStreams, exactly once
 * across disconnects, never hanging on a dead connection.
 *
 * The whole connection policy lives in this file:
 *
 * - One connection at a time. The previous one is fully released (fetch
 *   aborted, body reader cancelled) before the next request is made: the
 *   server allows two connections per client IP and answers 429 beyond.
 * - Reconnect on a clean end of body (the edge cuts connections after about
 *   15 minutes), a network error, an `event: error` frame, the idle watchdog,
 *   and `maxConnectionMs`. Every reconnect resumes from the offset-pinned
 *   {@linkcode Cursor} (`Last-Event-ID`), never from the server's own
 *   approximate id.
 * - Idle watchdog: an independent timer that aborts the in-flight request
 *   when no byte arrives for `idleTimeoutMs`. It runs only while we wait on
 *   the server, so a slow consumer is never mistaken for a dead server.
 * - Backoff: exponential with full jitter ({@linkcode Backoff}), reset after a
 *   healthy connection (one that moved the cursor; repeats do not count);
 *   429 and 5xx wait at least `throttledFloorMs` (and `Retry-After`, should
 *   the server ever send one). 400, 404, other 4xx, and
 *   a response that is not an event stream end the iteration with
 *   {@linkcode EventStreamsHttpError}.
 * - Beyond the server's behaviour: before a resume, `offset: -1` ("latest")
 *   entries of the cursor are pinned to the session's earliest known server
 *   timestamp ({@linkcode Cursor.pinLatest}), so the topic of the other
 *   datacenter does not skip what arrived there in the meantime; the repeats
 *   this may cause are dropped by the dedupe below.
 * - Beyond the server's behaviour too: a live start (no cursor, no `since`)
 *   that fails before its first event retries with `since` set to the time
 *   of the first request, so the retries do not skip what happened meanwhile.
 * - Dedupe: events below the cursor and `meta.id`s seen recently are dropped.
 *   Dropped events (duplicates, canaries, filtered) still move the internal
 *   resume point; the caller's {@linkcode EventStream.cursor} moves only when
 *   an event is handed over.
 * - Bad frames: data that is not JSON, JSON that is not an event, or an id
 *   that is not a KafkaSSE id are counted and reported to `onError`; the
 *   stream goes on (an event with a bad id is still delivered: the cursor is
 *   built from `meta`). A frame over 8 MiB ends the iteration with
 *   `SseParseError`: it would come back on every resume.
 * - Ending: `close()` (or `break`) resolves a pending `next()` as done; the
 *   caller's `signal` rejects it with the signal's reason, like `fetch`.
 * - Backpressure: one body chunk is read at a time, and only when the
 *   consumer asks for more events than that chunk held.
 *
 * @module
 */
import {
  Backoff,
  type BackoffHint,
  type BackoffOptions,
  parseRetryAfter,
} from "./backoff.ts";
import { type Clock, sleep, systemClock } from "./clock.ts";
import { Cursor, type CursorEntry } from "./cursor.ts";
import { DedupeWindow } from "./dedupe.ts";
import { EventStreamsHttpError } from "./errors.ts";
import type { EventFilter } from "./filter.ts";
import { SseDecoder, type SseFrame } from "./sse/decoder.ts";
import {
  defaultIdleTimeoutMs,
  type EventOf,
  resolveStreamName,
  type StreamName,
} from "./streams.ts";
import type { EventMeta, EventStreamsEvent } from "./types.ts";
import { quote, show } from "./_show.ts";

/** The library token appended to the caller's User-Agent, per the policy's format. */
const LIBRARY_TOKEN = "eventstreams/0.1.0";
const POLICY_URL =
  "https://foundation.wikimedia.org/wiki/Policy:Wikimedia_Foundation_User-Agent_Policy";
const USER_AGENT_SHAPE = "'<tool>/<version> (<contact: url or email>)'";
const USER_AGENT_EXAMPLE =
  "'MyBot/1.0 (https://example.org/mybot; mybot@example.org)'";
/** How much of an unexpected response body an error carries. */
const EXCERPT_BYTES = 4096;
/** An ISO-8601 date-time without `Z` or a UTC offset. */
const NO_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
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
 * `"idle-timeout"` no byte for `idleTimeoutMs`;
 * `"max-connection-age"` the connection reached `maxConnectionMs`;
 * `"error-event"` the server sent `event: error`;
 * `"http"` a 429 or 5xx answer;
 * `"closed"` {@linkcode EventStream.close} (or `break`);
 * `"aborted"` the caller's `signal`;
 * `"failed"` an error ended the iteration (thrown from the iterator).
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
  | "failed";

/**
 * The kinds of errors counted in {@linkcode EventStreamStats.errors}:
 * `"network"`, `"http"` (any non-200 or non-event-stream answer),
 * `"idle-timeout"`, `"error-event"`, `"invalid-json"` (a frame's data is not
 * JSON), `"invalid-event"` (JSON without a `meta` holding topic, partition
 * and offset), `"invalid-id"` (a frame's id is not a KafkaSSE id),
 * `"protocol"` (the body is not a usable event stream, e.g. an oversized
 * frame).
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
  | "protocol";

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
  /** Canary events dropped (see {@linkcode EventStreamOptions.canary}). */
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
   * then blocks them.
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
   * The fetch to use (inject one to record, replay or test).
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
   * How long the server may stay silent (no byte at all) before the
   * connection is presumed dead, aborted and resumed. The server sends no
   * heartbeats, so this must exceed the stream's quietest normal gap.
   *
   * @default {defaultIdleTimeoutMs(streams)} (60 s for busy streams, longer for sparse ones)
   */
  idleTimeoutMs?: number;
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
   * @default {undefined} (keep all)
   */
  filter?: EventFilter<E>;
  /**
   * The source of time and timers (tests inject a manual clock).
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /**
   * Extra request headers (e.g. `Api-User-Agent` in browsers). `Accept` and
   * `User-Agent` are the client's and override these; `Last-Event-ID` is
   * refused with a TypeError (pass it as `cursor`).
   *
   * @default {undefined}
   */
  headers?: HeadersInit;
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

/**
 * A live stream of events: iterate it with `for await`, read its resume
 * point from {@linkcode EventStream.cursor}, stop it with
 * {@linkcode EventStream.close}. It has one consumer: every call of
 * `[Symbol.asyncIterator]()` returns the same iterator.
 *
 * @typeParam E The event type.
 *
 * @example Saving the cursor to resume later
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventStream } from "@eventstreams/client";
 * const fake = () => Promise.resolve(new Response(":ok\n\n", { headers: { "content-type": "text/event-stream" } }));
 * const stream = eventStream("test", { userAgent: "MyBot/1.0 (mybot@example.org)", fetch: fake });
 * const saved = stream.cursor; // "" before the first event
 * await stream.close();
 * assert.ok(saved === "" && stream.stats.events === 0);
 * ```
 */
export interface EventStream<E> extends AsyncIterable<E> {
  /**
   * The `Last-Event-ID` that resumes right after the last event handed to
   * the caller (save it to resume after a restart). It moves only when
   * `next()` resolves with an event. Before the first event: the `cursor`
   * option as given, or `""`.
   */
  readonly cursor: string;
  /** A snapshot of the stream's counters. */
  readonly stats: EventStreamStats;
  /**
   * Ends the stream: a pending `next()` resolves `done`, the connection is
   * released and no timer is left. Breaking out of `for await` does the same.
   *
   * @returns A promise that resolves once everything is released.
   */
  close(): Promise<void>;
}

/**
 * Opens a stream of typed events from Wikimedia EventStreams. The request
 * starts at the first `next()`; arguments are checked at once.
 *
 * @typeParam S A stream name or alias, or an array of them.
 * @param streams A stream name or alias (`"recentchange"`), or an array of
 * them (one connection for all).
 * @param options The User-Agent (required) and options.
 * @returns The stream of events: `RecentChangeEvent` for `"recentchange"`,
 * the union for an array.
 * @throws {TypeError} When a stream is unknown (unless
 * `allowUnknownStreams`), the User-Agent is missing or generic, `headers`
 * holds a `Last-Event-ID`, or an option has the wrong type.
 * @throws {RangeError} When `since` is not a date (or looks like seconds),
 * or a duration option is not a positive number.
 * @throws {CursorError} When `cursor` is not a KafkaSSE id.
 *
 * @example Reading recent changes (a canned response stands in for the server)
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventStream } from "@eventstreams/client";
 *
 * const id = '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1767225600001},' +
 *   '{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]';
 * const meta = {
 *   topic: "eqiad.mediawiki.recentchange", partition: 0, offset: 42, dt: "2026-01-01T00:00:00Z",
 *   id: "8c3a1f9e-0000-4000-8000-000000000042", stream: "mediawiki.recentchange", domain: "en.wikipedia.org",
 * };
 * const body = `:ok\n\nevent: message\nid: ${id}\ndata: ${JSON.stringify({ meta, title: "Example" })}\n\n`;
 * const stream = eventStream("recentchange", {
 *   userAgent: "MyBot/1.0 (https://example.org/mybot; mybot@example.org)",
 *   fetch: () => Promise.resolve(new Response(body, { headers: { "content-type": "text/event-stream" } })),
 * });
 * for await (const event of stream) {
 *   assert.ok(event.title === "Example");
 *   break; // closes the stream
 * }
 * assert.ok(stream.cursor ===
 *   '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":43},' +
 *   '{"topic":"codfw.mediawiki.recentchange","partition":0,"timestamp":1767225600000}]');
 * ```
 */
export function eventStream<const S extends StreamName | readonly StreamName[]>(
  streams: S,
  options: EventStreamOptions<EventOf<S>>,
): EventStream<EventOf<S>>;
/**
 * Opens a stream of a stream this library does not know (or a mix):
 * requires `allowUnknownStreams: true` and yields untyped events.
 *
 * @param streams Stream names, sent as given (aliases resolved).
 * @param options The User-Agent (required) and options.
 * @returns The stream of events.
 * @throws {TypeError} When the User-Agent is missing or generic.
 *
 * @example A stream added to the server after this library
 * ```ts no-assert
 * import { eventStream } from "@eventstreams/client";
 * const stream = eventStream("mediawiki.some-new-stream", {
 *   userAgent: "MyBot/1.0 (mybot@example.org)",
 *   allowUnknownStreams: true,
 * });
 * await stream.close(); // never connected
 * ```
 */
export function eventStream(
  streams: string | readonly string[],
  options: EventStreamOptions<EventStreamsEvent> & {
    allowUnknownStreams: true;
  },
): EventStream<EventStreamsEvent>;
export function eventStream(
  streams: string | readonly string[],
  options: EventStreamOptions<EventStreamsEvent>,
): EventStream<EventStreamsEvent> {
  return new Session(resolveConfig(streams, options));
}

// ---------------------------------------------------------------------------
// Checked configuration
// ---------------------------------------------------------------------------

interface Config {
  path: string;
  since: string | undefined;
  cursor: Cursor | undefined;
  fetch: FetchFunction;
  clock: Clock;
  idleTimeoutMs: number;
  maxConnectionMs: number;
  canary: boolean;
  dedupeWindow: number;
  headers: Headers;
  options: EventStreamOptions<EventStreamsEvent>;
}

function resolveConfig(
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
  const since = encodeSince(options.since);
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
  headers.set("Accept", "text/event-stream");
  headers.set("User-Agent", userAgent);
  return {
    path: `${baseUrl.replace(/\/+$/, "")}/v2/stream/${
      names.map(encodeURIComponent).join(",")
    }`,
    since: cursor ? undefined : since,
    cursor,
    fetch: fetchFn,
    clock: options.clock ?? systemClock,
    idleTimeoutMs: checkDuration(
      "idleTimeoutMs",
      options.idleTimeoutMs ?? defaultIdleTimeoutMs(names),
    ),
    maxConnectionMs: checkDuration(
      "maxConnectionMs",
      options.maxConnectionMs ?? 840_000,
    ),
    canary: options.canary ?? false,
    dedupeWindow,
    headers,
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
  if (!match && !agent.split(/\s/, 1)[0].includes("/")) {
    throw new TypeError(
      `Cannot use userAgent '${agent}': it lacks a /version after the tool name (like '${
        agent.split(/\s/, 1)[0]
      }/1.0'); ${policy}`,
    );
  }
  if (!match || !CONTACT.test(match[3])) {
    throw new TypeError(
      `Cannot use userAgent '${agent}': it lacks a contact url or email in parentheses; ${policy}`,
    );
  }
  return agent.includes(" eventstreams/") ? agent : `${agent} ${LIBRARY_TOKEN}`;
}

function encodeSince(
  since: Date | string | number | undefined,
): string | undefined {
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
    // Date.parse reads a date-time without an offset as local time; the
    // server and this library read it as UTC.
    ms = !/^\d{4}-\d{2}-\d{2}/.test(text)
      ? NaN
      : Date.parse(NO_OFFSET.test(text) ? `${text}Z` : text);
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
  // Per PROTOCOL.md: the server passes non-numeric strings through Date.parse; send ISO-8601 UTC.
  return new Date(ms).toISOString();
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

// ---------------------------------------------------------------------------
// The stream
// ---------------------------------------------------------------------------

/** The reason `close()` aborts with, told apart from the caller's signal. */
const CLOSED = Symbol("closed");

/** How one connection ended, for the retry loop. */
interface ConnectionEnd {
  reason: DisconnectReason;
  /**
   * It moved the cursor (an event that was not already delivered, handed over
   * or dropped): the backoff starts over. A connection that only repeats
   * what we have is no sign of health.
   */
  healthy: boolean;
  hint?: BackoffHint;
  status?: number;
}

class Session<E extends EventStreamsEvent> implements EventStream<E> {
  #config: Config;
  /** The caller's options, typed for E (filter and hooks). */
  #options: EventStreamOptions<E>;
  #backoff: Backoff;
  /** The current connection's number and URL, for error reports. */
  #connectionNumber = 0;
  #url = "";
  /** Aborted by close() (reason CLOSED) or by the caller's signal (its reason). */
  #stop = new AbortController();
  #generator: AsyncGenerator<E, void, undefined>;
  /**
   * Where the session has consumed up to: advanced for every valid event,
   * including dropped ones (they must never come back). `undefined` until
   * the first server id unless the caller gave a cursor.
   */
  #consumed: Cursor | undefined;
  /** `#consumed` was built from events before any valid server id listed the connection's partitions. */
  #provisional = false;
  /** `#consumed` holds `offset: -1` entries still to pin. */
  #hasLatest: boolean;
  /** The earliest server timestamp of the session (id timestamps, event dt), tracked until pinned. */
  #earliestMs: number | undefined;
  /** When a live start (no cursor, no since) first asked, as ISO-8601. */
  #liveStart: string | undefined;
  #firstRequest = true;
  /** How many events moved `#consumed` forward (for the backoff's health check). */
  #advances = 0;
  /** The last server id text seen, to skip re-parsing identical ids. */
  #lastIdText = "";
  #cursorText: string;
  #seen: DedupeWindow | undefined;
  #stats: EventStreamStats = {
    events: 0,
    bytes: 0,
    connections: 0,
    reconnects: 0,
    duplicates: 0,
    canaryDropped: 0,
    filtered: 0,
    ignoredFrames: 0,
    errors: {
      network: 0,
      http: 0,
      "idle-timeout": 0,
      "error-event": 0,
      "invalid-json": 0,
      "invalid-event": 0,
      "invalid-id": 0,
      protocol: 0,
    },
    lastEventAt: undefined,
  };

  constructor(config: Config) {
    this.#config = config;
    this.#options = config.options as EventStreamOptions<E>;
    this.#backoff = new Backoff(config.options.backoff);
    this.#consumed = config.cursor;
    this.#cursorText = config.cursor?.toString() ?? "";
    this.#hasLatest = config.cursor?.entries.some(isLatest) ?? false;
    this.#seen = config.dedupeWindow > 0
      ? new DedupeWindow(config.dedupeWindow)
      : undefined;
    this.#generator = this.#run();
  }

  get cursor(): string {
    return this.#cursorText;
  }

  get stats(): EventStreamStats {
    return { ...this.#stats, errors: { ...this.#stats.errors } };
  }

  [Symbol.asyncIterator](): AsyncIterator<E> {
    return {
      next: () => this.#generator.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  async close(): Promise<void> {
    if (!this.#stop.signal.aborted) this.#stop.abort(CLOSED);
    // Queued behind a pending next(), which the abort above ends promptly.
    await this.#generator.return(undefined);
  }

  /** `true` once close() was called; throws the reason once the caller's signal aborted. */
  #stopping(): boolean {
    const signal = this.#stop.signal;
    if (!signal.aborted) return false;
    if (signal.reason === CLOSED) return true;
    throw signal.reason;
  }

  async *#run(): AsyncGenerator<E, void, undefined> {
    const callerSignal = this.#options.signal;
    const onAbort = () => this.#stop.abort(callerSignal!.reason);
    if (callerSignal?.aborted) onAbort();
    else callerSignal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (let connection = 1;; connection++) {
        if (this.#stopping()) return;
        const end = yield* this.#connection(connection);
        if (this.#stopping()) return;
        if (end.healthy) this.#backoff.reset();
        const delayMs = this.#backoff.next(end.hint);
        this.#stats.reconnects++;
        this.#options.onRetry?.({
          attempt: this.#backoff.attempt,
          delayMs,
          reason: end.reason,
          ...(end.status === undefined ? {} : { status: end.status }),
        });
        await sleep(this.#config.clock, delayMs, this.#stop.signal).catch(
          () => {},
        );
      }
    } finally {
      callerSignal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * One connection: request, check the answer, then read chunk by chunk and
   * yield its events. Returns how it ended; throws what ends the iteration.
   * Whatever happens, the `finally` releases the request and its timers
   * before the caller can open the next one.
   */
  async *#connection(
    connection: number,
  ): AsyncGenerator<E, ConnectionEnd, undefined> {
    const { clock, idleTimeoutMs } = this.#config;
    const advancesAtStart = this.#advances;
    const { url, lastEventId } = this.#request();
    this.#connectionNumber = connection;
    this.#url = url;
    const request = new AbortController();
    let reason: DisconnectReason | undefined;
    let response: Response | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let events = 0;
    let openedAt: number | undefined;
    /** Ends this connection (from a timer, a stop, an error frame): a pending read settles at once. */
    const drop = (why: DisconnectReason) => {
      reason ??= why;
      request.abort(
        new DOMException(`Connection dropped: ${why}`, "AbortError"),
      );
      // A fetch that ignores its signal still has its body cancelled.
      reader?.cancel().catch(() => {});
    };
    /** The first reason recorded wins: a timer that fired explains the read error it caused. */
    const ended = (why: DisconnectReason, error?: unknown): ConnectionEnd => {
      reason ??= why;
      if (reason === "network") this.#report("network", toError(error));
      if (reason === "idle-timeout") {
        this.#report(
          "idle-timeout",
          new DOMException(
            `Cannot read from ${url}: no data for ${idleTimeoutMs} ms (idleTimeoutMs); resuming from the cursor`,
            "TimeoutError",
          ),
        );
      }
      return { reason, healthy: this.#advances > advancesAtStart };
    };
    const armIdle = () =>
      clock.setTimeout(() => drop("idle-timeout"), idleTimeoutMs);
    const onStop = () =>
      drop(this.#stop.signal.reason === CLOSED ? "closed" : "aborted");
    this.#stop.signal.addEventListener("abort", onStop, { once: true });
    const cancelMaxAge = clock.setTimeout(
      () => drop("max-connection-age"),
      this.#config.maxConnectionMs,
    );
    // The watchdog also covers a server that never answers the request.
    let disarmIdle = armIdle();
    try {
      try {
        response = await untilAborted(
          this.#config.fetch(url, {
            headers: this.#headers(lastEventId),
            signal: request.signal,
          }),
          request.signal,
        );
      } catch (error) {
        return ended("network", error);
      } finally {
        disarmIdle();
      }
      reader = response.body?.getReader();
      const type = response.headers.get("content-type") ?? "";
      if (response.status !== 200 || !/^text\/event-stream\b/i.test(type)) {
        disarmIdle = armIdle();
        const excerpt = await readExcerpt(reader).finally(disarmIdle);
        if (reason) return ended(reason);
        const refusal = this.#refused(response, type, excerpt);
        reason = refusal.reason;
        return refusal;
      }
      this.#stats.connections++;
      openedAt = clock.now();
      this.#options.onConnect?.({
        connection,
        url,
        lastEventId,
        status: response.status,
      });
      if (!reader) return ended("eof");
      // The frames of the current chunk: all the read-ahead there is.
      const frames: SseFrame[] = [];
      const decoder = new SseDecoder((frame) => frames.push(frame));
      while (true) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        // Per PROTOCOL.md: a zombie connection hangs inside read(); only a timer
        // running during the read can end it. Re-armed by any bytes.
        disarmIdle = armIdle();
        try {
          chunk = await reader.read();
        } catch (error) {
          return ended("network", error);
        } finally {
          disarmIdle();
        }
        if (reason) return ended(reason);
        if (chunk.done) {
          // Per spec: an unterminated frame at end of stream is discarded.
          decoder.end();
          return ended("eof");
        }
        this.#stats.bytes += chunk.value.byteLength;
        try {
          decoder.push(chunk.value);
        } catch (error) {
          this.#stats.errors.protocol++;
          throw error;
        }
        for (let i = 0; i < frames.length; i++) {
          const frame = frames[i];
          if (frame.event === "error") {
            // Per PROTOCOL.md: KafkaSSE sends `event: error` on an internal failure, then closes.
            this.#report(
              "error-event",
              new Error(
                `EventStreams sent an error event on ${url}: ${frame.data}; resuming from the cursor`,
              ),
              frame,
            );
            drop("error-event");
            return ended("error-event");
          }
          if (frame.event !== "message") {
            this.#stats.ignoredFrames++;
            continue;
          }
          const event = this.#accept(frame);
          if (event === null) continue;
          events++;
          if (event === undefined) continue;
          this.#stats.events++;
          this.#stats.lastEventAt = clock.now();
          this.#cursorText = this.#resumePoint()!;
          yield event;
          if (this.#stopping()) return ended("closed");
        }
        // A timer that fired meanwhile has cancelled the reader: the next read tells.
        frames.length = 0;
      }
    } catch (error) {
      reason ??= "failed";
      throw error;
    } finally {
      reason ??= "closed"; // Left at a yield: the consumer stopped.
      this.#stop.signal.removeEventListener("abort", onStop);
      cancelMaxAge();
      disarmIdle();
      request.abort();
      // Fully released before the caller may open the next connection (a
      // response body is read, and so released, only through `reader`).
      await reader?.cancel().catch(() => {});
      if (openedAt !== undefined) {
        this.#options.onDisconnect?.({
          connection,
          reason,
          durationMs: clock.now() - openedAt,
          events,
        });
      }
    }
  }

  /**
   * Checks one message frame. Returns the event to hand over, `undefined`
   * for a valid event that is dropped (duplicate, canary, filtered), or
   * `null` for a frame that is not a valid event (reported).
   */
  #accept(frame: SseFrame): E | undefined | null {
    this.#readServerId(frame);
    let event: unknown;
    try {
      event = JSON.parse(frame.data);
    } catch (error) {
      this.#report(
        "invalid-json",
        new SyntaxError(
          `Cannot parse event data as JSON: ${quote(frame.data)}`,
          { cause: error },
        ),
        frame,
      );
      return null;
    }
    if (!isEvent(event)) {
      this.#report(
        "invalid-event",
        new TypeError(
          `Cannot use event data: expected an object with meta.topic, meta.partition and meta.offset, got ${
            quote(frame.data)
          }`,
        ),
        frame,
      );
      return null;
    }
    const meta = event.meta;
    if (this.#consumed?.covers(meta)) {
      this.#stats.duplicates++;
      return undefined;
    }
    this.#advance(meta);
    if (!this.#config.canary && meta.domain === "canary") {
      this.#stats.canaryDropped++;
      return undefined;
    }
    if (this.#seen && typeof meta.id === "string" && !this.#seen.add(meta.id)) {
      this.#stats.duplicates++;
      return undefined;
    }
    if (this.#options.filter && !this.#options.filter(event as E)) {
      this.#stats.filtered++;
      return undefined;
    }
    return event as E;
  }

  /**
   * Learns from a frame's server id: the initial cursor (if the caller gave
   * none) and the session's earliest server timestamp. A bad id is reported
   * and otherwise ignored: the cursor is built from `meta`, not from ids.
   */
  #readServerId(frame: SseFrame): void {
    // Consecutive frames often carry identical ids: parse each distinct one once.
    // A bad id stays in force for later frames too: it is reported once.
    if (frame.id === this.#lastIdText) return;
    this.#lastIdText = frame.id;
    let id: Cursor;
    try {
      id = Cursor.parse(frame.id);
    } catch (error) {
      this.#report("invalid-id", toError(error), frame);
      return;
    }
    if (this.#consumed === undefined) {
      this.#consumed = id;
      this.#hasLatest = id.entries.some(isLatest);
    } else if (this.#provisional) {
      // Keep what events taught us; add the partitions only the id lists.
      const known = this.#consumed.entries;
      const missing = id.entries.filter((e) =>
        !known.some((k) => k.topic === e.topic && k.partition === e.partition)
      );
      this.#consumed = Cursor.fromEntries([...known, ...missing]);
      this.#hasLatest ||= missing.some(isLatest);
    }
    this.#provisional = false;
    if (this.#hasLatest) {
      for (const entry of id.entries) {
        if ("timestamp" in entry) {
          this.#earliestMs = Math.min(
            this.#earliestMs ?? Infinity,
            entry.timestamp,
          );
        }
      }
    }
  }

  /** Records a valid event as consumed (handed over or dropped). */
  #advance(meta: EventMeta): void {
    this.#advances++;
    if (this.#consumed === undefined) {
      this.#consumed = Cursor.fromEntries([]);
      this.#provisional = true;
    }
    this.#consumed.advance(meta);
    // A provisional cursor may yet learn of "latest" entries: keep the time too.
    if (this.#hasLatest || this.#provisional) {
      const ms = Date.parse(meta.dt);
      if (Number.isInteger(ms)) {
        this.#earliestMs = Math.min(this.#earliestMs ?? Infinity, ms);
      }
    }
  }

  /**
   * The cursor text to resume from. Beyond the server's behaviour: `offset:
   * -1` ("latest") entries are pinned to the session's earliest server
   * timestamp, so a resume does not skip what arrived on those partitions
   * (the other datacenter's topic) in the meantime.
   */
  #resumePoint(): string | undefined {
    if (this.#consumed === undefined) return undefined;
    if (this.#hasLatest && this.#earliestMs !== undefined) {
      this.#consumed.pinLatest(this.#earliestMs);
      this.#hasLatest = false;
    }
    return this.#consumed.toString();
  }

  #request(): { url: string; lastEventId: string | undefined } {
    const lastEventId = this.#resumePoint();
    // Beyond the server's behaviour: a live start that fails before its first
    // event retries from the time of the first request, not from "now" again,
    // so what happened during the retries is not skipped.
    this.#liveStart ??= new Date(this.#config.clock.now()).toISOString();
    const since = lastEventId !== undefined ? undefined : this.#config.since ??
      (this.#firstRequest ? undefined : this.#liveStart);
    this.#firstRequest = false;
    const url = since === undefined
      ? this.#config.path
      : `${this.#config.path}?since=${encodeURIComponent(since)}`;
    return { url, lastEventId };
  }

  #headers(lastEventId: string | undefined): Headers {
    const headers = new Headers(this.#config.headers);
    if (lastEventId !== undefined) headers.set("Last-Event-ID", lastEventId);
    return headers;
  }

  /** A response that is not a 200 event stream: retry 429/5xx, end the iteration on anything else. */
  #refused(response: Response, type: string, excerpt: string): ConnectionEnd {
    const { status } = response;
    const error = new EventStreamsHttpError(this.#url, status, excerpt);
    if (status === 429 || status >= 500) {
      this.#report("http", error);
      const retryAfterMs = parseRetryAfter(
        response.headers.get("retry-after"),
        this.#config.clock.now(),
      );
      return {
        reason: "http",
        healthy: false,
        status,
        hint: { throttled: true, retryAfterMs },
      };
    }
    this.#stats.errors.http++;
    if (status === 200) {
      // A captive portal or a proxy's HTML page: retrying will not help, and
      // parsing it as an event stream would silently yield nothing.
      error.message =
        `Cannot read events from ${this.#url}: expected content-type text/event-stream, got ` +
        `'${type}' (a proxy or captive portal page?); check the network or baseUrl: ${
          excerpt.slice(0, 200)
        }`;
    }
    throw error;
  }

  /** Counts an error the stream survives and tells the caller's onError. */
  #report(kind: EventStreamErrorKind, error: Error, frame?: SseFrame): void {
    this.#stats.errors[kind]++;
    const context: ErrorContext = {
      kind,
      connection: this.#connectionNumber,
      url: this.#url,
    };
    if (frame) context.frame = frame;
    this.#options.onError?.(error, context);
  }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function isLatest(entry: CursorEntry): boolean {
  return "offset" in entry && entry.offset === -1;
}

function isEvent(value: unknown): value is EventStreamsEvent {
  if (value === null || typeof value !== "object") return false;
  const meta = (value as { meta?: unknown }).meta as
    | Partial<EventMeta>
    | null
    | undefined;
  return meta !== null && typeof meta === "object" &&
    typeof meta.topic === "string" && meta.topic !== "" &&
    Number.isInteger(meta.partition) && meta.partition! >= 0 &&
    Number.isInteger(meta.offset) && meta.offset! >= 0;
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted(
  promise: Promise<Response>,
  signal: AbortSignal,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((response) => {
      // A fetch that ignored the signal answered late: release its body.
      if (signal.aborted) response.body?.cancel().catch(() => {});
      resolve(response);
    }, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Reads at most EXCERPT_BYTES of a body as text, then lets it go. */
async function readExcerpt(
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined,
): Promise<string> {
  if (!reader) return "";
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      text += decoder.decode(
        value.subarray(0, EXCERPT_BYTES - (size - value.byteLength)),
        { stream: true },
      );
    }
  } catch {
    // The excerpt is for the error message: a broken body leaves it short.
  }
  return text + decoder.decode();
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
