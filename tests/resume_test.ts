/**
 * Resume semantics against the real capture and the emulator (PROTOCOL.md,
 * "Resume semantics and their traps"): the client's offset cursor resumes
 * exactly from any point; the server's own timestamp id resumes
 * approximately, and these tests measure by how much.
 */
import assert from "node:assert/strict";
import { eventStream } from "../src/client.ts";
import { Cursor } from "../src/cursor.ts";
import type { StreamName } from "../src/streams.ts";
import { readCassette } from "../src/testing/cassette_file.ts";
import {
  type Emulator,
  generateStreams,
  loadFixtureStreams,
  type PositionedMessage,
  serveEmulator,
} from "../src/testing/emulator/mod.ts";
import type { EmulatorMessage } from "../src/testing/emulator/logs.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { replayFetch } from "../src/testing/replay.ts";
import type { EventStreamsEvent } from "../src/types.ts";
import {
  CAPTURE_CASSETTE,
  CAPTURE_FIRST_OFFSET,
  CAPTURE_LAST_OFFSET,
  cassetteFrames,
  collectUntil,
  firstIndexAtOrAfter,
  FIXTURES,
  framesUntil,
  key,
  PAGE_CHANGE,
  PC_CODFW,
  PC_EQIAD,
  RC_CODFW,
  RC_EQIAD,
  summary,
  UA,
} from "./_replay_helpers.ts";

const CLOCK_START = Date.parse("2026-09-28T00:00:00Z");
const CAPTURE_EVENTS = CAPTURE_LAST_OFFSET - CAPTURE_FIRST_OFFSET + 1;
/** How much later than a server id's timestamp the capture's resumes start (measured max: 239 ms). */
const CAPTURE_TOLERANCE_MS = 250;

/** The capture replayed through eventStream: its events and the cursor after each. */
async function replayCapture(): Promise<{
  events: EventStreamsEvent[];
  cursors: string[];
}> {
  const cassette = await readCassette(CAPTURE_CASSETTE);
  const replay = replayFetch(cassette, { source: CAPTURE_CASSETTE });
  const stream = eventStream(PAGE_CHANGE, {
    userAgent: UA,
    fetch: replay.fetch,
    clock: new ManualClock(CLOCK_START),
  });
  const events: EventStreamsEvent[] = [];
  const cursors: string[] = [];
  for await (const event of stream) {
    events.push(event);
    cursors.push(stream.cursor);
    if (events.length === CAPTURE_EVENTS) break;
  }
  replay.assertDone();
  return { events, cursors };
}

/** The emulator serving only the repository's real events, with an end marker after the capture. */
async function captureEmulator(): Promise<
  { emulator: Emulator; marker: PositionedMessage }
> {
  const streams = await loadFixtureStreams(FIXTURES, { counts: {} });
  const emulator = serveEmulator({ streams });
  const last = streams.log(PC_EQIAD)!.messages.at(-1)!;
  assert.equal(last.offset, CAPTURE_LAST_OFFSET);
  const [marker] = emulator.produce(PAGE_CHANGE, 1, {
    topic: PC_EQIAD,
    timestamp: last.timestamp + 60_000,
  });
  return { emulator, marker };
}

/**
 * Opens a fresh client on the emulator from `cursor`, reads until the end
 * marker, closes, and returns the events and the emulator's log of the request.
 */
async function resumeUntilMarker(
  emulator: Emulator,
  stream: StreamName,
  cursor: string | Cursor,
  marker: PositionedMessage,
) {
  const index = emulator.connections.length;
  const client = eventStream(stream, {
    userAgent: UA,
    baseUrl: emulator.url,
    cursor,
    clock: new ManualClock(CLOCK_START),
  });
  let events: EventStreamsEvent[];
  try {
    events = await collectUntil(
      client,
      (e) => e.meta.topic === marker.topic && e.meta.offset === marker.offset,
    );
  } finally {
    await client.close();
  }
  const log = await emulator.waitForEnd(index);
  assert.equal(
    emulator.connections.length,
    index + 1,
    "the resume took one connection",
  );
  return { events, log };
}

Deno.test("after each event of the real capture, the cursor names the next eqiad offset and pins codfw's latest to the session start", async () => {
  const { events, cursors } = await replayCapture();
  assert.deepEqual(
    events.map((e) => e.meta.offset),
    Array.from({ length: CAPTURE_EVENTS }, (_, i) => CAPTURE_FIRST_OFFSET + i),
  );
  // Beyond the server: codfw's {"offset":-1} ("latest") is pinned to the
  // session's earliest server timestamp, the first event's Kafka timestamp
  // (its meta.dt; the server's id says that + 1), down to the whole second.
  assert.equal(events[0].meta.dt, "2026-09-27T16:17:12.812Z");
  const sessionStart = Date.parse("2026-09-27T16:17:12Z");
  const codfw =
    `{"topic":"${PC_CODFW}","partition":0,"timestamp":${sessionStart}}`;
  events.forEach((event, k) => {
    assert.equal(
      cursors[k],
      `[{"topic":"${PC_EQIAD}","partition":0,"offset":${
        event.meta.offset + 1
      }},${codfw}]`,
      `cursor after event ${k}`,
    );
    assert.equal(Cursor.parse(cursors[k]).toString(), cursors[k]);
  });
});

