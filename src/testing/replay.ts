/**
 * Replay mode: {@linkcode replayFetch} serves a {@linkcode Cassette}'s
 * connections in order, checks each request against the recorded one, and
 * never touches the network.
 *
 * @module
 */

import {
  type Cassette,
  type CassetteConnection,
  stripUrlSecrets,
} from "./cassette.ts";
import type { FetchLike } from "./recorder.ts";
import { describeFetchCall, type FetchCall } from "./_request.ts";
import { parseUtcDateTime } from "../date_time.ts";

/**
 * The clock a replay drives: `ManualClock` fits. Before each recorded event
 * the replay moves it forward to the event's time offset, so the client's
 * timers (idle watchdog, connection age) see recorded time without sleeping.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualClock, type ReplayClock } from "@eventstreams/client/testing";
 * const clock: ReplayClock = new ManualClock(0);
 * await clock.tick(1_000);
 * assert.ok(clock.now() === 1_000);
 * ```
 */
export interface ReplayClock {
  /** The current time in milliseconds. */
  now(): number;
  /** Moves time forward by `ms`, firing due timers. */
  tick(ms: number): Promise<void>;
  /**
   * Optional fast path (`ManualClock` has it): moves time forward by `ms` at
   * once and returns true when no timer falls due on the way, else returns
   * false and leaves time alone. The replay tries it before `tick`, so a
   * recorded silence in which no client timer fires costs no macrotask turn.
   */
  advanceIfIdle?(ms: number): boolean;
}

/**
 * Options for {@linkcode replayFetch}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualClock, type ReplayFetchOptions } from "@eventstreams/client/testing";
 * const options: ReplayFetchOptions = { clock: new ManualClock(0), source: "fixtures/recentchange.cassette.jsonl" };
 * assert.ok(options.realTime === undefined);
 * ```
 */
export interface ReplayFetchOptions {
  /**
   * A manual clock to move to each recorded time offset (virtual time).
   * Without a clock (and without `realTime`) everything is emitted at once.
   *
   * @default {undefined}
   */
  clock?: ReplayClock;
  /**
   * Wait the recorded delays for real (`setTimeout`), for demos. Cannot be
   * combined with `clock`.
   *
   * @default {false}
   */
  realTime?: boolean;
  /**
   * The request headers compared with the recording, besides method, path
   * and query (the host is not compared, so a cassette recorded against one
   * server replays under any base URL; secret query values are compared
   * redacted, as `stripUrlSecrets` recorded them).
   *
   * @default {["last-event-id"]}
   */
  matchHeaders?: readonly string[];
  /**
   * Where the cassette came from (a file name), quoted in error messages.
   *
   * @default {undefined}
   */
  source?: string;
}

/**
 * A request as replay compares it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ReplayedRequest } from "@eventstreams/client/testing";
 * const request: ReplayedRequest = {
 *   method: "GET",
 *   url: "https://stream.wikimedia.org/v2/stream/test",
 *   headers: { "last-event-id": null },
 * };
 * assert.ok(request.headers["last-event-id"] === null);
 * ```
 */
export interface ReplayedRequest {
  /** The HTTP method. */
  method: string;
  /** The absolute URL, credentials and secret query values removed (see `stripUrlSecrets`). */
  url: string;
  /** The compared headers (`matchHeaders`); `null` when absent. */
  headers: Record<string, string | null>;
}

/**
 * A replay in progress.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { replayFetch, type ReplayFetch } from "@eventstreams/client/testing";
 * const replay: ReplayFetch = replayFetch({ format: 1, recordedAt: "2026-09-27T16:17:00.000Z", tool: "example", connections: [] });
 * assert.ok(replay.remaining === 0);
 * replay.assertDone();
 * ```
 */
export interface ReplayFetch {
  /** Hand this to the client as its `fetch`. */
  readonly fetch: FetchLike;
  /** How many recorded connections have not been requested yet. */
  readonly remaining: number;
  /** How many requests were made (matching or not). */
  readonly used: number;
  /** The requests made so far, in order. */
  readonly requests: readonly ReplayedRequest[];
  /**
   * Checks that every request matched and every recorded connection was
   * requested. Call it at the end of a test: a client that swallows fetch
   * errors (and retries) would otherwise hide a mismatch.
   *
   * @throws {ReplayMismatchError} The first mismatch, or which connections were never requested.
   */
  assertDone(): void;
}

/**
 * A replayed request differs from the recorded one, or comes when the
 * cassette has no connection left. The message shows a diff
 * (`-` expected, `+` actual) and the connection index.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReplayMismatchError } from "@eventstreams/client/testing";
 * const error = new ReplayMismatchError("Cannot replay connection 0: ...", 0);
 * assert.ok(error.name === "ReplayMismatchError" && error.connection === 0);
 * ```
 */
