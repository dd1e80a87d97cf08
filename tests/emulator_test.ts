import assert from "node:assert/strict";
import {
  type EmulatorStreamConfig,
  EmulatorStreams,
  generateStreams,
  loadFixtureStreams,
  parseLastEventId,
  PUBLIC_STREAM_CONFIGS,
  serveEmulator,
  TopicPartitionLog,
  validateFaults,
} from "../src/testing/emulator/mod.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { KNOWN_STREAMS } from "../src/streams.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const UA = "eventstreams-emulator-test/1.0 (https://example.org/eventstreams)";
const RC = ["eqiad.mediawiki.recentchange", "codfw.mediawiki.recentchange"];
const PC = ["eqiad.mediawiki.page_change.v1", "codfw.mediawiki.page_change.v1"];
const RC_CONFIG: EmulatorStreamConfig = {
  name: "mediawiki.recentchange",
  aliases: ["recentchange"],
  topics: RC,
};
const TEST_CONFIG: EmulatorStreamConfig = {
  name: "eventgate-main.test.event",
  aliases: ["test"],
  topics: [
    "eqiad.eventgate-main.test.event",
    "codfw.eventgate-main.test.event",
  ],
};

interface Frame {
  event: string;
  id: string;
  data: string;
}

/** Splits an SSE body into frames (on blank lines), keeping comments out. */
function parseFrames(text: string): Frame[] {
  const frames: Frame[] = [];
  for (const block of text.split("\n\n").slice(0, -1)) {
    const frame: Frame = { event: "message", id: "", data: "" };
    let hasData = false;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(": ");
      const field = line.slice(0, colon);
      const value = line.slice(colon + 2);
      if (field === "event") frame.event = value;
      if (field === "id") frame.id = value;
      if (field === "data") {
        frame.data = value;
        hasData = true;
      }
    }
    if (hasData) frames.push(frame);
  }
  return frames;
}

const offsetOf = (frame: Frame): number => JSON.parse(frame.data).meta.offset;
const topicOf = (frame: Frame): string => JSON.parse(frame.data).meta.topic;

function get(
  url: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
) {
  return fetch(url, { headers: { "user-agent": UA, ...headers }, signal });
}

/** Reads until `count` complete frames arrived (or the stream ended), then stops reading. */
async function readFrames(
  response: Response,
  count: number,
): Promise<{ text: string; frames: Frame[]; ended: boolean }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let ended = false;
  while (parseFrames(text).length < count) {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    text += decoder.decode(value, { stream: true });
  }
  if (!ended) await reader.cancel();
  return { text, frames: parseFrames(text).slice(0, count), ended };
}

/** Three recentchange events in one second, then one later; codfw has one event. */
function sameSecondStreams(): EmulatorStreams {
  const eqiad = new TopicPartitionLog({ topic: RC[0], baseOffset: 4369496612 });
  const codfw = new TopicPartitionLog({ topic: RC[1], baseOffset: 500 });
  for (
    const [title, dt] of [
      ["A", "2022-12-11T04:27:02Z"],
      ["B", "2022-12-11T04:27:02Z"],
      ["C", "2022-12-11T04:27:02Z"],
      ["D", "2022-12-11T04:27:04Z"],
    ]
  ) {
    eqiad.append({ meta: { dt, domain: "en.wikipedia.org" }, title });
  }
  codfw.append({
    meta: { dt: "2022-12-11T04:27:03Z", domain: "en.wikipedia.org" },
    title: "X",
  });
  return new EmulatorStreams({
    configs: [RC_CONFIG, TEST_CONFIG],
    logs: [eqiad, codfw],
  });
}

function readCaptureBody(): string {
  const capture = Deno.readTextFileSync(
    `${FIXTURES}page_change_v1.2026-09-27.sse`,
  );
  return capture.slice(capture.indexOf(":ok\n"));
}

Deno.test("starts every stream with the :ok comment and the server's headers", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const response = await get(
    `${emulator.url}/v2/stream/recentchange?since=2022-12-11T00:00:00Z`,
    {
      accept: "text/event-stream",
    },
  );
  assert.equal(response.status, 200);
  assert.equal(
    response.headers.get("content-type"),
    "text/event-stream; charset=utf-8",
  );
  assert.equal(response.headers.get("cache-control"), "no-cache");
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.equal(response.headers.get("retry-after"), null);
  const { text } = await readFrames(response, 5);
  assert.ok(text.startsWith(":ok\n\n"), text.slice(0, 20));
  assert.ok(!text.includes("retry:"));
  assert.equal(parseFrames(text).length, 5);
  assert.equal(emulator.connections[0].headers["user-agent"], UA);
});

Deno.test("serves the real page_change capture byte for byte", async () => {
  const streams = await loadFixtureStreams(FIXTURES, {
    counts: { "mediawiki.recentchange": 10 },
  });
  await using emulator = serveEmulator({ streams });
  const expected = readCaptureBody();
  const expectedFrames = parseFrames(expected);
  assert.equal(expectedFrames.length, 169);

  // From `since` = the capture's first event: the codfw entry resolves to -1
  // (no codfw events), exactly what the live session showed.
  const bySince = await readFrames(
    await get(
      `${emulator.url}/v2/stream/mediawiki.page_change.v1?since=2026-09-27T16:17:12Z`,
    ),
    169,
  );
  assert.equal(bySince.text, expected);

  // From an offset cursor at the capture's first event: same bytes.
  const byOffset = await readFrames(
    await get(`${emulator.url}/v2/stream/mediawiki.page_change.v1`, {
      "last-event-id": JSON.stringify([
        { topic: PC[0], partition: 0, offset: 1109139115 },
        { topic: PC[1], partition: 0, offset: -1 },
      ]),
    }),
    169,
  );
  assert.deepEqual(byOffset.frames, expectedFrames);
  assert.equal(emulator.connections[1].frames[0].offset, 1109139115);
});