Deno.test("resumes from the cursor after any of the capture's 169 events with exactly the events after it, in order", async () => {
  const { events, cursors } = await replayCapture();
  const { emulator, marker } = await captureEmulator();
  try {
    for (let k = 0; k < CAPTURE_EVENTS; k++) {
      const { events: rest, log } = await resumeUntilMarker(
        emulator,
        PAGE_CHANGE,
        cursors[k],
        marker,
      );
      assert.equal(log.headers["last-event-id"], cursors[k]);
      const expected = events.slice(k + 1);
      assert.deepEqual(
        rest.map((e) => e.meta.offset),
        expected.map((e) => e.meta.offset),
        `resume after event ${k}`,
      );
      // Byte-identical events: the emulator serves the capture's data lines.
      assert.deepEqual(rest, expected, `resume after event ${k}`);
    }
  } finally {
    await emulator.close();
  }
});

/** What a resume with the server's own id did at one resume point, per topic-partition. */
interface ResumePoint {
  skipped: number;
  repeated: number;
  /** Kafka timestamp of the first resumed event minus that of the last delivered one (per partition resumed by timestamp). */
  gapsMs: number[];
}

function report(name: string, points: readonly ResumePoint[]): string {
  const skipped = summary(points.map((p) => p.skipped));
  const repeated = summary(points.map((p) => p.repeated));
  const gaps = summary(points.flatMap((p) => p.gapsMs));
  const line =
    `${name}: ${points.length} resume points; skipped events per resume mean ${
      skipped.mean.toFixed(3)
    } max ${skipped.max} (total ${
      points.reduce((n, p) => n + p.skipped, 0)
    }, at ${
      points.filter((p) => p.skipped > 0).length
    } points); repeated mean ${
      repeated.mean.toFixed(3)
    } max ${repeated.max} (total ${
      points.reduce((n, p) => n + p.repeated, 0)
    }); time gap first resumed - last delivered mean ${
      gaps.mean.toFixed(1)
    } ms max ${gaps.max} ms`;
  console.log(line);
  return line;
}

Deno.test("resuming the capture with the server's own timestamp id is approximate: it skips events sharing the last delivered millisecond, and late ones around out-of-order timestamps", async () => {
  const cassette = await readCassette(CAPTURE_CASSETTE);
  const frames = await cassetteFrames(cassette.connections[0]);
  assert.equal(frames.length, CAPTURE_EVENTS);
  const { emulator, marker } = await captureEmulator();
  const log = emulator.streams.log(PC_EQIAD)!.messages;
  // log[0] is the 2024 event of wme-testdata, log[1 + k] is capture frame k.
  const at = (k: number) => log[1 + k];
  const points: ResumePoint[] = [];
  try {
    for (let k = 0; k < CAPTURE_EVENTS; k++) {
      const id = Cursor.parse(frames[k].id, { mode: "timestamp" });
      const entry = id.entries.find((e) => e.topic === PC_EQIAD)!;
      assert.ok("timestamp" in entry);
      const t = entry.timestamp;
      // Per PROTOCOL.md: the server's id holds the Kafka timestamp + 1.
      assert.equal(t, at(k).timestamp + 1);
      const { events: rest, log: request } = await resumeUntilMarker(
        emulator,
        PAGE_CHANGE,
        id,
        marker,
      );
      assert.equal(request.headers["last-event-id"], frames[k].id);
      // The exact rule: Kafka's offsets-for-times on the id's timestamp.
      const r = firstIndexAtOrAfter(log, t);
      assert.deepEqual(
        rest.map((e) => e.meta.offset),
        log.slice(r, -1).map((m) => m.offset),
        `resume with the id of frame ${k}`,
      );
      const tsK = at(k).timestamp;
      const after = Array.from(
        { length: CAPTURE_EVENTS - k - 1 },
        (_, i) => at(k + 1 + i),
      );
      const skippedMessages = log.slice(k + 2, Math.max(k + 2, r));
      const repeatedMessages = log.slice(r, Math.max(r, k + 2));
      // Tolerance: the first resumed event is never earlier than the id's
      // timestamp, and is the first event later than the last delivered one.
      const gapsMs: number[] = [];
      if (rest.length > 0) {
        assert.ok(log[r].timestamp >= t);
        const firstLater = [...log.slice(1, k + 1), ...after].find((m) =>
          m.timestamp > tsK
        )!;
        assert.equal(log[r].offset, firstLater.offset);
        assert.ok(log[r].timestamp - t < CAPTURE_TOLERANCE_MS);
        gapsMs.push(log[r].timestamp - tsK);
      }
      // Skipped events are never later than the last delivered one. A repeat
      // happens only when k was itself late (out of order): the resume starts
      // at an earlier offset whose timestamp is later than k's.
      for (const m of skippedMessages) assert.ok(m.timestamp <= tsK);
      if (repeatedMessages.length > 0) {
        assert.ok(repeatedMessages[0].timestamp > tsK);
        assert.ok(log.slice(1, k + 1).some((m) => m.timestamp > tsK));
      }
      const monotonicHere = log.slice(1, k + 1).every((m) =>
        m.timestamp <= tsK
      ) && after.every((m) => m.timestamp >= tsK);
      if (monotonicHere) {
        // Where timestamps do not go backwards, the skipped events are
        // exactly those sharing the last delivered event's millisecond.
        assert.deepEqual(
          skippedMessages.map((m) => m.offset),
          after.filter((m) => m.timestamp === tsK).map((m) => m.offset),
          `skipped after frame ${k}`,
        );
        assert.equal(repeatedMessages.length, 0);
      }
      points.push({
        skipped: skippedMessages.length,
        repeated: repeatedMessages.length,
        gapsMs,
      });
    }
  } finally {
    await emulator.close();
  }
  report("page_change capture, server id resume", points);
  // The capture's facts: two pairs of events share a millisecond, and three
  // events are late by 1-2 ms (each skipped by one resume, re-delivering
  // two events at the next).
  assert.equal(points.reduce((n, p) => n + p.skipped, 0), 5);
  assert.equal(points.filter((p) => p.skipped > 0).length, 5);
  assert.equal(points.reduce((n, p) => n + p.repeated, 0), 6);
  assert.equal(Math.max(...points.map((p) => p.repeated)), 2);
  assert.equal(Math.max(...points.flatMap((p) => p.gapsMs)), 240);
});

