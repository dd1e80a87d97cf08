import assert from "node:assert/strict";
import {
  type Cassette,
  parseCassette,
  serializeCassette,
} from "../src/testing/cassette.ts";
import { recordingFetch } from "../src/testing/recorder.ts";
import { replayFetch, ReplayMismatchError } from "../src/testing/replay.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { serveChunks } from "./_harness_server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const BASE = "https://stream.wikimedia.org";
const ID_5 =
  '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":5}]';
const ID_6 =
  '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":6}]';

function frame(offset: number): string {
  return `event: message\nid: [{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":${
    offset + 1
  }}]\n` +
    `data: {"meta":{"offset":${offset}}}\n\n`;
}

/** Two connections: one cut by the server (eof) after a frame, one the client left (aborted). */
function twoConnections(): Cassette {
  const split = enc.encode("data: é\n\n");
  return {
    format: 1,
    recordedAt: "2026-09-27T16:17:00.000Z",
    tool: "replay_test",
    connections: [
      {
        request: {
          startedAt: 0,
          method: "GET",
          url:
            `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
          headers: { accept: "text/event-stream" },
        },
        response: {
          at: 50,
          status: 200,
          statusText: "OK",
          headers: { "content-type": "text/event-stream; charset=utf-8" },
        },
        chunks: [
          { at: 51, bytes: enc.encode(":ok\n\n") },
          { at: 1_000, bytes: enc.encode(frame(4)) },
          { at: 1_500, bytes: split.slice(0, 7) }, // cuts "é" (C3 A9) in two
          { at: 1_500, bytes: split.slice(7) },
        ],
        end: { at: 900_000, reason: "eof" },
      },
      {
        request: {
          startedAt: 901_000,
          method: "GET",
          url: `${BASE}/v2/stream/mediawiki.recentchange`,
          headers: { accept: "text/event-stream", "last-event-id": ID_5 },
        },
        response: { at: 40, status: 200, statusText: "OK", headers: {} },
        chunks: [{ at: 41, bytes: enc.encode(":ok\n\n") }, {
          at: 42,
          bytes: enc.encode(frame(5)),
        }],
        end: { at: 60_042, reason: "aborted" },
      },
    ],
  };
}

async function readAll(
  body: ReadableStream<Uint8Array>,
): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks;
}

Deno.test("replay serves the connections in order with the recorded status, headers, bytes and boundaries", async () => {
  const cassette = twoConnections();
  const replay = replayFetch(cassette);
  assert.equal(replay.remaining, 2);
  const first = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
    {
      headers: { Accept: "text/event-stream" },
    },
  );
  assert.equal(first.status, 200);
  assert.equal(first.statusText, "OK");
  assert.equal(
    first.headers.get("content-type"),
    "text/event-stream; charset=utf-8",
  );
  assert.deepStrictEqual(
    await readAll(first.body!),
    cassette.connections[0].chunks.map((c) => c.bytes),
  );

  const second = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange`,
    {
      headers: { "Last-Event-ID": ID_5 },
    },
  );
  const reader = second.body!.getReader();
  assert.equal(dec.decode((await reader.read()).value), ":ok\n\n");
  assert.equal(dec.decode((await reader.read()).value), frame(5));
  // Recorded end "aborted": the body stays open until the client leaves.
  let settled = false;
  const pending = reader.read().then((result) => (settled = true, result));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(settled, false);
  await reader.cancel();
  assert.deepStrictEqual(await pending, { done: true, value: undefined });

  assert.equal(replay.remaining, 0);
  assert.equal(replay.used, 2);
  replay.assertDone();
});

Deno.test("replay compares path and query, not the host, so any base URL replays", async () => {
  const replay = replayFetch(twoConnections());
  const response = await replay.fetch(
    new Request(
      "http://127.0.0.1:8099/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z",
    ),
  );
  assert.equal(
    response.url,
    "http://127.0.0.1:8099/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z",
  );
  await response.body!.cancel();
});

Deno.test("a request with another URL fails with ReplayMismatchError showing the diff", async () => {
  const replay = replayFetch(twoConnections(), {
    source: "fixtures/rc.cassette.jsonl",
  });
  const error = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A30%3A00.000Z`,
  )
    .then(() => assert.fail("the request should not match"), (e: unknown) => e);
  assert.ok(error instanceof ReplayMismatchError);
  assert.equal(error.connection, 0);
  const DIFF_AT =
    "/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A".length;
  assert.equal(
    error.message,
    "Cannot replay connection 0 of cassette fixtures/rc.cassette.jsonl: the request does not match the " +
      "recording (- expected, + actual)\n" +
      "  path and query:\n" +
      "    - /v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z\n" +
      "    + /v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A30%3A00.000Z\n" +
      `      ${" ".repeat(DIFF_AT)}^ first difference at character ${
        DIFF_AT + 1
      }\n` +
      "Fix the client, or re-record the cassette (deno task record ...) if its requests changed on purpose",
  );
  assert.equal(
    error.expected?.url,
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
  );
  // Every later request fails the same way, and assertDone reports it even if the client swallowed it.
  await assert.rejects(
    replay.fetch(`${BASE}/v2/stream/mediawiki.recentchange`),
    (e) => e === error,
  );
  assert.throws(() => replay.assertDone(), (e) => e === error);
});

Deno.test("a request with another Last-Event-ID fails with ReplayMismatchError showing both ids", async () => {
  const replay = replayFetch(twoConnections());
  const first = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
  );
  await readAll(first.body!);
  await assert.rejects(
    replay.fetch(`${BASE}/v2/stream/mediawiki.recentchange`, {
      headers: { "Last-Event-ID": ID_6 },
    }),
    (error: unknown) => {
      assert.ok(error instanceof ReplayMismatchError);
      assert.equal(error.connection, 1);
      assert.equal(
        error.message,
        "Cannot replay connection 1: the request does not match the recording (- expected, + actual)\n" +
          "  last-event-id:\n" +
          `    - ${ID_5}\n` +
          `    + ${ID_6}\n` +
          `      ${
            " ".repeat(ID_5.indexOf("5"))
          }^ first difference at character ${ID_5.indexOf("5") + 1}\n` +
          "Fix the client, or re-record the cassette (deno task record ...) if its requests changed on purpose",
      );
      assert.deepStrictEqual(error.actual?.headers, { "last-event-id": ID_6 });
      return true;
    },
  );
});

Deno.test("a missing Last-Event-ID is shown as absent", async () => {
  const replay = replayFetch(twoConnections());
  await readAll(
    (await replay.fetch(
      `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
    )).body!,
  );
  await assert.rejects(
    replay.fetch(`${BASE}/v2/stream/mediawiki.recentchange`),
    {
      name: "ReplayMismatchError",
      message: / {2}last-event-id:\n {4}- \[\{"topic".*\n {4}\+ \(absent\)\n/,
    },
  );
});

Deno.test("a request beyond the last recorded connection fails", async () => {
  const cassette = twoConnections();
  cassette.connections.pop();
  const replay = replayFetch(cassette);
  await readAll(
    (await replay.fetch(
      `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
    )).body!,
  );
  await assert.rejects(
    replay.fetch(`${BASE}/v2/stream/mediawiki.recentchange`, {
      headers: { "Last-Event-ID": ID_5 },
    }),
    {
      name: "ReplayMismatchError",
      message:
        "Cannot replay request 2: the cassette has only 1 connection, and the client made one more request\n" +
        `  + GET /v2/stream/mediawiki.recentchange  last-event-id: ${ID_5}\n` +
        "Fix the client, or re-record the cassette (deno task record ...) if it now reconnects more often",
    },
  );
  assert.throws(() => replay.assertDone(), {
    name: "ReplayMismatchError",
    message: /only 1 connection/,
  });
});

Deno.test("assertDone reports recorded connections that were never requested", async () => {
  const replay = replayFetch(twoConnections(), { source: "rc.jsonl" });
  await readAll(
    (await replay.fetch(
      `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
    )).body!,
  );
  assert.equal(replay.remaining, 1);
  assert.throws(() => replay.assertDone(), {
    name: "ReplayMismatchError",
    message:
      "Cannot finish the replay of cassette rc.jsonl: 1 of 2 recorded connections was never requested, " +
      "starting with connection 1\n  - GET /v2/stream/mediawiki.recentchange\n" +
      "Make the client run until it has made every recorded request, or re-record the cassette",
  });
});

Deno.test("virtual time: replay moves a ManualClock to each chunk's offset, so client timers see recorded time", async () => {
  const clock = new ManualClock(0);
  const replay = replayFetch(twoConnections(), { clock });
  const response = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
  );
  assert.equal(clock.now(), 50);
  // A client-side idle watchdog of 700 ms, re-armed on every chunk.
  const fired: number[] = [];
  let cancelWatchdog = clock.setTimeout(() => fired.push(clock.now()), 700);
  const times: number[] = [];
  for await (const _chunk of response.body!) {
    times.push(clock.now());
    cancelWatchdog();
    cancelWatchdog = clock.setTimeout(() => fired.push(clock.now()), 700);
  }
  cancelWatchdog();
  assert.deepStrictEqual(times, [51, 1_000, 1_500, 1_500]);
  assert.deepStrictEqual(fired, [751, 2_200]); // Silent from 51 to 1000, then from 1500 to the eof.
  assert.equal(clock.now(), 900_000);

  // The second connection's offsets count from its own request.
  await clock.tick(1_000);
  const second = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange`,
    { headers: { "Last-Event-ID": ID_5 } },
  );
  const reader = second.body!.getReader();
  await reader.read();
  assert.equal(clock.now(), 901_041);
  await reader.read();
  // Recorded "aborted" at 60_042: the clock moves there (the client's watchdog fired then) and the body stays open.
  const rest = reader.read();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(clock.now(), 901_000 + 60_042);
  await reader.cancel();
  assert.equal((await rest).done, true);
  replay.assertDone();
});

/** A ManualClock that counts its ticks (each one costs a macrotask turn). */
class CountingClock extends ManualClock {
  ticks = 0;
  override tick(ms: number): Promise<void> {
    this.ticks++;
    return super.tick(ms);
  }
}

Deno.test("virtual time crosses recorded silences without a tick per chunk, yet fires a client timer due between two chunks first", async () => {
  const chunks = Array.from({ length: 200 }, (_, i) => ({
    at: 10 * (i + 1),
    bytes: enc.encode(`: ${i}\n`),
  }));
  const cassette = twoConnections();
  cassette.connections.pop();
  cassette.connections[0].response!.at = 0;
  cassette.connections[0].chunks = chunks;
  cassette.connections[0].end = { at: 2_010, reason: "eof" };
  const clock = new CountingClock(0);
  const replay = replayFetch(cassette, { clock });
  const response = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
  );
  const seen: string[] = [];
  clock.setTimeout(() => seen.push(`timer@${clock.now()}`), 1_005);
  for await (const _chunk of response.body!) seen.push(`${clock.now()}`);
  assert.deepStrictEqual(seen, [
    ...chunks.slice(0, 100).map((c) => `${c.at}`),
    "timer@1005",
    ...chunks.slice(100).map((c) => `${c.at}`),
  ]);
  assert.equal(clock.now(), 2_010);
  // One tick, for the span holding the timer; 200 before (about 2 ms each).
  assert.equal(clock.ticks, 1);
  replay.assertDone();
});

Deno.test("a client sending a secret query parameter matches its redacted recording, and mismatches never show the secret", async () => {
  const cassette = twoConnections();
  cassette.connections[0].request.url =
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z&access_token=REDACTED`;
  const replay = replayFetch(cassette);
  const response = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z&access_token=TOKEN-1`,
  );
  assert.equal((await readAll(response.body!)).length, 4);
  const error = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange?access_token=TOKEN-2`,
    { headers: { "Last-Event-ID": ID_5 } },
  ).then(() => assert.fail("the request should not match"), (e: unknown) => e);
  assert.ok(error instanceof ReplayMismatchError);
  assert.match(
    error.message,
    /\+ \/v2\/stream\/mediawiki\.recentchange\?access_token=REDACTED\n/,
  );
  assert.doesNotMatch(
    JSON.stringify([error.message, replay.requests]),
    /TOKEN/,
  );
});

