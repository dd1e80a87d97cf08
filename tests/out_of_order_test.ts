/**
 * Historical consumption interleaves topics in no guaranteed order, and
 * `meta.dt` is not monotonic even within a partition (PROTOCOL.md); order
 * holds only by offset within one topic-partition. The client must still
 * deliver every event once and resume exactly through cuts.
 */
import assert from "node:assert/strict";
import { eventStream } from "../src/client.ts";
import {
  EmulatorStreams,
  serveEmulator,
  TopicPartitionLog,
} from "../src/testing/emulator/mod.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import type { EventStreamsEvent } from "../src/types.ts";
import {
  appendRecentChange,
  backoffOnClock,
  key,
  RC_CODFW,
  RC_EQIAD,
  take,
  UA,
} from "./_replay_helpers.ts";

const T0 = Date.parse("2026-09-27T16:15:00Z");
const EQIAD_EVENTS = 48;
const CODFW_EVENTS = 32;

/**
 * recentchange with producer timestamps that go backwards within each
 * partition: every 5th eqiad event is 900 ms late, every 3rd codfw event
 * 700 ms late. Kafka timestamps equal meta.dt (millisecond precision here).
 */
function outOfOrderStreams(): EmulatorStreams {
  const eqiad = new TopicPartitionLog({
    topic: RC_EQIAD,
    baseOffset: 4369496612,
  });
  const codfw = new TopicPartitionLog({
    topic: RC_CODFW,
    baseOffset: 118094503,
  });
  for (let i = 0; i < EQIAD_EVENTS; i++) {
    appendRecentChange(eqiad, i, T0 + i * 250 - (i % 5 === 4 ? 900 : 0));
  }
  for (let i = 0; i < CODFW_EVENTS; i++) {
    appendRecentChange(
      codfw,
      1000 + i,
      T0 + 100 + i * 370 - (i % 3 === 2 ? 700 : 0),
    );
  }
  return new EmulatorStreams({
    configs: [{
      name: "mediawiki.recentchange",
      aliases: ["recentchange"],
      topics: [RC_EQIAD, RC_CODFW],
    }],
    logs: [eqiad, codfw],
  });
}

const decreases = (events: readonly EventStreamsEvent[]) =>
  events.slice(1).filter((e, i) =>
    Date.parse(e.meta.dt) < Date.parse(events[i].meta.dt)
  ).length;

Deno.test("a since replay whose topics and timestamps arrive out of order delivers every event once, in offset order per partition, and resumes exactly through cuts", async () => {
  const streams = outOfOrderStreams();
  const eqiadLog = streams.log(RC_EQIAD)!.messages;
  const codfwLog = streams.log(RC_CODFW)!.messages;
  await using emulator = serveEmulator({
    streams,
    faults: [
      // Topics in batches of 5, then a reset in the middle of frame 24.
      [
        { kind: "interleave", order: "partition-batches", batchSize: 5 },
        { kind: "cut", afterFrames: 23, midFrame: true, abrupt: true },
      ],
      // Batches of 3, then a clean end after 19 frames.
      [
        { kind: "interleave", order: "partition-batches", batchSize: 3 },
        { kind: "cut", afterFrames: 19 },
      ],
      // The rest, one topic after the other in turn.
      [{ kind: "interleave", order: "round-robin" }],
    ],
  });
  const clock = new ManualClock(T0 + 3_600_000);
  const waits = backoffOnClock(clock);
  const stream = eventStream("recentchange", {
    userAgent: UA,
    baseUrl: emulator.url,
    since: T0 - 60_000,
    clock,
    backoff: { random: () => 0.5 },
    onRetry: waits.onRetry,
  });
  const cursors: string[] = [];
  const events: EventStreamsEvent[] = [];
  for await (const event of stream) {
    events.push(event);
    cursors.push(stream.cursor);
    if (events.length === EQIAD_EVENTS + CODFW_EVENTS) break;
  }
  await waits.settled();
  await emulator.waitForEnd(2);

  // The history really is out of order: across topics and within each one.
  assert.ok(decreases(events) >= 10, `${decreases(events)} decreases`);
  assert.ok(decreases(events.filter((e) => e.meta.topic === RC_EQIAD)) > 0);
  assert.ok(decreases(events.filter((e) => e.meta.topic === RC_CODFW)) > 0);

  // Every event exactly once, in offset order within each partition.
  assert.equal(new Set(events.map(key)).size, events.length);
  assert.deepEqual(
    events.filter((e) => e.meta.topic === RC_EQIAD).map((e) => e.meta.offset),
    eqiadLog.map((m) => m.offset),
  );
  assert.deepEqual(
    events.filter((e) => e.meta.topic === RC_CODFW).map((e) => e.meta.offset),
    codfwLog.map((m) => m.offset),
  );

  // Three connections; each resume carried the cursor of the last event
  // handed over, offsets only (no timestamp: nothing approximate).
  const requests = emulator.connections;
  assert.equal(requests.length, 3);
  assert.equal(requests[0].end?.reason, "cut-mid-frame");
  assert.equal(requests[1].end?.reason, "cut-after-frames");
  assert.equal(requests[0].headers["last-event-id"], undefined);
  assert.equal(requests[1].headers["last-event-id"], cursors[23 - 1]);
  assert.equal(requests[2].headers["last-event-id"], cursors[23 + 19 - 1]);
  for (const request of requests.slice(1)) {
    assert.doesNotMatch(request.headers["last-event-id"], /timestamp/);
    assert.equal(new URL(request.url).search, "", "since is not sent again");
  }
  // The half frame before the reset was not delivered: conn 1 starts with it.
  assert.deepEqual(requests[1].frames[0], {
    event: "message",
    topic: events[23].meta.topic,
    partition: 0,
    offset: events[23].meta.offset,
  });

  // The final cursor pins each partition's next offset.
  assert.equal(
    stream.cursor,
    `[{"topic":"${RC_EQIAD}","partition":0,"offset":${
      eqiadLog.at(-1)!.offset + 1
    }},{"topic":"${RC_CODFW}","partition":0,"offset":${
      codfwLog.at(-1)!.offset + 1
    }}]`,
  );
  assert.equal(clock.pendingTimers, 0, "timers left behind");

  // And from that cursor nothing is left, nothing comes back: a new event is next.
  const codfwNext = codfwLog.at(-1)!.offset + 1;
  const [extra] = emulator.produce("recentchange", 1, {
    topic: RC_CODFW,
    timestamp: T0,
  });
  const resumed = eventStream("recentchange", {
    userAgent: UA,
    baseUrl: emulator.url,
    cursor: stream.cursor,
    clock: new ManualClock(T0 + 3_600_000),
  });
  const [next] = await take(resumed, 1);
  await resumed.close();
  assert.equal(key(next), `${RC_CODFW}/${extra.offset}`);
  assert.equal(extra.offset, codfwNext);
});