// ---------------------------------------------------------------------------
// Second-precision recentchange: many events share one timestamp.

const RC_START = "2026-09-27T16:15:00Z";
const RC_EVENTS = 240;

/** 240 generated recentchange events over 12 s (20 per second, second precision), and an end marker. */
function recentChangeEmulator(): {
  emulator: Emulator;
  marker: PositionedMessage;
} {
  const streams = generateStreams({
    seed: 4242,
    start: RC_START,
    durationMs: 12_000,
    counts: { "mediawiki.recentchange": RC_EVENTS },
  });
  const emulator = serveEmulator({ interleave: "timestamp", streams });
  const [marker] = emulator.produce("mediawiki.recentchange", 1, {
    topic: RC_EQIAD,
    timestamp: Date.parse(RC_START) + 60_000,
  });
  return { emulator, marker };
}

const isMarker = (marker: PositionedMessage) => (e: EventStreamsEvent) =>
  e.meta.topic === marker.topic && e.meta.offset === marker.offset;

Deno.test("resuming second-precision recentchange with the server's own timestamp id skips every event sharing the last delivered second", async () => {
  const { emulator, marker } = recentChangeEmulator();
  const logs: Record<string, readonly EmulatorMessage[]> = {
    [RC_EQIAD]: emulator.streams.log(RC_EQIAD)!.messages,
    [RC_CODFW]: emulator.streams.log(RC_CODFW)!.messages,
  };
  const points: ResumePoint[] = [];
  const gapsByTopic: Record<string, number[]> = {
    [RC_EQIAD]: [],
    [RC_CODFW]: [],
  };
  try {
    const response = await fetch(
      `${emulator.url}/v2/stream/recentchange?since=${RC_START}`,
      { headers: { "user-agent": UA } },
    );
    const frames = await framesUntil(
      response,
      (f) => isMarker(marker)(JSON.parse(f.data)),
    );
    await emulator.waitForEnd(0);
    assert.equal(frames.length, RC_EVENTS);
    const original = frames.map((f) => JSON.parse(f.data) as EventStreamsEvent);
    assert.ok(
      original.some((e) => e.meta.topic === RC_CODFW),
      "codfw has events",
    );
    for (let k = 0; k < RC_EVENTS; k++) {
      const id = Cursor.parse(frames[k].id, { mode: "timestamp" });
      const { events: rest } = await resumeUntilMarker(
        emulator,
        "mediawiki.recentchange",
        id,
        marker,
      );
      const delivered = new Set(original.slice(0, k + 1).map(key));
      const resumed = new Set(rest.map(key));
      const skipped = original.slice(k + 1).filter((e) => !resumed.has(key(e)));
      const repeated = rest.filter((e) => delivered.has(key(e)));
      const gapsMs: number[] = [];
      for (const [topic, messages] of Object.entries(logs)) {
        const notMarker = (m: EmulatorMessage) =>
          !(topic === marker.topic && m.offset === marker.offset);
        const entry = id.entries.find((e) => e.topic === topic)!;
        const ofTopic = rest.filter((e) => e.meta.topic === topic).map((e) =>
          e.meta.offset
        );
        if ("offset" in entry) {
          // Not delivered from yet: the id still holds the offset `since` resolved to. Exact.
          const from = messages.findIndex((m) => m.offset === entry.offset);
          assert.deepEqual(
            ofTopic,
            messages.slice(from).filter(notMarker).map((m) => m.offset),
          );
          continue;
        }
        const r = firstIndexAtOrAfter(messages, entry.timestamp);
        assert.deepEqual(
          ofTopic,
          messages.slice(r).filter(notMarker).map((m) => m.offset),
          `${topic} after frame ${k}`,
        );
        const last = original.slice(0, k + 1).findLast((e) =>
          e.meta.topic === topic
        )!;
        const lastTs = Date.parse(last.meta.dt);
        assert.equal(entry.timestamp, lastTs + 1);
        // Exactly the events of this partition after the last delivered one
        // that share its second are skipped.
        assert.deepEqual(
          skipped.filter((e) => e.meta.topic === topic).map(key),
          messages.filter((m) => m.offset > last.meta.offset)
            .filter((m) => m.timestamp === lastTs)
            .map((m) => `${topic}/${m.offset}`),
          `${topic} skipped after frame ${k}`,
        );
        if (r < messages.length && messages[r].offset !== marker.offset) {
          assert.ok(messages[r].timestamp >= entry.timestamp);
          gapsMs.push(messages[r].timestamp - lastTs);
          gapsByTopic[topic].push(messages[r].timestamp - lastTs);
        }
      }
      assert.deepEqual(repeated, [], `nothing repeated after frame ${k}`);
      points.push({ skipped: skipped.length, repeated: 0, gapsMs });
    }
  } finally {
    await emulator.close();
  }
  report("recentchange (second precision, 20/s), server id resume", points);
  for (const [topic, gaps] of Object.entries(gapsByTopic)) {
    const { mean, max } = summary(gaps);
    console.log(
      `  ${topic}: time gap mean ${
        mean.toFixed(1)
      } ms max ${max} ms over ${gaps.length} timestamp resumes`,
    );
  }
  const skipped = summary(points.map((p) => p.skipped));
  // About half a second's worth of events on average: a real loss.
  assert.ok(skipped.mean > 5 && skipped.max >= 10, JSON.stringify(skipped));
  // Tolerance: the first resumed event is the next second that has events.
  for (const gap of points.flatMap((p) => p.gapsMs)) {
    assert.ok(gap >= 1000 && gap % 1000 === 0 && gap <= 12_000, `${gap}`);
  }
});