Deno.test("re-serializes fixture events exactly as the capture shows them", async () => {
  for (const frame of parseFrames(readCaptureBody())) {
    assert.equal(JSON.stringify(JSON.parse(frame.data)), frame.data);
  }
  const streams = await loadFixtureStreams(FIXTURES, {
    counts: { "mediawiki.revision-create": 0 },
  });
  const revisions = streams.log("eqiad.mediawiki.revision-create")!.messages;
  assert.equal(revisions.length, 2);
  assert.equal(revisions[0].offset, 2014247839);
  assert.equal(revisions[0].timestamp, 1606924085000);
  const pageChange = streams.log(PC[0])!.messages;
  assert.equal(pageChange[0].offset, 516188566);
  assert.equal(pageChange.length, 170);
  assert.equal(streams.log(PC[1])!.length, 0);
});

Deno.test("resolves stream aliases to the canonical stream's topics", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const since = "?since=2022-12-11T00:00:00Z";
  const alias = await readFrames(
    await get(`${emulator.url}/v2/stream/recentchange${since}`),
    5,
  );
  const canonical = await readFrames(
    await get(`${emulator.url}/v2/stream/mediawiki.recentchange${since}`),
    5,
  );
  assert.deepEqual(alias.frames, canonical.frames);
  const both = await readFrames(
    await get(
      `${emulator.url}/v2/stream/recentchange,mediawiki.recentchange,test${since}`,
    ),
    1,
  );
  const id = JSON.parse(both.frames[0].id) as { topic: string }[];
  assert.deepEqual(id.map((e) => e.topic), [...RC, ...TEST_CONFIG.topics]);
});

Deno.test("the emulator's stream table agrees with the client's stream catalogue", () => {
  assert.deepEqual(
    PUBLIC_STREAM_CONFIGS.map((c) => [c.name, [...(c.aliases ?? [])].sort()])
      .sort(),
    KNOWN_STREAMS.map((s) => [s.name, [...s.aliases].sort()]).sort(),
  );
});

Deno.test("rejects unknown streams with the server's 400 body", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const response = await get(
    `${emulator.url}/v2/stream/recentchange,nope,alsonope`,
  );
  assert.equal(response.status, 400);
  assert.equal(
    response.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  assert.equal(
    await response.text(),
    '{"status":400,"type":"not_found","title":"Stream Not Found",' +
      '"detail":"Invalid streams: nope,alsonope","method":"GET","uri":"/v2/stream/recentchange,nope,alsonope"}',
  );
  assert.equal(emulator.connections[0].end?.reason, "rejected");
});

Deno.test("rejects an unparseable since with 400 invalid_timestamp", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const response = await get(
    `${emulator.url}/v2/stream/recentchange?since=yesterday`,
  );
  assert.equal(response.status, 400);
  assert.equal(
    await response.text(),
    '{"status":400,"type":"invalid_timestamp","title":"Invalid timestamp",' +
      `"detail":"since timestamp is not a UTC milliseconds unix epoch and was not parseable: 'yesterday'",` +
      '"method":"GET","uri":"/v2/stream/recentchange?since=yesterday"}',
  );
});

Deno.test("since before the first retained event starts at the first event", async () => {
  await using emulator = serveEmulator({
    interleave: "timestamp",
    streams: sameSecondStreams(),
  });
  for (const since of ["2000-01-01T00:00:00Z", "1000"]) {
    const { frames } = await readFrames(
      await get(`${emulator.url}/v2/stream/recentchange?since=${since}`),
      5,
    );
    // Merged by timestamp: A B C (04:27:02), X (codfw, 04:27:03), D (04:27:04).
    assert.deepEqual(frames.map((f) => JSON.parse(f.data).title), [
      "A",
      "B",
      "C",
      "X",
      "D",
    ]);
    assert.equal(offsetOf(frames[0]), 4369496612);
  }
});

Deno.test("since after the newest event starts at the live end, which stays silent", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const response = await get(
    `${emulator.url}/v2/stream/recentchange?since=2030-01-01T00:00:00Z`,
  );
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  assert.equal(decoder.decode((await reader.read()).value), ":ok\n\n");
  await emulator.waitForConnection(0);
  const [produced] = emulator.produce("recentchange", 1, {
    timestamp: Date.parse("2030-01-02T00:00:00Z"),
  });
  let text = "";
  while (parseFrames(text).length < 1) {
    text += decoder.decode((await reader.read()).value);
  }
  const [frame] = parseFrames(text);
  assert.equal(frame.data, produced.data);
  // offsets-for-times found nothing in codfw: its entry is offset -1.
  assert.equal(
    frame.id,
    `[{"topic":"${RC[0]}","partition":0,"timestamp":${
      produced.timestamp + 1
    }},` +
      `{"topic":"${RC[1]}","partition":0,"offset":-1}]`,
  );
  await reader.cancel();
  assert.equal((await emulator.waitForEnd(0)).end?.reason, "client-gone");
});

Deno.test("an idle stream sends no heartbeat: nothing after :ok in ten minutes of the injected clock", async () => {
  const clock = new ManualClock();
  await using emulator = serveEmulator({ streams: sameSecondStreams(), clock });
  const response = await get(`${emulator.url}/v2/stream/recentchange`);
  const reader = response.body!.getReader();
  assert.equal(
    new TextDecoder().decode((await reader.read()).value),
    ":ok\n\n",
  );
  const log = await emulator.waitForConnection(0);
  const next = reader.read();
  await clock.tick(10 * 60_000);
  // A round trip to the same server later, still nothing: no timer, no byte.
  await (await get(`${emulator.url}/robots.txt`)).body!.cancel();
  assert.equal(clock.pendingTimers, 0);
  assert.equal(log.bytesSent, ":ok\n\n".length);
  assert.equal(log.end, undefined);
  await reader.cancel();
  assert.deepEqual(await next, { done: true, value: undefined });
});