export class ReplayMismatchError extends Error {
  /** The index (the cassette's `conn`) of the connection being replayed. */
  readonly connection: number;
  /** The recorded request, when there was one. */
  readonly expected: ReplayedRequest | undefined;
  /** The request the client made, when there was one. */
  readonly actual: ReplayedRequest | undefined;

  /**
   * Creates a ReplayMismatchError.
   *
   * @param message The diff and what to do.
   * @param connection The connection index.
   * @param expected The recorded request.
   * @param actual The request the client made.
   */
  constructor(
    message: string,
    connection: number,
    expected?: ReplayedRequest,
    actual?: ReplayedRequest,
  ) {
    super(message);
    this.name = "ReplayMismatchError";
    this.connection = connection;
    this.expected = expected;
    this.actual = actual;
  }
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * A fetch that replays a cassette: the n-th request gets the n-th recorded
 * connection, after its method, path, query and `Last-Event-ID` were checked
 * against the recording. The response has the recorded status and headers,
 * and a body that emits the recorded chunks with their exact boundaries, then
 * ends as the recording did: `eof` closes it, `error` errors it with a
 * `TypeError` (like a network error), and `aborted` (the client went away) or
 * a missing end keeps it open until the client cancels. The request's
 * `AbortSignal` is honoured: aborting rejects the fetch or errors the body.
 *
 * A mismatch, or a request beyond the last connection, rejects the fetch
 * with a {@linkcode ReplayMismatchError}, and every later request too; call
 * `assertDone()` at the end of the test so that a mismatch is never hidden by
 * a client that retries.
 *
 * @param cassette The recorded session (see `readCassette`).
 * @param options The clock to drive, real-time mode, matched headers.
 * @returns The replaying fetch and its bookkeeping.
 * @throws {TypeError} When both `clock` and `realTime` are given.
 *
 * @example Replaying a recorded connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCassette, replayFetch } from "@eventstreams/client/testing";
 * const cassette = parseCassette([
 *   '{"format":1,"recordedAt":"2026-09-27T16:17:00.000Z","tool":"example"}',
 *   '{"type":"request","conn":0,"startedAt":0,"method":"GET","url":"https://stream.wikimedia.org/v2/stream/test","headers":{}}',
 *   '{"type":"response","conn":0,"at":3,"status":200,"statusText":"OK","headers":{"content-type":"text/event-stream"}}',
 *   '{"type":"chunk","conn":0,"at":4,"text":":ok\\n\\n"}',
 *   '{"type":"end","conn":0,"at":9,"reason":"eof"}',
 * ].join("\n"));
 * const replay = replayFetch(cassette);
 * const response = await replay.fetch("http://127.0.0.1:1/v2/stream/test");
 * assert.ok(await response.text() === ":ok\n\n");
 * replay.assertDone();
 * ```
 *
 * @example Virtual time with a ManualClock
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualClock, parseCassette, replayFetch } from "@eventstreams/client/testing";
 * const cassette = parseCassette([
 *   '{"format":1,"recordedAt":"2026-09-27T16:17:00.000Z","tool":"example"}',
 *   '{"type":"request","conn":0,"startedAt":0,"method":"GET","url":"https://stream.wikimedia.org/v2/stream/test","headers":{}}',
 *   '{"type":"response","conn":0,"at":0,"status":200,"statusText":"OK","headers":{}}',
 *   '{"type":"chunk","conn":0,"at":60000,"text":":ok\\n\\n"}',
 *   '{"type":"end","conn":0,"at":60000,"reason":"eof"}',
 * ].join("\n"));
 * const clock = new ManualClock(0);
 * const response = await replayFetch(cassette, { clock }).fetch("https://stream.wikimedia.org/v2/stream/test");
 * await response.text();
 * assert.ok(clock.now() === 60_000);
 * ```
 */
