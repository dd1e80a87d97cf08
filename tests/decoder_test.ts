// Tests for SseDecoder: one test per WHATWG "event stream interpretation"
// rule, each case checked whole, split at every offset (and at every pair of
// offsets for short cases) and byte by byte.
import assert from "node:assert/strict";
import { SseParseError } from "../src/errors.ts";
import {
  SseDecoder,
  type SseFrame,
  type SseParseStreamOptions,
} from "../src/sse/decoder.ts";
import { LineBuffer } from "../src/sse/line_buffer.ts";

const encoder = new TextEncoder();

interface Parsed {
  frames: SseFrame[];
  comments: string[];
  retries: number[];
}

function bytesOf(input: string | Uint8Array): Uint8Array {
  return typeof input === "string" ? encoder.encode(input) : input;
}

/** Feeds `chunks` to a fresh decoder, then ends the stream. */
function parseChunks(
  chunks: Uint8Array[],
  options: SseParseStreamOptions = {},
): Parsed {
  const parsed: Parsed = { frames: [], comments: [], retries: [] };
  const decoder = new SseDecoder((frame) => parsed.frames.push(frame), {
    ...options,
    onComment: (text) => parsed.comments.push(text),
    onRetry: (ms) => parsed.retries.push(ms),
  });
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return parsed;
}

/** Every way of cutting `bytes` that the tests try: whole, at each offset, at each pair of offsets (short inputs), byte by byte. */
function* chunkings(bytes: Uint8Array): Generator<[string, Uint8Array[]]> {
  yield ["whole", [bytes]];
  for (let i = 0; i <= bytes.length; i++) {
    yield [`split at ${i}`, [bytes.subarray(0, i), bytes.subarray(i)]];
  }
  if (bytes.length <= 48) {
    for (let i = 1; i < bytes.length; i++) {
      for (let j = i + 1; j < bytes.length; j++) {
        yield [`split at ${i} and ${j}`, [
          bytes.subarray(0, i),
          bytes.subarray(i, j),
          bytes.subarray(j),
        ]];
      }
    }
  }
  yield ["byte by byte", Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))];
}

/** Asserts that every chunking of `input` parses to `expected` frames (and comments/retries when given). */
function assertParses(
  input: string | Uint8Array,
  expected: Partial<SseFrame>[],
  extra: { comments?: string[]; retries?: number[] } = {},
): void {
  const bytes = bytesOf(input);
  const want = expected.map((f) => ({
    event: "message",
    data: "",
    id: "",
    ...f,
  }));
  for (const [how, chunks] of chunkings(bytes)) {
    const parsed = parseChunks(chunks);
    assert.deepEqual(parsed.frames, want, `frames differ when fed ${how}`);
    if (extra.comments) {
      assert.deepEqual(
        parsed.comments,
        extra.comments,
        `comments differ when fed ${how}`,
      );
    }
    if (extra.retries) {
      assert.deepEqual(
        parsed.retries,
        extra.retries,
        `retries differ when fed ${how}`,
      );
    }
  }
}

Deno.test("parses a KafkaSSE frame: event, id and data", () => {
  assertParses(
    'event: message\nid: [{"topic":"t","partition":0,"offset":5}]\ndata: {"a":1}\n\n',
    [
      {
        event: "message",
        id: '[{"topic":"t","partition":0,"offset":5}]',
        data: '{"a":1}',
      },
    ],
  );
});

Deno.test("drops one UTF-8 BOM at the start of the stream", () => {
  assertParses("\uFEFFdata: a\n\n", [{ data: "a" }]);
});

Deno.test("drops a leading BOM split across chunks", () => {
  const parsed = parseChunks([
    new Uint8Array([0xef]),
    new Uint8Array([0xbb]),
    new Uint8Array([0xbf, 0x64]),
    encoder.encode("ata: a\n\n"),
  ]);
  assert.deepEqual(parsed.frames, [{ event: "message", data: "a", id: "" }]);
});

Deno.test("drops only one BOM: a second one belongs to the field name, which is then unknown", () => {
  assertParses("\uFEFF\uFEFFdata: a\n\ndata: b\n\n", [{ data: "b" }]);
});

Deno.test("keeps a BOM that does not start the stream", () => {
  assertParses("data: \uFEFFa\n\n\uFEFFdata: b\n\ndata: c\n\n", [{
    data: "\uFEFFa",
  }, { data: "c" }]);
});