Deno.test("since resolves each partition like offsets-for-times and lists the resolved offset", async () => {
  await using emulator = serveEmulator({
    interleave: "timestamp",
    streams: sameSecondStreams(),
  });
  const { frames } = await readFrames(
    await get(
      `${emulator.url}/v2/stream/recentchange?since=2022-12-11T04:27:03Z`,
    ),
    2,
  );
  // eqiad resolves to D (offset ...615), codfw to X (offset 500): X comes first (earlier).
  assert.equal(
    frames[0].id,
    `[{"topic":"${RC[0]}","partition":0,"offset":4369496615},` +
      `{"topic":"${RC[1]}","partition":0,"timestamp":${
        Date.parse("2022-12-11T04:27:03Z") + 1
      }}]`,
  );
  assert.deepEqual(frames.map(offsetOf), [500, 4369496615]);
});

Deno.test("Last-Event-ID offset entries start exactly there and ignore since", async () => {
  await using emulator = serveEmulator({
    interleave: "timestamp",
    streams: sameSecondStreams(),
  });
  const cursor = `[{"topic":"${RC[0]}","partition":0,"offset":4369496613},` +
    `{"topic":"${RC[1]}","partition":0,"offset":500}]`;
  const { frames } = await readFrames(
    await get(
      `${emulator.url}/v2/stream/recentchange?since=2030-01-01T00:00:00Z`,
      {
        "last-event-id": cursor,
      },
    ),
    4,
  );
  assert.deepEqual(frames.map((f) => JSON.parse(f.data).title), [
    "B",
    "C",
    "X",
    "D",
  ]);
  // The untouched entry keeps its start value until its partition delivers.
  assert.equal(
    frames[0].id,
    `[{"topic":"${RC[0]}","partition":0,"timestamp":${
      Date.parse("2022-12-11T04:27:02Z") + 1
    }},` +
      `{"topic":"${RC[1]}","partition":0,"offset":500}]`,
  );
  assert.equal(emulator.connections[0].headers["last-event-id"], cursor);
});

Deno.test("Last-Event-ID timestamp entries resume at the first message at or after it", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const t = Date.parse("2022-12-11T04:27:02Z");
  const { frames } = await readFrames(
    await get(`${emulator.url}/v2/stream/recentchange`, {
      "last-event-id": `[{"topic":"${RC[0]}","partition":0,"timestamp":${t}}]`,
    }),
    4,
  );
  assert.deepEqual(frames.map((f) => JSON.parse(f.data).title), [
    "A",
    "B",
    "C",
    "D",
  ]);
  // Only the named topic is consumed: the id has a single entry.
  assert.equal(JSON.parse(frames[0].id).length, 1);
});

Deno.test("reproduces the shared-timestamp trap: the server's own id skips same-second events", async () => {
  await using emulator = serveEmulator({
    interleave: "timestamp",
    streams: sameSecondStreams(),
  });
  const first = await readFrames(
    await get(
      `${emulator.url}/v2/stream/recentchange?since=2022-12-11T00:00:00Z`,
    ),
    1,
  );
  assert.equal(JSON.parse(first.frames[0].data).title, "A");
  // Resume with the server's own id: timestamp + 1 skips B and C (same second).
  const resumed = await readFrames(
    await get(`${emulator.url}/v2/stream/recentchange`, {
      "last-event-id": first.frames[0].id,
    }),
    2,
  );
  assert.deepEqual(resumed.frames.map((f) => JSON.parse(f.data).title), [
    "X",
    "D",
  ]);
  // Resume with an offset cursor (meta.offset + 1): nothing lost.
  const exact = await readFrames(
    await get(`${emulator.url}/v2/stream/recentchange`, {
      "last-event-id": `[{"topic":"${RC[0]}","partition":0,"offset":${
        offsetOf(first.frames[0]) + 1
      }},{"topic":"${RC[1]}","partition":0,"offset":-2}]`,
    }),
    4,
  );
  assert.deepEqual(exact.frames.map((f) => JSON.parse(f.data).title), [
    "B",
    "C",
    "X",
    "D",
  ]);
});

Deno.test("Last-Event-ID offset wins over timestamp in the same entry", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const { frames } = await readFrames(
    await get(`${emulator.url}/v2/stream/recentchange`, {
      "last-event-id": `[{"topic":"${
        RC[0]
      }","partition":0,"offset":4369496614,"timestamp":0}]`,
    }),
    2,
  );
  assert.deepEqual(frames.map((f) => JSON.parse(f.data).title), ["C", "D"]);
});

Deno.test("Last-Event-ID naming only eqiad consumes only eqiad (server behaviour)", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const { frames } = await readFrames(
    await get(`${emulator.url}/v2/stream/recentchange`, {
      "last-event-id": `[{"topic":"${
        RC[0]
      }","partition":0,"offset":4369496612}]`,
    }),
    4,
  );
  assert.ok(frames.every((f) => topicOf(f) === RC[0]));
  assert.deepEqual(frames.map((f) => JSON.parse(f.data).title), [
    "A",
    "B",
    "C",
    "D",
  ]);
});

Deno.test("Last-Event-ID lists offset entries before resolved timestamp entries (server order)", async () => {
  await using emulator = serveEmulator({
    interleave: "timestamp",
    streams: sameSecondStreams(),
  });
  const { frames } = await readFrames(
    await get(`${emulator.url}/v2/stream/recentchange`, {
      "last-event-id": `[{"topic":"${RC[1]}","partition":0,"timestamp":0},` +
        `{"topic":"${RC[0]}","partition":0,"offset":4369496615}]`,
    }),
    1,
  );
  // codfw resolved by offsets-for-times goes after the offset entry; X (04:27:03) first.
  assert.equal(JSON.parse(frames[0].data).title, "X");
  assert.equal(
    frames[0].id,
    `[{"topic":"${RC[0]}","partition":0,"offset":4369496615},` +
      `{"topic":"${RC[1]}","partition":0,"timestamp":${
        Date.parse("2022-12-11T04:27:03Z") + 1
      }}]`,
  );
});

Deno.test("Last-Event-ID entries with both offset and timestamp are dropped next to timestamp-only ones (server quirk)", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const { frames } = await readFrames(
    await get(`${emulator.url}/v2/stream/recentchange`, {
      "last-event-id":
        `[{"topic":"${
          RC[0]
        }","partition":0,"offset":4369496612,"timestamp":0},` +
        `{"topic":"${RC[1]}","partition":0,"timestamp":0}]`,
    }),
    1,
  );
  assert.equal(JSON.parse(frames[0].id).length, 1);
  assert.equal(topicOf(frames[0]), RC[1]);
});

