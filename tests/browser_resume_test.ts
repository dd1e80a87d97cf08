/**
 * BrowserResume: the `since` of each browser request and the check of each
 * connection's start, table-driven, then a model of the server (Kafka's
 * offsets-for-times, frames in timestamp order, a cut every N frames) that
 * shows the replay stays bounded on the quiet-partition case of issue 11,
 * and ResumePoint's `bySince` mode that puts it in the client.
 */
import assert from "node:assert/strict";
import {
  BrowserResume,
  type PartitionOffset,
  type ResumeVerdict,
} from "../src/browser_resume.ts";
import { Cursor } from "../src/cursor.ts";
import { ResumePoint } from "../src/resume_point.ts";

const T = (minute: number, second = 0) =>
  Date.UTC(2026, 8, 27, 16, minute, second);
const iso = (ms: number) => new Date(ms).toISOString();

type Step =
  | { since: number | undefined }
  | { event: [topic: string, offset: number, ms: number]; is: ResumeVerdict }
  | { start: [topic: string, offset: number]; is: "ok" | "gap" };

const CASES: {
  name: string;
  since?: number;
  cursor?: PartitionOffset[];
  steps: Step[];
}[] = [
  {
    name: "a live start stays live until an event is seen",
    steps: [{ since: undefined }, { since: undefined }],
  },
  {
    name:
      "the next since is the busy partition's last event, not the quiet partition's",
    since: T(0),
    steps: [
      { since: T(0) },
      { event: ["codfw", 5, T(0)], is: "new" },
      { event: ["eqiad", 10, T(1)], is: "new" },
      { event: ["eqiad", 11, T(50)], is: "new" },
      { since: T(50) },
    ],
  },
  {
    name:
      "events that share the resume timestamp come again as repeats, then new ones follow",
    since: T(0),
    steps: [
      { since: T(0) },
      { event: ["eqiad", 10, T(1)], is: "new" },
      { event: ["eqiad", 11, T(2)], is: "new" },
      { since: T(2) },
      { start: ["eqiad", 11], is: "ok" },
      { event: ["eqiad", 11, T(2)], is: "repeat" },
      { event: ["eqiad", 12, T(2)], is: "new" },
    ],
  },
  {
    name:
      "the smallest anchor among partitions that moved past the resume point wins",
    since: T(0),
    steps: [
      { since: T(0) },
      { event: ["eqiad", 10, T(30)], is: "new" },
      { event: ["codfw", 3, T(20)], is: "new" },
      { since: T(20) },
    ],
  },
  {
    name: "a connection of repeats only asks the same since again",
    since: T(0),
    steps: [
      { since: T(0) },
      { event: ["eqiad", 10, T(5)], is: "new" },
      { since: T(5) },
      { event: ["eqiad", 10, T(5)], is: "repeat" },
      { since: T(5) },
    ],
  },
  {
    name:
      "a speculative start past the cursor is a gap, repaired from that partition's anchor",
    since: T(0),
    steps: [
      { since: T(0) },
      { event: ["codfw", 5, T(0)], is: "new" },
      { event: ["eqiad", 10, T(40)], is: "new" },
      { since: T(40) },
      { start: ["codfw", 7], is: "gap" },
      { since: T(0) },
      { start: ["codfw", 5], is: "ok" },
      { event: ["codfw", 5, T(0)], is: "repeat" },
      { event: ["codfw", 6, T(39)], is: "new" },
    ],
  },
  {
    name:
      "a speculative partition's first event past the cursor is a gap; a start at -1 says nothing",
    since: T(0),
    steps: [
      { since: T(0) },
      { event: ["codfw", 5, T(0)], is: "new" },
      { event: ["eqiad", 10, T(40)], is: "new" },
      { since: T(40) },
      { start: ["codfw", -1], is: "ok" },
      { event: ["eqiad", 11, T(41)], is: "new" },
      { event: ["codfw", 8, T(42)], is: "gap" },
      { since: T(0) },
    ],
  },
  {
    name:
      "a speculative start exactly at the cursor is verified and its since becomes the anchor",
    since: T(0),
    steps: [
      { since: T(0) },
      { event: ["codfw", 5, T(0)], is: "new" },
      { event: ["eqiad", 10, T(40)], is: "new" },
      { since: T(40) },
      { start: ["codfw", 6], is: "ok" },
      { event: ["eqiad", 11, T(45)], is: "new" },
      { since: T(45) },
      // codfw's anchor is now T(40): not speculative at T(40), still at T(45).
      { start: ["codfw", 7], is: "gap" },
      { since: T(40) },
    ],
  },
  {
    name:
      "past the cursor on a partition whose anchor covers the since is retention, not a gap",
    since: T(0),
    steps: [
      { since: T(0) },
      { event: ["eqiad", 10, T(40)], is: "new" },
      { since: T(40) },
      { start: ["eqiad", 25], is: "ok" },
      { event: ["eqiad", 25, T(41)], is: "new" },
    ],
  },
  {
    name: "a start at -1 is a gap when an event is known to wait at the cursor",
    since: T(0),
    steps: [
      { since: T(0) },
      { start: ["codfw", 5], is: "ok" },
      { event: ["eqiad", 10, T(40)], is: "new" },
      { since: T(40) },
      { start: ["codfw", -1], is: "gap" },
      { since: T(0) },
    ],
  },
  {
    name: "only the first word of a connection on a partition is checked",
    since: T(0),
    steps: [
      { since: T(0) },
      { event: ["codfw", 5, T(0)], is: "new" },
      { event: ["eqiad", 10, T(40)], is: "new" },
      { since: T(40) },
      { event: ["codfw", 6, T(41)], is: "new" },
      { event: ["codfw", 9, T(42)], is: "new" }, // an offset hole in Kafka
    ],
  },
  {
    name:
      "a resumed cursor's partition that gaps with no time seen cannot be repaired",
    since: T(30),
    cursor: [{ topic: "codfw", partition: 0, offset: 5 }],
    steps: [
      { since: T(30) },
      { start: ["codfw", 9], is: "gap" },
    ],
  },
];

