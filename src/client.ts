/**
 * `eventStream()`: typed events from Wikimedia EventStreams, exactly once
 * across disconnects, never hanging on a dead connection.
 *
 * The connection loop lives in this file; what to resume from is
 * {@linkcode ResumePoint} (`resume_point.ts`), when a connection is dead is
 * {@linkcode IdleWatchdog} (`watchdog.ts`), the options are checked in
 * `options.ts`.
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
 *   when no progress (an event that moves the cursor) comes within the idle
 *   bound, adaptive to the stream's rate unless `idleTimeoutMs` is set;
 *   bytes alone do not count. It runs only while we wait on the server, so a
 *   slow consumer is never mistaken for a dead server. The response headers
 *   have their own bound, `headersTimeoutMs`.
 * - Backoff: exponential with full jitter ({@linkcode Backoff}), reset after a
 *   healthy connection (one that moved the cursor; repeats do not count);
 *   429 and 5xx wait at least `throttledFloorMs` (and `Retry-After`, should
 *   the server ever send one). 400, 404, other 4xx, and
 *   a response that is not an event stream end the iteration with
 *   {@linkcode EventStreamsHttpError}.
 * - Beyond the server's behaviour ({@linkcode ResumePoint}): `offset: -1`
 *   entries are pinned before a resume; a live start that fails before its
 *   first event retries from the first request's time; a cursor lacking
 *   topics of the requested streams gets them added (reported to `onError`
 *   as `"missing-topics"`).
 * - In a browser (detected, not an option): only CORS-safelisted headers go
 *   out (no `User-Agent`, no `Last-Event-ID`: the server's CORS preflight
 *   refuses them), each request resumes by a `since` that
 *   {@linkcode BrowserResume} chooses, the cursor dropping what comes twice,
 *   and a connection that turns out to skip events is dropped and resumed
 *   earlier (`"resume-gap"`). Requests failing before any response, again
 *   and again before any event, end the iteration with
 *   {@linkcode EventStreamsRefusedError} instead of retrying in silence.
 * - Dedupe: events below the cursor and `meta.id`s seen recently are dropped.
 *   Every consumed event (handed over, duplicate, canary or filtered) moves
 *   the caller's {@linkcode EventStream.cursor}.
 * - Bad frames: data that is not JSON, JSON that is not an event (or of a
 *   topic the connection does not read, or with an offset that is not a
 *   safe integer), or an id that is not a KafkaSSE id are counted and
 *   reported to `onError`, and never enter the cursor; the stream goes on
 *   (an event with a bad id is still delivered: the cursor is built from
 *   `meta`). A frame over 8 MiB ends the iteration with `SseParseError`: it
 *   would come back on every resume.
 * - Ending: `close()` (or `break`) resolves a pending `next()` as done; the
 *   caller's `signal` rejects it with the signal's reason, like `fetch`.
 * - Backpressure: one body chunk is read at a time, and only when the
 *   consumer asks for more events than that chunk held.
 *
 * @module
 */
import { Backoff, type BackoffHint, parseRetryAfter } from "./backoff.ts";
import { sleep } from "./clock.ts";
import { EventStreamsHttpError, EventStreamsRefusedError } from "./errors.ts";
import { Deadline } from "./deadline.ts";
import { DedupeWindow } from "./dedupe.ts";
import {
  type Config,
  type DisconnectReason,
  type ErrorContext,
  type EventStreamErrorKind,
  type EventStreamOptions,
  type EventStreamStats,
  resolveConfig,
} from "./options.ts";
import { readMeta, readPosition } from "./raw_event.ts";
import { ResumePoint } from "./resume_point.ts";
import { SseDecoder, type SseFrame } from "./sse/decoder.ts";
import type { EventOf, StreamName } from "./streams.ts";
import type { EventMeta, EventStreamsEvent } from "./types.ts";
import { IdleWatchdog } from "./watchdog.ts";
import { quote } from "./_show.ts";

export type {
  ConnectInfo,
  DisconnectInfo,
  DisconnectReason,
  ErrorContext,
  EventStreamErrorKind,
  EventStreamOptions,
  EventStreamStats,
  FetchFunction,
  RetryInfo,
} from "./options.ts";

