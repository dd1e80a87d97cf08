/**
 * Regenerates `fixtures/emulator_faults.cassette.jsonl`: one session of
 * `eventStream("recentchange")` recorded against the local emulator while
 * every connection fails in a different scripted way (a mid-frame cut, a
 * reset, a 429, `event: error`, a zombie that only the idle watchdog ends, a
 * reset inside a frame), then an out-of-order tail.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read --allow-write scripts/record_emulator_fixture.ts
 * deno run --allow-net=127.0.0.1 --allow-read scripts/record_emulator_fixture.ts --check
 * ```
 *
 * The output is the same on every run (`--check` compares it with the
 * committed file). Only what varies between runs is normalised, and the
 * cassette's `note` says so:
 *
 * - The URL origin: the client talks to the fixed base URL
 *   {@linkcode BASE_URL} (what `deno task serve` listens on), and the fetch
 *   under the recorder rewrites it to the emulator's random port.
 * - Chunk boundaries: the emulator writes every SSE line separately but TCP
 *   coalesces writes as it likes, so the body is re-chunked one SSE line per
 *   chunk (a cut's half line stays a chunk of its own). The bytes are
 *   untouched.
 * - Time: the client, the recorder and the `date` response header use one
 *   `ManualClock` starting at {@linkcode CLOCK_START}; it moves only for the
 *   client's backoff waits and for the zombie connection's idle timeout, so
 *   every time offset is deterministic.
 *
 * {@linkcode recordEmulatorSession} is exported for the tests, which record
 * other scenarios the same way and replay them.
 *
 * @module
 */

import { eventStream } from "../src/client.ts";
import type { StreamName } from "../src/streams.ts";
import type { Cassette } from "../src/testing/cassette.ts";
import { serializeCassette } from "../src/testing/cassette.ts";
import { writeCassette } from "../src/testing/cassette_file.ts";
import type { EmulatorFault } from "../src/testing/emulator/faults.ts";
import {
  generateStreams,
  type GenerateStreamsOptions,
} from "../src/testing/emulator/generate_streams.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";
import type { EmulatorConnectionLog } from "../src/testing/emulator/session.ts";
import type { EmulatorStreams } from "../src/testing/emulator/stream_set.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { type FetchLike, recordingFetch } from "../src/testing/recorder.ts";
import type { EventStreamsEvent } from "../src/types.ts";

/** Where the fixture lives. */
export const FIXTURE_PATH: URL = new URL(
  "../fixtures/emulator_faults.cassette.jsonl",
  import.meta.url,
);
/** The base URL the recorded client uses (the default of `eventstreams serve`). */
export const BASE_URL = "http://127.0.0.1:8092";
/** When the recorded session starts (the cassette's `recordedAt`). */
export const CLOCK_START: number = Date.parse("2026-09-27T16:20:00Z");
/** The User-Agent of the recorded client. */
export const USER_AGENT =
  "eventstreams-fixtures/1.0 (https://example.org/eventstreams; fixtures@example.org)";
/** The idle timeout of the recorded client (the default for recentchange). */
export const IDLE_TIMEOUT_MS = 60_000;

/** The fixture's data: 90 generated recentchange events over one minute, a fifth of them in codfw. */
export const FIXTURE_DATA: Readonly<GenerateStreamsOptions> = {
  seed: 20260927,
  start: "2026-09-27T16:15:00Z",
  durationMs: 60_000,
  counts: { "mediawiki.recentchange": 90 },
  codfwShare: 0.2,
};
/** The fixture's `since`: the start of the generated data. */
export const FIXTURE_SINCE = "2026-09-27T16:15:00Z";
/** Events the fixture session collects before it closes the stream. */
export const FIXTURE_EVENTS = 60;
/**
 * The fixture's faults, one list per connection: 8 + 9 + 0 + 7 + 10 + 6
 * events before the last connection, which delivers the remaining 20 with
 * the topics in batches (out of timestamp order).
 */