for (const { name, since, cursor, steps } of CASES) {
  Deno.test(`BrowserResume: ${name}`, () => {
    const resume = new BrowserResume({ since, cursor });
    steps.forEach((step, i) => {
      const where = `step ${i}: ${JSON.stringify(step)}`;
      if ("since" in step) {
        assert.equal(resume.nextSince(), step.since, where);
      } else if ("event" in step) {
        const [topic, offset, ms] = step.event;
        assert.equal(
          resume.event({ topic, partition: 0, offset, dt: iso(ms) }),
          step.is,
          where,
        );
      } else {
        const [topic, offset] = step.start;
        assert.equal(
          resume.started({ topic, partition: 0, offset }),
          step.is,
          where,
        );
      }
    });
  });
}

Deno.test("BrowserResume: a gap on a partition with no known time ends with an error naming it", () => {
  const resume = new BrowserResume({
    since: T(30),
    cursor: [{
      topic: "codfw.mediawiki.recentchange",
      partition: 0,
      offset: 5,
    }],
  });
  resume.nextSince();
  assert.equal(
    resume.started({
      topic: "codfw.mediawiki.recentchange",
      partition: 0,
      offset: 9,
    }),
    "gap",
  );
  assert.throws(() => resume.nextSince(), {
    name: "RangeError",
    message:
      "Cannot resume 'codfw.mediawiki.recentchange/0' at offset 5 without Last-Event-ID: the server starts it later at that since, " +
      "and no event of it was seen to start from; pass an earlier since (repeats are dropped)",
  });
});

// ---------------------------------------------------------------------------
// A model of the server: offsets-for-times, frames in timestamp order or in
// fetch-order batches, a cut every N frames.
// ---------------------------------------------------------------------------

interface Message {
  topic: string;
  offset: number;
  ms: number;
}

/** The frames of one connection: every partition from its start, merged by timestamp or in batches of `batch` per partition, round-robin. */
function frames(
  logs: Message[][],
  starts: number[],
  batch?: number,
): Message[] {
  const rest = logs.map((log, i) => starts[i] < 0 ? [] : log.slice(starts[i]));
  if (batch === undefined) return rest.flat().sort((a, b) => a.ms - b.ms);
  const out: Message[] = [];
  while (rest.some((r) => r.length > 0)) {
    for (const r of rest) out.push(...r.splice(0, batch));
  }
  return out;
}