/** How much of an unexpected response body an error carries. */
const EXCERPT_BYTES = 4096;
/** In a browser, this many network failures in a row before any event end the iteration. */
const BROWSER_REFUSALS = 4;

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
   * The `Last-Event-ID` that resumes right after every event consumed so
   * far: those handed to the caller and those dropped (duplicates, canaries,
   * filtered), so a checkpoint never falls behind what was read (save it to
   * resume after a restart). While the caller holds an event, it does not
   * move. Before anything is known: the `cursor` option (with any missing
   * topics added once the first request is made), or `""`.
   */
  readonly cursor: string;
  /**
   * The JSON text of the event handed over last, as the server sent it (its
   * frame's `data`): write it on unchanged instead of serializing the event
   * again (what `tail --format ndjson` prints). `""` before the first event.
   */
  readonly eventText: string;
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
// The stream
// ---------------------------------------------------------------------------

/** The reason `close()` aborts with, told apart from the caller's signal. */
const CLOSED = Symbol("closed");

/** The frames of the chunk being handed over, and where that stands. */
interface ChunkState {
  frames: SseFrame[];
  /** The next frame to look at. */
  at: number;
  /** When the chunk arrived. */
  now: number;
  /** Cursor advances already told to the watchdog. */
  counted: number;
  /** Valid events on this connection (onDisconnect). */
  events: number;
  url: string;
  /** Set when the connection must end at this frame. */
  end: "error-event" | "resume-gap" | undefined;
  /** Thrown on the fast path: rethrown by the generator. */
  error: unknown;
}

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
  #resume: ResumePoint;
  #watchdog: IdleWatchdog;
  /** The current connection's number and URL, for error reports. */
  #connectionNumber = 0;
  #url = "";
  /** Aborted by close() (reason CLOSED) or by the caller's signal (its reason). */
  #stop = new AbortController();
  #generator: AsyncGenerator<E, void, undefined>;
  /** The current chunk while the generator waits at its `yield` (see `#step`). */
  #paused: ChunkState | undefined;
  /** How many events moved the cursor (progress, and the backoff's health check). */
  #advances = 0;
  /** Requests in a row that failed before any response, in a browser, before any event. */
  #refusals = 0;
  #seen: DedupeWindow | undefined;
  #eventText = "";
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
      "missing-topics": 0,
    },
    lastEventAt: undefined,
  };

  constructor(config: Config) {
    this.#config = config;
    this.#options = config.options as EventStreamOptions<E>;
    this.#backoff = new Backoff(config.options.backoff);
    this.#resume = new ResumePoint({
      streams: config.streams,
      cursor: config.cursor,
      sinceMs: config.sinceMs,
      bySince: config.browser,
    });
    this.#watchdog = new IdleWatchdog({
      ceilingMs: config.idleTimeoutMs,
      adaptive: config.idleAdaptive,
    });
    this.#seen = config.dedupeWindow > 0
      ? new DedupeWindow(config.dedupeWindow)
      : undefined;
    this.#generator = this.#run();
  }

  get cursor(): string {
    return this.#resume.text;
  }

  get eventText(): string {
    return this.#eventText;
  }

  get stats(): EventStreamStats {
    return { ...this.#stats, errors: { ...this.#stats.errors } };
  }

  [Symbol.asyncIterator](): AsyncIterator<E> {
    return {
      next: () => {
        // The fast path: the generator waits at a `yield` and the chunk
        // holds more frames: hand the next event over without resuming it
        // (an async-generator round trip costs several settled promises).
        const state = this.#paused;
        if (state !== undefined && !this.#stop.signal.aborted) {
          let event: E | undefined;
          try {
            event = this.#step(state);
          } catch (error) {
            state.error = error; // Thrown by the generator, which ends.
          }
          if (event !== undefined) {
            return Promise.resolve({ done: false, value: event });
          }
        }
        this.#paused = undefined;
        return this.#generator.next();
      },
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  async close(): Promise<void> {
    this.#paused = undefined;
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
        if (delayMs > 0) {
          await sleep(this.#config.clock, delayMs, this.#stop.signal).catch(
            () => {},
          );
        }
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
    const { clock, headersTimeoutMs } = this.#config;
    const watchdog = this.#watchdog;
    const advancesAtStart = this.#advances;
    const { url, lastEventId } = this.#request();
    this.#connectionNumber = connection;
    this.#url = url;
    const request = new AbortController();
    let reason: DisconnectReason | undefined;
    let response: Response | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const chunkState: ChunkState = {
      frames: [],
      at: 0,
      now: 0,
      counted: 0,
      events: 0,
      url,
      end: undefined,
      error: undefined,
    };
    let openedAt: number | undefined;
    /** The body was read to its end. */
    let bodyEnded = false;
    /** What the running timer waits for, for the idle-timeout message. */
    let waitingFor = "";
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
            `Cannot read from ${url}: ${waitingFor}; resuming from the cursor`,
            "TimeoutError",
          ),
        );
      }
      return { reason, healthy: this.#advances > advancesAtStart };
    };
    // Per PROTOCOL.md: a zombie connection hangs inside read(); only a timer
    // running during the wait can end it. One timer serves every wait.
    const deadline = new Deadline(clock, () => drop("idle-timeout"));
    const arm = (ms: number, what: string) => {
      waitingFor = what;
      deadline.setIn(ms);
    };
    const onStop = () =>
      drop(this.#stop.signal.reason === CLOSED ? "closed" : "aborted");
    this.#stop.signal.addEventListener("abort", onStop, { once: true });
    const cancelMaxAge = clock.setTimeout(
      () => drop("max-connection-age"),
      this.#config.maxConnectionMs,
    );
    // A server that never answers the request is dropped too.
    arm(
      headersTimeoutMs,
      `no response headers within ${headersTimeoutMs} ms (headersTimeoutMs)`,
    );
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
        if (reason === undefined) {
          // Per the Fetch standard a network error rejects with a TypeError
          // (so do Node's, Bun's and Deno's fetch); anything else (a denied
          // permission, a replay that does not match its recording, a bug in
          // a custom fetch) comes back on every retry: end with it.
          if (!(error instanceof TypeError)) throw error;
          this.#browserRefusal(url, error);
        }
        return ended("network", error);
      } finally {
        deadline.clear();
      }
      this.#refusals = 0;
      reader = response.body?.getReader();
      const type = response.headers.get("content-type") ?? "";
      if (response.status !== 200 || !/^text\/event-stream\b/i.test(type)) {
        arm(
          headersTimeoutMs,
          `the error body did not end within ${headersTimeoutMs} ms (headersTimeoutMs)`,
        );
        const excerpt = await readExcerpt(reader).finally(() =>
          deadline.clear()
        );
        if (reason) return ended(reason);
        const refusal = this.#refused(response, type, excerpt);
        reason = refusal.reason;
        return refusal;
      }
      this.#stats.connections++;
      openedAt = clock.now();
      watchdog.reconnected();
      this.#options.onConnect?.({
        connection,
        url,
        lastEventId,
        status: response.status,
      });
      if (!reader) return ended("eof");
      // The frames of the current chunk: all the read-ahead there is.
      const frames = chunkState.frames;
      const decoder = new SseDecoder((frame) => frames.push(frame));
      while (true) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        // Only progress (an event that moves the cursor) refills the wait's
        // budget, never bytes alone.
        const boundMs = watchdog.boundMs;
        arm(
          watchdog.remainingMs,
          `no new event for ${boundMs} ms (${
            this.#config.idleAdaptive && boundMs < this.#config.idleTimeoutMs
              ? "adaptive idle bound, from the stream's rate"
              : "idleTimeoutMs"
          })`,
        );
        const waitStart = clock.now();
        let now = waitStart;
        try {
          chunk = await reader.read();
        } catch (error) {
          return ended("network", error);
        } finally {
          deadline.clear();
          now = clock.now();
          watchdog.waited(now - waitStart);
        }
        if (reason) return ended(reason);
        if (chunk.done) {
          bodyEnded = true;
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
        chunkState.at = 0;
        chunkState.now = now;
        chunkState.counted = this.#advances;
        for (;;) {
          const event = this.#step(chunkState);
          if (event === undefined) break;
          this.#paused = chunkState;
          yield event;
          this.#paused = undefined;
          if (this.#stopping()) return ended("closed");
        }
        if (chunkState.end !== undefined) {
          drop(chunkState.end);
          return ended(chunkState.end);
        }
        // A timer that fired meanwhile has cancelled the reader: the next read tells.
        frames.length = 0;
      }
    } catch (error) {
      reason ??= "failed";
      throw error;
    } finally {
      this.#paused = undefined;
      reason ??= "closed"; // Left at a yield: the consumer stopped.
      this.#stop.signal.removeEventListener("abort", onStop);
      cancelMaxAge();
      deadline.dispose();
      // Fully released before the caller may open the next connection (a
      // response body is read, and so released, only through `reader`). A
      // body read to its end is released already (and an abort would cost
      // a DOMException with its stack).
      if (!bodyEnded) {
        request.abort();
        await reader?.cancel().catch(() => {});
      }
      if (openedAt !== undefined) {
        this.#options.onDisconnect?.({
          connection,
          reason,
          durationMs: clock.now() - openedAt,
          events: chunkState.events,
        });
      }
    }
  }

  /**
   * Consumes the current chunk's frames up to the next event to hand over
   * and returns it; `undefined` when the chunk is used up or the connection
   * must end (`state.end`). Runs inside the connection's generator, or
   * straight from `next()` while the generator waits at its `yield` (the
   * fast path): the same steps in the same order either way, so the cursor
   * is exact at every event handed over.
   */
  #step(state: ChunkState): E | undefined {
    if (state.error !== undefined) {
      const error = state.error;
      state.error = undefined;
      throw error;
    }
    if (state.end !== undefined) return undefined;
    const frames = state.frames;
    const watchdog = this.#watchdog;
    while (state.at < frames.length) {
      const frame = frames[state.at++];
      if (frame.event === "error") {
        // Per PROTOCOL.md: KafkaSSE sends `event: error` on an internal failure, then closes.
        this.#report(
          "error-event",
          new Error(
            `EventStreams sent an error event on ${state.url}: ${frame.data}; resuming from the cursor`,
          ),
          frame,
        );
        state.end = "error-event";
        return undefined;
      }
      if (frame.event !== "message") {
        this.#stats.ignoredFrames++;
        continue;
      }
      const event = this.#accept(frame);
      if (this.#resume.gap) {
        // Beyond the server's behaviour (browsers): this since skipped events; see ResumePoint.
        state.end = "resume-gap";
        return undefined;
      }
      if (event === null) continue;
      state.events++;
      if (event === undefined) continue;
      this.#stats.events++;
      this.#stats.lastEventAt = state.now;
      watchdog.progress(this.#advances - state.counted, state.now);
      state.counted = this.#advances;
      this.#eventText = frame.data;
      return event;
    }
    watchdog.progress(this.#advances - state.counted, state.now);
    state.counted = this.#advances;
    return undefined;
  }

  /**
   * Checks one message frame. Returns the event to hand over, `undefined`
   * for a valid event that is dropped (duplicate, canary, filtered), or
   * `null` for a frame that is not a valid event (reported).
   */
  #accept(frame: SseFrame): E | undefined | null {
    const prefilter = this.#config.prefilter;
    if (prefilter !== undefined && !prefilter(frame.data)) {
      // A rejected event only moves the cursor: its position is enough
      // (readPosition skips most of meta), unless its time still counts.
      let meta: unknown = this.#resume.needsEventTime
        ? undefined
        : readPosition(frame.data);
      if (!isMeta(meta)) meta = readMeta(frame.data);
      // No readable meta: the full parse below says what is wrong.
      if (isMeta(meta)) return this.#acceptMeta(frame, meta, undefined);
    }
    let event: unknown;
    try {
      event = JSON.parse(frame.data);
    } catch (error) {
      this.#observeId(frame);
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
      this.#observeId(frame);
      this.#report(
        "invalid-event",
        new TypeError(
          `Cannot use event data: expected an object with meta.topic, and meta.partition and meta.offset as safe integers >= 0, got ${
            quote(frame.data)
          }`,
        ),
        frame,
      );
      return null;
    }
    return this.#acceptMeta(frame, event.meta, event as E);
  }

  /**
   * The checks and the bookkeeping of one valid event, `event` `undefined`
   * when the prefilter dropped it unparsed.
   */
  #acceptMeta(
    frame: SseFrame,
    meta: EventMeta,
    event: E | undefined,
  ): E | undefined | null {
    this.#observeId(frame, meta);
    if (this.#resume.gap) return null; // The connection is dropped before this frame counts.
    if (!this.#resume.belongs(meta)) {
      // It would enter the cursor, and every resume from it would get 404.
      this.#report(
        "invalid-event",
        new TypeError(
          `Cannot use event of topic ${
            quote(meta.topic)
          }: it is not one of the connection's topics; dropped, and kept out of the cursor`,
        ),
        frame,
      );
      return null;
    }
    if (!this.#resume.admits(meta)) return null;
    if (this.#resume.covers(meta)) {
      this.#stats.duplicates++;
      return undefined;
    }
    this.#resume.advance(meta);
    this.#advances++;
    if (!this.#config.canary && meta.domain === "canary") {
      this.#stats.canaryDropped++;
      return undefined;
    }
    if (event === undefined) {
      // Read by readPosition, meta has no id (nor domain: a canary counts
      // as filtered); the same text would be rejected again anyway.
      if (this.#seen && typeof meta.id === "string") {
        this.#seen.remember(meta.id);
      }
      this.#stats.filtered++;
      return undefined;
    }
    if (this.#seen && typeof meta.id === "string") {
      // Per PROTOCOL.md: offsets are exact, so the same event can come again
      // under another topic-partition only after a resume placed some
      // partition by timestamp; elsewhere ids are remembered, not checked.
      if (!this.#resume.approximate) this.#seen.remember(meta.id);
      else if (!this.#seen.add(meta.id)) {
        this.#stats.duplicates++;
        return undefined;
      }
    }
    if (this.#options.filter && !this.#options.filter(event)) {
      this.#stats.filtered++;
      return undefined;
    }
    return event;
  }

  /** Learns from a frame's server id; a bad id is reported (once) and otherwise ignored. */
  #observeId(frame: SseFrame, meta?: EventMeta): void {
    const error = this.#resume.observeId(frame.id, meta);
    if (error) this.#report("invalid-id", error, frame);
  }

  #request(): { url: string; lastEventId: string | undefined } {
    const { lastEventId, sinceMs, added } = this.#resume.request(
      this.#config.clock.now(),
    );
    if (added) {
      this.#report(
        "missing-topics",
        new Error(
          `Cursor lacks ${
            added.topics.map(quote).join(", ")
          } of the requested streams: ` +
            `reading ${added.topics.length === 1 ? "it" : "them"} from ${
              new Date(added.fromMs).toISOString()
            } (${added.from})`,
        ),
      );
    }
    // Per PROTOCOL.md: the server passes non-numeric strings through Date.parse; send ISO-8601 UTC.
    const url = sinceMs === undefined
      ? this.#config.path
      : `${this.#config.path}?since=${
        encodeURIComponent(new Date(sinceMs).toISOString())
      }`;
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

  /**
   * In a browser, a request that fails before any response is all a CORS
   * refusal looks like; when it repeats before any event ever arrived, it
   * will not go away by itself: end the iteration and say what to check.
   */
  #browserRefusal(url: string, error: unknown): void {
    if (!this.#config.browser || this.#advances > 0 || this.#stopping()) return;
    if (++this.#refusals < BROWSER_REFUSALS) return;
    this.#stats.errors.network++;
    throw new EventStreamsRefusedError(url, this.#refusals, { cause: error });
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

function isEvent(value: unknown): value is EventStreamsEvent {
  if (value === null || typeof value !== "object") return false;
  return isMeta((value as { meta?: unknown }).meta);
}

function isMeta(value: unknown): value is EventMeta {
  const meta = value as Partial<EventMeta> | null | undefined;
  return meta !== null && typeof meta === "object" &&
    typeof meta.topic === "string" && meta.topic !== "" &&
    Number.isSafeInteger(meta.partition) && meta.partition! >= 0 &&
    Number.isSafeInteger(meta.offset) && meta.offset! >= 0;
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted(
  promise: Promise<Response>,
  signal: AbortSignal,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    // Aborted while fetch() was being called (a close() from inside it).
    if (signal.aborted) onAbort();
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
