/**
 * Record mode: {@linkcode recordingFetch} wraps `fetch` and records every
 * connection into an in-memory {@linkcode Cassette} while the caller
 * consumes the responses as usual.
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import {
  type Cassette,
  CASSETTE_FORMAT,
  type CassetteConnection,
  type CassetteEnd,
  isSecretHeader,
  stripSecretHeaders,
  stripUrlSecrets,
} from "./cassette.ts";
import { describeFetchCall, errorMessage, isAbort } from "./_request.ts";

/**
 * Any `fetch`-compatible function, like `globalThis.fetch`. The fetches made
 * by {@linkcode recordingFetch} and `replayFetch` are of this type, which
 * also fits the client's narrower `fetch` option.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FetchLike } from "@eventstreams/client/testing";
 * const offline: FetchLike = () => Promise.resolve(new Response(":ok\n\n"));
 * assert.ok(typeof offline === "function");
 * ```
 */
export type FetchLike = (
  input: Request | URL | string,
  init?: RequestInit,
) => Promise<Response>;

/**
 * Options for {@linkcode recordingFetch}.
 *
 * @example
 * ```ts no-assert
 * import { ManualClock, type RecordingFetchOptions } from "@eventstreams/client/testing";
 * const options: RecordingFetchOptions = { clock: new ManualClock(0), tool: "my-tests", note: "recentchange, 50 events" };
 * ```
 */
export interface RecordingFetchOptions {
  /**
   * The fetch that really talks to the server.
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchLike;
  /**
   * Where time offsets come from.
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /**
   * The cassette header's `tool`.
   *
   * @default {"@eventstreams/client recordingFetch"}
   */
  tool?: string;
  /**
   * The cassette header's `note`.
   *
   * @default {undefined}
   */
  note?: string;
  /**
   * Which request and response headers, and which URL query parameters,
   * never reach the cassette (URL credentials never do either).
   *
   * @default {isSecretHeader}
   */
  isSecretHeader?: (name: string) => boolean;
}

/**
 * Running totals of a recording, for progress output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RecordingStats } from "@eventstreams/client/testing";
 * const show = (s: RecordingStats): string => `${s.connections} connections, ${s.chunks} chunks, ${s.bytes} bytes`;
 * assert.ok(show({ connections: 1, chunks: 2, bytes: 3 }) === "1 connections, 2 chunks, 3 bytes");
 * ```
 */
export interface RecordingStats {
  /** Connections opened (requests made). */
  connections: number;
  /** Body chunks recorded. */
  chunks: number;
  /** Body bytes recorded. */
  bytes: number;
}

/**
 * A recording in progress: its `fetch` and what it has recorded so far.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordingFetch, type RecordingFetch } from "@eventstreams/client/testing";
 * const recorder: RecordingFetch = recordingFetch({ fetch: () => Promise.resolve(new Response("")) });
 * assert.ok(recorder.stats.connections === 0 && recorder.cassette().connections.length === 0);
 * ```
 */
export interface RecordingFetch {
  /** Hand this to the client as its `fetch`. */
  readonly fetch: FetchLike;
  /** Running totals (a fresh object on each read). */
  readonly stats: RecordingStats;
  /**
   * A snapshot of the session so far. Connections still open have no `end`.
   *
   * @returns The cassette, ready for `serializeCassette` or `writeCassette`.
   */
  cassette(): Cassette;
}

/**
 * Wraps `fetch` so that every request, response head and body chunk is
 * recorded, with time offsets from `clock`, while the caller reads the body.
 *
 * The caller sees exactly what the real fetch gives: the same status, headers,
 * bytes, chunk boundaries and errors. The body is pulled through, never read
 * ahead: a chunk is read from the network only when the caller asks for one
 * (so chunk times are when the caller received them). The recording notes how
 * each body ended: `eof`, `error` (with the message), or `aborted` when the
 * caller cancelled the body or aborted the request. Requests whose signal is
 * already aborted never reach the network and are not recorded. Request bodies
 * are not recorded (EventStreams requests are GETs).
 *
 * @param options The real fetch, the clock, and the cassette header fields.
 * @returns The wrapping fetch, running stats, and `cassette()` for a snapshot.
 *
 * @example Recording a response while reading it
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordingFetch } from "@eventstreams/client/testing";
 * const recorder = recordingFetch({
 *   fetch: () => Promise.resolve(new Response(":ok\n\n", { headers: { "content-type": "text/event-stream" } })),
 * });
 * const response = await recorder.fetch("https://stream.wikimedia.org/v2/stream/test", {
 *   headers: { Authorization: "Bearer secret", "Last-Event-ID": "[]" },
 * });
 * assert.ok(await response.text() === ":ok\n\n");
 * const [connection] = recorder.cassette().connections;
 * assert.ok(connection.end?.reason === "eof");
 * assert.ok(connection.request.headers["last-event-id"] === "[]");
 * assert.ok(!("authorization" in connection.request.headers));
 * ```
 */