/** Runs a consumer through connections cut after `cutEvery` frames. */
function consume(
  logs: Message[][],
  options: {
    since: number;
    cutEvery: number;
    /** The batch size of each connection (1-based), or undefined for timestamp order. */
    batch?: (connection: number) => number | undefined;
    naive?: boolean;
  },
) {
  const resume = new BrowserResume({ since: options.since });
  const delivered = new Set<string>();
  const lastMs = new Map<string, number>();
  let connections = 0;
  let repeats = 0;
  let gaps = 0;
  const total = logs.reduce((n, log) => n + log.length, 0);
  while (delivered.size < total && connections < 20) {
    connections++;
    const chosen = resume.nextSince()!;
    // The approach the issue measured: since = the oldest partition's last event.
    const since = options.naive && lastMs.size > 0
      ? Math.min(...lastMs.values())
      : chosen;
    // Per Kafka: each partition starts at its first message with timestamp >= since, else at its end.
    const starts = logs.map((log) => log.findIndex((m) => m.ms >= since));
    const gap = logs.some((log, i) =>
      resume.started({
        topic: log[0].topic,
        partition: 0,
        offset: starts[i] < 0 ? -1 : log[starts[i]].offset,
      }) === "gap"
    );
    if (gap && !options.naive) {
      gaps++;
      continue;
    }
    for (
      const m of frames(logs, starts, options.batch?.(connections)).slice(
        0,
        options.cutEvery,
      )
    ) {
      const key = `${m.topic}/${m.offset}`;
      lastMs.set(m.topic, m.ms);
      if (options.naive) {
        if (delivered.has(key)) repeats++;
        delivered.add(key);
        continue;
      }
      const verdict = resume.event({ ...m, partition: 0, dt: iso(m.ms) });
      if (verdict === "gap") {
        gaps++;
        break;
      }
      if (verdict === "repeat") repeats++;
      else {
        assert.ok(!delivered.has(key), `${key} handed over twice`);
        delivered.add(key);
      }
    }
  }
  return { delivered: delivered.size, connections, repeats, gaps };
}

/** Issue 11's case: codfw has one event at the start, eqiad 300 in the hour after (pairs share a second). */
function quietLogs(): Message[][] {
  const codfw = [{ topic: "codfw", offset: 118094503, ms: T(0) }];
  const eqiad = Array.from({ length: 300 }, (_, i) => ({
    topic: "eqiad",
    offset: 4369496612 + i,
    ms: T(0, 10) + Math.floor(i / 2) * 24_000,
  }));
  return [eqiad, codfw];
}

Deno.test("BrowserResume: the quiet-partition case gets all 301 events in 3 connections with a cut every 120 frames", () => {
  const run = consume(quietLogs(), { since: T(0), cutEvery: 120 });
  // Each resume replays only the events that share the last one's second: 1, then 2.
  assert.deepEqual(run, {
    delivered: 301,
    connections: 3,
    repeats: 3,
    gaps: 0,
  });
});

Deno.test("BrowserResume: the same model livelocks at 120 of 301 when since follows the quietest partition", () => {
  const run = consume(quietLogs(), { since: T(0), cutEvery: 120, naive: true });
  assert.equal(run.delivered, 120);
  assert.equal(run.connections, 20);
});

Deno.test("BrowserResume: a partition the cut left behind is repaired, not skipped", () => {
  // The first connection sends eqiad as one fetch batch (as the real server
  // may) and is cut before codfw's turn; codfw's events are all older than
  // eqiad's last one, so the next since starts codfw at its end (-1). Its
  // known start says an event waits at its cursor: a gap, repaired.
  const codfw = Array.from({ length: 12 }, (_, i) => ({
    topic: "codfw",
    offset: 50 + i,
    ms: T(0, 31) + i * 2_000,
  }));
  const eqiad = Array.from({ length: 60 }, (_, i) => ({
    topic: "eqiad",
    offset: 900 + i,
    ms: T(0, 30) + i * 2_000,
  }));
  const run = consume([eqiad, codfw], {
    since: T(0),
    cutEvery: 25,
    batch: (connection) => connection === 1 ? 30 : undefined,
  });
  // Repeats: the repair replays eqiad from codfw's start (13), the next
  // resume from codfw's last event (14), the last one 1.
  assert.deepEqual(run, {
    delivered: 72,
    connections: 5,
    repeats: 28,
    gaps: 1,
  });
});

