import assert from "node:assert/strict";
import {
  defaultIdleTimeoutMs,
  type EventOf,
  type EventStreamsEvent,
  KNOWN_STREAMS,
  type PageChangeEvent,
  type PageCreateEvent,
  type RecentChangeEvent,
  resolveStreamName,
  type RevisionCreateEvent,
  STREAM_ALIASES,
  type StreamEventMap,
  type StreamName,
  STREAMS,
  type TestEvent,
  UNKNOWN_STREAM_IDLE_TIMEOUT_MS,
} from "../mod.ts";

const SPEC = JSON.parse(
  Deno.readTextFileSync(
    new URL("../fixtures/eventstreams-spec.json", import.meta.url),
  ),
);
const SPEC_NAMES: string[] =
  SPEC.paths["/v2/stream/{streams}"].get.parameters[0].schema.items.enum;

// Compile-time checks: this file does not type-check if EventOf is wrong.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends
  (<T>() => T extends B ? 1 : 2) ? true
  : false;
const typeChecks: [
  Equals<EventOf<"recentchange">, RecentChangeEvent>,
  Equals<EventOf<"mediawiki.recentchange">, RecentChangeEvent>,
  Equals<EventOf<"test">, TestEvent>,
  Equals<
    EventOf<readonly ["recentchange", "mediawiki.page_change.v1"]>,
    RecentChangeEvent | PageChangeEvent
  >,
  Equals<EventOf<["page-create"]>, PageCreateEvent>,
  Equals<PageCreateEvent, RevisionCreateEvent>,
  Equals<EventOf<"some.future.stream">, EventStreamsEvent>,
  Equals<EventOf<readonly string[]>, EventStreamsEvent>,
  Equals<StreamEventMap["page-move"], StreamEventMap["mediawiki.page-move"]>,
] = [true, true, true, true, true, true, true, true, true];

Deno.test("EventOf maps names, aliases and lists of names to their event types", () => {
  assert.ok(typeChecks.every((check) => check === true));
  // A typed event reads its meta without casts.
  const event = {
    meta: {
      topic: "eqiad.mediawiki.recentchange",
      partition: 0,
      offset: 4369496612,
      dt: "2022-12-11T04:27:02Z",
      id: "3f1b0e7c-0000-4000-8000-000000000000",
      stream: "mediawiki.recentchange",
    },
    $schema: "/mediawiki/recentchange/1.0.1",
    title: "Example",
    some_newer_field: [1, 2, 3],
  } satisfies EventOf<"recentchange">;
  assert.equal(event.meta.offset + 1, 4369496613);
});

Deno.test("the catalogue lists exactly the spec's streams, split into canonical names and aliases", () => {
  const names: string[] = [...STREAMS, ...Object.keys(STREAM_ALIASES)].sort();
  assert.deepEqual(names, [...SPEC_NAMES].sort());
  assert.equal(STREAMS.length, 12);
  assert.deepEqual(KNOWN_STREAMS.map((s) => s.name), [...STREAMS]);
  for (const [alias, canonical] of Object.entries(STREAM_ALIASES)) {
    const description: string =
      SPEC.paths[`/v2/stream/${alias}`].get.description;
    assert.ok(
      description.includes(`This stream is an alias of ${canonical})`),
      alias,
    );
    const info = KNOWN_STREAMS.find((s) => s.name === canonical);
    assert.ok(info?.aliases.includes(alias), `${canonical} lists ${alias}`);
  }
});

Deno.test("resolveStreamName turns every alias into its canonical name and keeps canonical names", () => {
  assert.equal(resolveStreamName("recentchange"), "mediawiki.recentchange");
  assert.equal(resolveStreamName("test"), "eventgate-main.test.event");
  assert.equal(resolveStreamName("page-create"), "mediawiki.page-create");
  for (const name of STREAMS) assert.equal(resolveStreamName(name), name);
  for (const [alias, canonical] of Object.entries(STREAM_ALIASES)) {
    assert.equal(resolveStreamName(alias), canonical);
  }
});

