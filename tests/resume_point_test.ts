import assert from "node:assert/strict";
import { Cursor } from "../src/cursor.ts";
import { CursorError } from "../src/errors.ts";
import { ResumePoint, topicOfStream } from "../src/resume_point.ts";

const RC = "mediawiki.recentchange";
const EQIAD = `eqiad.${RC}`;
const CODFW = `codfw.${RC}`;
const T0 = Date.UTC(2026, 0, 1);
const id = (...entries: object[]) => JSON.stringify(entries);
const at = (topic: string, offset: number, dt = "2026-01-01T00:00:00Z") => ({
  topic,
  partition: 0,
  offset,
  dt,
});

Deno.test("topicOfStream: a datacenter prefix without dots, or the stream's own name", () => {
  const cases: [string, string, boolean][] = [
    [EQIAD, RC, true],
    [CODFW, RC, true],
    [RC, RC, true],
    ["eqiad.mediawiki.page-create", RC, false],
    ["x.y.mediawiki.recentchange", RC, false],
    ["eqiadmediawiki.recentchange", RC, false],
    [".mediawiki.recentchange", RC, false],
    ["eqiad.test", "test", true],
  ];
  for (const [topic, stream, expected] of cases) {
    assert.equal(
      topicOfStream(topic, stream),
      expected,
      `${topic} of ${stream}`,
    );
  }
});

Deno.test("a start without cursor asks for since, or live first and then the first request's time", () => {
  const live = new ResumePoint({ streams: [RC] });
  assert.deepEqual(live.request(T0), {
    lastEventId: undefined,
    sinceMs: undefined,
  });
  assert.deepEqual(live.request(T0 + 5_000), {
    lastEventId: undefined,
    sinceMs: T0,
  });
  const since = new ResumePoint({ streams: [RC], sinceMs: T0 - 60_000 });
  assert.deepEqual(since.request(T0), {
    lastEventId: undefined,
    sinceMs: T0 - 60_000,
  });
  assert.equal(live.text, "");
  // Down to the whole second: recentchange events of that second have Kafka
  // timestamps without milliseconds, and a since at .907 would skip them.
  const late = new ResumePoint({ streams: [RC] });
  late.request(T0 + 907);
  assert.equal(late.request(T0 + 5_000).sinceMs, T0);
});

Deno.test("the adopted server id does not cover the frame's own event, even when it pins the event's offset", () => {
  for (const retried of [false, true]) {
    const point = new ResumePoint({ streams: [RC] });
    point.request(T0);
    if (retried) point.request(T0 + 1); // A retry that is still a start without cursor.
    const meta = at(EQIAD, 41);
    assert.equal(
      point.observeId(
        id({ topic: EQIAD, partition: 0, offset: 42 }, {
          topic: CODFW,
          partition: 0,
          offset: 7,
        }),
        meta,
      ),
      undefined,
    );
    assert.equal(
      point.covers(meta),
      false,
      "the event itself is not consumed yet",
    );
    point.advance(meta);
    assert.equal(point.covers(meta), true);
    assert.equal(
      point.text,
      id({ topic: EQIAD, partition: 0, offset: 42 }, {
        topic: CODFW,
        partition: 0,
        offset: 7,
      }),
    );
  }
});

Deno.test("a provisional cursor (events before any id) keeps what events taught and adds the id's other partitions", () => {
  const point = new ResumePoint({ streams: [RC] });
  point.request(T0);
  point.advance(at(EQIAD, 5, "2026-01-01T00:00:10Z"));
  point.observeId(
    id({ topic: EQIAD, partition: 0, timestamp: T0 + 10_001 }, {
      topic: CODFW,
      partition: 0,
      offset: -1,
    }),
  );
  // The codfw entry is "latest": pinned to the earliest server time seen.
  assert.equal(
    point.text,
    id({ topic: EQIAD, partition: 0, offset: 6 }, {
      topic: CODFW,
      partition: 0,
      timestamp: T0 + 10_000,
    }),
  );
});

Deno.test("a live start on two streams pins a quiet second-precision topic to the whole second, not to another topic's millisecond", () => {
  // page_change's meta.dt (and so its Kafka timestamp) has milliseconds;
  // recentchange's has whole seconds (PROTOCOL.md). Pinned to 10.500, the
  // quiet recentchange partition would skip its events stamped 10.000.
  const PC = "mediawiki.page_change.v1";
  const point = new ResumePoint({ streams: [RC, PC] });
  point.request(T0);
  const latest = { partition: 0, offset: -1 };
  point.observeId(
    id({ topic: EQIAD, ...latest }, { topic: `eqiad.${PC}`, ...latest }),
  );
  point.advance(at(`eqiad.${PC}`, 40, "2026-01-01T00:00:10.500Z"));
  assert.equal(
    point.text,
    id({ topic: EQIAD, partition: 0, timestamp: T0 + 10_000 }, {
      topic: `eqiad.${PC}`,
      partition: 0,
      offset: 41,
    }),
  );
});