export function recordingFetch(
  options: RecordingFetchOptions = {},
): RecordingFetch {
  const realFetch: FetchLike = options.fetch ??
    ((input, init) => fetch(input, init));
  const clock = options.clock ?? systemClock;
  const isSecret = options.isSecretHeader ?? isSecretHeader;
  const createdAt = clock.now();
  let sessionStart: number | undefined;
  const connections: CassetteConnection[] = [];
  const stats: RecordingStats = { connections: 0, chunks: 0, bytes: 0 };

  const recordFetch: FetchLike = async (input, init) => {
    let call;
    try {
      call = describeFetchCall(input, init);
    } catch {
      return realFetch(input, init); // Let fetch reject the malformed call in its own words.
    }
    if (call.signal?.aborted) return realFetch(input, init); // Never reaches the network.
    const signal = call.signal;
    const startedAt = clock.now();
    sessionStart ??= startedAt;
    const elapsed = () => clock.now() - startedAt;
    const connection: CassetteConnection = {
      request: {
        startedAt: startedAt - sessionStart,
        method: call.method,
        url: stripUrlSecrets(call.url, isSecret),
        headers: stripSecretHeaders(call.headers, isSecret),
      },
      chunks: [],
    };
    connections.push(connection);
    stats.connections++;

    let response: Response;
    try {
      response = await realFetch(input, init);
    } catch (error) {
      connection.end = endFor(error, signal, elapsed());
      throw error;
    }
    connection.response = {
      at: elapsed(),
      status: response.status,
      statusText: response.statusText,
      headers: stripSecretHeaders(response.headers, isSecret),
    };
    if (response.body === null) {
      connection.end = { at: elapsed(), reason: "eof" };
      return response;
    }

    const reader = response.body.getReader();
    const finish = (end: CassetteEnd) => {
      connection.end ??= end;
    };
    // highWaterMark 0 and a pull source: nothing is read until the caller reads.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          if (connection.end) return; // Cancelled meanwhile.
          finish(endFor(error, signal, elapsed()));
          controller.error(error);
          return;
        }
        if (connection.end) return; // Cancelled while the read was pending.
        if (result.done) {
          finish({ at: elapsed(), reason: "eof" });
          controller.close();
          return;
        }
        const chunk = result.value;
        // A copy: the caller owns `chunk` and may reuse its buffer.
        connection.chunks.push({ at: elapsed(), bytes: chunk.slice() });
        stats.chunks++;
        stats.bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel(reason) {
        finish({ at: elapsed(), reason: "aborted" });
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });

    const wrapped = new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    // A constructed Response has url "" and redirected false: keep the real ones.
    Object.defineProperties(wrapped, {
      url: { value: response.url },
      redirected: { value: response.redirected },
    });
    return wrapped;
  };

  return {
    fetch: recordFetch,
    get stats(): RecordingStats {
      return { ...stats };
    },
    cassette(): Cassette {
      const cassette: Cassette = {
        format: CASSETTE_FORMAT,
        recordedAt: new Date(sessionStart ?? createdAt).toISOString(),
        tool: options.tool ?? "@eventstreams/client recordingFetch",
        connections: connections.map((connection) => {
          const copy: CassetteConnection = {
            request: {
              ...connection.request,
              headers: { ...connection.request.headers },
            },
            chunks: connection.chunks.slice(),
          };
          if (connection.response) {
            copy.response = {
              ...connection.response,
              headers: { ...connection.response.headers },
            };
          }
          if (connection.end) copy.end = { ...connection.end };
          return copy;
        }),
      };
      if (options.note !== undefined) cassette.note = options.note;
      return cassette;
    },
  };
}

function endFor(
  error: unknown,
  signal: AbortSignal | undefined,
  at: number,
): CassetteEnd {
  return isAbort(error, signal)
    ? { at, reason: "aborted" }
    : { at, reason: "error", message: errorMessage(error) };
}