Deno.test("resolveStreamName rejects an unknown stream, listing the known ones", () => {
  assert.throws(() => resolveStreamName("foo"), {
    name: "TypeError",
    message:
      "Unknown stream 'foo': expected one of eventgate-main.test.event (test), " +
      "mediawiki.page-create (page-create), mediawiki.page-delete (page-delete), " +
      "mediawiki.page-links-change (page-links-change), mediawiki.page-move (page-move), " +
      "mediawiki.page-properties-change (page-properties-change), " +
      "mediawiki.page-undelete (page-undelete), mediawiki.page_change.v1, " +
      "mediawiki.recentchange (recentchange), mediawiki.revision-create (revision-create), " +
      "mediawiki.revision-tags-change, mediawiki.revision-visibility-change; " +
      "pass allowUnknownStreams: true for streams newer than this catalogue",
  });
  // Names are case-sensitive on the server too.
  assert.throws(() => resolveStreamName("RecentChange"), TypeError);
});

Deno.test("resolveStreamName passes unknown streams through when allowed, but never a comma list or an empty name", () => {
  assert.equal(
    resolveStreamName("mediawiki.brand-new", { allowUnknown: true }),
    "mediawiki.brand-new",
  );
  assert.equal(
    resolveStreamName("recentchange", { allowUnknown: true }),
    "mediawiki.recentchange",
  );
  assert.throws(
    () => resolveStreamName("recentchange,page-create", { allowUnknown: true }),
    {
      name: "TypeError",
      message:
        "Cannot resolve stream name 'recentchange,page-create': pass several streams as an array, not a comma-separated string",
    },
  );
  assert.throws(() => resolveStreamName("", { allowUnknown: true }), {
    name: "TypeError",
    message: "Cannot resolve stream name: expected a non-empty string, got ''",
  });
});

Deno.test("busy streams get a 60 s idle timeout, the once-a-minute test stream 5 minutes", () => {
  for (
    const name of [
      "mediawiki.recentchange",
      "mediawiki.page_change.v1",
      "mediawiki.revision-create",
      "mediawiki.page-links-change",
      "mediawiki.revision-tags-change",
    ]
  ) {
    assert.equal(defaultIdleTimeoutMs([name]), 60_000, name);
  }
  assert.equal(defaultIdleTimeoutMs(["eventgate-main.test.event"]), 300_000);
  assert.equal(defaultIdleTimeoutMs(["mediawiki.page-undelete"]), 300_000);
  for (
    const name of [
      "mediawiki.page-create",
      "mediawiki.page-delete",
      "mediawiki.page-move",
      "mediawiki.page-properties-change",
      "mediawiki.revision-visibility-change",
    ]
  ) {
    const ms = defaultIdleTimeoutMs([name]);
    assert.ok(ms >= 120_000 && ms <= 180_000, `${name}: ${ms}`);
  }
});

Deno.test("several streams on one connection take the shortest idle timeout", () => {
  assert.equal(
    defaultIdleTimeoutMs([
      "eventgate-main.test.event",
      "mediawiki.recentchange",
    ]),
    60_000,
  );
  assert.equal(
    defaultIdleTimeoutMs(["mediawiki.page-undelete", "mediawiki.page-move"]),
    180_000,
  );
  assert.equal(
    defaultIdleTimeoutMs(["test", "page-create"]),
    120_000,
    "aliases count too",
  );
});

Deno.test("unknown streams get the conservative 5 minute idle timeout; an empty list is an error", () => {
  assert.equal(UNKNOWN_STREAM_IDLE_TIMEOUT_MS, 300_000);
  assert.equal(defaultIdleTimeoutMs(["mediawiki.brand-new"]), 300_000);
  assert.equal(
    defaultIdleTimeoutMs(["mediawiki.brand-new", "mediawiki.page-move"]),
    180_000,
  );
  assert.throws(() => defaultIdleTimeoutMs([]), {
    name: "RangeError",
    message:
      "Cannot choose an idle timeout: expected at least one stream name, got an empty list",
  });
});

Deno.test("every known stream documents its expected traffic", () => {
  for (const stream of KNOWN_STREAMS) {
    assert.ok(stream.expectedTraffic.length > 10, stream.name);
    assert.ok(
      stream.idleTimeoutMs >= 60_000 && stream.idleTimeoutMs <= 300_000,
      stream.name,
    );
  }
  const names: StreamName[] = ["recentchange", "mediawiki.page_change.v1"];
  assert.deepEqual(names.map((n) => resolveStreamName(n)), [
    "mediawiki.recentchange",
    "mediawiki.page_change.v1",
  ]);
});