Deno.test("Last-Event-ID topic names start at since, or at latest without it", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const { frames } = await readFrames(
    await get(
      `${emulator.url}/v2/stream/recentchange?since=2022-12-11T04:27:04Z`,
      {
        "last-event-id": `["${RC[0]}"]`,
      },
    ),
    1,
  );
  assert.equal(JSON.parse(frames[0].data).title, "D");
  assert.equal(JSON.parse(frames[0].id).length, 1);
  // A JSON string is split on commas into topic names, as KafkaSSE does.
  const latest = await get(`${emulator.url}/v2/stream/recentchange`, {
    "last-event-id": JSON.stringify(RC.join(",")),
  });
  assert.equal(latest.status, 200);
  const reader = latest.body!.getReader();
  await reader.read();
  const [produced] = emulator.produce("recentchange", 1, { topic: RC[1] });
  let text = "";
  while (parseFrames(text).length < 1) {
    text += new TextDecoder().decode((await reader.read()).value);
  }
  await reader.cancel();
  assert.equal(parseFrames(text)[0].data, produced.data);
  assert.equal(
    parseFrames(text)[0].id,
    `[{"topic":"${RC[0]}","partition":0,"offset":-1},` +
      `{"topic":"${RC[1]}","partition":0,"timestamp":${
        produced.timestamp + 1
      }}]`,
  );
});

Deno.test("an empty Last-Event-ID header is present, so it is parsed and rejected", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const response = await get(`${emulator.url}/v2/stream/recentchange`, {
    "last-event-id": "",
  });
  assert.equal(response.status, 400);
  const body = JSON.parse(await response.text());
  assert.equal(body.name, "InvalidAssignmentError");
  assert.equal(body.last_event_id, "");
});

Deno.test("offsets outside the retained log start at latest, or earliest when configured", async () => {
  const header = `[{"topic":"${RC[0]}","partition":0,"offset":12}]`;
  await using latest = serveEmulator({ streams: sameSecondStreams() });
  const response = await get(`${latest.url}/v2/stream/recentchange`, {
    "last-event-id": header,
  });
  const reader = response.body!.getReader();
  await reader.read();
  const [produced] = latest.produce("recentchange", 1, { topic: RC[0] });
  let text = "";
  while (parseFrames(text).length < 1) {
    text += new TextDecoder().decode((await reader.read()).value);
  }
  await reader.cancel();
  assert.equal(offsetOf(parseFrames(text)[0]), produced.offset);

  await using earliest = serveEmulator({
    streams: sameSecondStreams(),
    offsetReset: "earliest",
  });
  const { frames } = await readFrames(
    await get(`${earliest.url}/v2/stream/recentchange`, {
      "last-event-id": header,
    }),
    1,
  );
  assert.equal(offsetOf(frames[0]), 4369496612);
});

Deno.test("Last-Event-ID that is not JSON or has the wrong shape gets KafkaSSE's 400", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const notJson = await get(`${emulator.url}/v2/stream/recentchange`, {
    "last-event-id": "abc",
  });
  assert.equal(notJson.status, 400);
  assert.equal(notJson.headers.get("content-type"), null);
  let syntax = "";
  try {
    JSON.parse("abc");
  } catch (error) {
    syntax = (error as Error).message;
  }
  assert.equal(
    await notJson.text(),
    JSON.stringify({
      message: syntax,
      origin: "KafkaSSE",
      name: "InvalidAssignmentError",
      originalName: "SyntaxError",
      last_event_id: "abc",
      statusCode: 400,
    }) + "\n",
  );
  const stringTimestamp = `[{"topic":"${
    RC[0]
  }","partition":0,"timestamp":"1670732822001"}]`;
  for (
    const header of [
      stringTimestamp,
      "[]",
      "{}",
      `[{"topic":"${RC[0]}","partition":0}]`,
    ]
  ) {
    const response = await get(`${emulator.url}/v2/stream/recentchange`, {
      "last-event-id": header,
    });
    assert.equal(response.status, 400, header);
    const body = JSON.parse(await response.text());
    assert.equal(body.name, "InvalidAssignmentError");
    assert.equal(
      body.message,
      "Must provide either an array topic names, or  an array of objects with topic, partition and offset|timestamp.",
    );
    assert.deepEqual(body.assignments, JSON.parse(header));
  }
  assert.throws(() => parseLastEventId("abc"), {
    name: "InvalidAssignmentError",
  });
});

Deno.test("Last-Event-ID naming a topic outside the requested streams gets KafkaSSE's 404", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const response = await get(`${emulator.url}/v2/stream/recentchange`, {
    "last-event-id":
      '[{"topic":"eqiad.eventgate-main.test.event","partition":0,"offset":0}]',
  });
  assert.equal(response.status, 404);
  assert.equal(
    await response.text(),
    '{"message":"Topics eqiad.eventgate-main.test.event are not available for consumption.",' +
      `"origin":"KafkaSSE","name":"TopicNotAvailableError","availableTopics":${
        JSON.stringify(RC)
      },"statusCode":404}\n`,
  );
});

Deno.test("answers 429 to the third concurrent connection from one client IP", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const url = `${emulator.url}/v2/stream/recentchange`;
  const first = new AbortController();
  const a = await get(url, {}, first.signal);
  const b = await get(url);
  const c = await get(url);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(c.status, 429);
  assert.equal(c.headers.get("retry-after"), null);
  assert.equal(
    await c.text(),
    '{"status":429,"type":"too_many_requests","title":"Too Many Concurrent Connections From Your Client IP",' +
      '"detail":"Your HTTP client is likely opening too many concurrent connections.",' +
      '"method":"GET","uri":"/v2/stream/recentchange"}',
  );
  // Another client IP (as the edge reports it) has its own budget.
  const other = await get(url, { "x-client-ip": "198.51.100.7" });
  assert.equal(other.status, 200);
  await other.body!.cancel();
  // Closing one connection frees a slot.
  first.abort();
  await a.body!.cancel().catch(() => {});
  await emulator.waitForEnd(0);
  const d = await get(url);
  assert.equal(d.status, 200);
  await Promise.all([b.body!.cancel(), d.body!.cancel()]);
});