Deno.test("keeps the bytes of a partial BOM at the stream start as text", () => {
  // EF BB then "data": not a BOM, so the line's field name is "\xEF\xBBdata" (unknown).
  const bytes = new Uint8Array([
    0xef,
    0xbb,
    ...encoder.encode("data: a\n\ndata: b\n\n"),
  ]);
  assertParses(bytes, [{ data: "b" }]);
});

Deno.test("decodes invalid UTF-8 to U+FFFD like TextDecoder", () => {
  const value = new Uint8Array([
    0x61,
    0xff,
    0xc3,
    0x28,
    0xe6,
    0x97,
    0xa5,
    0xf0,
    0x9f,
    0x98,
    0xe6,
    0x97,
  ]);
  const bytes = new Uint8Array([
    ...encoder.encode("data: "),
    ...value,
    0x0a,
    0x0a,
  ]);
  const expected = new TextDecoder().decode(value);
  assert.ok(expected.includes("\uFFFD"));
  assertParses(bytes, [{ data: expected }]);
});

Deno.test("decodes multi-byte characters split across chunks", () => {
  assertParses("id: 日本\ndata: Zürich 🎉 東京\n\n", [{
    id: "日本",
    data: "Zürich 🎉 東京",
  }]);
});

Deno.test("ends lines at LF, CR and CRLF alike", () => {
  assertParses("data: a\rdata: b\ndata: c\r\ndata: d\r\r\ndata: e\n\r\n", [{
    data: "a\nb\nc\nd",
  }, {
    data: "e",
  }]);
});

Deno.test("treats a CRLF split across chunks as one line end", () => {
  const parsed = parseChunks([
    encoder.encode("data: a\r"),
    encoder.encode("\ndata: b\r\n\r"),
    encoder.encode("\n"),
  ]);
  assert.deepEqual(parsed.frames, [{ event: "message", data: "a\nb", id: "" }]);
});

Deno.test("a CR at the end of a chunk ends the line without waiting for the next chunk", () => {
  const frames: SseFrame[] = [];
  const decoder = new SseDecoder((frame) => frames.push(frame));
  decoder.push(encoder.encode("data: a\r\r"));
  assert.deepEqual(frames, [{ event: "message", data: "a", id: "" }]);
  // The LF that starts the next chunk completes that CRLF: it is not a blank line.
  decoder.push(encoder.encode("\ndata: b\r"));
  decoder.push(encoder.encode("\ndata: c\n\n"));
  decoder.end();
  assert.deepEqual(frames.map((f) => f.data), ["a", "b\nc"]);
});

Deno.test("ignores comment lines and reports their text after the colon through onComment", () => {
  assertParses(":ok\n\n: hello\ndata: a\n:\n:: x\ndata: b\n\n", [{
    data: "a\nb",
  }], {
    comments: ["ok", " hello", "", ": x"],
  });
});

Deno.test("takes a line without a colon as a field name with an empty value", () => {
  assertParses(
    "data\n\ndata\ndata\n\nevent\ndata: x\n\nid: 1\nid\ndata: y\n\n",
    [
      { data: "" },
      { data: "\n" },
      { data: "x" },
      { data: "y", id: "" },
    ],
  );
});

Deno.test("removes one leading space after the colon, and only one", () => {
  assertParses(
    "data:a\n\ndata: b\n\ndata:  c\n\ndata:\td\n\nevent:  e\ndata: f \n\n",
    [
      { data: "a" },
      { data: "b" },
      { data: " c" },
      { data: "\td" },
      { event: " e", data: "f " },
    ],
  );
});

Deno.test("keeps colons after the first one in the value", () => {
  assertParses('data: a:b: c\nid: x:y\n\ndata: {"k":"v"}\n\n', [{
    data: "a:b: c",
    id: "x:y",
  }, {
    data: '{"k":"v"}',
    id: "x:y",
  }]);
});

Deno.test("joins several data lines with LF", () => {
  assertParses("data: a\ndata:\ndata: c\n\n", [{ data: "a\n\nc" }]);
});

Deno.test("dispatches a frame whose only data line is empty", () => {
  assertParses("data:\n\ndata\n\n", [{ data: "" }, { data: "" }]);
});

Deno.test("dispatches nothing on a blank line when no data line came, and resets the event type", () => {
  assertParses("event: ping\n\n\n\ndata: a\n\n", [{
    event: "message",
    data: "a",
  }]);
});

Deno.test("resets the event type after each dispatch and defaults it to message", () => {
  assertParses(
    "event: error\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\nevent: message\ndata: 4\n\n",
    [
      { event: "error", data: "1" },
      { event: "message", data: "2" },
      { event: "message", data: "3" },
      { event: "message", data: "4" },
    ],
  );
});

