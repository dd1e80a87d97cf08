import assert from "node:assert/strict";
import {
  Cursor,
  type CursorEntry,
  CursorError,
  type EventPosition,
} from "../mod.ts";

// ---------------------------------------------------------------------------
// Fixtures: the real capture and the Wikimedia Enterprise test data.

interface CapturedFrame {
  id: string;
  meta: EventPosition & { dt: string };
}

const CAPTURE = new URL(
  "../fixtures/page_change_v1.2026-09-27.sse",
  import.meta.url,
);
const WME_DIR = new URL("../fixtures/wme-testdata/", import.meta.url);

/** The capture's frames: each has exactly one `id:` and one `data:` line. */
function readCapture(): CapturedFrame[] {
  const frames: CapturedFrame[] = [];
  let id: string | undefined;
  for (const line of Deno.readTextFileSync(CAPTURE).split("\n")) {
    if (line.startsWith("id: ")) id = line.slice(4);
    if (line.startsWith("data: ")) {
      assert.ok(id !== undefined, "every data line follows an id line");
      frames.push({ id, meta: JSON.parse(line.slice(6)).meta });
      id = undefined;
    }
  }
  return frames;
}

/** The text form of every id in the WME test data (stored there parsed). */
function readWmeIds(): string[] {
  const ids: string[] = [];
  for (const entry of Deno.readDirSync(WME_DIR)) {
    if (!entry.name.endsWith(".json")) continue;
    const items = JSON.parse(
      Deno.readTextFileSync(new URL(entry.name, WME_DIR)),
    );
    for (const item of items) {
      // page-change.json holds bare events without ids.
      if (item.id !== undefined) ids.push(JSON.stringify(item.id));
    }
  }
  return ids.sort();
}

const frames = readCapture();

// ---------------------------------------------------------------------------
// Round trips.

Deno.test("the capture has 169 frames whose ids are compact JSON keyed topic, partition, timestamp|offset", () => {
  assert.equal(frames.length, 169);
  for (const { id } of frames) {
    const parsed = JSON.parse(id) as Record<string, unknown>[];
    assert.equal(JSON.stringify(parsed), id, "compact JSON");
    for (const entry of parsed) {
      const keys = Object.keys(entry);
      assert.ok(
        keys.join() === "topic,partition,timestamp" ||
          keys.join() === "topic,partition,offset",
        `key order in ${id}`,
      );
    }
  }
});

Deno.test("Cursor.parse(id).toString() gives back every id of the capture byte for byte", () => {
  for (const { id } of frames) {
    assert.equal(Cursor.parse(id).toString(), id);
    assert.equal(Cursor.parse(id, { mode: "timestamp" }).toString(), id);
  }
});

