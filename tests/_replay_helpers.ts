/**
 * Test helpers shared by the replay scenario, resume, out-of-order and
 * interop tests: fixture paths, reading a stream until a sentinel, the frames
 * of a recorded or live body, and a model of Kafka's offsets-for-times.
 */

import type { EventStream } from "../src/client.ts";
import { SseParseStream } from "../src/sse/parse_stream.ts";
import type { SseFrame } from "../src/sse/decoder.ts";
import type { CassetteConnection } from "../src/testing/cassette.ts";
import type { ManualClock } from "../src/testing/manual_clock.ts";
import type {
  EmulatorMessage,
  TopicPartitionLog,
} from "../src/testing/emulator/logs.ts";
import type { EventStreamsEvent } from "../src/types.ts";

export const UA =
  "EventStreamsReplayTests/1.0 (https://example.org/eventstreams; tests@example.org)";
export const FIXTURES: string = new URL("../fixtures/", import.meta.url)
  .pathname;
export const CAPTURE_CASSETTE =
  `${FIXTURES}page_change_v1.2026-09-27.cassette.jsonl`;
export const PAGE_CHANGE = "mediawiki.page_change.v1";
export const PC_EQIAD = "eqiad.mediawiki.page_change.v1";
export const PC_CODFW = "codfw.mediawiki.page_change.v1";
export const RC_EQIAD = "eqiad.mediawiki.recentchange";
export const RC_CODFW = "codfw.mediawiki.recentchange";
/** The capture's first and last offsets. */
export const CAPTURE_FIRST_OFFSET = 1109139115;
export const CAPTURE_LAST_OFFSET = 1109139283;

/** `topic/offset`, the identity of an event within one cluster. */
export const key = (event: { meta: { topic: string; offset: number } }) =>
  `${event.meta.topic}/${event.meta.offset}`;

/**
 * Reads `stream` until an event satisfies `isEnd` (not included) and
 * returns the events before it. Fails if the stream ends first.
 */
export async function collectUntil(
  stream: EventStream<EventStreamsEvent>,
  isEnd: (event: EventStreamsEvent) => boolean,
): Promise<EventStreamsEvent[]> {
  const events: EventStreamsEvent[] = [];
  for await (const event of stream) {
    if (isEnd(event)) return events;
    events.push(event);
  }
  throw new Error(
    `The stream ended after ${events.length} events, before the end marker`,
  );
}

/** Reads `count` events from `stream` (fails if it ends first). */
export async function take(
  stream: EventStream<EventStreamsEvent>,
  count: number,
): Promise<EventStreamsEvent[]> {
  const events: EventStreamsEvent[] = [];
  if (count === 0) return events;
  for await (const event of stream) {
    events.push(event);
    if (events.length === count) return events;
  }
  throw new Error(`The stream ended after ${events.length} of ${count} events`);
}

/** The SSE frames of a recorded connection's body. */
export async function cassetteFrames(
  connection: CassetteConnection,
): Promise<SseFrame[]> {
  const frames: SseFrame[] = [];
  await ReadableStream.from(connection.chunks.map((c) => c.bytes))
    .pipeThrough(new SseParseStream())
    .pipeTo(new WritableStream({ write: (frame) => void frames.push(frame) }));
  return frames;
}

/** Reads SSE frames from a live response until `isEnd(frame)` (not included), then lets go. */
export async function framesUntil(
  response: Response,
  isEnd: (frame: SseFrame) => boolean,
): Promise<SseFrame[]> {
  const frames: SseFrame[] = [];
  const reader = response.body!.pipeThrough(new SseParseStream()).getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`The body ended after ${frames.length} frames`);
      if (isEnd(value)) return frames;
      frames.push(value);
    }
  } finally {
    await reader.cancel();
  }
}

/**
 * Kafka's offsets-for-times, written out for the tests: the index of the
 * first message whose timestamp is >= `timestamp`, where Kafka's time index
 * uses the running maximum of the timestamps (so a late, smaller timestamp
 * never moves the answer back). `messages.length` when there is none.
 */
export function firstIndexAtOrAfter(
  messages: readonly EmulatorMessage[],
  timestamp: number,
): number {
  let max = -Infinity;
  for (let i = 0; i < messages.length; i++) {
    max = Math.max(max, messages[i].timestamp);
    if (max >= timestamp) return i;
  }
  return messages.length;
}

/** Mean and maximum of a list (0 for an empty one). */
export function summary(values: readonly number[]): {
  mean: number;
  max: number;
} {
  if (values.length === 0) return { mean: 0, max: 0 };
  return {
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    max: Math.max(...values),
  };
}

/**
 * Runs out each backoff wait on `clock` as soon as the client schedules it,
 * one after another (overlapping ticks would interleave their timers). Pass
 * `onRetry` to the client; `await settled()` before checking the clock.
 */
export function backoffOnClock(clock: ManualClock): {
  onRetry: (info: { delayMs: number }) => void;
  settled: () => Promise<void>;
} {
  let ticks = Promise.resolve();
  return {
    onRetry: (info) => {
      ticks = ticks.then(() => clock.tick(info.delayMs));
    },
    settled: () => ticks,
  };
}

/**
 * Appends a recentchange edit to `log` with Kafka timestamp `timestamp`
 * (`meta.dt` the same), its `meta.id` numbered `n` and its title naming the
 * topic's datacenter and `n`.
 */
export function appendRecentChange(
  log: TopicPartitionLog,
  n: number,
  timestamp: number,
): void {
  log.append({
    $schema: "/mediawiki/recentchange/1.0.0",
    meta: {
      dt: new Date(timestamp).toISOString(),
      id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
      domain: "en.wikipedia.org",
      stream: "mediawiki.recentchange",
    },
    type: "edit",
    title: `${log.topic.slice(0, 5)} ${n}`,
  }, { timestamp });
}