export const FIXTURE_FAULTS: readonly (readonly EmulatorFault[])[] = [
  [{ kind: "cut", afterFrames: 8, midFrame: true }],
  [{ kind: "cut", afterFrames: 9, abrupt: true }],
  [{ kind: "status", status: 429 }],
  [{ kind: "error-event", afterFrames: 7 }],
  [{ kind: "stall", afterFrames: 10 }],
  [{ kind: "cut", afterFrames: 6, midFrame: true, abrupt: true }],
  [{ kind: "interleave", order: "partition-batches", batchSize: 4 }],
];
const FIXTURE_NOTE =
  "Recorded by scripts/record_emulator_fixture.ts against the local emulator: " +
  "90 generated mediawiki.recentchange events (seed 20260927, 20% in codfw), since 2026-09-27T16:15:00Z, " +
  "60 events collected. Faults by connection: 0 cut after 8 frames plus half a frame (clean end); " +
  "1 reset after 9 frames; 2 answered 429; 3 event: error after 7 frames; 4 zombie after 10 frames " +
  "(ended by the client's 60 s idle watchdog); 5 reset in the middle of a frame after 6 frames; " +
  "6 topics in batches of 4 (out of timestamp order), closed by the client. " +
  "Normalised: the origin is http://127.0.0.1:8092 (the emulator's port varies); body chunks are one SSE line " +
  "each (TCP coalescing varies; bytes untouched); times and the date header come from a manual clock " +
  "started at 2026-09-27T16:20:00Z that moves only for backoff waits and the idle timeout. " +
  "Regenerate: deno run --allow-net=127.0.0.1 --allow-read --allow-write scripts/record_emulator_fixture.ts";

/** Options for {@linkcode recordEmulatorSession}. */
export interface EmulatorSessionOptions {
  /**
   * The data the emulator serves.
   *
   * @default {generateStreams(FIXTURE_DATA)}
   */
  streams?: EmulatorStreams;
  /**
   * The stream to consume.
   *
   * @default {"mediawiki.recentchange"}
   */
  stream?: StreamName;
  /**
   * Where the session starts.
   *
   * @default {FIXTURE_SINCE}
   */
  since?: string;
  /**
   * Faults per connection (a `stall` is ended by ticking the clock by the
   * idle timeout once the client waits on the silent connection).
   *
   * @default {FIXTURE_FAULTS}
   */
  faults?: readonly (readonly EmulatorFault[])[];
  /**
   * Events to collect before closing the stream.
   *
   * @default {FIXTURE_EVENTS}
   */
  events?: number;
  /**
   * The cassette's note.
   *
   * @default {the fixture's note}
   */
  note?: string;
}

/** What {@linkcode recordEmulatorSession} recorded. */
export interface EmulatorSession {
  /** The recorded cassette. */
  cassette: Cassette;
  /** The events the client handed over, in order. */
  events: EventStreamsEvent[];
  /** `stream.cursor` after each event. */
  cursors: string[];
  /** The emulator's log of every request. */
  connections: readonly EmulatorConnectionLog[];
}

/**
 * Runs `eventStream` against a fresh emulator with scripted faults, through
 * `recordingFetch`, on a manual clock, and returns the cassette and the
 * events. Deterministic: the same options give the same cassette text.
 *
 * @param options Data, stream, since, faults, event count.
 * @returns The cassette, the events, the cursors and the emulator's log.
 * @throws {Error} When the stream ends before `events` events.
 */
export async function recordEmulatorSession(
  options: EmulatorSessionOptions = {},
): Promise<EmulatorSession> {
  const faults = options.faults ?? FIXTURE_FAULTS;
  const wanted = options.events ?? FIXTURE_EVENTS;
  const clock = new ManualClock(CLOCK_START);
  // Closed on every way out, a failing eventStream() call included.
  await using emulator = serveEmulator({
    interleave: "timestamp",
    streams: options.streams ?? generateStreams(FIXTURE_DATA),
    faults,
    // One connection at a time from the client, but the emulator may see the
    // previous one end a moment late: no limit, so no racy 429.
    maxConnectionsPerIp: 0,
  });
  // One tick at a time: ManualClock.tick is not reentrant (an overlapping
  // tick would set the time back to its own, earlier target when it ends).
  let ticks = Promise.resolve();
  const tick = (ms: number) => {
    ticks = ticks.then(() => clock.tick(ms));
  };
  const zombiesEnded = new Set<number>();
  const onWaiting = (connection: number, frames: number) => {
    const stall = faults[connection]?.find((f) => f.kind === "stall");
    if (stall === undefined || zombiesEnded.has(connection)) return;
    if (frames < (stall.afterFrames ?? 0)) return;
    // The client waits on a connection that will never speak again, its
    // idle watchdog armed: let that much time pass.
    zombiesEnded.add(connection);
    tick(IDLE_TIMEOUT_MS);
  };
  const recorder = recordingFetch({
    fetch: lineChunkedFetch(emulator.url, clock, onWaiting),
    clock,
    tool: "scripts/record_emulator_fixture.ts",
    note: options.note ?? FIXTURE_NOTE,
  });
  const stream = eventStream(options.stream ?? "mediawiki.recentchange", {
    userAgent: USER_AGENT,
    baseUrl: BASE_URL,
    fetch: recorder.fetch,
    clock,
    since: options.since ?? FIXTURE_SINCE,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    backoff: { random: () => 0.5 },
    // The client sleeps right after this hook: run the wait out on the next turn.
    onRetry: (info) => tick(info.delayMs),
  });
  const events: EventStreamsEvent[] = [];
  const cursors: string[] = [];
  try {
    for await (const event of stream) {
      events.push(event as EventStreamsEvent);
      cursors.push(stream.cursor);
      if (events.length === wanted) break;
    }
  } finally {
    await stream.close();
    await ticks;
  }
  if (events.length < wanted) {
    throw new Error(
      `Cannot record the emulator session: the stream ended after ${events.length} of ${wanted} events`,
    );
  }
  return {
    cassette: recorder.cassette(),
    events,
    cursors,
    connections: emulator.connections,
  };
}

