import assert from "node:assert/strict";
import {
  type ConnectInfo,
  type DisconnectInfo,
  type ErrorContext,
  type EventStream,
  eventStream,
  type EventStreamOptions,
  type RetryInfo,
} from "../src/client.ts";
import { Cursor } from "../src/cursor.ts";
import { EventStreamsHttpError } from "../src/errors.ts";
import type {
  PageChangeEvent,
  RecentChangeEvent,
} from "../src/events.generated.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import type { EventStreamsEvent } from "../src/types.ts";
import {
  fakeUuid,
  KafkaSseWriter,
  type LogMessage,
  ScriptedFetch,
} from "./_scripted_fetch.ts";

const UA =
  "EventStreamsTests/1.0 (https://example.org/tests; tests@example.org)";
const RC = "mediawiki.recentchange";
const EQIAD = "eqiad.mediawiki.recentchange";
const CODFW = "codfw.mediawiki.recentchange";
const T0 = Date.UTC(2026, 0, 1);
const POLICY =
  "https://foundation.wikimedia.org/wiki/Policy:Wikimedia_Foundation_User-Agent_Policy";

/** Messages of EQIAD at consecutive offsets, one second apart from `T0`. */
function eqiad(from: number, count: number, startMs = T0): LogMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    topic: EQIAD,
    offset: from + i,
    dt: new Date(startMs + i * 1000).toISOString(),
  }));
}

type Options = Partial<EventStreamOptions<RecentChangeEvent>>;

/**
 * A stream on a scripted server and a manual clock, with every hook recorded.
 * Unless `manualRetries`, each backoff wait is run out as soon as the client
 * schedules it (tests about timing tick the clock themselves).
 */
function harness(
  options: Options = {},
  { manualRetries = false, streams = ["recentchange"] as string[] } = {},
) {
  const server = new ScriptedFetch();
  const clock = new ManualClock(T0 + 3_600_000);
  const errors: [Error, ErrorContext][] = [];
  const retries: RetryInfo[] = [];
  const connects: ConnectInfo[] = [];
  const disconnects: DisconnectInfo[] = [];
  let retryWaiters: { count: number; resolve: (info: RetryInfo) => void }[] =
    [];
  const stream = eventStream(streams as "recentchange"[], {
    userAgent: UA,
    fetch: server.fetch,
    clock,
    backoff: { random: () => 0 },
    onError: (error, context) => errors.push([error, context]),
    onConnect: (info) => connects.push(info),
    onDisconnect: (info) => disconnects.push(info),
    onRetry: (info) => {
      retries.push(info);
      // The client calls sleep() right after this hook: fire it on the next turn.
      if (!manualRetries) {
        Promise.resolve().then(() => clock.tick(info.delayMs));
      }
      const ready = retryWaiters.filter((w) => retries.length >= w.count);
      retryWaiters = retryWaiters.filter((w) => retries.length < w.count);
      for (const w of ready) w.resolve(info);
    },
    ...options,
  });
  const it = stream[Symbol.asyncIterator]();
  return {
    server,
    clock,
    stream,
    it,
    errors,
    retries,
    connects,
    disconnects,
    /** Resolves with the `count`-th retry once the client is waiting on it. */
    retried(count: number): Promise<RetryInfo> {
      if (retries.length >= count) return Promise.resolve(retries[count - 1]);
      return new Promise((resolve) => retryWaiters.push({ count, resolve }));
    },
    /** The next event (fails if the stream ends). */
    async next(): Promise<RecentChangeEvent> {
      const result = await it.next();
      assert.equal(result.done, false, "the stream ended early");
      return result.value as RecentChangeEvent;
    },
  };
}

/** Closes the stream and checks it left nothing behind. */
async function finish(h: ReturnType<typeof harness>): Promise<void> {
  await h.stream.close();
  h.server.assertClean();
  assert.equal(h.clock.pendingTimers, 0, "timers left behind");
}

const offsets = (events: EventStreamsEvent[]) =>
  events.map((e) => e.meta.offset);

Deno.test("resumes after a mid-frame cut without losing or repeating an event", async () => {
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const messages = eqiad(100, 5);
  const cut = w.frame(messages[2]);
  h.server.stream().push(w.frames(messages.slice(0, 2))).push(
    cut.slice(0, cut.length / 2),
  ).end();
  const first = [await h.next(), await h.next()];
  assert.deepEqual(offsets(first), [100, 101]);
  const resumed = new KafkaSseWriter(RC, [
    { topic: EQIAD, partition: 0, offset: 102 },
    { topic: CODFW, partition: 0, timestamp: T0 },
  ]);
  h.server.stream().push(resumed.frames(messages.slice(2)));
  const rest = [await h.next(), await h.next(), await h.next()];
  assert.deepEqual(offsets(rest), [102, 103, 104]);
  // Offset-pinned: the exact next offset, and codfw ("latest") pinned to the session's first timestamp.
  assert.equal(
    h.server.requests[1].lastEventId,
    `[{"topic":"${EQIAD}","partition":0,"offset":102},{"topic":"${CODFW}","partition":0,"timestamp":${T0}}]`,
  );
  assert.equal(h.server.connections[0].ended, "eof");
  assert.equal(
    h.stream.cursor,
    `[{"topic":"${EQIAD}","partition":0,"offset":105},{"topic":"${CODFW}","partition":0,"timestamp":${T0}}]`,
  );
  assert.deepEqual(h.disconnects.map((d) => d.reason), ["eof"]);
  assert.deepEqual(
    h.connects.map((c) => [c.connection, c.lastEventId]),
    [[1, undefined], [2, h.server.requests[1].lastEventId]],
  );
  assert.equal(h.stream.stats.events, 5);
  assert.equal(h.stream.stats.connections, 2);
  await finish(h);
});

Deno.test("loses nothing of three events sharing one timestamp when cut after the first", async () => {
  // Per PROTOCOL.md: a 2022 capture shows offsets 4369496612..614 under one id timestamp.
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const dt = "2022-12-11T04:27:02Z";
  const messages = [0, 1, 2].map((i) => ({
    topic: EQIAD,
    offset: 4369496612 + i,
    dt,
  }));
  const firstFrame = w.frame(messages[0]);
  const serverId = w.id; // What a naive client would resume with: skips 613 and 614.
  assert.match(serverId, /"timestamp":1670732822001/);
  h.server.stream().push(firstFrame).fail();
  assert.equal((await h.next()).meta.offset, 4369496612);
  const resumed = new KafkaSseWriter(RC, [{
    topic: EQIAD,
    partition: 0,
    offset: 4369496613,
  }, CODFW]);
  h.server.stream().push(resumed.frames(messages.slice(1)));
  assert.deepEqual(offsets([await h.next(), await h.next()]), [
    4369496613,
    4369496614,
  ]);
  assert.notEqual(h.server.requests[1].lastEventId, serverId);
  assert.ok(
    h.server.requests[1].lastEventId!.startsWith(
      `[{"topic":"${EQIAD}","partition":0,"offset":4369496613}`,
    ),
  );
  assert.equal(h.errors[0][1].kind, "network");
  await finish(h);
});

Deno.test("aborts a zombie connection after idleTimeoutMs of silence and resumes", async () => {
  const h = harness({ idleTimeoutMs: 60_000 });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const zombie = h.server.stream().push(w.frame(eqiad(7, 1)[0]));
  assert.equal((await h.next()).meta.offset, 7);
  const pending = h.it.next(); // The read now hangs: the server sends nothing.
  await h.clock.tick(59_999);
  assert.equal(h.server.requests.length, 1);
  assert.equal(zombie.ended, undefined);
  await h.clock.tick(1);
  assert.equal(zombie.ended, "aborted");
  await h.retried(1);
  const resumed = new KafkaSseWriter(RC, [{
    topic: EQIAD,
    partition: 0,
    offset: 8,
  }, CODFW]);
  h.server.stream().push(resumed.frame(eqiad(8, 1)[0]));
  await h.clock.tick(0);
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 8);
  assert.match(h.server.requests[1].lastEventId!, /"offset":8/);
  assert.equal(h.errors[0][1].kind, "idle-timeout");
  assert.equal(h.errors[0][0].name, "TimeoutError");
  assert.match(
    h.errors[0][0].message,
    /^Cannot read from https:\/\/stream\.wikimedia\.org\/v2\/stream\/mediawiki\.recentchange: no new event for 60000 ms \(idleTimeoutMs\); resuming from the cursor$/,
  );
  assert.equal(h.stream.stats.errors["idle-timeout"], 1);
  assert.deepEqual(h.disconnects.map((d) => d.reason), ["idle-timeout"]);
  await finish(h);
});