Deno.test("keeps the last event id across frames until an id line changes it; an empty id resets it", () => {
  assertParses(
    "id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid:\ndata: d\n\nid: 3\nid: 4\ndata: e\n\n",
    [
      { id: "1", data: "a" },
      { id: "1", data: "b" },
      { id: "2", data: "c" },
      { id: "", data: "d" },
      { id: "4", data: "e" },
    ],
  );
});

Deno.test("uses an id line that comes after the data lines of its frame", () => {
  assertParses("data: a\nid: 7\n\n", [{ id: "7", data: "a" }]);
});

Deno.test("ignores an id that contains NUL", () => {
  assertParses(
    "id: 1\ndata: a\n\nid: 2\u0000x\ndata: b\n\nid: \u0000\ndata: c\n\n",
    [
      { id: "1", data: "a" },
      { id: "1", data: "b" },
      { id: "1", data: "c" },
    ],
  );
});

Deno.test("keeps an id that repeats the previous one", () => {
  // The decoder reuses the previous id string when the bytes repeat: check that
  // a change of one byte, of length, or back to an earlier value is seen.
  assertParses(
    "id: abcd1\ndata: 1\n\nid: abcd1\ndata: 2\n\nid: abcd2\ndata: 3\n\nid: abcd\ndata: 4\n\nid: abcd1\ndata: 5\n\n",
    [
      { id: "abcd1", data: "1" },
      { id: "abcd1", data: "2" },
      { id: "abcd2", data: "3" },
      { id: "abcd", data: "4" },
      { id: "abcd1", data: "5" },
    ],
  );
});

Deno.test("reports a retry only when its value is all ASCII digits", () => {
  assertParses(
    "retry: 1500\nretry: 15x\nretry:\nretry: -1\nretry: 2.5\nretry: \u0663\nretry:0\nretry\ndata: a\n\n",
    [{
      data: "a",
    }],
    { retries: [1500, 0] },
  );
});

Deno.test("ignores unknown fields; field names are case-sensitive", () => {
  assertParses("foo: bar\nDATA: x\nData: y\ndata : z\nevents: e\ndata: a\n\n", [
    { data: "a" },
  ]);
});

Deno.test("discards an unterminated frame at the end of the stream", () => {
  assertParses("data: a\n\ndata: b\n", [{ data: "a" }]);
  assertParses("data: a\n\ndata: b", [{ data: "a" }]);
  assertParses("data: a\n\nid: 9\ndata: b\r", [{ data: "a" }]);
});

Deno.test("does not retain or depend on a chunk after push returns", () => {
  const frames: SseFrame[] = [];
  const decoder = new SseDecoder((frame) => frames.push(frame));
  const buffer = encoder.encode("data: hello wor");
  decoder.push(buffer);
  buffer.fill(0x21); // The caller reuses its buffer.
  decoder.push(encoder.encode("ld\n\n"));
  assert.deepEqual(frames, [{ event: "message", data: "hello world", id: "" }]);
});

Deno.test("starts a new stream after end(): BOM dropped again, last event id forgotten", () => {
  const frames: SseFrame[] = [];
  const decoder = new SseDecoder((frame) => frames.push(frame));
  decoder.push(encoder.encode("\uFEFFid: 1\ndata: a\n\ndata: cut"));
  decoder.end();
  decoder.push(encoder.encode("\uFEFFdata: b\n\n"));
  decoder.end();
  assert.deepEqual(frames, [{ event: "message", data: "a", id: "1" }, {
    event: "message",
    data: "b",
    id: "",
  }]);
});

Deno.test("fails with SseParseError when a frame exceeds maxFrameBytes", () => {
  const frames: SseFrame[] = [];
  const decoder = new SseDecoder((frame) => frames.push(frame), {
    maxFrameBytes: 20,
  });
  decoder.push(encoder.encode("data: 0123456789\n\n")); // 16 bytes: fits.
  const expected = {
    name: "SseParseError",
    message:
      "Cannot parse event stream: a frame exceeds maxFrameBytes (20 bytes); " +
      "raise maxFrameBytes if such frames are expected",
  };
  assert.throws(
    () => decoder.push(encoder.encode("data: 0123456789\ndata: x\n\n")),
    (error: unknown) => {
      assert.ok(error instanceof SseParseError);
      assert.equal(error.name, expected.name);
      assert.equal(error.message, expected.message);
      return true;
    },
  );
  assert.deepEqual(frames.map((f) => f.data), ["0123456789"]);
  // The decoder stays failed.
  assert.throws(
    () => decoder.push(encoder.encode("data: y\n\n")),
    SseParseError,
  );
  assert.throws(() => decoder.end(), SseParseError);
});

