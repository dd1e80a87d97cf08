/**
 * Record and replay (DESIGN.md): sessions recorded against the emulator with
 * faults on every connection replay through a fresh client to the same
 * events and the same requests, without the network and without sleeping.
 */
import assert from "node:assert/strict";
import { eventStream, type EventStreamStats } from "../src/client.ts";
import type { StreamName } from "../src/streams.ts";
import {
  type Cassette,
  parseCassette,
  serializeCassette,
} from "../src/testing/cassette.ts";
import { readCassette } from "../src/testing/cassette_file.ts";
import {
  generateStreams,
  loadFixtureStreams,
} from "../src/testing/emulator/mod.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { replayFetch } from "../src/testing/replay.ts";
import type { EventStreamsEvent } from "../src/types.ts";
import {
  BASE_URL,
  CLOCK_START,
  FIXTURE_DATA,
  FIXTURE_EVENTS,
  FIXTURE_PATH,
  FIXTURE_SINCE,
  IDLE_TIMEOUT_MS,
  recordEmulatorSession,
  USER_AGENT,
} from "../scripts/record_emulator_fixture.ts";
import {
  backoffOnClock,
  CAPTURE_FIRST_OFFSET,
  FIXTURES,
  key,
  PAGE_CHANGE,
  PC_EQIAD,
  RC_CODFW,
  RC_EQIAD,
} from "./_replay_helpers.ts";

interface Replayed {
  events: EventStreamsEvent[];
  cursors: string[];
  stats: EventStreamStats;
  requests: { path: string; lastEventId: string | null }[];
}

/**
 * Replays `cassette` through a fresh client configured like the recording
 * one, on a manual clock that the replay drives (so the zombie connection's
 * idle timeout fires in virtual time), and checks every request.
 */
async function replaySession(
  cassette: Cassette,
  options: { stream: StreamName; since: string; events: number },
): Promise<Replayed> {
  const clock = new ManualClock(CLOCK_START);
  const replay = replayFetch(cassette, { clock });
  // One tick at a time (ManualClock.tick is not reentrant).
  const waits = backoffOnClock(clock);
  const stream = eventStream(options.stream, {
    userAgent: USER_AGENT,
    // Any base URL: replay compares paths, queries and Last-Event-ID.
    baseUrl: "https://stream.wikimedia.org",
    fetch: replay.fetch,
    clock,
    since: options.since,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    backoff: { random: () => 0.5 },
    onRetry: waits.onRetry,
  });
  const events: EventStreamsEvent[] = [];
  const cursors: string[] = [];
  for await (const event of stream) {
    events.push(event as EventStreamsEvent);
    cursors.push(stream.cursor);
    if (events.length === options.events) break;
  }
  await waits.settled();
  // Every recorded connection was requested, and every request matched.
  replay.assertDone();
  assert.equal(clock.pendingTimers, 0, "timers left behind");
  return {
    events,
    cursors,
    stats: stream.stats,
    requests: replay.requests.map((r) => ({
      path: new URL(r.url).pathname + new URL(r.url).search,
      lastEventId: r.headers["last-event-id"],
    })),
  };
}

const recordedRequests = (cassette: Cassette) =>
  cassette.connections.map(({ request }) => ({
    path: new URL(request.url).pathname + new URL(request.url).search,
    lastEventId: request.headers["last-event-id"] ?? null,
  }));

Deno.test("a session recorded against the emulator through a cut, a zombie, an error event, a 503 and a reset replays to the same events and the same requests", async () => {
  const session = await recordEmulatorSession({
    streams: await loadFixtureStreams(FIXTURES, { counts: {} }),
    stream: PAGE_CHANGE,
    since: "2026-09-27T16:17:00Z",
    events: 40,
    faults: [
      [{ kind: "cut", afterBytes: 7_000 }], // inside a data line, clean end
      [{ kind: "stall", afterFrames: 5 }], // zombie: the idle watchdog ends it
      [{ kind: "error-event", afterFrames: 4 }],
      [{ kind: "status", status: 503 }],
      [{ kind: "cut", afterFrames: 6, abrupt: true }], // reset
      [{ kind: "trickle", bytesPerWrite: 97 }], // the rest, in small writes
    ],
    note: "tests/replay_scenarios_test.ts",
  });
  // The recording itself: 40 capture events in order, each once.
  assert.deepEqual(
    session.events.map((e) => e.meta.offset),
    Array.from({ length: 40 }, (_, i) => CAPTURE_FIRST_OFFSET + i),
  );
  const ends = session.cassette.connections.map((c) => c.end?.reason);
  assert.deepEqual(ends, [
    "eof",
    "aborted",
    "aborted",
    "eof",
    "error",
    "aborted",
  ]);
  assert.equal(session.cassette.connections[1].end?.at, IDLE_TIMEOUT_MS);

  // Through its text, as a file would hold it.
  const cassette = parseCassette(serializeCassette(session.cassette));
  const replayed = await replaySession(cassette, {
    stream: PAGE_CHANGE,
    since: "2026-09-27T16:17:00Z",
    events: 40,
  });
  assert.deepEqual(replayed.events, session.events);
  assert.deepEqual(replayed.cursors, session.cursors);
  assert.deepEqual(replayed.requests, recordedRequests(cassette));
  // And those are the requests the emulator received.
  assert.deepEqual(
    replayed.requests.map((r) => r.lastEventId ?? undefined),
    session.connections.map((c) => c.headers["last-event-id"]),
  );
  assert.equal(replayed.stats.errors["idle-timeout"], 1);
  assert.equal(replayed.stats.errors["error-event"], 1);
  assert.equal(replayed.stats.errors.network, 1);
  assert.equal(replayed.stats.errors.http, 1);
  assert.equal(replayed.stats.duplicates, 0);
  for (const cursor of replayed.cursors) {
    assert.match(cursor, new RegExp(`^\\[\\{"topic":"${PC_EQIAD}"`));
  }
});