Deno.test("Accept: application/json sends newline-delimited events without ids", async () => {
  await using emulator = serveEmulator({
    interleave: "timestamp",
    streams: sameSecondStreams(),
  });
  const response = await get(
    `${emulator.url}/v2/stream/recentchange?since=2022-12-11T00:00:00Z`,
    {
      accept: "application/json",
    },
  );
  assert.equal(
    response.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (text.split("\n").length < 7) {
    text += decoder.decode((await reader.read()).value);
  }
  await reader.cancel();
  const lines = text.split("\n");
  assert.equal(lines[0], "");
  assert.deepEqual(lines.slice(1, 6).map((l) => JSON.parse(l).title), [
    "A",
    "B",
    "C",
    "X",
    "D",
  ]);
  assert.ok(!text.includes("id:") && !text.includes("event:"));
});

Deno.test("status faults answer 429/500/502/503 with JSON bodies and no Retry-After", async () => {
  await using emulator = serveEmulator({
    streams: sameSecondStreams(),
    faults: [
      [{ kind: "status", status: 503 }],
      [{ kind: "status", status: 502 }],
      [{ kind: "status", status: 500 }],
      [{ kind: "status", status: 429 }],
    ],
  });
  const url = `${emulator.url}/v2/stream/recentchange`;
  for (const status of [503, 502, 500, 429]) {
    const response = await get(url);
    assert.equal(response.status, status);
    assert.equal(response.headers.get("retry-after"), null);
    const body = JSON.parse(await response.text());
    assert.equal(body.status, status);
    assert.equal(body.uri, "/v2/stream/recentchange");
  }
  const ok = await get(url);
  assert.equal(ok.status, 200);
  await ok.body!.cancel();
});

Deno.test("cut after N frames ends the stream cleanly after exactly N frames", async () => {
  await using emulator = serveEmulator({
    streams: sameSecondStreams(),
    faults: [[{ kind: "cut", afterFrames: 2 }]],
  });
  const text =
    await (await get(`${emulator.url}/v2/stream/recentchange?since=1`)).text();
  assert.deepEqual(parseFrames(text).map((f) => JSON.parse(f.data).title), [
    "A",
    "B",
  ]);
  assert.ok(text.endsWith("\n\n"));
  const log = await emulator.waitForEnd(0);
  assert.deepEqual(log.end && [log.end.reason, log.end.abrupt], [
    "cut-after-frames",
    false,
  ]);
  assert.equal(log.framesSent, 2);
});

Deno.test("cut after N bytes ends the stream after exactly N bytes", async () => {
  await using emulator = serveEmulator({
    streams: sameSecondStreams(),
    faults: [[{ kind: "cut", afterBytes: 100 }]],
  });
  const body = new Uint8Array(
    await (await get(`${emulator.url}/v2/stream/recentchange?since=1`))
      .arrayBuffer(),
  );
  assert.equal(body.length, 100);
  assert.equal(
    new TextDecoder().decode(body.subarray(0, 20)),
    ":ok\n\nevent: message\n",
  );
  assert.equal((await emulator.waitForEnd(0)).end?.reason, "cut-after-bytes");
});

Deno.test("an abrupt mid-frame cut delivers half a frame, then a network error", async () => {
  await using emulator = serveEmulator({
    streams: sameSecondStreams(),
    faults: [[{ kind: "cut", afterFrames: 1, midFrame: true, abrupt: true }]],
  });
  const response = await get(`${emulator.url}/v2/stream/recentchange?since=1`);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const error = await (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        text += decoder.decode(value, { stream: true });
      }
    } catch (error) {
      return error;
    }
  })();
  assert.ok(
    error instanceof TypeError,
    `expected a network error, got ${error}`,
  );
  assert.equal(parseFrames(text).length, 1);
  const rest = text.slice(text.indexOf("\n\n", 5) + 2);
  assert.ok(
    rest.startsWith("event: message\n") && !rest.endsWith("\n\n"),
    rest,
  );
  const log = await emulator.waitForEnd(0);
  assert.deepEqual(log.end && [log.end.reason, log.end.abrupt], [
    "cut-mid-frame",
    true,
  ]);
});

Deno.test("a stalled connection stays open and silent, even for new events", async () => {
  await using emulator = serveEmulator({
    streams: sameSecondStreams(),
    faults: [[{ kind: "stall", afterFrames: 2 }]],
  });
  const controller = new AbortController();
  const response = await get(
    `${emulator.url}/v2/stream/recentchange?since=1`,
    {},
    controller.signal,
  );
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (parseFrames(text).length < 2) {
    text += decoder.decode((await reader.read()).value);
  }
  emulator.produce("recentchange", 3);
  // A full request round trip later the stalled stream still has not written.
  const spec = await get(`${emulator.url}/?spec`);
  await spec.body!.cancel();
  const log = emulator.connections[0];
  assert.equal(log.framesSent, 2);
  assert.equal(log.end, undefined);
  const pending = reader.read();
  controller.abort();
  await assert.rejects(pending);
  assert.equal((await emulator.waitForEnd(0)).end?.reason, "client-gone");
});

Deno.test("error-event fault sends event: error with the current id, then ends", async () => {
  await using emulator = serveEmulator({
    streams: sameSecondStreams(),
    faults: [[{
      kind: "error-event",
      afterFrames: 2,
      name: "KafkaConsumerError",
      message: "Broker down",
    }]],
  });
  const text =
    await (await get(`${emulator.url}/v2/stream/recentchange?since=1`)).text();
  const frames = parseFrames(text);
  assert.deepEqual(frames.map((f) => f.event), ["message", "message", "error"]);
  assert.equal(frames[2].id, frames[1].id);
  assert.equal(
    frames[2].data,
    '{"message":"Broker down","origin":"KafkaSSE","name":"KafkaConsumerError"}',
  );
  assert.equal((await emulator.waitForEnd(0)).end?.reason, "error-event");
});