Deno.test("bytes without progress do not re-arm the idle watchdog: comments, pings, an unfinished line, repeats", async () => {
  const h = harness({ idleTimeoutMs: 60_000 });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const [delivered] = eqiad(7, 1);
  const conn = h.server.stream().push(w.frame(delivered));
  await h.next();
  const pending = h.it.next();
  const trickle = [
    ":\n\n", // A comment.
    'event: ping\ndata: {"ping":1}\n\n', // A frame that is not a message.
    w.frame(delivered), // The event already consumed, again.
    'data: {"meta":', // A data line that never ends.
    "1",
  ];
  for (const bytes of trickle) {
    await h.clock.tick(11_000);
    assert.equal(conn.ended, undefined);
    conn.push(bytes);
    await h.clock.tick(0);
  }
  await h.clock.tick(4_999); // 59.999 s of reading without progress.
  assert.equal(conn.ended, undefined);
  await h.clock.tick(1);
  assert.equal(conn.ended, "aborted", "60 s without a new event ends it");
  assert.equal(h.errors.at(-1)![1].kind, "idle-timeout");
  await h.retried(1);
  h.server.stream().push(w.frame(eqiad(8, 1)[0]));
  await h.clock.tick(0);
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 8);
  assert.match(h.server.requests[1].lastEventId!, /"offset":8/);
  await finish(h);
});

Deno.test("a new event re-arms the idle watchdog, however long the connection", async () => {
  const h = harness({ idleTimeoutMs: 60_000 });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const conn = h.server.stream().push(w.frame(eqiad(7, 1)[0]));
  await h.next();
  for (let offset = 8; offset < 11; offset++) {
    const pending = h.it.next();
    await h.clock.tick(59_000);
    conn.push(w.frame(eqiad(offset, 1)[0]));
    assert.equal(
      ((await pending).value as RecentChangeEvent).meta.offset,
      offset,
    );
  }
  assert.equal(conn.ended, undefined, "177 s, never 60 s without progress");
  assert.equal(h.server.requests.length, 1);
  await finish(h);
});

Deno.test("does not count a slow consumer's time as server silence", async () => {
  const h = harness({ idleTimeoutMs: 60_000 });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const conn = h.server.stream().push(w.frame(eqiad(7, 1)[0])).push(
    w.frame(eqiad(8, 1)[0]),
  );
  await h.next();
  await h.clock.tick(120_000); // No next() pending: nothing is read, nothing times out.
  assert.equal(conn.ended, undefined);
  assert.equal((await h.next()).meta.offset, 8);
  await finish(h);
});

Deno.test("reconnects from the cursor when the connection reaches maxConnectionMs", async () => {
  const h = harness({ maxConnectionMs: 840_000, idleTimeoutMs: 900_000 });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const old = h.server.stream().push(w.frame(eqiad(1, 1)[0]));
  await h.next();
  const pending = h.it.next();
  await h.clock.tick(839_999);
  assert.equal(old.ended, undefined);
  const resumed = new KafkaSseWriter(RC, [{
    topic: EQIAD,
    partition: 0,
    offset: 2,
  }, CODFW]);
  h.server.stream().push(resumed.frame(eqiad(2, 1)[0]));
  await h.clock.tick(1);
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 2);
  assert.equal(old.ended, "aborted");
  assert.deepEqual(h.disconnects.map((d) => [d.reason, d.durationMs]), [[
    "max-connection-age",
    840_000,
  ]]);
  assert.equal(h.errors.length, 0, "a planned reconnect is not an error");
  await finish(h);
});

Deno.test("waits at least the throttled floor after a 429 and never opens two connections", async () => {
  const h = harness(
    { backoff: { random: () => 0, throttledFloorMs: 10_000 } },
    { manualRetries: true },
  );
  const body =
    '{"status":429,"type":"too_many_requests","title":"Too Many Concurrent Connections From Your Client IP"}';
  h.server.reply(429, body);
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  h.server.stream().push(w.frame(eqiad(1, 1)[0]));
  const pending = h.it.next();
  const retry = await h.retried(1);
  assert.deepEqual(retry, {
    attempt: 1,
    delayMs: 10_000,
    reason: "http",
    status: 429,
  });
  await h.clock.tick(9_999);
  assert.equal(h.server.requests.length, 1);
  await h.clock.tick(1);
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 1);
  assert.equal(h.server.requests.length, 2);
  assert.ok(h.server.connections[0].ended, "the 429 body was released");
  const [error, context] = h.errors[0];
  assert.ok(error instanceof EventStreamsHttpError);
  assert.equal(error.status, 429);
  assert.equal(context.kind, "http");
  assert.equal(h.stream.stats.errors.http, 1);
  await finish(h); // assertClean: no violation of the one-connection rule.
});

Deno.test("honours Retry-After in seconds and as an HTTP date", async () => {
  for (
    const [retryAfter, expected] of [["30", 30_000], [
      new Date(T0 + 3_600_000 + 45_000).toUTCString(),
      45_000,
    ]]
  ) {
    const h = harness({}, { manualRetries: true });
    h.server.reply(503, '{"status":503}', {
      "content-type": "application/json",
      "retry-after": String(retryAfter),
    });
    const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
    h.server.stream().push(w.frame(eqiad(1, 1)[0]));
    const pending = h.it.next();
    assert.equal((await h.retried(1)).delayMs, expected);
    await h.clock.tick(Number(expected) - 1);
    assert.equal(h.server.requests.length, 1);
    await h.clock.tick(1);
    await pending;
    assert.equal(h.server.requests.length, 2);
    await finish(h);
  }
});

Deno.test("ends with EventStreamsHttpError carrying the body on 400 and 404", async () => {
  const bodies: [number, string][] = [
    [
      400,
      '{"status":400,"type":"not_found","title":"Stream Not Found","detail":"Invalid streams: nope"}',
    ],
    [
      404,
      '{"status":404,"type":"TopicNotAvailableError","title":"Topic Not Available"}',
    ],
  ];
  for (const [status, body] of bodies) {
    const h = harness();
    h.server.reply(status, body);
    await assert.rejects(h.it.next(), (error) => {
      assert.ok(error instanceof EventStreamsHttpError);
      assert.equal(error.status, status);
      assert.equal(error.body, body);
      assert.equal(
        error.url,
        "https://stream.wikimedia.org/v2/stream/mediawiki.recentchange",
      );
      assert.match(
        error.message,
        new RegExp(`^EventStreams answered ${status} for https://stream`),
      );
      return true;
    });
    assert.deepEqual(await h.it.next(), { done: true, value: undefined });
    assert.equal(h.server.requests.length, 1, "not retried");
    assert.equal(h.errors.length, 0, "thrown, not reported as survived");
    assert.equal(h.stream.stats.errors.http, 1);
    await finish(h);
  }
});

Deno.test("reconnects from the cursor after an event: error frame", async () => {
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  h.server.stream().push(
    w.frame(eqiad(40, 1)[0]) + w.errorFrame("Broker not available"),
  ).end();
  const resumed = new KafkaSseWriter(RC, [{
    topic: EQIAD,
    partition: 0,
    offset: 41,
  }, CODFW]);
  h.server.stream().push(resumed.frame(eqiad(41, 1)[0]));
  assert.equal((await h.next()).meta.offset, 40);
  assert.equal((await h.next()).meta.offset, 41);
  assert.match(h.server.requests[1].lastEventId!, /"offset":41/);
  const [error, context] = h.errors[0];
  assert.equal(context.kind, "error-event");
  assert.equal(context.frame?.event, "error");
  assert.match(
    error.message,
    /^EventStreams sent an error event on .*Broker not available/,
  );
  assert.deepEqual(h.disconnects.map((d) => d.reason), ["error-event"]);
  await finish(h);
});