Deno.test("Cursor.parse(id).toString() gives back every id of the WME test data", () => {
  const ids = readWmeIds();
  assert.equal(ids.length, 8);
  for (const id of ids) {
    assert.match(
      id,
      /^\[\{"topic":"eqiad\.mediawiki\.[a-z-]+","partition":0,"timestamp":\d+\},/,
    );
    assert.equal(Cursor.parse(id).toString(), id);
  }
});

Deno.test("an entry with both offset and timestamp round-trips and resumes by its offset", () => {
  const a = '[{"topic":"eqiad.x","partition":0,"offset":5,"timestamp":1000}]';
  const b = '[{"topic":"eqiad.x","partition":0,"timestamp":1000,"offset":5}]';
  assert.equal(Cursor.parse(a).toString(), a);
  assert.equal(Cursor.parse(b).toString(), b);
  assert.deepEqual(Cursor.parse(b).entries, [{
    topic: "eqiad.x",
    partition: 0,
    offset: 5,
  }]);
  assert.ok(
    Cursor.parse(b).covers({ topic: "eqiad.x", partition: 0, offset: 4 }),
  );
});

Deno.test("unknown keys in an entry are ignored, and spacing is normalised", () => {
  const cursor = Cursor.parse(
    '[ {"partition": 2, "topic": "eqiad.x", "offset": 7, "dc": "eqiad"} ]',
  );
  assert.equal(
    cursor.toString(),
    '[{"topic":"eqiad.x","partition":2,"offset":7}]',
  );
});

// ---------------------------------------------------------------------------
// Parse errors: class and message.

const EXPECTED = "{topic, partition, offset|timestamp}";

function assertCursorError(text: string, message: string): void {
  assert.throws(() => Cursor.parse(text), (error: unknown) => {
    assert.ok(error instanceof CursorError, `CursorError for ${text}`);
    assert.equal(error.name, "CursorError");
    assert.equal(error.message, message);
    return true;
  });
}

Deno.test("rejects a Last-Event-ID that is not JSON", () => {
  assertCursorError(
    "abc",
    `Cannot parse Last-Event-ID: expected a JSON array of ${EXPECTED}, got 'abc'`,
  );
  assertCursorError(
    "",
    `Cannot parse Last-Event-ID: expected a JSON array of ${EXPECTED}, got ''`,
  );
});

Deno.test("rejects a Last-Event-ID that is not an array, or an empty one (the server does too)", () => {
  const object = '{"topic":"eqiad.x","partition":0,"offset":1}';
  assertCursorError(
    object,
    `Cannot parse Last-Event-ID: expected a JSON array of ${EXPECTED}, got '${object}'`,
  );
  assertCursorError(
    "[]",
    `Cannot parse Last-Event-ID: expected a JSON array of at least one ${EXPECTED}, got '[]'`,
  );
});

Deno.test("rejects an entry without a topic, or a bare topic string", () => {
  const text = '[{"partition":0,"offset":1}]';
  assertCursorError(
    text,
    `Cannot parse Last-Event-ID: expected entry 0 to have a non-empty string topic, got '${text}'`,
  );
  const bare = '["eqiad.mediawiki.recentchange"]';
  assertCursorError(
    bare,
    `Cannot parse Last-Event-ID: expected entry 0 to be an object ${EXPECTED}, got '${bare}'`,
  );
});

Deno.test("rejects a string timestamp, as the server does", () => {
  const text =
    '[{"topic":"eqiad.x","partition":0,"offset":-1},{"topic":"codfw.x","partition":0,"timestamp":"1670732822001"}]';
  assertCursorError(
    text,
    `Cannot parse Last-Event-ID: expected entry 1 to have an integer timestamp (epoch milliseconds), got '${text}'`,
  );
});

Deno.test("rejects a non-integer or negative partition", () => {
  for (const partition of ['"0"', "0.5", "-1"]) {
    const text = `[{"topic":"eqiad.x","partition":${partition},"offset":1}]`;
    assertCursorError(
      text,
      `Cannot parse Last-Event-ID: expected entry 0 to have an integer partition >= 0, got '${text}'`,
    );
  }
});

Deno.test("rejects an offset below -1, an entry with neither offset nor timestamp, and a repeated topic-partition", () => {
  const low = '[{"topic":"eqiad.x","partition":0,"offset":-2}]';
  assertCursorError(
    low,
    `Cannot parse Last-Event-ID: expected entry 0 to have a safe integer offset >= -1, got '${low}'`,
  );
  const none = '[{"topic":"eqiad.x","partition":0}]';
  assertCursorError(
    none,
    `Cannot parse Last-Event-ID: expected entry 0 to have an offset or a timestamp, got '${none}'`,
  );
  const twice =
    '[{"topic":"eqiad.x","partition":0,"offset":1},{"topic":"eqiad.x","partition":0,"offset":2}]';
  assertCursorError(
    twice,
    `Cannot parse Last-Event-ID: expected each topic-partition once, but entry 1 repeats eqiad.x partition 0, got '${twice}'`,
  );
});

Deno.test("quotes at most 200 characters of a long Last-Event-ID", () => {
  const text = "x".repeat(500);
  assertCursorError(
    text,
    `Cannot parse Last-Event-ID: expected a JSON array of ${EXPECTED}, got '${
      "x".repeat(200)
    }…' (500 characters)`,
  );
});

Deno.test("fromEntries rejects malformed entries with a TypeError naming the entry", () => {
  assert.throws(
    () => Cursor.fromEntries([{ topic: "eqiad.x", partition: 1.5, offset: 3 }]),
    {
      name: "TypeError",
      message:
        'Cannot create Cursor: expected entry 0 to have an integer partition >= 0, got {"topic":"eqiad.x","partition":1.5,"offset":3}',
    },
  );
  assert.throws(
    () => Cursor.fromEntries([], { mode: "latest" as never }),
    {
      name: "RangeError",
      message:
        `Cannot create Cursor: expected mode "offset" or "timestamp", got 'latest'`,
    },
  );
});

// ---------------------------------------------------------------------------
// advance()

Deno.test("advance pins offset + 1 and keeps the never-seen codfw offset:-1 entry exactly", () => {
  const cursor = Cursor.parse(frames[0].id);
  assert.equal(cursor.mode, "offset");
  cursor.advance(frames[0].meta);
  assert.equal(
    cursor.toString(),
    '[{"topic":"eqiad.mediawiki.page_change.v1","partition":0,"offset":1109139116},' +
      '{"topic":"codfw.mediawiki.page_change.v1","partition":0,"offset":-1}]',
  );
  for (const frame of frames) cursor.advance(frame.meta);
  assert.equal(
    cursor.toString(),
    '[{"topic":"eqiad.mediawiki.page_change.v1","partition":0,"offset":1109139284},' +
      '{"topic":"codfw.mediawiki.page_change.v1","partition":0,"offset":-1}]',
  );
});

Deno.test("timestamp mode reproduces the server's id on every one of the capture's 169 frames", () => {
  const cursor = Cursor.parse(frames[0].id, { mode: "timestamp" });
  let distinct = 0;
  let previous = "";
  for (const [k, frame] of frames.entries()) {
    cursor.advance(frame.meta);
    assert.equal(
      cursor.toString(),
      frame.id,
      `frame ${k} (offset ${frame.meta.offset})`,
    );
    if (frame.id !== previous) distinct++;
    previous = frame.id;
  }
  // Sanity: the capture has repeated ids (shared milliseconds), and a
  // timestamp that goes backwards (offset 1109139160 is 1 ms before 159).
  assert.ok(distinct < frames.length);
});

Deno.test("advance appends a topic-partition the cursor does not list yet", () => {
  const cursor = Cursor.parse(
    '[{"topic":"eqiad.x","partition":0,"offset":-1}]',
  );
  cursor.advance({ topic: "codfw.x", partition: 3, offset: 9 });
  assert.equal(
    cursor.toString(),
    '[{"topic":"eqiad.x","partition":0,"offset":-1},{"topic":"codfw.x","partition":3,"offset":10}]',
  );
});

Deno.test("advance rejects a meta without integer topic/partition/offset, naming the value", () => {
  const cursor = Cursor.fromEntries([]);
  assert.throws(
    () =>
      cursor.advance({ topic: "eqiad.x", partition: 0, offset: "12" as never }),
    {
      name: "TypeError",
      message:
        "Cannot advance cursor: expected meta.offset to be a safe integer >= 0, got '12'",
    },
  );
  assert.throws(
    () => cursor.advance({ topic: "eqiad.x", partition: -1, offset: 1 }),
    {
      name: "TypeError",
      message:
        "Cannot advance cursor: expected meta.partition to be an integer >= 0, got -1",
    },
  );
  assert.throws(() => cursor.advance({ partition: 0, offset: 1 } as never), {
    name: "TypeError",
    message:
      "Cannot advance cursor: expected meta.topic to be a non-empty string, got undefined",
  });
  assert.equal(cursor.toString(), "[]", "a failed advance changes nothing");
});

Deno.test("timestamp mode needs a parseable meta.dt", () => {
  const cursor = Cursor.fromEntries([], { mode: "timestamp" });
  assert.throws(
    () => cursor.advance({ topic: "eqiad.x", partition: 0, offset: 1 }),
    {
      name: "TypeError",
      message:
        "Cannot advance cursor in timestamp mode: expected meta.dt to be an ISO-8601 string, got undefined",
    },
  );
  assert.throws(
    () =>
      cursor.advance({
        topic: "eqiad.x",
        partition: 0,
        offset: 1,
        dt: "yesterday",
      }),
    {
      name: "RangeError",
      message:
        "Cannot advance cursor in timestamp mode: meta.dt is not a date, got 'yesterday'",
    },
  );
});

// ---------------------------------------------------------------------------
// covers(), pinLatest(), clone(), entries

Deno.test("covers() is true only below an offset entry of the same topic-partition", () => {
  const cursor = Cursor.parse(
    '[{"topic":"eqiad.x","partition":0,"offset":100},{"topic":"codfw.x","partition":0,"offset":-1},' +
      '{"topic":"eqiad.y","partition":0,"timestamp":1670732822001}]',
  );
  assert.equal(
    cursor.covers({ topic: "eqiad.x", partition: 0, offset: 99 }),
    true,
  );
  assert.equal(
    cursor.covers({ topic: "eqiad.x", partition: 0, offset: 100 }),
    false,
  );
  assert.equal(
    cursor.covers({ topic: "eqiad.x", partition: 1, offset: 5 }),
    false,
    "other partition",
  );
  assert.equal(
    cursor.covers({ topic: "codfw.x", partition: 0, offset: 0 }),
    false,
    "latest covers nothing",
  );
  assert.equal(
    cursor.covers({ topic: "eqiad.y", partition: 0, offset: 0 }),
    false,
    "timestamps cover nothing",
  );
  assert.equal(
    cursor.covers({ topic: "nowhere", partition: 0, offset: 0 }),
    false,
  );
  cursor.advance({ topic: "eqiad.y", partition: 0, offset: 41 });
  assert.equal(
    cursor.covers({ topic: "eqiad.y", partition: 0, offset: 41 }),
    true,
  );
});

Deno.test("pinLatest() turns every offset:-1 entry into a timestamp and leaves the rest", () => {
  const cursor = Cursor.parse(frames[0].id);
  cursor.pinLatest(1790525830000);
  assert.equal(
    cursor.toString(),
    '[{"topic":"eqiad.mediawiki.page_change.v1","partition":0,"timestamp":1790525832813},' +
      '{"topic":"codfw.mediawiki.page_change.v1","partition":0,"timestamp":1790525830000}]',
  );
  assert.throws(() => cursor.pinLatest(1.5), {
    name: "RangeError",
    message:
      "Cannot pin latest entries: expected an integer timestamp in epoch milliseconds, got 1.5",
  });
});

Deno.test("clone() and entries are independent copies", () => {
  const cursor = Cursor.parse(frames[0].id);
  const copy = cursor.clone();
  copy.advance(frames[1].meta);
  assert.equal(cursor.toString(), frames[0].id);
  assert.notEqual(copy.toString(), frames[0].id);
  assert.equal(copy.mode, "offset");

  const entries = cursor.entries as CursorEntry[];
  (entries[0] as { topic: string }).topic = "mutated";
  entries.pop();
  assert.equal(cursor.entries.length, 2);
  assert.equal(cursor.entries[0].topic, "eqiad.mediawiki.page_change.v1");
  assert.equal(cursor.toString(), frames[0].id);
});

// ---------------------------------------------------------------------------
// THE SHARED-TIMESTAMP TRAP (PROTOCOL.md, "Resume semantics and their traps").
//
// A tiny model of the server's resume rule (KafkaSSE + Kafka): given each
// topic-partition's log and a Last-Event-ID, return the offset each
// topic-partition resumes at. Offset entries resume at that offset (-1: at
// the end, "latest"); timestamp entries resume at the first message whose
// timestamp is >= t, like Kafka's offsetsForTimes (none: at the end).
// The emulator has the real implementation; this one is for this test only.

interface LogMessage {
  offset: number;
  timestamp: number;
}
interface PartitionLog {
  topic: string;
  partition: number;
  messages: LogMessage[];
}

function resumeOffsets(
  logs: PartitionLog[],
  lastEventId: string,
): Map<string, number> {
  const result = new Map<string, number>();
  for (const entry of JSON.parse(lastEventId)) {
    const log = logs.find((l) =>
      l.topic === entry.topic && l.partition === entry.partition
    );
    assert.ok(log, `log for ${entry.topic}/${entry.partition}`);
    const end = log.messages.length === 0
      ? 0
      : log.messages[log.messages.length - 1].offset + 1;
    let next: number;
    if ("offset" in entry) {
      // Per KafkaSSE: an offset wins over a timestamp; -1 means latest.
      next = entry.offset === -1 ? end : entry.offset;
    } else {
      const hit = log.messages.find((m) => m.timestamp >= entry.timestamp);
      next = hit === undefined ? end : hit.offset;
    }
    result.set(`${entry.topic}/${entry.partition}`, next);
  }
  return result;
}

/** The offsets a connection resuming with `lastEventId` delivers from `log`. */
function deliveredAfter(
  logs: PartitionLog[],
  lastEventId: string,
  log: PartitionLog,
): number[] {
  const start = resumeOffsets(logs, lastEventId).get(
    `${log.topic}/${log.partition}`,
  )!;
  return log.messages.filter((m) => m.offset >= start).map((m) => m.offset);
}

Deno.test("the offsets-for-times model resumes like Kafka: first message at or after the timestamp", () => {
  const log: PartitionLog = {
    topic: "t",
    partition: 0,
    messages: [{ offset: 10, timestamp: 100 }, { offset: 11, timestamp: 200 }, {
      offset: 12,
      timestamp: 200,
    }],
  };
  const at = (id: string) => resumeOffsets([log], id).get("t/0");
  assert.equal(at('[{"topic":"t","partition":0,"timestamp":150}]'), 11);
  assert.equal(at('[{"topic":"t","partition":0,"timestamp":200}]'), 11);
  assert.equal(
    at('[{"topic":"t","partition":0,"timestamp":201}]'),
    13,
    "past the end: latest",
  );
  assert.equal(
    at('[{"topic":"t","partition":0,"offset":12,"timestamp":0}]'),
    12,
    "offset wins",
  );
  assert.equal(at('[{"topic":"t","partition":0,"offset":-1}]'), 13);
});

Deno.test("resuming with the server's id after the first of three same-second recentchange events loses the other two; the offset cursor loses nothing", () => {
  // Three consecutive recentchange events share meta.dt (second precision),
  // so the server's ids carry one timestamp while meta.offset runs on.
  const dt = "2022-12-11T04:27:02Z";
  const ts = Date.parse(dt); // 1670732822000: the Kafka timestamp is meta.dt
  const eqiad: PartitionLog = {
    topic: "eqiad.mediawiki.recentchange",
    partition: 0,
    messages: [
      { offset: 4369496611, timestamp: ts - 1000 },
      { offset: 4369496612, timestamp: ts },
      { offset: 4369496613, timestamp: ts },
      { offset: 4369496614, timestamp: ts },
      { offset: 4369496615, timestamp: ts + 1000 },
    ],
  };
  const codfw: PartitionLog = {
    topic: "codfw.mediawiki.recentchange",
    partition: 0,
    messages: [],
  };
  const logs = [eqiad, codfw];
  const start =
    '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":4369496612},' +
    '{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]';

  const serverId = Cursor.parse(start, { mode: "timestamp" });
  const ours = Cursor.parse(start);
  const ids: string[] = [];
  for (const offset of [4369496612, 4369496613, 4369496614]) {
    const meta = { topic: eqiad.topic, partition: 0, offset, dt };
    serverId.advance(meta);
    ours.advance(meta);
    ids.push(serverId.toString());
  }
  // The server's three ids are identical: they cannot tell the events apart.
  const expectedId =
    '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1670732822001},' +
    '{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]';
  assert.deepEqual(ids, [expectedId, expectedId, expectedId]);

  // Disconnect after the first event (4369496612) was handed to the caller.
  const afterFirstServer = ids[0];
  const afterFirstOurs = Cursor.parse(start);
  afterFirstOurs.advance({
    topic: eqiad.topic,
    partition: 0,
    offset: 4369496612,
    dt,
  });

  assert.deepEqual(
    deliveredAfter(logs, afterFirstServer, eqiad),
    [4369496615],
    "the server's own id skips 4369496613 and 4369496614",
  );
  assert.deepEqual(
    deliveredAfter(logs, afterFirstOurs.toString(), eqiad),
    [4369496613, 4369496614, 4369496615],
    "the offset cursor resumes exactly after the delivered event",
  );
  // And after all three: nothing repeated, nothing lost.
  assert.deepEqual(deliveredAfter(logs, ours.toString(), eqiad), [4369496615]);
});