// ---------------------------------------------------------------------------
// ResumePoint with bySince: what the client asks for in a browser.
// ---------------------------------------------------------------------------

const RC = ["mediawiki.recentchange"];
const EQIAD = "eqiad.mediawiki.recentchange";
const CODFW = "codfw.mediawiki.recentchange";

Deno.test("ResumePoint bySince: requests never carry Last-Event-ID, and the since follows the consumed events", () => {
  const point = new ResumePoint({ streams: RC, sinceMs: T(0), bySince: true });
  assert.deepEqual(point.request(T(5)), {
    lastEventId: undefined,
    sinceMs: T(0),
  });
  const id = JSON.stringify([
    { topic: EQIAD, partition: 0, timestamp: T(1) + 1 },
    { topic: CODFW, partition: 0, offset: 40 },
  ]);
  const meta = { topic: EQIAD, partition: 0, offset: 7, dt: iso(T(1)) };
  assert.equal(point.observeId(id, meta), undefined);
  assert.ok(point.admits(meta) && !point.covers(meta));
  point.advance(meta);
  // The cursor is still a valid Last-Event-ID for the server: no entry mixes offset and timestamp.
  assert.equal(
    point.text,
    `[{"topic":"${EQIAD}","partition":0,"offset":8},{"topic":"${CODFW}","partition":0,"offset":40}]`,
  );
  assert.deepEqual(point.request(T(6)), {
    lastEventId: undefined,
    sinceMs: T(1),
  });
  assert.equal(point.gap, false);
});

Deno.test("ResumePoint bySince: a start past the cursor marks the connection as a gap until the next request", () => {
  const point = new ResumePoint({ streams: RC, sinceMs: T(0), bySince: true });
  point.request(T(5));
  const first = { topic: CODFW, partition: 0, offset: 3, dt: iso(T(0)) };
  point.observeId(
    JSON.stringify([
      { topic: EQIAD, partition: 0, offset: 100 },
      { topic: CODFW, partition: 0, timestamp: T(0) + 1 },
    ]),
    first,
  );
  assert.ok(point.admits(first));
  point.advance(first);
  const busy = { topic: EQIAD, partition: 0, offset: 100, dt: iso(T(30)) };
  assert.ok(point.admits(busy));
  point.advance(busy);
  assert.equal(point.request(T(31)).sinceMs, T(30));
  // codfw's start at T(30) is past its cursor (4): events 4 and 5 would be skipped.
  point.observeId(
    JSON.stringify([
      { topic: EQIAD, partition: 0, offset: 100 },
      { topic: CODFW, partition: 0, offset: 6 },
    ]),
  );
  assert.equal(point.gap, true);
  assert.equal(point.request(T(32)).sinceMs, T(0));
  assert.equal(point.gap, false);
});

Deno.test("ResumePoint bySince: a cursor with offsets needs since, and then starts at the earliest time it has", () => {
  const cursor = () =>
    Cursor.parse(JSON.stringify([
      { topic: EQIAD, partition: 0, offset: 8 },
      { topic: CODFW, partition: 0, timestamp: T(20) },
    ]));
  assert.throws(
    () => new ResumePoint({ streams: RC, cursor: cursor(), bySince: true }),
    {
      name: "TypeError",
      message:
        `Cannot resume from cursor entry '{"topic":"${EQIAD}","partition":0,"offset":8}' without Last-Event-ID ` +
        "(a browser cannot send it): the client resumes by time there, and an offset says none; " +
        "pass since too, a time at or before the cursor's last events (repeats are dropped)",
    },
  );
  const late = new ResumePoint({
    streams: RC,
    cursor: cursor(),
    sinceMs: T(30),
    bySince: true,
  });
  assert.deepEqual(late.request(T(40)), {
    lastEventId: undefined,
    sinceMs: T(20),
  });
});