Deno.test("sends since as ISO-8601 UTC from a Date, an ISO string or epoch milliseconds", async () => {
  const cases: [Date | string | number, string][] = [
    [new Date(T0), "2026-01-01T00:00:00.000Z"],
    ["2026-01-01T01:30:00+01:00", "2026-01-01T00:30:00.000Z"],
    ["2026-01-01", "2026-01-01T00:00:00.000Z"],
    [T0 + 1234, "2026-01-01T00:00:01.234Z"],
  ];
  for (const [since, iso] of cases) {
    const h = harness({ since });
    h.server.stream().end();
    h.it.next();
    await h.retried(1);
    assert.equal(
      new URL(h.server.requests[0].url).searchParams.get("since"),
      iso,
    );
    assert.equal(h.server.requests[0].lastEventId, null);
    await finish(h);
  }
});

Deno.test("rejects a since that looks like seconds or is not a date, before any request", () => {
  const server = new ScriptedFetch();
  const open = (since: unknown) =>
    eventStream("recentchange", {
      userAgent: UA,
      fetch: server.fetch,
      since: since as string,
    });
  assert.throws(() => open(1767225600), {
    name: "RangeError",
    message:
      "Cannot use since 1767225600: it looks like seconds since the epoch, but since takes milliseconds; pass 1767225600 * 1000",
  });
  assert.throws(() => open("yesterday"), {
    name: "RangeError",
    message:
      "Cannot use since 'yesterday': expected an ISO-8601 date such as '2026-01-01T00:00:00Z', a Date, or epoch milliseconds",
  });
  assert.throws(() => open("2026-13-45"), RangeError);
  assert.throws(() => open(new Date(NaN)), {
    name: "RangeError",
    message: "Cannot use since: the Date is invalid",
  });
  assert.throws(() => open(NaN), RangeError);
  assert.equal(server.requests.length, 0);
});

Deno.test("resumes from the cursor option instead of since", async () => {
  const cursor =
    `[{"topic":"${EQIAD}","partition":0,"offset":500},{"topic":"${CODFW}","partition":0,"offset":9}]`;
  const h = harness({ since: T0, cursor });
  assert.equal(
    h.stream.cursor,
    cursor,
    "before any event, the cursor is the one given",
  );
  const w = new KafkaSseWriter(RC, [
    { topic: EQIAD, partition: 0, offset: 500 },
    { topic: CODFW, partition: 0, offset: 9 },
  ]);
  h.server.stream().push(w.frame(eqiad(500, 1)[0]));
  await h.next();
  assert.equal(
    h.server.requests[0].url,
    "https://stream.wikimedia.org/v2/stream/mediawiki.recentchange",
  );
  assert.equal(h.server.requests[0].lastEventId, cursor);
  await finish(h);

  const fromCursor = harness({ cursor: Cursor.parse(cursor) });
  fromCursor.server.stream();
  fromCursor.it.next();
  await fromCursor.server.waitForRequests(1);
  assert.equal(fromCursor.server.requests[0].lastEventId, cursor);
  await finish(fromCursor);
});

Deno.test("keeps since until the first frame gives a cursor, then resumes by Last-Event-ID", async () => {
  const h = harness({ since: T0 });
  h.server.stream().end(); // Cut before any frame.
  const w = new KafkaSseWriter(RC, [
    { topic: EQIAD, partition: 0, timestamp: T0 },
    { topic: CODFW, partition: 0, timestamp: T0 },
  ]);
  h.server.stream().push(w.frame(eqiad(10, 1)[0])).end();
  h.server.stream();
  assert.equal((await h.next()).meta.offset, 10);
  const pending = h.it.next();
  await h.server.waitForRequests(3);
  assert.match(
    h.server.requests[1].url,
    /\?since=2026-01-01T00%3A00%3A00.000Z$/,
  );
  assert.equal(h.server.requests[1].lastEventId, null);
  assert.equal(new URL(h.server.requests[2].url).search, "");
  assert.equal(
    h.server.requests[2].lastEventId,
    `[{"topic":"${EQIAD}","partition":0,"offset":11},{"topic":"${CODFW}","partition":0,"timestamp":${T0}}]`,
  );
  await h.stream.close();
  assert.deepEqual(await pending, { done: true, value: undefined });
  await finish(h);
});

Deno.test("fails before any request when the User-Agent is missing or generic", () => {
  const server = new ScriptedFetch();
  const open = (userAgent: unknown) =>
    eventStream("recentchange", {
      userAgent: userAgent as string,
      fetch: server.fetch,
    });
  for (const missing of [undefined, "", "   "]) {
    assert.throws(() => open(missing), (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.match(
        error.message,
        /^Cannot open eventStream without options\.userAgent/,
      );
      assert.ok(error.message.includes(POLICY));
      assert.ok(
        error.message.includes(
          "'MyBot/1.0 (https://example.org/mybot; mybot@example.org)'",
        ),
      );
      return true;
    });
  }
  const generic = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Deno/2",
    "node",
    "curl/8",
    "curl/8.5.0 (https://curl.se)",
    "python-requests/2.31",
  ];
  for (const agent of generic) {
    assert.throws(() => open(agent), {
      name: "TypeError",
      message:
        `Cannot use userAgent '${agent}': it names a generic client, not your tool; ` +
        `Wikimedia's User-Agent policy (${POLICY}) requires '<tool>/<version> (<contact: url or email>)', ` +
        "for example 'MyBot/1.0 (https://example.org/mybot; mybot@example.org)'",
    });
  }
  for (const agent of ["MyBot", "MyBot (me@example.org)"]) {
    assert.throws(() => open(agent), (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.ok(
        error.message.startsWith(
          `Cannot use userAgent '${agent}': it lacks a /version after the tool name; `,
        ),
        error.message,
      );
      return true;
    });
  }
  for (const agent of ["MyBot/1.0", "MyBot/1.0 (no contact here)"]) {
    assert.throws(() => open(agent), (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.ok(
        error.message.startsWith(
          `Cannot use userAgent '${agent}': it lacks a contact url or email`,
        ),
      );
      assert.ok(error.message.includes(POLICY));
      return true;
    });
  }
  assert.equal(server.requests.length, 0, "fetch was never called");
});

Deno.test("sends the caller's User-Agent followed by the library token, and the SSE Accept header", async () => {
  const version = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ).version;
  for (
    const agent of [
      UA,
      "MyBot/1.0 (mybot@example.org) undici/6.0",
      "my-bot/2.0-beta (User:Example; https://meta.wikimedia.org/wiki/User:Example)",
    ]
  ) {
    const h = harness({
      userAgent: agent,
      headers: { "Api-User-Agent": "x", "User-Agent": "overridden" },
    });
    h.server.stream();
    h.it.next();
    await h.server.waitForRequests(1);
    const headers = h.server.requests[0].headers;
    assert.equal(headers.get("user-agent"), `${agent} eventstreams/${version}`);
    assert.equal(headers.get("accept"), "text/event-stream");
    assert.equal(headers.get("api-user-agent"), "x");
    await finish(h);
  }
});

Deno.test("refuses a Last-Event-ID in headers, before any request: the cursor option is the way to resume", () => {
  // It used to go out on the first request while the client believed it
  // started fresh, so the server resumed from an id the client never advanced.
  const server = new ScriptedFetch();
  const id = `[{"topic":"${EQIAD}","partition":0,"offset":5}]`;
  for (const name of ["Last-Event-ID", "last-event-id"]) {
    assert.throws(
      () =>
        eventStream("recentchange", {
          userAgent: UA,
          fetch: server.fetch,
          headers: { [name]: id },
        }),
      {
        name: "TypeError",
        message:
          `Cannot send headers with Last-Event-ID '${id}': pass it as the cursor option instead, ` +
          "which the client sends and advances itself",
      },
    );
  }
  assert.equal(server.requests.length, 0);
});