export function replayFetch(
  cassette: Cassette,
  options: ReplayFetchOptions = {},
): ReplayFetch {
  if (options.clock && options.realTime) {
    throw new TypeError(
      "Cannot replay with both clock and realTime: pass a clock for virtual time or realTime: true",
    );
  }
  const connections = cassette.connections;
  const matchHeaders = (options.matchHeaders ?? ["last-event-id"]).map((name) =>
    name.toLowerCase()
  );
  const of = options.source === undefined
    ? ""
    : ` of cassette ${options.source}`;
  const timing = makeTiming(options);
  const requests: ReplayedRequest[] = [];
  let firstMismatch: ReplayMismatchError | undefined;

  const replay: FetchLike = (input, init) => {
    let call: FetchCall;
    try {
      call = describeFetchCall(input, init);
    } catch (error) {
      return Promise.reject(error);
    }
    if (call.signal?.aborted) return Promise.reject(call.signal.reason);
    // Compared (and shown in errors) the way it was recorded: without secrets.
    const actual = toReplayed(
      call.method,
      stripUrlSecrets(call.url),
      call.headers,
      matchHeaders,
    );
    requests.push(actual);
    const index = requests.length - 1; // One connection per request made.
    if (firstMismatch) return Promise.reject(firstMismatch);
    const connection = connections[index];
    if (connection === undefined) {
      firstMismatch = new ReplayMismatchError(
        `Cannot replay request ${
          index + 1
        }${of}: the cassette has only ${connections.length} connection` +
          `${
            connections.length === 1 ? "" : "s"
          }, and the client made one more request\n` +
          `  + ${describe(actual)}\n` +
          `Fix the client, or re-record the cassette (deno task record ...) if it now reconnects more often`,
        index,
        undefined,
        actual,
      );
      return Promise.reject(firstMismatch);
    }
    const expected = toReplayed(
      connection.request.method,
      stripUrlSecrets(connection.request.url),
      new Headers(connection.request.headers),
      matchHeaders,
    );
    const diff = diffRequests(expected, actual, matchHeaders);
    if (diff !== "") {
      firstMismatch = new ReplayMismatchError(
        `Cannot replay connection ${index}${of}: the request does not match the recording (- expected, + actual)\n` +
          diff +
          `Fix the client, or re-record the cassette (deno task record ...) if its requests changed on purpose`,
        index,
        expected,
        actual,
      );
      return Promise.reject(firstMismatch);
    }
    return serve(connection, call, timing);
  };

  return {
    fetch: replay,
    get remaining(): number {
      return Math.max(0, connections.length - requests.length);
    },
    get used(): number {
      return requests.length;
    },
    get requests(): readonly ReplayedRequest[] {
      return requests.slice();
    },
    assertDone(): void {
      if (firstMismatch) throw firstMismatch;
      const next = requests.length;
      if (next < connections.length) {
        const left = connections.length - next;
        const first = connections[next].request;
        const firstUrl = stripUrlSecrets(first.url);
        throw new ReplayMismatchError(
          `Cannot finish the replay${of}: ${left} of ${connections.length} recorded connections ` +
            `${
              left === 1 ? "was" : "were"
            } never requested, starting with connection ${next}\n` +
            `  - ${first.method} ${pathAndQuery(firstUrl)}\n` +
            `Make the client run until it has made every recorded request, or re-record the cassette`,
          next,
          toReplayed(
            first.method,
            firstUrl,
            new Headers(first.headers),
            matchHeaders,
          ),
        );
      }
    },
  };
}

// ---------------------------------------------------------------------------
// Matching

function toReplayed(
  method: string,
  url: string,
  headers: Headers,
  matchHeaders: readonly string[],
): ReplayedRequest {
  const picked: Record<string, string | null> = {};
  for (const name of matchHeaders) picked[name] = headers.get(name);
  return { method, url, headers: picked };
}

function pathAndQuery(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

/**
 * The path and query as the server reads them, for matching: percent-encoding
 * decoded (`%2C`, `%3A`), and `since` as the instant it names (an ISO
 * date-time in any of its spellings, or epoch milliseconds), so a recording
 * matches a client that encodes the same request differently.
 */
function comparablePathAndQuery(url: string): string {
  const parsed = new URL(url);
  let path = parsed.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // Malformed escapes: compared as they are.
  }
  const query = [...parsed.searchParams].map(([name, value]) => {
    if (name === "since") {
      const ms = /^\d+$/.test(value) ? Number(value) : parseUtcDateTime(value);
      if (Number.isFinite(ms)) value = `${ms}`;
    }
    return `${name}=${value}`;
  });
  return query.length === 0 ? path : `${path}?${query.join("&")}`;
}

function describe(request: ReplayedRequest): string {
  const headers = Object.entries(request.headers)
    .filter(([, value]) => value !== null)
    .map(([name, value]) => `  ${name}: ${value}`)
    .join("");
  return `${request.method} ${pathAndQuery(request.url)}${headers}`;
}