Deno.test("without a clock the chunks come at once", async () => {
  const replay = replayFetch(twoConnections());
  const response = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
  );
  assert.equal((await readAll(response.body!)).length, 4);
});

Deno.test("realTime waits on real timers and leaves none behind when the body is cancelled", async () => {
  const replay = replayFetch(twoConnections(), { realTime: true });
  const cassette = twoConnections();
  cassette.connections[0].response!.at = 0;
  cassette.connections[0].chunks[0].at = 0;
  const fast = replayFetch(cassette, { realTime: true });
  const response = await fast.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
  );
  const reader = response.body!.getReader();
  assert.equal(dec.decode((await reader.read()).value), ":ok\n\n");
  const next = reader.read(); // Waits ~1 s for real: cancel it (the sanitizer checks the timer is gone).
  await reader.cancel();
  assert.equal((await next).done, true);
  // A pending response head is abandoned through the signal.
  const controller = new AbortController();
  const head = replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
    {
      signal: controller.signal,
    },
  );
  controller.abort();
  await assert.rejects(head, { name: "AbortError" });
  assert.throws(
    () => replayFetch(cassette, { realTime: true, clock: new ManualClock() }),
    {
      name: "TypeError",
      message:
        "Cannot replay with both clock and realTime: pass a clock for virtual time or realTime: true",
    },
  );
});