Deno.test("drops canary events unless asked", async () => {
  const messages: LogMessage[] = [
    { topic: EQIAD, offset: 1, dt: "2026-01-01T00:00:00Z", domain: "canary" },
    { topic: EQIAD, offset: 2, dt: "2026-01-01T00:00:01Z" },
  ];
  const h = harness();
  h.server.stream().push(
    new KafkaSseWriter(RC, [EQIAD, CODFW]).frames(messages),
  );
  assert.equal((await h.next()).meta.offset, 2);
  assert.equal(h.stream.stats.canaryDropped, 1);
  await finish(h);

  const withCanary = harness({ canary: true });
  withCanary.server.stream().push(
    new KafkaSseWriter(RC, [EQIAD, CODFW]).frames(messages),
  );
  const first = await withCanary.next();
  assert.equal(first.meta.domain, "canary");
  assert.match(
    withCanary.stream.cursor,
    /"offset":2}/,
    "the cursor moves past the canary it handed over",
  );
  await finish(withCanary);
});

Deno.test("a dropped event moves the cursor and the resume point so it never comes back", async () => {
  const h = harness({ filter: (event) => event.meta.offset !== 2 });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const conn = h.server.stream().push(w.frames(eqiad(1, 2)));
  h.server.stream().push(new KafkaSseWriter(RC, [EQIAD]).frame(eqiad(3, 1)[0]));
  assert.equal((await h.next()).meta.offset, 1);
  const pending = h.it.next();
  await h.clock.tick(0); // The client has now consumed (and dropped) offset 2 and waits for bytes.
  assert.equal(h.stream.stats.filtered, 1);
  assert.match(
    h.stream.cursor,
    /"offset":3}/,
    "the caller's cursor covers the filtered event too",
  );
  conn.end();
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 3);
  assert.match(
    h.server.requests[1].lastEventId!,
    /"offset":3}/,
    "the resume skips the filtered event",
  );
  assert.match(h.stream.cursor, /"offset":4}/);
  await finish(h);
});

Deno.test("yields each event once when a timestamp-mode resume re-delivers three events", async () => {
  // The codfw entry was "latest", so the resume pins it to a timestamp (beyond
  // the server's behaviour); the other datacenter then repeats three events
  // (same meta.id, its own offsets).
  const h = harness();
  const messages = eqiad(10, 3);
  h.server.stream().push(
    new KafkaSseWriter(RC, [EQIAD, CODFW]).frames(messages),
  ).end();
  const repeats = messages.map((m, i) => ({
    ...m,
    topic: CODFW,
    offset: 900 + i,
    id: fakeUuid(EQIAD, 0, m.offset),
  }));
  const resumed = new KafkaSseWriter(RC, [
    { topic: EQIAD, partition: 0, offset: 13 },
    { topic: CODFW, partition: 0, timestamp: T0 },
  ]);
  h.server.stream().push(
    resumed.frames([...repeats, ...eqiad(13, 1, T0 + 3000)]),
  );
  const events = [
    await h.next(),
    await h.next(),
    await h.next(),
    await h.next(),
  ];
  assert.deepEqual(
    events.map((e) => `${e.meta.topic.slice(0, 5)}@${e.meta.offset}`),
    [
      "eqiad@10",
      "eqiad@11",
      "eqiad@12",
      "eqiad@13",
    ],
  );
  assert.equal(
    h.server.requests[1].lastEventId,
    `[{"topic":"${EQIAD}","partition":0,"offset":13},{"topic":"${CODFW}","partition":0,"timestamp":${T0}}]`,
  );
  assert.equal(h.stream.stats.duplicates, 3);
  // The repeats still moved the cursor: codfw resumes after them.
  assert.equal(
    h.stream.cursor,
    `[{"topic":"${EQIAD}","partition":0,"offset":14},{"topic":"${CODFW}","partition":0,"offset":903}]`,
  );
  await finish(h);
});

Deno.test("drops events below the cursor", async () => {
  const cursor = `[{"topic":"${EQIAD}","partition":0,"offset":12}]`;
  const h = harness({ cursor, dedupe: false });
  h.server.stream().push(new KafkaSseWriter(RC, [EQIAD]).frames(eqiad(10, 4)));
  assert.equal((await h.next()).meta.offset, 12);
  assert.equal((await h.next()).meta.offset, 13);
  assert.equal(h.stream.stats.duplicates, 2);
  await finish(h);
});

Deno.test("delivers a since replay whose topics interleave out of order once, with a cursor per partition", async () => {
  const h = harness({ since: T0 });
  const start = [
    { topic: EQIAD, partition: 0, timestamp: T0 },
    { topic: CODFW, partition: 0, timestamp: T0 },
  ];
  const at = (s: number) => new Date(T0 + s * 1000).toISOString();
  const log: LogMessage[] = [
    { topic: EQIAD, offset: 10, dt: at(5) },
    { topic: CODFW, offset: 50, dt: at(1) },
    { topic: EQIAD, offset: 11, dt: at(3) }, // Not monotonic within the partition either.
    { topic: CODFW, offset: 51, dt: at(7) },
    { topic: EQIAD, offset: 12, dt: at(2) },
    { topic: CODFW, offset: 52, dt: at(4) },
  ];
  const w = new KafkaSseWriter(RC, start);
  const firstPart = w.frames(log.slice(0, 4));
  h.server.stream().push(firstPart).push(w.frame(log[4]).slice(0, 40)).fail();
  const seen: string[] = [];
  const cursors: string[] = [];
  for (let i = 0; i < 4; i++) {
    const e = await h.next();
    seen.push(`${e.meta.topic.slice(0, 5)}@${e.meta.offset}`);
    cursors.push(h.stream.cursor);
  }
  assert.equal(
    cursors[1],
    `[{"topic":"${EQIAD}","partition":0,"offset":11},{"topic":"${CODFW}","partition":0,"offset":51}]`,
  );
  const resumed = new KafkaSseWriter(RC, [
    { topic: EQIAD, partition: 0, offset: 12 },
    { topic: CODFW, partition: 0, offset: 52 },
  ]);
  h.server.stream().push(resumed.frames(log.slice(4)));
  for (let i = 0; i < 2; i++) {
    const e = await h.next();
    seen.push(`${e.meta.topic.slice(0, 5)}@${e.meta.offset}`);
  }
  assert.deepEqual(seen, [
    "eqiad@10",
    "codfw@50",
    "eqiad@11",
    "codfw@51",
    "eqiad@12",
    "codfw@52",
  ]);
  assert.equal(
    new URL(h.server.requests[1].url).search,
    "",
    "since is not sent with a cursor",
  );
  assert.equal(
    h.server.requests[1].lastEventId,
    `[{"topic":"${EQIAD}","partition":0,"offset":12},{"topic":"${CODFW}","partition":0,"offset":52}]`,
  );
  assert.equal(
    h.stream.cursor,
    `[{"topic":"${EQIAD}","partition":0,"offset":13},{"topic":"${CODFW}","partition":0,"offset":53}]`,
  );
  await finish(h);
});

Deno.test("close() mid-stream resolves a pending next() as done and leaves nothing pending", async () => {
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const conn = h.server.stream().push(w.frame(eqiad(1, 1)[0]));
  await h.next();
  const pending = h.it.next();
  await h.clock.tick(0);
  await h.stream.close();
  assert.deepEqual(await pending, { done: true, value: undefined });
  assert.deepEqual(await h.it.next(), { done: true, value: undefined });
  assert.ok(conn.ended === "aborted" || conn.ended === "cancelled");
  assert.deepEqual(h.disconnects.map((d) => d.reason), ["closed"]);
  await finish(h);
});

