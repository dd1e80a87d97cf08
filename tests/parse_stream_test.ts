// Tests for SseParseStream: the stream wrapper, and the real capture
// (fixtures/page_change_v1.2026-09-27.sse) parsed whole, byte by byte and at
// seeded random chunkings.
import assert from "node:assert/strict";
import { SseParseError } from "../src/errors.ts";
import {
  SseDecoder,
  type SseFrame,
  SseParseStream,
  type SseParseStreamOptions,
} from "../src/sse/parse_stream.ts";
import { seededRandom } from "../src/testing/random.ts";

const encoder = new TextEncoder();
const CAPTURE = await Deno.readFile(
  new URL("../fixtures/page_change_v1.2026-09-27.sse", import.meta.url),
);
const CAPTURE_FRAMES = 169;
const FIRST_OFFSET = 1109139115;

/** Cuts `bytes` into chunks of random sizes in [1, maxSize]. */
function randomChunks(
  bytes: Uint8Array,
  seed: number,
  maxSize: number,
): Uint8Array[] {
  const random = seededRandom(seed);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(random() * maxSize);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else controller.close();
    },
  });
}

async function parseStream(
  chunks: Uint8Array[],
  options?: SseParseStreamOptions,
): Promise<SseFrame[]> {
  return await Array.fromAsync(
    streamOf(chunks).pipeThrough(new SseParseStream(options)),
  );
}

/** The capture's own id lines, in order, read as text (the oracle for frame ids). */
function captureIdLines(): string[] {
  return new TextDecoder().decode(CAPTURE).split("\n").filter((line) =>
    line.startsWith("id: ")
  ).map((line) => line.slice(4));
}

function assertCaptureFrames(frames: SseFrame[], how: string): void {
  const ids = captureIdLines();
  assert.equal(ids.length, CAPTURE_FRAMES);
  assert.equal(frames.length, CAPTURE_FRAMES, `frame count when fed ${how}`);
  frames.forEach((frame, i) => {
    assert.equal(frame.event, "message", `frame ${i} event when fed ${how}`);
    assert.equal(frame.id, ids[i], `frame ${i} id when fed ${how}`);
    const event = JSON.parse(frame.data);
    assert.equal(
      event.meta.offset,
      FIRST_OFFSET + i,
      `frame ${i} meta.offset when fed ${how}`,
    );
    assert.equal(event.meta.stream, "mediawiki.page_change.v1");
  });
}

Deno.test("parses the real capture whole: 169 frames with the capture's ids and offsets", async () => {
  const comments: string[] = [];
  const frames = await parseStream([CAPTURE], {
    onComment: (text) => comments.push(text),
  });
  assertCaptureFrames(frames, "whole");
  assert.equal(comments.length, 4);
  assert.equal(comments[3], "ok");
  assert.ok(
    comments[0].startsWith(
      " public capture of GET https://stream.wikimedia.org/",
    ),
  );
  assert.equal(
    JSON.parse(frames[CAPTURE_FRAMES - 1].data).meta.offset,
    1109139283,
  );
});

Deno.test("parses the real capture fed one byte at a time", () => {
  const frames: SseFrame[] = [];
  const decoder = new SseDecoder((frame) => frames.push(frame));
  for (let i = 0; i < CAPTURE.length; i++) {
    decoder.push(CAPTURE.subarray(i, i + 1));
  }
  decoder.end();
  assertCaptureFrames(frames, "one byte at a time");
});

Deno.test("parses the real capture at seeded random chunkings", async () => {
  for (
    const [seed, maxSize] of [
      [1, 7],
      [2, 64],
      [3, 1448],
      [4, 4096],
      [5, 16384],
      [6, 65536],
    ]
  ) {
    const how = `random chunks up to ${maxSize} bytes (seed ${seed})`;
    assertCaptureFrames(
      await parseStream(randomChunks(CAPTURE, seed, maxSize)),
      how,
    );
  }
});

Deno.test("parses the real capture with CRLF and CR line ends like with LF", async () => {
  const text = new TextDecoder().decode(CAPTURE);
  for (const eol of ["\r\n", "\r"]) {
    const bytes = encoder.encode(text.replaceAll("\n", eol));
    assertCaptureFrames(
      await parseStream(randomChunks(bytes, 7, 1448)),
      `with ${JSON.stringify(eol)} line ends`,
    );
  }
});

Deno.test("the stream discards an unterminated frame when its input ends", async () => {
  const frames = await parseStream([encoder.encode("data: a\n\ndata: b\n")]);
  assert.deepEqual(frames, [{ event: "message", data: "a", id: "" }]);
});

Deno.test("the stream reports comments and retry through its options", async () => {
  const comments: string[] = [];
  const retries: number[] = [];
  const frames = await parseStream([
    encoder.encode(":ok\n\nretry: 3000\nretry: soon\ndata: x\n\n"),
  ], {
    onComment: (text) => comments.push(text),
    onRetry: (ms) => retries.push(ms),
  });
  assert.deepEqual(frames, [{ event: "message", data: "x", id: "" }]);
  assert.deepEqual(comments, ["ok"]);
  assert.deepEqual(retries, [3000]);
});

Deno.test("the stream errors with SseParseError when a frame exceeds maxFrameBytes", async () => {
  const readable = streamOf([
    encoder.encode("data: ok\n\n"),
    encoder.encode("data: " + "x".repeat(64)),
  ])
    .pipeThrough(new SseParseStream({ maxFrameBytes: 32 }));
  const reader = readable.getReader();
  assert.deepEqual(await reader.read(), {
    done: false,
    value: { event: "message", data: "ok", id: "" },
  });
  await assert.rejects(reader.read(), (error: unknown) => {
    assert.ok(error instanceof SseParseError);
    assert.equal(
      error.message,
      "Cannot parse event stream: a frame exceeds maxFrameBytes (32 bytes); raise maxFrameBytes if such frames are expected",
    );
    return true;
  });
});

Deno.test("the stream parses a response body", async () => {
  const body = new Response(
    '\uFEFF:ok\n\nevent: message\r\nid: [1]\r\ndata: {"a":1}\r\n\r\n',
  ).body!;
  const frames = await Array.fromAsync(body.pipeThrough(new SseParseStream()));
  assert.deepEqual(frames, [{ event: "message", id: "[1]", data: '{"a":1}' }]);
});