Deno.test("max-age fault ends the connection when it is old enough on the injected clock", async () => {
  const clock = new ManualClock(Date.parse("2022-12-11T05:00:00Z"));
  await using emulator = serveEmulator({
    streams: sameSecondStreams(),
    clock,
    faults: [[{ kind: "max-age", ms: 900_000 }]],
  });
  const response = await get(`${emulator.url}/v2/stream/recentchange?since=1`);
  const reading = response.text();
  await clock.waitForTimers(1);
  await clock.tick(899_999);
  assert.equal(emulator.connections[0].end, undefined);
  await clock.tick(1);
  const text = await reading;
  assert.equal(parseFrames(text).length, 5);
  const log = await emulator.waitForEnd(0);
  assert.deepEqual(log.end, {
    reason: "max-age",
    abrupt: false,
    at: clock.now(),
  });
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("interleave faults deliver topics out of timestamp order", async () => {
  const streams = sameSecondStreams();
  for (let i = 0; i < 3; i++) {
    streams.log(RC[1])!.append({
      meta: { dt: `2022-12-11T04:27:0${5 + i}Z` },
      title: `Y${i}`,
    });
  }
  await using emulator = serveEmulator({
    interleave: "timestamp",
    streams,
    faults: [
      [{ kind: "interleave", order: "partition-batches", batchSize: 10 }],
      [{ kind: "interleave", order: "round-robin" }],
    ],
  });
  const url = `${emulator.url}/v2/stream/recentchange?since=1`;
  const titles = async () =>
    (await readFrames(await get(url), 8)).frames.map((f) =>
      JSON.parse(f.data).title
    );
  assert.deepEqual(await titles(), ["A", "B", "C", "D", "X", "Y0", "Y1", "Y2"]);
  assert.deepEqual(await titles(), ["A", "X", "B", "Y0", "C", "Y1", "D", "Y2"]);
  assert.deepEqual(await titles(), ["A", "B", "C", "X", "D", "Y0", "Y1", "Y2"]);
});

Deno.test("trickle fault writes a few bytes per tick of the injected clock", async () => {
  const clock = new ManualClock();
  const streams = sameSecondStreams();
  await using plain = serveEmulator({
    streams,
    faults: [[{ kind: "cut", afterFrames: 1 }]],
  });
  const expected =
    await (await get(`${plain.url}/v2/stream/recentchange?since=1`)).text();
  await using emulator = serveEmulator({
    streams,
    clock,
    faults: [[{ kind: "trickle", bytesPerWrite: 7, delayMs: 50 }, {
      kind: "cut",
      afterFrames: 1,
    }]],
  });
  const response = await get(`${emulator.url}/v2/stream/recentchange?since=1`);
  const reading = response.text();
  const log = await emulator.waitForConnection(0);
  let ticks = 0;
  while (log.end === undefined) {
    await clock.waitForTimers(1);
    const before = log.bytesSent;
    await clock.tick(50);
    assert.ok(
      log.bytesSent - before <= 7,
      `${log.bytesSent - before} bytes in one tick`,
    );
    ticks++;
  }
  assert.equal(await reading, expected);
  assert.ok(ticks >= Math.floor(expected.length / 7), `${ticks} ticks`);
});

Deno.test("canary events carry meta.domain canary when asked for", () => {
  const streams = generateStreams({
    counts: { "mediawiki.recentchange": 100 },
    canaryEvery: 10,
    codfwShare: 0,
  });
  const events = streams.select("recentchange").flatMap((s) => s.messages).map((
    m,
  ) => JSON.parse(m.data));
  const canaries = events.filter((e) => e.meta.domain === "canary");
  assert.equal(canaries.length, 10);
  assert.equal(events.indexOf(canaries[0]), 9);
  assert.equal(canaries[0].meta.stream, "mediawiki.recentchange");
  const produced = streams.produce("recentchange", 1, { canary: true })[0];
  assert.equal(JSON.parse(produced.data).meta.domain, "canary");
});

Deno.test("generateStreams is deterministic, realistic, and shares second timestamps", () => {
  const options = { seed: 42, counts: { "mediawiki.recentchange": 500 } };
  const a = generateStreams(options).select("recentchange").flatMap((s) =>
    s.messages
  );
  const b = generateStreams(options).select("recentchange").flatMap((s) =>
    s.messages
  );
  assert.deepEqual(a, b);
  assert.equal(a.length, 500);
  const events = a.map((m) => JSON.parse(m.data));
  assert.ok(
    events.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(e.meta.dt)),
  );
  assert.ok(a.every((m, i) => m.timestamp === Date.parse(events[i].meta.dt)));
  assert.ok(new Set(a.map((m) => m.timestamp)).size < a.length / 2);
  const types = new Set(events.map((e) => e.type));
  assert.deepEqual([...types].sort(), ["categorize", "edit", "log", "new"]);
  for (
    const field of [
      "namespace",
      "title",
      "user",
      "bot",
      "wiki",
      "server_name",
      "comment",
    ]
  ) {
    assert.ok(events.every((e) => field in e), field);
  }
  assert.ok(
    events.filter((e) => e.type === "edit").every((e) =>
      e.length && e.revision
    ),
  );
  const byAlias = generateStreams({ counts: { recentchange: 5 } });
  assert.equal(byAlias.logs.reduce((n, log) => n + log.length, 0), 5);
  const seeds = generateStreams({
    seed: 43,
    counts: { "mediawiki.recentchange": 5 },
  });
  assert.notEqual(seeds.select("recentchange")[0].messages[0].data, a[0].data);
});

Deno.test("serves the real OpenAPI document at /?spec, or a minimal one without fixtures", async () => {
  const streams = await loadFixtureStreams(FIXTURES, { counts: {} });
  await using emulator = serveEmulator({ streams });
  const spec = await get(`${emulator.url}/?spec`);
  assert.equal(
    spec.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  assert.equal(
    await spec.text(),
    Deno.readTextFileSync(`${FIXTURES}eventstreams-spec.json`),
  );
  await using bare = serveEmulator({ generate: { counts: {} } });
  const minimal = await (await get(`${bare.url}/?spec`)).json();
  assert.ok(
    minimal.paths["/v2/stream/{streams}"].get.parameters[0].schema.items.enum
      .includes(
        "recentchange",
      ),
  );
  const missing = await get(`${bare.url}/v3/nothing`);
  assert.equal(missing.status, 404);
  await missing.body!.cancel();
  assert.equal(bare.connections.length, 0);
});

Deno.test("live mode produces events on the injected clock", async () => {
  const clock = new ManualClock(Date.parse("2026-09-27T17:00:00Z"));
  await using emulator = serveEmulator({
    generate: { counts: {} },
    clock,
    live: { eventsPerSecond: 3, tickMs: 1000 },
  });
  const response = await get(`${emulator.url}/v2/stream/recentchange`);
  const reader = response.body!.getReader();
  await reader.read();
  await clock.tick(1000);
  const decoder = new TextDecoder();
  let text = "";
  while (parseFrames(text).length < 3) {
    text += decoder.decode((await reader.read()).value);
  }
  const frames = parseFrames(text);
  assert.ok(
    frames.every((f) => JSON.parse(f.data).meta.dt === "2026-09-27T17:00:01Z"),
  );
  await reader.cancel();
  await emulator.close();
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("close() ends open and stalled streams and leaves no timers or ops", async () => {
  const clock = new ManualClock();
  const emulator = serveEmulator({
    streams: sameSecondStreams(),
    clock,
    faults: [[], [{ kind: "stall" }, { kind: "max-age", ms: 60_000 }]],
  });
  const live = await get(`${emulator.url}/v2/stream/recentchange`);
  const stalled = await get(`${emulator.url}/v2/stream/recentchange?since=1`);
  const liveText = live.text();
  const stalledText = stalled.text();
  await emulator.waitForConnection(1);
  assert.equal(emulator.openConnections, 2);
  await emulator.close();
  assert.equal(await liveText, ":ok\n\n");
  assert.equal(await stalledText, ":ok\n\n");
  assert.deepEqual(emulator.connections.map((c) => c.end?.reason), [
    "emulator-closed",
    "emulator-closed",
  ]);
  assert.equal(clock.pendingTimers, 0);
  await assert.rejects(fetch(`${emulator.url}/?spec`));
});

Deno.test("serves N partitions per topic, listing every one in the id", async () => {
  const streams = generateStreams({
    partitions: 3,
    codfwShare: 0.5,
    counts: { "mediawiki.recentchange": 60 },
  });
  await using emulator = serveEmulator({ interleave: "timestamp", streams });
  const { frames } = await readFrames(
    await get(`${emulator.url}/v2/stream/recentchange?since=1`),
    60,
  );
  const id = JSON.parse(frames[59].id) as {
    topic: string;
    partition: number;
  }[];
  assert.deepEqual(
    id.map((e) => `${e.topic}/${e.partition}`),
    RC.flatMap((t) => [0, 1, 2].map((p) => `${t}/${p}`)),
  );
  const seen = new Set(
    frames.map((f) => `${topicOf(f)}/${JSON.parse(f.data).meta.partition}`),
  );
  assert.equal(seen.size, 6);
  // Merged by timestamp: never decreasing.
  const times = frames.map((f) => Date.parse(JSON.parse(f.data).meta.dt));
  assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]));
});

Deno.test("fault scripts apply in order, can be replaced, or computed per connection", async () => {
  await using emulator = serveEmulator({
    streams: sameSecondStreams(),
    faults: [[{ kind: "status", status: 502 }]],
  });
  const url = `${emulator.url}/v2/stream/recentchange?since=1`;
  const status = async () => {
    const response = await get(url);
    await response.body!.cancel();
    return response.status;
  };
  assert.deepEqual([await status(), await status()], [502, 200]);
  emulator.setFaults([[{ kind: "status", status: 503 }]]);
  assert.deepEqual([await status(), await status()], [503, 200]);
  emulator.setFaults((index, request) =>
    request.headers.get("user-agent") === UA && index % 2 === 0
      ? [{ kind: "status", status: 500 }]
      : []
  );
  assert.deepEqual([await status(), await status()], [500, 200]);
  assert.deepEqual(emulator.connections.map((c) => c.status), [
    502,
    200,
    503,
    200,
    500,
    200,
  ]);
});

Deno.test("never records Authorization, Cookie or API key headers", async () => {
  await using emulator = serveEmulator({ streams: sameSecondStreams() });
  const response = await get(`${emulator.url}/v2/stream/recentchange`, {
    authorization: "Bearer secret",
    cookie: "session=secret",
    "x-api-key": "secret",
    "last-event-id": `["${RC[0]}"]`,
  });
  await response.body!.cancel();
  const { headers } = await emulator.waitForConnection(0);
  assert.equal(headers.authorization, undefined);
  assert.equal(headers.cookie, undefined);
  assert.equal(headers["x-api-key"], undefined);
  assert.equal(headers["last-event-id"], `["${RC[0]}"]`);
  assert.ok(!JSON.stringify(emulator.connections).includes("secret"));
});

Deno.test("appending text that is not JSON fails with a TypeError naming the log", () => {
  const log = new TopicPartitionLog({ topic: RC[0] });
  assert.throws(() => log.append("{not json"), {
    name: "TypeError",
    message:
      "Cannot append to eqiad.mediawiki.recentchange/0: expected a JSON object, got '{not json'",
  });
  assert.equal(log.length, 0);
});

Deno.test("since without a UTC offset is read in UTC like the server, whatever the emulator machine's time zone", async () => {
  // Date.parse reads "2022-12-11T04:27:03" in the local zone: run where that is UTC+9.
  const code = `
    import { EmulatorStreams, serveEmulator, TopicPartitionLog } from ${
    JSON.stringify(
      new URL("../src/testing/emulator/mod.ts", import.meta.url).href,
    )
  };
    const log = new TopicPartitionLog({ topic: "eqiad.mediawiki.recentchange" });
    for (const dt of ["2022-12-11T04:27:02Z", "2022-12-11T04:27:04Z"]) log.append({ meta: { dt } });
    const streams = new EmulatorStreams({ logs: [log] });
    await using emulator = serveEmulator({ streams });
    const response = await fetch(emulator.url + "/v2/stream/recentchange?since=2022-12-11T04:27:03");
    const reader = response.body.getReader();
    let text = "";
    while (!text.includes("\\n\\n", 5)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const data = text.split("\\n").find((line) => line.startsWith("data: "));
    const since = streams.select("recentchange", { since: "2022-12-11T04:27:03" })[0].messages;
    console.log(JSON.stringify([JSON.parse(data.slice(6)).meta.dt, since.length]));
  `;
  const { code: exit, stdout, stderr } = await new Deno.Command(
    Deno.execPath(),
    {
      args: ["eval", "--no-check", code],
      env: { TZ: "Asia/Tokyo" },
      stdout: "piped",
      stderr: "piped",
    },
  ).output();
  const decoder = new TextDecoder();
  assert.equal(exit, 0, decoder.decode(stderr));
  // 04:27:03 UTC: the event at 04:27:04 first (local reading: 19:27:03 the day before, both).
  assert.deepEqual(JSON.parse(decoder.decode(stdout)), [
    "2022-12-11T04:27:04Z",
    1,
  ]);
});

Deno.test("rejects fault scripts with typos instead of injecting nothing", () => {
  assert.throws(() => validateFaults([{ kind: "cut" }]), {
    name: "TypeError",
    message: "Cannot use fault 'cut': give afterFrames or afterBytes",
  });
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => validateFaults([{ kind: "stal" } as any]),
    TypeError,
  );
  // Invalid options fail before the server listens: nothing is left running.
  assert.throws(
    () =>
      serveEmulator({
        generate: { counts: {} },
        faults: [[], [{ kind: "cut" }]],
      }),
    TypeError,
  );
  assert.throws(
    () =>
      serveEmulator({
        generate: { counts: {} },
        live: { eventsPerSecond: 1, streams: ["nope"] },
      }),
    {
      name: "TypeError",
      message:
        /^Cannot start live production: unknown stream 'nope'; expected one of .*\brecentchange\b/,
    },
  );
  assert.throws(() => validateFaults([{ kind: "trickle", bytesPerWrite: 0 }]), {
    name: "RangeError",
    message:
      "Cannot use fault 'trickle': bytesPerWrite must be an integer >= 1, got 0",
  });
});