Deno.test("close() while the consumer holds an event, and break, release the connection", async () => {
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const conn = h.server.stream().push(w.frames(eqiad(1, 3)));
  await h.next();
  await h.stream.close();
  assert.ok(conn.ended);
  assert.equal(
    h.stream.cursor,
    `[{"topic":"${EQIAD}","partition":0,"offset":2},{"topic":"${CODFW}","partition":0,"timestamp":${T0}}]`,
  );
  await finish(h);

  const b = harness();
  const conn2 = b.server.stream().push(
    new KafkaSseWriter(RC, [EQIAD, CODFW]).frames(eqiad(1, 3)),
  );
  for await (const event of b.stream) {
    assert.equal(event.meta.offset, 1);
    break;
  }
  assert.ok(conn2.ended);
  await finish(b);
});

Deno.test("close() during the backoff wait ends at once", async () => {
  const h = harness({ backoff: { random: () => 0.5 } }, {
    manualRetries: true,
  });
  h.server.refuse();
  const pending = h.it.next();
  assert.equal((await h.retried(1)).delayMs, 500);
  await h.stream.close();
  assert.deepEqual(await pending, { done: true, value: undefined });
  assert.equal(h.server.requests.length, 1);
  assert.equal(h.errors[0][1].kind, "network");
  await finish(h);
});

Deno.test("aborting the signal rejects a pending next() with its reason and releases the connection", async () => {
  const controller = new AbortController();
  const h = harness({ signal: controller.signal });
  const conn = h.server.stream();
  const pending = h.it.next();
  await h.server.waitForRequests(1);
  await h.clock.tick(0);
  const reason = new Error("Shutting down");
  controller.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
  assert.equal(conn.ended, "aborted");
  assert.deepEqual(await h.it.next(), { done: true, value: undefined });
  assert.deepEqual(h.disconnects.map((d) => d.reason), ["aborted"]);
  await finish(h);

  const already = new AbortController();
  already.abort(new Error("Never mind"));
  const a = harness({ signal: already.signal });
  await assert.rejects(a.it.next(), { message: "Never mind" });
  assert.equal(a.server.requests.length, 0);
  await finish(a);

  const whileWaiting = new AbortController();
  const s = harness({ signal: whileWaiting.signal }, { manualRetries: true });
  s.server.refuse();
  const waiting = s.it.next();
  await s.retried(1);
  whileWaiting.abort(new Error("Stop waiting"));
  await assert.rejects(waiting, { message: "Stop waiting" });
  await finish(s);
});

Deno.test("reports non-JSON data, non-events and bad ids through onError without stopping", async () => {
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const good = eqiad(1, 3);
  const badId = w.frame(good[1]).replace(/^id: .*$/m, "id: not-a-kafka-id");
  h.server.stream()
    .push(w.frame(good[0]))
    .push(`event: message\nid: ${w.id}\ndata: <html>oops</html>\n\n`)
    .push(`event: message\nid: ${w.id}\ndata: {"meta":{"topic":"x"}}\n\n`)
    .push(badId)
    .push(`event: heartbeat\ndata: {}\n\n`)
    .push(w.frame(good[2]));
  assert.deepEqual(offsets([await h.next(), await h.next(), await h.next()]), [
    1,
    2,
    3,
  ]);
  assert.deepEqual(h.errors.map(([, c]) => c.kind), [
    "invalid-json",
    "invalid-event",
    "invalid-id",
  ]);
  assert.equal(h.errors[0][0].name, "SyntaxError");
  assert.equal(
    h.errors[0][0].message,
    "Cannot parse event data as JSON: '<html>oops</html>'",
  );
  assert.equal(h.errors[2][0].name, "CursorError");
  assert.equal(h.errors[2][1].frame?.id, "not-a-kafka-id");
  const stats = h.stream.stats;
  assert.equal(stats.errors["invalid-json"], 1);
  assert.equal(stats.errors["invalid-event"], 1);
  assert.equal(stats.errors["invalid-id"], 1);
  assert.equal(stats.ignoredFrames, 1);
  assert.equal(
    h.stream.cursor,
    `[{"topic":"${EQIAD}","partition":0,"offset":4},{"topic":"${CODFW}","partition":0,"timestamp":${T0}}]`,
  );
  assert.equal(h.server.requests.length, 1);
  await finish(h);
});

Deno.test("an event arriving before any valid id gets the id's other partitions added later", async () => {
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const [a, b] = eqiad(1, 2);
  h.server.stream().push(w.frame(a).replace(/^id: .*$/m, "id: garbage")).push(
    w.frame(b),
  ).end();
  h.server.stream();
  await h.next();
  await h.next();
  const pending = h.it.next();
  await h.server.waitForRequests(2);
  assert.equal(
    h.server.requests[1].lastEventId,
    `[{"topic":"${EQIAD}","partition":0,"offset":3},{"topic":"${CODFW}","partition":0,"timestamp":${T0}}]`,
  );
  await finish(h);
  assert.deepEqual(await pending, { done: true, value: undefined });
});

Deno.test("ends with EventStreamsHttpError when a 200 is not an event stream (a captive portal)", async () => {
  const h = harness();
  const html =
    "<!DOCTYPE html><html><body>Please log in to the hotel Wi-Fi</body></html>";
  h.server.reply(200, html, { "content-type": "text/html; charset=utf-8" });
  await assert.rejects(h.it.next(), (error) => {
    assert.ok(error instanceof EventStreamsHttpError);
    assert.equal(error.status, 200);
    assert.equal(error.body, html);
    assert.equal(
      error.message,
      "Cannot read events from https://stream.wikimedia.org/v2/stream/mediawiki.recentchange: expected content-type " +
        `text/event-stream, got 'text/html; charset=utf-8' (a proxy or captive portal page?); check the network or baseUrl: ${html}`,
    );
    return true;
  });
  assert.equal(h.server.requests.length, 1, "not retried");
  await finish(h);
});

Deno.test("backoff grows while connections fail and resets after a healthy one", async () => {
  const h = harness({ backoff: { random: () => 0.5, initialMs: 1_000 } }, {
    manualRetries: true,
  });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  h.server.stream().end(); // No event: unhealthy.
  h.server.refuse(); // Network error: unhealthy.
  h.server.stream().push(w.frame(eqiad(1, 1)[0])).end(); // Healthy.
  h.server.stream().end();
  h.server.stream();
  const pending = h.it.next();
  assert.equal((await h.retried(1)).delayMs, 500);
  await h.clock.tick(500);
  assert.equal((await h.retried(2)).delayMs, 1_000);
  await h.clock.tick(1_000);
  await pending;
  const next = h.it.next();
  assert.equal(
    (await h.retried(3)).delayMs,
    500,
    "reset after the healthy connection",
  );
  await h.clock.tick(500);
  assert.equal((await h.retried(4)).delayMs, 1_000);
  await h.clock.tick(1_000);
  await h.server.waitForRequests(5);
  assert.deepEqual(h.retries.map((r) => [r.attempt, r.reason]), [
    [1, "eof"],
    [2, "network"],
    [1, "eof"],
    [2, "eof"],
  ]);
  assert.equal(h.stream.stats.reconnects, 4);
  await h.stream.close();
  assert.deepEqual(await next, { done: true, value: undefined });
  await finish(h);
});

Deno.test("reads no further ahead than the frames of the current chunk", async () => {
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const conn = h.server.stream();
  for (const m of eqiad(1, 4)) conn.push(w.frame(m));
  assert.equal((await h.next()).meta.offset, 1);
  assert.equal(conn.queued, 3, "three chunks were left unread");
  assert.equal((await h.next()).meta.offset, 2);
  assert.equal(conn.queued, 2);
  await finish(h);
});