Deno.test("fails as soon as the pending line exceeds maxFrameBytes, before its end arrives", () => {
  const decoder = new SseDecoder(() => {}, { maxFrameBytes: 20 });
  decoder.push(encoder.encode("data: 0123456789"));
  assert.throws(
    () => decoder.push(encoder.encode("0123456789")),
    new SseParseError(
      "Cannot parse event stream: a frame exceeds maxFrameBytes (20 bytes); raise maxFrameBytes if such frames are expected",
    ),
  );
});

Deno.test("names the default limit of 8 MiB when a frame exceeds it", () => {
  const decoder = new SseDecoder(() => {});
  const piece = new Uint8Array(1024 * 1024).fill(0x61);
  decoder.push(encoder.encode("data: "));
  for (let i = 0; i < 7; i++) decoder.push(piece);
  assert.throws(() => decoder.push(piece), {
    name: "SseParseError",
    message:
      "Cannot parse event stream: a frame exceeds maxFrameBytes (8388608 bytes); " +
      "raise maxFrameBytes if such frames are expected",
  });
});

Deno.test("counts field lines but not comments or line ends towards maxFrameBytes", () => {
  // Three 10-byte lines with CRLF ends and a comment: 30 bytes of fields.
  assertFitsExactly(
    "data: abcd\r\nid: 123456\r\n: comment\r\ndata: wxyz\r\n\r\n",
    30,
  );
  // A frame is counted from its first line: earlier frames do not add up.
  const parsed = parseChunks([encoder.encode("data: 0123\n\n".repeat(50))], {
    maxFrameBytes: 10,
  });
  assert.equal(parsed.frames.length, 50);
});

function assertFitsExactly(input: string, size: number): void {
  for (const [how, chunks] of chunkings(encoder.encode(input))) {
    assert.equal(
      parseChunks(chunks, { maxFrameBytes: size }).frames.length,
      1,
      `fits in ${size} when fed ${how}`,
    );
    assert.throws(
      () => parseChunks(chunks, { maxFrameBytes: size - 1 }),
      SseParseError,
      `exceeds ${size - 1} when fed ${how}`,
    );
  }
}

Deno.test("rejects a maxFrameBytes that is not a positive integer", () => {
  for (const value of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new SseDecoder(() => {}, { maxFrameBytes: value }), {
      name: "RangeError",
      message:
        `Cannot create SseDecoder: maxFrameBytes must be a positive integer, got ${value}`,
    });
  }
});

Deno.test("parses a 5 MB frame fed in 1 KiB chunks", () => {
  const size = 5 * 1000 * 1000;
  const bytes = new Uint8Array(size + 16);
  bytes.set(encoder.encode("id: 1\ndata: "));
  for (let i = 0; i < size; i++) bytes[12 + i] = 0x30 + (i % 10);
  bytes.set(encoder.encode("\n\n"), 12 + size);
  const frames: SseFrame[] = [];
  const decoder = new SseDecoder((frame) => frames.push(frame));
  for (let at = 0; at < bytes.length; at += 1024) {
    decoder.push(bytes.subarray(at, at + 1024));
  }
  decoder.end();
  assert.equal(frames.length, 1);
  assert.equal(frames[0].id, "1");
  assert.equal(frames[0].data.length, size);
  assert.equal(frames[0].data.slice(0, 12), "012345678901");
  assert.equal(
    frames[0].data.slice(-3),
    String((size - 3) % 10) + String((size - 2) % 10) + String((size - 1) % 10),
  );
});

Deno.test("assembles a long line in linear work: at most three byte copies per byte", () => {
  // The partial-line buffer behind SseDecoder: 5 MB appended 1 KiB at a time.
  // One copy per append, plus under two more from doubling the capacity;
  // concatenating the whole buffer on every chunk would copy about 12 GB.
  const line = new LineBuffer();
  const piece = new Uint8Array(1024).fill(0x61);
  const total = 5 * 1000 * 1000;
  let appended = 0;
  while (appended < total) {
    const count = Math.min(1024, total - appended);
    line.append(piece, 0, count);
    appended += count;
  }
  assert.equal(line.length, total);
  assert.ok(
    line.bytesCopied <= 3 * total,
    `copied ${line.bytesCopied} bytes for a ${total}-byte line`,
  );
  assert.equal(line.bytes().length, total);
  line.clear();
  assert.equal(line.length, 0);
});