Deno.test("a cut inside the :ok comment ends the session and frees its per-IP slot", async () => {
  await using emulator = serveEmulator({
    streams: sameSecondStreams(),
    faults: [
      [{ kind: "cut", afterBytes: 0 }],
      [{ kind: "cut", afterBytes: 3, abrupt: true }],
      [{ kind: "cut", afterBytes: 5 }],
    ],
  });
  const url = `${emulator.url}/v2/stream/recentchange?since=1`;
  const bodies: string[] = [];
  for (let i = 0; i < 3; i++) {
    const response = await get(url);
    assert.equal(response.status, 200);
    bodies.push(await response.text().catch(() => "(reset)"));
    // Not waitForEnd: before the fix the end was never logged, and waiting
    // for it hung instead of failing.
    assert.equal(emulator.connections[i].end?.reason, "cut-after-bytes");
    assert.equal(emulator.openConnections, 0, `after cut ${i}`);
  }
  assert.deepEqual(bodies, ["", "(reset)", ":ok\n\n"]);
  assert.equal(emulator.openConnections, 0);
  // Before the fix, two such cuts left two phantom sessions: the limit of 2
  // per IP answered every later request 429.
  const after = await get(url);
  assert.equal(after.status, 200);
  await after.body!.cancel();
  await emulator.waitForEnd(3);
  assert.equal(emulator.openConnections, 0);
});