Deno.test("replays a real page_change capture in small chunks, every event once", async () => {
  const capture = await Deno.readFile(
    new URL("../fixtures/page_change_v1.2026-09-27.sse", import.meta.url),
  );
  const server = new ScriptedFetch();
  const clock = new ManualClock(T0);
  const conn = server.stream();
  // Deterministic chunking (a small LCG): boundaries fall anywhere, inside lines and UTF-8 sequences.
  let seed = 42;
  for (let at = 0; at < capture.length;) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const size = 1 + (seed % 700);
    conn.push(capture.subarray(at, at + size));
    at += size;
  }
  conn.end();
  const stream = eventStream("mediawiki.page_change.v1", {
    userAgent: UA,
    fetch: server.fetch,
    clock,
  });
  const seen: PageChangeEvent[] = [];
  for await (const event of stream) {
    seen.push(event);
    if (seen.length === 169) break;
  }
  assert.equal(seen[0].meta.offset, 1109139115);
  assert.equal(seen[168].meta.offset, 1109139283);
  assert.deepEqual(
    offsets(seen),
    Array.from({ length: 169 }, (_, i) => 1109139115 + i),
  );
  assert.equal(stream.stats.errors["invalid-json"], 0);
  assert.equal(stream.stats.bytes, ":ok\n\n".length + capture.length);
  assert.ok(
    stream.cursor.startsWith(
      '[{"topic":"eqiad.mediawiki.page_change.v1","partition":0,"offset":1109139284}',
    ),
  );
  assert.match(
    stream.cursor,
    /"codfw\.mediawiki\.page_change\.v1","partition":0,"timestamp":\d+}]$/,
  );
  server.assertClean();
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("checks stream names: aliases resolve, arrays join, unknown names need allowUnknownStreams", async () => {
  const server = new ScriptedFetch();
  assert.throws(
    () => eventStream("nope" as "test", { userAgent: UA, fetch: server.fetch }),
    (error: Error) =>
      error instanceof TypeError &&
      error.message.startsWith("Unknown stream 'nope'"),
  );
  assert.throws(
    () =>
      eventStream([] as unknown as "test", {
        userAgent: UA,
        fetch: server.fetch,
      }),
    {
      name: "TypeError",
      message:
        "Cannot open eventStream: expected a stream name or a non-empty array of names, got []",
    },
  );
  const clock = new ManualClock(T0);
  const multi = eventStream([
    "recentchange",
    "page-create",
    "mediawiki.recentchange",
  ], {
    userAgent: UA,
    fetch: server.fetch,
    clock,
    baseUrl: "http://127.0.0.1:8080/prefix/",
  });
  server.stream();
  multi[Symbol.asyncIterator]().next();
  await server.waitForRequests(1);
  assert.equal(
    server.requests[0].url,
    "http://127.0.0.1:8080/prefix/v2/stream/mediawiki.recentchange,mediawiki.page-create",
  );
  await multi.close();

  const unknown = eventStream(["mediawiki.brand-new", "test"], {
    userAgent: UA,
    fetch: server.fetch,
    clock,
    allowUnknownStreams: true,
  });
  server.stream();
  unknown[Symbol.asyncIterator]().next();
  await server.waitForRequests(2);
  assert.equal(
    server.requests[1].url,
    "https://stream.wikimedia.org/v2/stream/mediawiki.brand-new,eventgate-main.test.event",
  );
  await unknown.close();
  server.assertClean();
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("rejects malformed options with a clear error", () => {
  const base = { userAgent: UA, fetch: new ScriptedFetch().fetch };
  assert.throws(() => eventStream("test", { ...base, idleTimeoutMs: 0 }), {
    name: "RangeError",
    message:
      "Cannot use idleTimeoutMs 0: expected a positive number of milliseconds",
  });
  assert.throws(
    () => eventStream("test", { ...base, baseUrl: "stream.wikimedia.org" }),
    {
      name: "TypeError",
      message:
        "Cannot use baseUrl 'stream.wikimedia.org': expected an absolute http(s) URL such as 'https://stream.wikimedia.org'",
    },
  );
  assert.throws(() => eventStream("test", { ...base, cursor: "abc" }), {
    name: "CursorError",
  });
  assert.throws(() => eventStream("test", { ...base, dedupe: -1 }), RangeError);
  assert.throws(
    () => eventStream("test", { ...base, backoff: { maxMs: -1 } }),
    RangeError,
  );
});

Deno.test("types events by stream name: a name gives its type, an array the union", () => {
  type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends
    (<T>() => T extends B ? 1 : 2) ? true : false;
  const options = { userAgent: UA, fetch: new ScriptedFetch().fetch };
  const one = eventStream("recentchange", options);
  const both = eventStream(
    ["recentchange", "mediawiki.page_change.v1"],
    options,
  );
  const any = eventStream("x.y", { ...options, allowUnknownStreams: true });
  const checks: [
    Equals<typeof one, EventStream<RecentChangeEvent>>,
    Equals<typeof both, EventStream<RecentChangeEvent | PageChangeEvent>>,
    Equals<typeof any, EventStream<EventStreamsEvent>>,
  ] = [true, true, true];
  assert.deepEqual(checks, [true, true, true]);
});

Deno.test("a filter that throws ends the iteration with its error and releases the connection", async () => {
  const bug = new Error("Bug in the caller's filter");
  const h = harness({
    filter: (event) => {
      if (event.meta.offset === 2) throw bug;
      return true;
    },
  });
  const conn = h.server.stream().push(
    new KafkaSseWriter(RC, [EQIAD, CODFW]).frames(eqiad(1, 2)),
  );
  assert.equal((await h.next()).meta.offset, 1);
  await assert.rejects(h.it.next(), (error) => error === bug);
  assert.equal(conn.open, false, "released");
  assert.deepEqual(h.disconnects.map((d) => d.reason), ["failed"]);
  await finish(h);
});

Deno.test("ends with SseParseError on a frame larger than 8 MiB, releasing the connection", async () => {
  const h = harness();
  const conn = h.server.stream().push("event: message\ndata: ");
  const block = new Uint8Array(1024 * 1024).fill(0x61);
  for (let i = 0; i < 9; i++) conn.push(block);
  await assert.rejects(h.it.next(), { name: "SseParseError" });
  assert.equal(h.stream.stats.errors.protocol, 1);
  assert.equal(conn.open, false, "released");
  await finish(h);
});

Deno.test("the scripted server refuses a second connection while the first is open", async () => {
  const server = new ScriptedFetch();
  server.stream();
  server.stream();
  const first = await server.fetch("http://127.0.0.1/v2/stream/test");
  await assert.rejects(
    server.fetch("http://127.0.0.1/v2/stream/test"),
    /while 1 earlier connection\(s\) were still open/,
  );
  assert.throws(() => server.assertClean(), /were still open/);
  await first.body!.cancel();
});

Deno.test("a live start cut before its first event resumes from the time of the first request (beyond the server), not from now", async () => {
  const h = harness({}, { manualRetries: true });
  h.server.stream().end(); // Cut before any frame: no cursor yet.
  h.server.refuse(); // Then a network error.
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  h.server.stream().push(w.frame(eqiad(7, 1)[0]));
  const startedAt = new Date(h.clock.now()).toISOString();
  const pending = h.it.next();
  await h.clock.tick((await h.retried(1)).delayMs + 60_000);
  await h.clock.tick((await h.retried(2)).delayMs);
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 7);
  const since = h.server.requests.map((r) =>
    new URL(r.url).searchParams.get("since")
  );
  // The first request is live; every retry asks for what happened since it, a minute later too.
  assert.deepEqual(since, [null, startedAt, startedAt]);
  await finish(h);
});

Deno.test("a bad id stays in force over several frames and is reported once", async () => {
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const good = eqiad(1, 3);
  h.server.stream().push(w.frame(good[0])).push(
    good.slice(1).map((m) => w.frame(m).replace(/^id: .*$/m, "id: bad-id"))
      .join(""),
  );
  assert.deepEqual(offsets([await h.next(), await h.next(), await h.next()]), [
    1,
    2,
    3,
  ]);
  assert.deepEqual(h.errors.map(([, c]) => c.kind), ["invalid-id"]);
  await finish(h);
});

Deno.test("a connection that only repeats delivered events does not reset the backoff", async () => {
  const h = harness({ backoff: { random: () => 0.5, initialMs: 1_000 } }, {
    manualRetries: true,
  });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const [first, second] = eqiad(1, 2);
  h.server.stream().push(w.frame(first)).end(); // Healthy: offset 1 is new.
  h.server.stream().push(w.frame(first)).end(); // Only a repeat of offset 1.
  h.server.stream().push(w.frame(first)).end(); // Again.
  h.server.stream().push(w.frame(second));
  assert.equal((await h.next()).meta.offset, 1);
  const pending = h.it.next();
  // Reset after offset 1 (attempt 1), then the repeats count as failures.
  assert.equal((await h.retried(1)).delayMs, 500);
  await h.clock.tick(500);
  assert.equal((await h.retried(2)).delayMs, 1_000, "repeats are no progress");
  await h.clock.tick(1_000);
  assert.equal((await h.retried(3)).delayMs, 2_000);
  await h.clock.tick(2_000);
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 2);
  assert.equal(h.stream.stats.duplicates, 2);
  await finish(h);
});