/** The diff lines of every compared field that differs, or "" when all match. */
function diffRequests(
  expected: ReplayedRequest,
  actual: ReplayedRequest,
  matchHeaders: readonly string[],
): string {
  let diff = "";
  const field = (name: string, want: string | null, got: string | null) => {
    if (want === got) return;
    diff += `  ${name}:\n    - ${want ?? "(absent)"}\n    + ${
      got ?? "(absent)"
    }\n`;
    if (want !== null && got !== null) {
      let at = 0;
      while (at < want.length && at < got.length && want[at] === got[at]) at++;
      diff += `      ${" ".repeat(at)}^ first difference at character ${
        at + 1
      }\n`;
    }
  };
  field("method", expected.method, actual.method);
  if (
    comparablePathAndQuery(expected.url) !== comparablePathAndQuery(actual.url)
  ) {
    field(
      "path and query",
      pathAndQuery(expected.url),
      pathAndQuery(actual.url),
    );
  }
  for (const name of matchHeaders) {
    field(name, expected.headers[name], actual.headers[name]);
  }
  return diff;
}

// ---------------------------------------------------------------------------
// Serving

/** Waits until `at` ms after the connection started; rejects when `stop` aborts. */
type Wait = (at: number, stop: AbortSignal) => Promise<void>;

interface Timing {
  /** The connection's start, on the timing's own clock. */
  start(): number;
  /** A waiter for one connection started at `start`. */
  waiter(start: number): Wait;
}

function makeTiming(options: ReplayFetchOptions): Timing {
  const clock = options.clock;
  if (clock) {
    return {
      start: () => clock.now(),
      waiter: (start) => async (at, stop) => {
        const delta = start + at - clock.now();
        // Tick (a macrotask turn per call) only when a client timer falls due.
        if (delta > 0 && !clock.advanceIfIdle?.(delta)) await clock.tick(delta);
        stop.throwIfAborted();
      },
    };
  }
  if (options.realTime) {
    return {
      start: () => performance.now(),
      waiter: (start) => (at, stop) =>
        new Promise<void>((resolve, reject) => {
          if (stop.aborted) return reject(stop.reason);
          const delta = start + at - performance.now();
          if (delta <= 0) return resolve();
          const onStop = () => {
            clearTimeout(id);
            reject(stop.reason);
          };
          const id = setTimeout(() => {
            stop.removeEventListener("abort", onStop);
            resolve();
          }, delta);
          stop.addEventListener("abort", onStop, { once: true });
        }),
    };
  }
  return {
    start: () => 0,
    waiter: () => (_at, stop) => {
      stop.throwIfAborted();
      return Promise.resolve();
    },
  };
}

async function serve(
  connection: CassetteConnection,
  call: FetchCall,
  timing: Timing,
): Promise<Response> {
  const wait = timing.waiter(timing.start());
  // `stop` aborts when the client aborts the request or cancels the body: it ends every wait.
  const stopper = new AbortController();
  const stop = stopper.signal;
  const signal = call.signal;
  const onAbort = () => stopper.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const release = () => signal?.removeEventListener("abort", onAbort);

  const { response: head, chunks, end } = connection;
  try {
    await wait(head?.at ?? end?.at ?? 0, stop);
    if (!head) {
      if (end?.reason === "error") throw new TypeError(end.message);
      // The fetch was aborted (or still pending) when recording stopped: pend until aborted.
      await new Promise<never>((_resolve, reject) => {
        if (stop.aborted) return reject(stop.reason);
        stop.addEventListener("abort", () => reject(stop.reason), {
          once: true,
        });
      });
    }
  } catch (error) {
    release();
    throw error;
  }
  const response = head!;

  let nextChunk = 0;
  let finished = false;
  const finish = () => {
    finished = true;
    release();
  };
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  stop.addEventListener("abort", () => {
    if (finished) return;
    finish();
    controller.error(stop.reason);
  }, { once: true });

  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async pull(c) {
      try {
        if (nextChunk < chunks.length) {
          const chunk = chunks[nextChunk++];
          await wait(chunk.at, stop);
          if (!finished) c.enqueue(chunk.bytes.slice()); // A copy: the cassette can be replayed again.
          return;
        }
        await wait(end?.at ?? 0, stop);
        if (finished) return;
        if (end?.reason === "eof") {
          finish();
          c.close();
        } else if (end?.reason === "error") {
          finish();
          c.error(new TypeError(end.message));
        } else {
          // The client went away during the recording: keep the body open until it does here too.
          await new Promise<void>((resolve) => {
            if (stop.aborted) return resolve();
            stop.addEventListener("abort", () => resolve(), { once: true });
          });
        }
      } catch {
        // `stop` aborted: the abort listener errored the stream, or cancel() ended it.
      }
    },
    cancel(reason) {
      if (finished) return;
      finish();
      stopper.abort(
        reason ?? new DOMException("The body was cancelled", "AbortError"),
      );
    },
  }, { highWaterMark: 0 });

  const replayed = new Response(
    NULL_BODY_STATUSES.has(response.status) ? null : body,
    {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    },
  );
  if (NULL_BODY_STATUSES.has(response.status)) finish();
  Object.defineProperty(replayed, "url", { value: call.url });
  return replayed;
}