/**
 * A fetch for the recorder to wrap: sends the request to the emulator
 * instead of `BASE_URL`, re-chunks the body one SSE line per chunk, sets
 * the `date` header from the clock, and tells `onWaiting` how many complete
 * frames the connection has delivered each time the reader waits for bytes.
 */
function lineChunkedFetch(
  emulatorUrl: string,
  clock: ManualClock,
  onWaiting: (connection: number, frames: number) => void,
): FetchLike {
  let connections = 0;
  return async (input, init) => {
    const connection = connections++;
    const url = new URL(input instanceof Request ? input.url : String(input));
    const response = await fetch(
      `${emulatorUrl}${url.pathname}${url.search}`,
      init,
    );
    const headers = new Headers(response.headers);
    if (headers.has("date")) {
      headers.set("date", new Date(clock.now()).toUTCString());
    }
    const body = response.body === null
      ? null
      : perLine(response.body, (frames) => onWaiting(connection, frames));
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

const LF = 0x0a;
const COLON = 0x3a;

/** The body re-chunked into lines (terminator included); pulled, never read ahead. */
function perLine(
  body: ReadableStream<Uint8Array>,
  onWaiting: (frames: number) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const lines: Uint8Array[] = [];
  let partial: Uint8Array = new Uint8Array(0);
  let ended: { error: unknown } | "eof" | undefined;
  let frames = 0;
  let inFrame = false;
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (lines.length === 0) {
        if (cancelled) return;
        if (ended !== undefined) {
          if (partial.length > 0) {
            controller.enqueue(partial);
            partial = new Uint8Array(0);
          } else if (ended === "eof") controller.close();
          else controller.error(ended.error);
          return;
        }
        onWaiting(frames);
        try {
          const { done, value } = await reader.read();
          if (done) ended = "eof";
          else partial = split(concat(partial, value), lines);
        } catch (error) {
          ended = { error };
        }
      }
      const line = lines.shift()!;
      // Per the SSE format: a blank line ends a frame; a ":" line is a comment.
      if (line.length === 1) {
        if (inFrame) frames++;
        inFrame = false;
      } else if (line[0] !== COLON) inFrame = true;
      controller.enqueue(line);
    },
    cancel(reason) {
      cancelled = true;
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Moves every complete line of `bytes` into `lines`; returns the rest. */
function split(bytes: Uint8Array, lines: Uint8Array[]): Uint8Array {
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === LF) {
      lines.push(bytes.slice(start, i + 1));
      start = i + 1;
    }
  }
  return bytes.slice(start);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const { cassette, events } = await recordEmulatorSession();
  const text = serializeCassette(cassette);
  const path = FIXTURE_PATH.pathname;
  if (check) {
    const committed = await Deno.readTextFile(FIXTURE_PATH);
    if (committed !== text) {
      console.error(
        `${path} is out of date: regenerate it with deno run --allow-net=127.0.0.1 --allow-read --allow-write scripts/record_emulator_fixture.ts`,
      );
      Deno.exit(1);
    }
    console.log(`${path} is up to date`);
  } else {
    await writeCassette(FIXTURE_PATH, cassette);
    console.log(
      `Wrote ${path}: ${cassette.connections.length} connections, ${events.length} events, ${text.length} bytes`,
    );
  }
}