Deno.test("a recorded error ends the body with a TypeError like a network error", async () => {
  const cassette = twoConnections();
  cassette.connections[0].end = {
    at: 2_000,
    reason: "error",
    message: "error reading a body from connection",
  };
  const response = await replayFetch(cassette)
    .fetch(
      `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
    );
  const reader = response.body!.getReader();
  for (let i = 0; i < 4; i++) await reader.read();
  await assert.rejects(reader.read(), {
    name: "TypeError",
    message: "error reading a body from connection",
  });
});

Deno.test("a recorded failed fetch rejects with a TypeError", async () => {
  const cassette = twoConnections();
  cassette.connections[0] = {
    request: cassette.connections[0].request,
    chunks: [],
    end: {
      at: 3,
      reason: "error",
      message: "Connection refused (os error 111)",
    },
  };
  await assert.rejects(
    replayFetch(cassette).fetch(
      `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
    ),
    { name: "TypeError", message: "Connection refused (os error 111)" },
  );
});

Deno.test("aborting the request's signal errors the body with the abort reason", async () => {
  const replay = replayFetch(twoConnections());
  await readAll(
    (await replay.fetch(
      `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
    )).body!,
  );
  const controller = new AbortController();
  const response = await replay.fetch(
    `${BASE}/v2/stream/mediawiki.recentchange`,
    {
      headers: { "Last-Event-ID": ID_5 },
      signal: controller.signal,
    },
  );
  const reader = response.body!.getReader();
  await reader.read();
  await reader.read();
  const held = reader.read(); // The recording ended "aborted": this read waits for the client.
  const reason = new DOMException("Idle for 60000 ms", "TimeoutError");
  controller.abort(reason);
  await assert.rejects(held, (e) => e === reason);
  await assert.rejects(
    replay.fetch(`${BASE}/v2/stream/x`, { signal: AbortSignal.abort() }),
    { name: "AbortError" },
  );
  assert.equal(replay.used, 2); // An already-aborted request uses no connection.
});

Deno.test("a cassette replays any number of times with the same bytes", async () => {
  const cassette = twoConnections();
  for (let run = 0; run < 2; run++) {
    const replay = replayFetch(cassette);
    const chunks = await readAll(
      (await replay.fetch(
        `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A00%3A00.000Z`,
      )).body!,
    );
    chunks[0].fill(0); // A caller scribbling on its chunk must not damage the cassette.
  }
  assert.deepStrictEqual(cassette, twoConnections());
});

Deno.test("record then replay gives the client identical bytes, boundaries and requests", async () => {
  const data = enc.encode('data: {"title":"Zürich"}\n\n');
  const served = [
    enc.encode(":ok\n\n"),
    enc.encode("event: message\nid: []\n"),
    data.slice(0, 18),
    data.slice(18),
  ];
  const server = serveChunks(served, "close");
  const recordClock = new ManualClock(0);
  const recorder = recordingFetch({ clock: recordClock });
  const sessions: {
    url: string;
    lastEventId: string | null;
    chunks: Uint8Array[];
  }[] = [];

  // The "client": two connections, the second resuming with a Last-Event-ID.
  async function client(
    fetchFn: typeof recorder.fetch,
    origin: string,
    lockstep: (() => void) | undefined,
  ) {
    const seen: {
      url: string;
      lastEventId: string | null;
      chunks: Uint8Array[];
    }[] = [];
    for (const lastEventId of [null, ID_5]) {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (lastEventId) headers["last-event-id"] = lastEventId;
      const url = `${origin}/v2/stream/mediawiki.recentchange${
        lastEventId ? "" : "?since=2026-09-27T16%3A00%3A00.000Z"
      }`;
      const response = await fetchFn(url, { headers });
      const reader = response.body!.getReader();
      const chunks: Uint8Array[] = [];
      while (true) {
        lockstep?.();
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
      seen.push({
        url: new URL(url).pathname + new URL(url).search,
        lastEventId,
        chunks,
      });
    }
    return seen;
  }

  try {
    sessions.push(
      ...await client(recorder.fetch, server.origin, () => server.send()),
    );
  } finally {
    await server.close();
  }
  assert.deepStrictEqual(sessions[0].chunks, served); // The recording run saw the server's exact chunks.

  const cassette = parseCassette(serializeCassette(recorder.cassette()));
  const replay = replayFetch(cassette, { clock: new ManualClock(0) });
  const replayed = await client(replay.fetch, "http://127.0.0.1:9", undefined);
  assert.deepStrictEqual(replayed, sessions);
  assert.deepStrictEqual(
    replay.requests.map((
      r,
    ) => [
      new URL(r.url).pathname + new URL(r.url).search,
      r.headers["last-event-id"],
    ]),
    server.requests.map((
      r,
    ) => [
      new URL(r.url).pathname + new URL(r.url).search,
      r.headers.get("last-event-id"),
    ]),
  );
  replay.assertDone();
});

Deno.test("a request that differs from its recording only in how since is spelled or encoded matches", async () => {
  for (
    const since of [
      "2026-09-27T16:00:00.000Z",
      "2026-09-27T16%3A00%3A00Z",
      "2026-09-27T16:00:00",
      String(Date.UTC(2026, 8, 27, 16)),
    ]
  ) {
    const replay = replayFetch(twoConnections());
    const response = await replay.fetch(
      `${BASE}/v2/stream/mediawiki%2Erecentchange?since=${since}`,
    );
    assert.equal(response.status, 200, since);
    await response.body!.cancel();
  }
  const other = replayFetch(twoConnections());
  await assert.rejects(
    other.fetch(
      `${BASE}/v2/stream/mediawiki.recentchange?since=2026-09-27T16:00:01Z`,
    ),
    ReplayMismatchError,
  );
});

Deno.test("with a ManualClock, a client whose request does not match the recording fails with the mismatch instead of retrying forever", async () => {
  const { eventStream } = await import("../src/client.ts");
  const clock = new ManualClock(0);
  const replay = replayFetch(twoConnections(), { clock });
  const stream = eventStream("recentchange", {
    userAgent: "replay-test/1.0 (https://example.org/replay)",
    since: "2026-09-27T17:00:00Z", // The recording asked for 16:00.
    fetch: replay.fetch,
    clock,
  });
  await assert.rejects(
    stream[Symbol.asyncIterator]().next(),
    (e) =>
      e instanceof ReplayMismatchError && /since=2026-09-27T17/.test(e.message),
  );
  assert.equal(replay.used, 1);
});