Deno.test("resuming the same recentchange log from offset cursors skips nothing and repeats nothing", async () => {
  const { emulator, marker } = recentChangeEmulator();
  try {
    const client = eventStream("mediawiki.recentchange", {
      userAgent: UA,
      baseUrl: emulator.url,
      since: RC_START,
      clock: new ManualClock(CLOCK_START),
    });
    const original: EventStreamsEvent[] = [];
    const cursors: string[] = [];
    for await (const event of client) {
      if (isMarker(marker)(event)) break;
      original.push(event);
      cursors.push(client.cursor);
    }
    await emulator.waitForEnd(0);
    assert.equal(original.length, RC_EVENTS);
    let skippedTotal = 0;
    let repeatedTotal = 0;
    for (let k = 0; k < RC_EVENTS; k++) {
      const { events: rest, log } = await resumeUntilMarker(
        emulator,
        "mediawiki.recentchange",
        cursors[k],
        marker,
      );
      assert.equal(log.headers["last-event-id"], cursors[k]);
      assert.ok(!cursors[k].includes("timestamp"), cursors[k]);
      const resumed = new Set(rest.map(key));
      const delivered = new Set(original.slice(0, k + 1).map(key));
      skippedTotal += original.slice(k + 1).filter((e) =>
        !resumed.has(key(e))
      ).length;
      repeatedTotal += rest.filter((e) => delivered.has(key(e))).length;
      assert.deepEqual(
        rest.map(key),
        original.slice(k + 1).map(key),
        `resume after event ${k}`,
      );
    }
    console.log(
      `recentchange, offset cursor resume: ${RC_EVENTS} resume points; skipped ${skippedTotal}, repeated ${repeatedTotal}`,
    );
    assert.equal(skippedTotal, 0);
    assert.equal(repeatedTotal, 0);
  } finally {
    await emulator.close();
  }
});