// ---------------------------------------------------------------------------
// The cursor covers every consumed event; every requested topic is read
// ---------------------------------------------------------------------------

Deno.test("the cursor covers events a filter rejected, canaries and duplicates, though none was handed over", async () => {
  const h = harness({ filter: (event) => event.wiki === "arwiki" });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const rejected = eqiad(1, 200);
  const canaries = eqiad(201, 3).map((m) => ({ ...m, domain: "canary" }));
  const conn = h.server.stream().push(w.frames([...rejected, ...canaries]))
    .push(w.frame(rejected[0])); // And a repeat of one already consumed.
  const pending = h.it.next();
  await h.clock.tick(0);
  assert.equal(h.stream.stats.filtered, 200);
  assert.equal(h.stream.stats.canaryDropped, 3);
  assert.equal(h.stream.stats.duplicates, 1);
  assert.match(
    h.stream.cursor,
    /"topic":"eqiad\.mediawiki\.recentchange","partition":0,"offset":204}/,
  );
  conn.end();
  await h.server.waitForRequests(2);
  assert.match(h.server.requests[1].lastEventId!, /"offset":204}/);
  h.server.stream().push(
    w.frame({ ...eqiad(204, 1)[0], fields: { wiki: "arwiki" } }),
  );
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 204);
  await finish(h);
});

Deno.test("a cursor lacking a requested stream's topics gets them added, from since, and says so", async () => {
  const saved =
    `[{"topic":"${EQIAD}","partition":0,"offset":10},{"topic":"${CODFW}","partition":0,"offset":5}]`;
  const since = "2026-01-01T00:30:00Z";
  const h = harness({ cursor: saved, since }, {
    streams: ["recentchange", "page-create"],
  });
  const pending = h.it.next();
  await h.server.waitForRequests(1);
  const sent = Cursor.parse(h.server.requests[0].lastEventId!);
  assert.deepEqual(sent.entries, [
    { topic: EQIAD, partition: 0, offset: 10 },
    { topic: CODFW, partition: 0, offset: 5 },
    {
      topic: "eqiad.mediawiki.page-create",
      partition: 0,
      timestamp: Date.parse(since),
    },
    {
      topic: "codfw.mediawiki.page-create",
      partition: 0,
      timestamp: Date.parse(since),
    },
  ]);
  assert.equal(h.errors[0][1].kind, "missing-topics");
  assert.equal(
    h.errors[0][0].message,
    "Cursor lacks 'eqiad.mediawiki.page-create', 'codfw.mediawiki.page-create' of the requested streams: " +
      "reading them from 2026-01-01T00:30:00.000Z (since)",
  );
  // The page-create events are then read, and the next cursor has them.
  const w = new KafkaSseWriter("mediawiki.page-create", sent.entries.slice());
  h.server.stream().push(
    w.frame({ topic: "eqiad.mediawiki.page-create", offset: 3, dt: since }),
  );
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 3);
  assert.match(
    h.stream.cursor,
    /"eqiad\.mediawiki\.page-create","partition":0,"offset":4}/,
  );
  await finish(h);
});

Deno.test("a cursor naming only eqiad gets codfw added from the cursor's time, or from now when it has none", async () => {
  for (
    const [saved, fromMs] of [
      [`[{"topic":"${EQIAD}","partition":0,"offset":10}]`, T0 + 3_600_000],
      [`[{"topic":"${EQIAD}","partition":0,"timestamp":${T0}}]`, T0],
    ] as const
  ) {
    const h = harness({ cursor: saved });
    const pending = h.it.next();
    await h.server.waitForRequests(1);
    assert.deepEqual(
      Cursor.parse(h.server.requests[0].lastEventId!).entries[1],
      {
        topic: CODFW,
        partition: 0,
        timestamp: fromMs,
      },
    );
    assert.equal(h.stream.stats.errors["missing-topics"], 1);
    h.server.stream().end();
    await h.retried(1);
    await h.server.waitForRequests(2);
    assert.equal(h.stream.stats.errors["missing-topics"], 1, "said once");
    await h.stream.close();
    await pending;
    await finish(h);
  }
});

Deno.test("a fetch that rejects with something other than a TypeError ends the stream with it after one request", async () => {
  // Network errors are TypeErrors (Fetch standard); a permission denied or a
  // replay mismatch would come back on every retry, forever.
  let requests = 0;
  const boom = new RangeError("not a network error");
  const stream = eventStream("recentchange", {
    userAgent: UA,
    fetch: () => {
      requests++;
      return Promise.reject(boom);
    },
  });
  await assert.rejects(
    stream[Symbol.asyncIterator]().next(),
    (e) => e === boom,
  );
  assert.equal(requests, 1);
});

Deno.test("a cursor naming other streams' topics is a CursorError before any request", () => {
  const saved =
    `[{"topic":"eqiad.mediawiki.page-create","partition":0,"offset":1},` +
    `{"topic":"${EQIAD}","partition":0,"offset":1}]`;
  assert.throws(
    () =>
      eventStream("recentchange", {
        userAgent: UA,
        cursor: saved,
        fetch: () => Promise.reject(new Error("no request")),
      }),
    {
      name: "CursorError",
      message:
        "Cannot resume from a cursor naming 'eqiad.mediawiki.page-create': that topic is not of the streams " +
        "asked for ('mediawiki.recentchange'); pass the cursor saved for these streams, or ask for the streams it was saved from",
    },
  );
});

Deno.test("an event of a topic the connection does not read is invalid-event, not delivered, never in the cursor", async () => {
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const stray = {
    topic: "eqiad.mediawiki.page-create",
    offset: 9,
    dt: new Date(T0).toISOString(),
  };
  const huge = { ...eqiad(2 ** 53, 1)[0] };
  // meta.topic says another stream's topic; the server's id does not list it.
  const strayFrame = `event: message\nid: ${w.id}\ndata: ${
    JSON.stringify(w.event(stray))
  }\n\n`;
  const conn = h.server.stream().push(
    strayFrame + w.frame(huge) + w.frame(eqiad(1, 1)[0]),
  );
  assert.equal((await h.next()).meta.offset, 1);
  assert.deepEqual(h.errors.map(([, c]) => c.kind), [
    "invalid-event",
    "invalid-event",
  ]);
  assert.match(
    h.errors[0][0].message,
    /^Cannot use event of topic 'eqiad\.mediawiki\.page-create': it is not one of the connection's topics/,
  );
  assert.doesNotMatch(h.stream.cursor, /page-create|9007199254740993/);
  assert.equal(h.stream.stats.events, 1);
  conn.end();
  const pending = h.it.next();
  await h.server.waitForRequests(2);
  assert.doesNotMatch(h.server.requests[1].lastEventId!, /page-create/);
  await h.stream.close();
  await pending;
  await finish(h);
});

Deno.test("the first event of a connection is delivered when the server's id pins its offset exactly", async () => {
  const h = harness();
  const exact = new KafkaSseWriter(RC, [EQIAD, CODFW], "offset");
  // The first connection fails before any event: the retry is also a start without a cursor.
  h.server.refuse();
  h.server.stream().push(exact.frames(eqiad(50, 2)));
  assert.deepEqual(offsets([await h.next(), await h.next()]), [50, 51]);
  assert.match(h.stream.cursor, /"offset":52}/);
  await finish(h);
});