Deno.test("belongs: the connection's topics (from the cursor sent or the first id), of the requested streams only", () => {
  const point = new ResumePoint({ streams: [RC] });
  point.request(T0);
  assert.equal(
    point.belongs(at(EQIAD, 1)),
    true,
    "no id yet: the stream's topics",
  );
  assert.equal(point.belongs(at("esams.mediawiki.recentchange", 1)), true);
  point.observeId(
    id({ topic: EQIAD, partition: 0, offset: -1 }, {
      topic: CODFW,
      partition: 0,
      offset: -1,
    }),
  );
  assert.equal(
    point.belongs(at("esams.mediawiki.recentchange", 1)),
    false,
    "not in the id",
  );
  assert.equal(point.belongs(at("eqiad.mediawiki.page-create", 1)), false);
  assert.equal(point.belongs(at(CODFW, 1)), true);
  const resumed = new ResumePoint({
    streams: [RC],
    cursor: Cursor.parse(
      id({ topic: EQIAD, partition: 0, offset: 3 }, {
        topic: CODFW,
        partition: 0,
        offset: 9,
      }),
    ),
  });
  resumed.request(T0);
  assert.equal(resumed.belongs(at(CODFW, 9)), true);
  assert.equal(resumed.belongs(at("eqiad.mediawiki.page-create", 1)), false);
});

Deno.test("missing topics are added from since, else the cursor's latest timestamp, else now; once", () => {
  const cases: [object[], number | undefined, number, string][] = [
    [[{ topic: EQIAD, partition: 0, offset: 3 }], T0 - 1, T0 - 1, "since"],
    [
      [{ topic: EQIAD, partition: 0, offset: 3 }, {
        topic: "eqiad.x",
        partition: 0,
        timestamp: T0 - 9,
      }],
      undefined,
      T0 - 9,
      "the cursor's latest timestamp",
    ],
    [
      [{ topic: EQIAD, partition: 0, offset: 3 }],
      undefined,
      T0,
      "now (the cursor has no time)",
    ],
  ];
  for (const [entries, sinceMs, fromMs, from] of cases) {
    const streams = entries.length > 1 ? [RC, "x"] : [RC];
    const point = new ResumePoint({
      streams,
      cursor: Cursor.fromEntries(entries as never),
      sinceMs,
    });
    const request = point.request(T0);
    assert.equal(request.added?.from, from);
    assert.equal(request.added?.fromMs, fromMs);
    assert.ok(request.added!.topics.includes(CODFW));
    assert.deepEqual(
      Cursor.parse(request.lastEventId!).entries.find((e) => e.topic === CODFW),
      {
        topic: CODFW,
        partition: 0,
        timestamp: fromMs,
      },
    );
    assert.equal(point.request(T0 + 1).added, undefined, "added once");
  }
  const complete = new ResumePoint({
    streams: [RC],
    cursor: Cursor.parse(
      id({ topic: EQIAD, partition: 0, offset: 3 }, {
        topic: CODFW,
        partition: 0,
        offset: 9,
      }),
    ),
  });
  assert.equal(complete.request(T0).added, undefined);
});

Deno.test("a cursor naming topics of other streams is a CursorError naming them and the streams asked for", () => {
  assert.throws(
    () =>
      new ResumePoint({
        streams: [RC, "mediawiki.page-create"],
        cursor: Cursor.parse(
          id({
            topic: "eqiad.mediawiki.revision-create",
            partition: 0,
            offset: 1,
          }, { topic: "codfw.mediawiki.page-delete", partition: 0, offset: 1 }),
        ),
      }),
    (error: Error) => {
      assert.ok(error instanceof CursorError);
      assert.equal(
        error.message,
        "Cannot resume from a cursor naming 'eqiad.mediawiki.revision-create', 'codfw.mediawiki.page-delete': " +
          "those topics are not of the streams asked for ('mediawiki.recentchange', 'mediawiki.page-create'); " +
          "pass the cursor saved for these streams, or ask for the streams it was saved from",
      );
      return true;
    },
  );
});

Deno.test("a bad id is reported once, however many frames carry it", () => {
  const point = new ResumePoint({ streams: [RC] });
  point.request(T0);
  assert.ok(point.observeId("bad") instanceof CursorError);
  assert.equal(point.observeId("bad"), undefined);
});