Deno.test("replaying fixtures/emulator_faults.cassette.jsonl gives its 60 events once each, in offset order per partition, through six faulty connections", async () => {
  const cassette = await readCassette(FIXTURE_PATH);
  assert.equal(cassette.connections.length, 7);
  const replayed = await replaySession(cassette, {
    stream: "mediawiki.recentchange",
    since: FIXTURE_SINCE,
    events: FIXTURE_EVENTS,
  });
  const { events } = replayed;
  assert.equal(events.length, FIXTURE_EVENTS);
  assert.equal(new Set(events.map(key)).size, FIXTURE_EVENTS);
  assert.equal(new Set(events.map((e) => e.meta.id)).size, FIXTURE_EVENTS);
  // Each partition's events are the start of its log, in offset order, byte
  // for byte what the emulator stored.
  const streams = generateStreams(FIXTURE_DATA);
  for (const topic of [RC_EQIAD, RC_CODFW]) {
    const log = streams.log(topic)!.messages;
    const mine = events.filter((e) => e.meta.topic === topic);
    assert.ok(mine.length > 5, `${topic}: ${mine.length} events`);
    assert.deepEqual(
      mine,
      log.slice(0, mine.length).map((m) => JSON.parse(m.data)),
      topic,
    );
  }
  // The last connection delivered the topics in batches, out of time order.
  const tail = events.slice(-20).map((e) => Date.parse(e.meta.dt));
  assert.ok(tail.some((t, i) => i > 0 && t < tail[i - 1]));
  // What the client went through, as the cassette recorded it.
  assert.deepEqual(
    cassette.connections.map((c) => [c.response?.status, c.end?.reason]),
    [
      [200, "eof"], // cut in the middle of a frame
      [200, "error"], // reset
      [429, "eof"],
      [200, "aborted"], // event: error, the client let go
      [200, "aborted"], // zombie, the idle watchdog let go
      [200, "error"], // reset in the middle of a frame
      [200, "aborted"], // closed after 60 events
    ],
  );
  const { stats } = replayed;
  assert.equal(stats.connections, 6);
  assert.equal(stats.reconnects, 6);
  assert.deepEqual(
    [
      stats.errors.network,
      stats.errors.http,
      stats.errors["error-event"],
      stats.errors["idle-timeout"],
    ],
    [2, 1, 1, 1],
  );
  assert.equal(stats.duplicates, 0);
  assert.deepEqual(replayed.requests, recordedRequests(cassette));
  // Every resume used offsets only, and the first request used since.
  assert.equal(replayed.requests[0].lastEventId, null);
  assert.match(
    replayed.requests[0].path,
    /\?since=2026-09-27T16%3A15%3A00\.000Z$/,
  );
  for (const request of replayed.requests.slice(1)) {
    assert.doesNotMatch(request.lastEventId!, /timestamp/);
    assert.doesNotMatch(request.path, /since/);
  }
});

Deno.test("re-recording the emulator fixture reproduces it byte for byte, under 300 KB", async () => {
  const committed = await Deno.readTextFile(FIXTURE_PATH);
  const session = await recordEmulatorSession();
  const text = serializeCassette(session.cassette);
  assert.ok(
    text === committed,
    `${FIXTURE_PATH.pathname} is out of date or the recording is not deterministic: ` +
      "regenerate it with deno run --allow-net=127.0.0.1 --allow-read --allow-write scripts/record_emulator_fixture.ts " +
      "and review the diff",
  );
  assert.ok(committed.length < 300_000, `${committed.length} bytes`);
  assert.ok(committed.includes(`"url":"${BASE_URL}/v2/stream/`));
  // The live session and its replay saw the same events.
  const replayed = await replaySession(parseCassette(committed), {
    stream: "mediawiki.recentchange",
    since: FIXTURE_SINCE,
    events: FIXTURE_EVENTS,
  });
  assert.deepEqual(replayed.events, session.events);
  assert.deepEqual(replayed.cursors, session.cursors);
});

Deno.test("a recording that cannot start leaves no emulator running", async () => {
  // A listener left open keeps the process alive: run the failing recording
  // in a child process and require that it exits by itself (the timeout only
  // bounds a failure).
  const script = new URL(
    "../scripts/record_emulator_fixture.ts",
    import.meta.url,
  );
  const code = `
    import { recordEmulatorSession } from ${JSON.stringify(script.href)};
    await recordEmulatorSession({ stream: "no-such-stream" }).then(
      () => { throw new Error("the recording should not start"); },
      (error) => console.log(error.name),
    );
  `;
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assert.equal(
    child.signal,
    null,
    "the child was killed: something kept it alive",
  );
  assert.equal(child.code, 0, new TextDecoder().decode(child.stderr));
  assert.equal(new TextDecoder().decode(child.stdout), "TypeError\n");
});
