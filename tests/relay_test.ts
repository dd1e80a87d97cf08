/**
 * The relay against the emulator upstream: subscribers cut at random on
 * their side get every event exactly once, the upstream sees one connection
 * at a time, filters send exactly the matching events and resume exactly,
 * and a relay process killed hard loses and repeats nothing.
 */

import assert from "node:assert/strict";
import { EventSource } from "npm:eventsource@4.1.1";
import { eventStream } from "../src/client.ts";
import { type Relay, startRelay } from "../src/relay/relay.ts";
import { type Emulator, serveEmulator } from "../src/testing/emulator/mod.ts";
import { seededRandom } from "../src/testing/random.ts";
import { cliRunArgs } from "./_helpers.ts";

const UA = "relay-test/1.0 (https://example.org/relay-test)";
const RC = "mediawiki.recentchange";
const SINCE = Date.parse("2026-09-27T00:00:00Z");

type Key = string;
const keyOf = (meta: { topic: string; partition: number; offset: number }) =>
  `${meta.topic}/${meta.partition}/${meta.offset}`;

/** Every message the emulator holds for recentchange, as keys, and their events. */
function upstreamEvents(
  emulator: Emulator,
): { key: Key; event: Record<string, unknown> }[] {
  return emulator.streams.logs.filter((l) => l.topic.endsWith(RC)).flatMap(
    (log) =>
      log.messages.map((m) => ({
        key: `${log.topic}/${log.partition}/${m.offset}`,
        event: JSON.parse(m.data),
      })),
  );
}

/** Asserts that no two accepted upstream connections were open at once. */
function assertOneUpstreamAtATime(emulator: Emulator): void {
  const streams = emulator.connections.filter((c) => c.status === 200);
  assert.ok(streams.length > 0);
  for (let i = 1; i < streams.length; i++) {
    const previous = streams[i - 1];
    assert.ok(
      previous.end !== undefined &&
        previous.end.at <= streams[i].startedAt,
      `upstream connection ${streams[i].index} opened while ${previous.index} was open`,
    );
  }
}

/** Our client, closed after a random number of events and resumed from its cursor, until `total`. */
async function clientSubscriber(
  relay: Relay,
  total: number,
  random: () => number,
  query = "",
): Promise<Key[]> {
  const received: Key[] = [];
  let cursor: string | undefined;
  while (received.length < total) {
    const cutAfter = 1 + Math.floor(random() * 40);
    const stream = eventStream(RC, {
      userAgent: UA,
      baseUrl: `${relay.url}${query === "" ? "" : ""}`,
      cursor,
      since: cursor === undefined ? SINCE : undefined,
      canary: true,
      fetch: query === ""
        ? undefined
        : (input, init) => fetch(`${String(input)}${sep(input)}${query}`, init),
    });
    let n = 0;
    for await (const event of stream) {
      received.push(keyOf(event.meta));
      if (++n >= cutAfter || received.length >= total) break;
    }
    cursor = stream.cursor;
    await stream.close();
  }
  return received;
}

function sep(input: string | URL | Request): string {
  return String(input instanceof Request ? input.url : input).includes("?")
    ? "&"
    : "?";
}

/** npm `eventsource`, closed after a random number of events and reopened with its last id. */
async function eventSourceSubscriber(
  relay: Relay,
  total: number,
  random: () => number,
): Promise<Key[]> {
  const received: Key[] = [];
  let lastId: string | undefined;
  while (received.length < total) {
    const cutAfter = 1 + Math.floor(random() * 40);
    const done = Promise.withResolvers<void>();
    const resumeFrom = lastId;
    const source = new EventSource(
      `${relay.url}/v2/stream/recentchange${
        resumeFrom === undefined
          ? `?since=${new Date(SINCE).toISOString()}`
          : ""
      }`,
      {
        fetch: (input, init) => {
          const headers = new Headers(init?.headers);
          headers.set("User-Agent", UA);
          if (resumeFrom !== undefined && !headers.has("last-event-id")) {
            headers.set("Last-Event-ID", resumeFrom);
          }
          return fetch(input, { ...init, headers });
        },
      },
    );
    let n = 0;
    source.addEventListener("message", (event) => {
      received.push(keyOf(JSON.parse(event.data).meta));
      lastId = event.lastEventId;
      if (++n >= cutAfter || received.length >= total) done.resolve();
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        done.reject(new Error("EventSource closed"));
      }
    });
    try {
      await done.promise;
    } finally {
      source.close();
    }
  }
  return received;
}

function assertExactlyOnce(received: Key[], expected: Key[], who: string) {
  assert.equal(
    new Set(received).size,
    received.length,
    `${who} received a duplicate`,
  );
  assert.deepEqual(
    [...received].sort(),
    [...expected].sort(),
    `${who} did not receive exactly the upstream's events`,
  );
}

Deno.test("subscribers cut at random get every event exactly once, through one upstream connection at a time", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "eventstreams_relay_" });
  await using emulator = serveEmulator({
    generate: { counts: { [RC]: 300 } },
    // Upstream cuts: the relay must resume exactly, one connection at a time.
    faults: [[{ kind: "cut", afterFrames: 70 }], [{
      kind: "cut",
      afterFrames: 90,
      abrupt: true,
    }]],
  });
  const relay = await startRelay({
    streams: [RC],
    dataDir,
    userAgent: UA,
    baseUrl: emulator.url,
    since: SINCE,
  });
  try {
    const backlog = upstreamEvents(emulator).length;
    await relay.waitFor(() => relay.stats.received >= backlog);
    // Live production while subscribers read.
    const live = 120;
    const total = backlog + live;
    const random = seededRandom(7);
    const subscribers = Promise.all([
      clientSubscriber(relay, total, random),
      clientSubscriber(relay, total, random),
      eventSourceSubscriber(relay, total, random),
    ]);
    for (let i = 0; i < live / 20; i++) {
      emulator.produce("recentchange", 10);
      emulator.produce("recentchange", 10, {
        topic: `codfw.${RC}`,
      });
      await relay.waitFor(() => relay.stats.received >= backlog + 20 * (i + 1));
    }
    const expected = upstreamEvents(emulator).map((e) => e.key);
    assert.equal(expected.length, total);
    const [a, b, c] = await subscribers;
    assertExactlyOnce(a, expected, "client subscriber 1");
    assertExactlyOnce(b, expected, "client subscriber 2");
    assertExactlyOnce(c, expected, "eventsource subscriber");
    assertOneUpstreamAtATime(emulator);
    assert.ok(emulator.connections.length >= 3);
  } finally {
    await relay.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