Deno.test("by default a historical read delivers fetch-order batches of one topic-partition in turn, as KafkaSSE does; timestamp merge is an option", async () => {
  const streams = () =>
    generateStreams({
      seed: 3,
      partitions: 2,
      codfwShare: 0.4,
      counts: { "mediawiki.recentchange": 400 },
    });
  const read = async (interleave?: "timestamp") => {
    await using emulator = serveEmulator({
      streams: streams(),
      ...(interleave ? { interleave } : {}),
    });
    const { frames } = await readFrames(
      await get(`${emulator.url}/v2/stream/recentchange?since=1`),
      400,
    );
    return frames.map((f) => {
      const meta = JSON.parse(f.data).meta;
      return {
        tp: `${meta.topic}/${meta.partition}`,
        offset: meta.offset,
        dt: Date.parse(meta.dt),
        id: f.id,
      };
    });
  };
  const batches = await read();
  const merged = await read("timestamp");
  const runs: number[] = [];
  for (let i = 0; i < batches.length; i++) {
    if (i === 0 || batches[i].tp !== batches[i - 1].tp) runs.push(0);
    runs[runs.length - 1]++;
  }
  // Runs of one topic-partition, 50 at most (the last of each may be shorter).
  assert.ok(runs.length >= 8 && runs.every((n) => n <= 50), `runs ${runs}`);
  assert.ok(runs.filter((n) => n === 50).length >= 4, `runs ${runs}`);
  // So meta.dt goes backwards across partitions, while a timestamp merge never does.
  const inversions = (list: typeof batches) =>
    list.filter((e, i) => i > 0 && e.dt < list[i - 1].dt).length;
  assert.ok(inversions(batches) > 0);
  assert.equal(inversions(merged), 0);
  // The same events per topic-partition, in offset order, and the same final id.
  const byPartition = (list: typeof batches) => {
    const map: Record<string, number[]> = {};
    for (const e of list) (map[e.tp] ??= []).push(e.offset);
    return map;
  };
  assert.deepEqual(byPartition(batches), byPartition(merged));
  assert.equal(batches.at(-1)!.id, merged.at(-1)!.id);
});