Deno.test("no response headers within headersTimeoutMs drops the attempt and retries", async () => {
  const h = harness({ headersTimeoutMs: 30_000, idleTimeoutMs: 600_000 });
  const pending = h.it.next();
  await h.server.waitForRequests(1);
  await h.clock.tick(29_999);
  assert.equal(h.retries.length, 0);
  await h.clock.tick(1);
  await h.retried(1);
  assert.equal(h.errors[0][1].kind, "idle-timeout");
  assert.match(
    h.errors[0][0].message,
    /no response headers within 30000 ms \(headersTimeoutMs\)/,
  );
  h.server.stream().push(
    new KafkaSseWriter(RC, [EQIAD, CODFW]).frame(eqiad(1, 1)[0]),
  );
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 1);
  await finish(h);
});

Deno.test("adaptive watchdog: a 20 events/s stream that stalls is dropped after 5 s, a sparse one keeps 60 s", async () => {
  // Default options: the bound adapts; recentchange's static bound is the ceiling.
  const h = harness();
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const conn = h.server.stream();
  const messages = eqiad(1, 221, T0);
  for (let i = 0; i < 221; i++) { // 11 s at 20 events/s.
    const pending = h.it.next();
    conn.push(w.frame(messages[i]));
    await pending;
    await h.clock.tick(50);
  }
  const pending = h.it.next(); // The server now sends nothing.
  await h.clock.tick(4_999);
  assert.equal(conn.ended, undefined);
  await h.clock.tick(1);
  assert.equal(conn.ended, "aborted", "dropped 5 s after the last event");
  await h.retried(1);
  assert.equal(h.errors[0][1].kind, "idle-timeout");
  assert.match(
    h.errors[0][0].message,
    /no new event for 5000 ms \(adaptive idle bound/,
  );
  h.server.stream().push(w.frame(eqiad(222, 1)[0]));
  assert.equal(((await pending).value as RecentChangeEvent).meta.offset, 222);
  await finish(h);

  const sparse = harness();
  const sw = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const sparseConn = sparse.server.stream();
  for (const message of eqiad(1, 10)) { // One event every 2 s: too few to adapt.
    const next = sparse.it.next();
    sparseConn.push(sw.frame(message));
    await next;
    await sparse.clock.tick(2_000);
  }
  const quiet = sparse.it.next();
  await sparse.clock.tick(59_999);
  assert.equal(sparseConn.ended, undefined, "the static 60 s bound holds");
  await sparse.clock.tick(1);
  assert.equal(sparseConn.ended, "aborted");
  await sparse.stream.close();
  await quiet;
  await finish(sparse);
});

Deno.test("events a prefilter rejects are dropped unparsed, and the cursor moves past them exactly", async () => {
  let filterCalls = 0;
  const h = harness({
    prefilter: (text) => text.includes('"arwiki"'),
    filter: () => (filterCalls++, true),
  });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const messages = eqiad(1, 10).map((m) =>
    m.offset % 4 === 0 ? { ...m, fields: { wiki: "arwiki" } } : m
  );
  const conn = h.server.stream().push(w.frames(messages.slice(0, 6)));
  assert.deepEqual(offsets([await h.next()]), [4]);
  const pending = h.it.next();
  await h.clock.tick(0);
  assert.equal(h.stream.stats.filtered, 5, "offsets 1-3, 5, 6");
  assert.equal(
    filterCalls,
    1,
    "only the event that passed the prefilter was parsed",
  );
  assert.match(h.stream.cursor, /"offset":7}/);
  conn.end();
  await h.server.waitForRequests(2);
  assert.match(h.server.requests[1].lastEventId!, /"offset":7}/);
  h.server.stream().push(w.frames(messages.slice(6)));
  assert.deepEqual(offsets([(await pending).value as RecentChangeEvent]), [8]);
  await finish(h);
});

Deno.test("events a prefilter rejects still give their time while the cursor is not settled", async () => {
  // Unparsed events are read for their position only once the cursor is
  // known from an id. Before, the earliest event time is what a "latest"
  // entry is pinned to, and events come out of time order.
  const h = harness({ prefilter: () => false });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const [late, early, last] = [
    { topic: EQIAD, offset: 100, dt: new Date(T0 + 5_000).toISOString() },
    { topic: EQIAD, offset: 101, dt: new Date(T0 + 1_500).toISOString() },
    { topic: EQIAD, offset: 102, dt: new Date(T0 + 6_000).toISOString() },
  ];
  const withoutId = (m: LogMessage) =>
    `event: message\ndata: ${JSON.stringify(w.event(m))}\n\n`;
  h.server.stream().push(withoutId(late) + withoutId(early) + w.frame(last));
  const pending = h.it.next();
  await h.clock.tick(0);
  assert.equal(h.stream.stats.filtered, 3);
  assert.equal(
    h.stream.cursor,
    `[{"topic":"${EQIAD}","partition":0,"offset":103},{"topic":"${CODFW}","partition":0,"timestamp":${
      T0 + 1_000
    }}]`,
    "codfw pinned to the earliest event's second",
  );
  await h.stream.close();
  await pending;
  await finish(h);
});

Deno.test("hands over the events of one chunk one at a time, the cursor exact at each; a filter that throws ends the iteration and releases the connection", async () => {
  const boom = new Error("filter failed");
  let calls = 0;
  const h = harness({
    filter: () => {
      if (++calls === 3) throw boom;
      return true;
    },
  });
  const w = new KafkaSseWriter(RC, [EQIAD, CODFW]);
  const conn = h.server.stream().push(w.frames(eqiad(10, 4))); // One chunk.
  for (const offset of [10, 11]) {
    assert.equal((await h.next()).meta.offset, offset);
    assert.equal(
      h.stream.cursor,
      `[{"topic":"${EQIAD}","partition":0,"offset":${
        offset + 1
      }},{"topic":"${CODFW}","partition":0,"timestamp":${T0}}]`,
    );
  }
  await assert.rejects(h.it.next(), (error) => error === boom);
  assert.deepEqual(await h.it.next(), { done: true, value: undefined });
  assert.equal(h.stream.stats.events, 2);
  assert.ok(conn.ended === "aborted" || conn.ended === "cancelled");
  assert.deepEqual(h.disconnects.map((d) => d.reason), ["failed"]);
  await finish(h);
});

Deno.test("eventText is the JSON text of the event handed over, as sent: spacing and integers beyond 2^53 kept, dropped events never shown", async () => {
  const meta = (offset: number, domain = "en.wikipedia.org") =>
    `{"topic": "${EQIAD}", "partition": 0, "offset": ${offset}, "dt": "2026-01-01T00:00:0${offset}Z", ` +
    `"id": "${
      fakeUuid(EQIAD, 0, offset)
    }", "stream": "${RC}", "domain": "${domain}"}`;
  const texts = [
    `{"meta": ${meta(1)}, "wiki": "enwiki", "rev": 12345678901234567891}`,
    `{"meta": ${meta(2)}, "wiki": "dewiki"}`, // Filtered out.
    `{"meta": ${meta(3, "canary")}, "wiki": "enwiki"}`, // A canary: dropped.
    `{"meta": ${meta(4)},\n "wiki": "enwiki"}`, // Sent on two data lines.
  ];
  const body = ":ok\n\n" +
    texts.map((text) =>
      `event: message\n${
        text.split("\n").map((line) => `data: ${line}\n`).join("")
      }\n`
    ).join("");
  const stream = eventStream("recentchange", {
    userAgent: UA,
    fetch: () =>
      Promise.resolve(
        new Response(body, {
          headers: { "content-type": "text/event-stream" },
        }),
      ),
    filter: (event) => event.wiki === "enwiki",
  });
  assert.equal(stream.eventText, "");
  const seen: [number, string][] = [];
  for await (const event of stream) {
    seen.push([event.meta.offset, stream.eventText]);
    if (seen.length === 2) break;
  }
  assert.deepEqual(seen, [[1, texts[0]], [4, texts[3]]]);
});
