import assert from "node:assert/strict";
import { importCurlCapture } from "../src/testing/import_capture.ts";
import { parseCassette, serializeCassette } from "../src/testing/cassette.ts";
import { readCassette } from "../src/testing/cassette_file.ts";
import { replayFetch } from "../src/testing/replay.ts";
import { main } from "../scripts/import_capture.ts";
import { SseParseStream } from "../src/sse/parse_stream.ts";

const CAPTURE = new URL(
  "../fixtures/page_change_v1.2026-09-27.sse",
  import.meta.url,
);
const FIXTURE = new URL(
  "../fixtures/page_change_v1.2026-09-27.cassette.jsonl",
  import.meta.url,
);
const URL_ = "https://stream.wikimedia.org/v2/stream/mediawiki.page_change.v1";
const enc = new TextEncoder();
const dec = new TextDecoder();

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** A deliberately simple SSE reader for the test: LF line ends, blank line dispatches. */
function frames(text: string): { event: string; id: string; data: string }[] {
  const result: { event: string; id: string; data: string }[] = [];
  for (const block of text.split("\n\n")) {
    const fields = { event: "message", id: "", data: [] as string[] };
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) fields.event = line.slice(7);
      else if (line.startsWith("id: ")) fields.id = line.slice(4);
      else if (line.startsWith("data: ")) fields.data.push(line.slice(6));
    }
    if (fields.data.length > 0) {
      result.push({
        event: fields.event,
        id: fields.id,
        data: fields.data.join("\n"),
      });
    }
  }
  return result;
}

Deno.test("the real capture imports as one connection of 169 frames, ':ok' first, byte for byte", async () => {
  const capture = await Deno.readFile(CAPTURE);
  const cassette = importCurlCapture(capture, { url: URL_ });
  assert.equal(cassette.connections.length, 1);
  const [connection] = cassette.connections;
  assert.deepStrictEqual(connection.request, {
    startedAt: 0,
    method: "GET",
    url: URL_,
    headers: {},
  });
  assert.deepStrictEqual(connection.response, {
    at: 0,
    status: 200,
    statusText: "OK",
    headers: {
      "cache-control": "no-cache",
      "content-type": "text/event-stream; charset=utf-8",
    },
  });
  assert.deepStrictEqual(connection.end, { at: 0, reason: "aborted" });
  assert.equal(cassette.recordedAt, "2026-09-27T16:17:00.000Z");

  // The body is the capture minus the capturer's three header lines, exactly.
  const text = dec.decode(capture);
  const bodyStart = text.indexOf(":ok\n");
  assert.equal(text.slice(0, bodyStart).split("\n").length - 1, 3);
  assert.deepStrictEqual(
    concat(connection.chunks.map((c) => c.bytes)),
    capture.slice(enc.encode(text.slice(0, bodyStart)).length),
  );

  // One chunk per line, every line with its terminator, all at offset 0.
  assert.equal(dec.decode(connection.chunks[0].bytes), ":ok\n");
  assert.equal(dec.decode(connection.chunks[1].bytes), "\n");
  assert.equal(
    connection.chunks.length,
    text.slice(bodyStart).split("\n").length - 1,
  );
  for (const chunk of connection.chunks) {
    assert.equal(chunk.at, 0);
    assert.equal(chunk.bytes.indexOf(0x0a), chunk.bytes.byteLength - 1);
  }

  const parsed = frames(
    dec.decode(concat(connection.chunks.map((c) => c.bytes))),
  );
  assert.equal(parsed.length, 169);
  const offsets = parsed.map((frame) => JSON.parse(frame.data).meta.offset);
  assert.deepStrictEqual(
    offsets,
    Array.from({ length: 169 }, (_, i) => 1109139115 + i),
  );
  assert.ok(
    parsed.every((frame) =>
      frame.event === "message" && frame.id.startsWith('[{"topic":"eqiad.')
    ),
  );

  // The dropped header is kept in the note.
  assert.match(
    cassette.note!,
    /Capturer's header comments \(not sent by the server\) dropped: "public capture of GET/,
  );
  assert.match(
    cassette.note!,
    /"everything below this header is the server's output, byte for byte"$/,
  );
});

Deno.test("the committed cassette fixture is what the importer makes of the capture", async () => {
  const capture = await Deno.readFile(CAPTURE);
  const expected = importCurlCapture(capture, {
    url: URL_,
    tool: "scripts/import_capture.ts",
  });
  const fixture = await readCassette(FIXTURE);
  assert.deepStrictEqual(
    fixture,
    expected,
    "Regenerate it: deno task import-capture fixtures/page_change_v1.2026-09-27.sse " +
      `--url ${URL_} --out fixtures/page_change_v1.2026-09-27.cassette.jsonl`,
  );
  assert.equal(await Deno.readTextFile(FIXTURE), serializeCassette(expected));
});

Deno.test("the imported cassette replays the server's bytes, then stays open like the live stream", async () => {
  const capture = await Deno.readFile(CAPTURE);
  const cassette = await readCassette(FIXTURE);
  const replay = replayFetch(cassette);
  const response = await replay.fetch(URL_, {
    headers: { "User-Agent": "test/1.0 (me@example.org)" },
  });
  assert.equal(
    response.headers.get("content-type"),
    "text/event-stream; charset=utf-8",
  );
  const reader = response.body!.getReader();
  const received: Uint8Array[] = [];
  for (let i = 0; i < cassette.connections[0].chunks.length; i++) {
    received.push((await reader.read()).value!);
  }
  assert.deepStrictEqual(
    concat(received),
    capture.slice(capture.length - concat(received).length),
  );
  await reader.cancel();
  replay.assertDone();
});

Deno.test("the replayed capture parses with SseParseStream into 169 frames after the ':ok' comment", async () => {
  const cassette = await readCassette(FIXTURE);
  const replay = replayFetch(cassette);
  const response = await replay.fetch(URL_);
  const comments: string[] = [];
  const frames: { event: string; id: string; data: string }[] = [];
  const reader = response.body!.pipeThrough(
    new SseParseStream({ onComment: (text) => comments.push(text) }),
  )
    .getReader();
  while (frames.length < 169) frames.push((await reader.read()).value!);
  await reader.cancel(); // The recording ended "aborted": the body stays open until the client leaves.
  assert.deepStrictEqual(comments, ["ok"]);
  assert.ok(frames.every((frame) => frame.event === "message"));
  assert.equal(JSON.parse(frames[0].data).meta.offset, 1109139115);
  assert.equal(JSON.parse(frames[168].data).meta.offset, 1109139283);
  assert.equal(
    JSON.parse(frames[168].id)[0].timestamp,
    Date.parse(JSON.parse(frames[168].data).meta.dt) + 1,
  );
});

Deno.test("a curl -i capture gives the recorded status and headers, secrets dropped", () => {
  const capture = enc.encode(
    "HTTP/2 200 \r\n" +
      "content-type: text/event-stream; charset=utf-8\r\n" +
      "set-cookie: WMF-Last-Access=SECRET\r\n" +
      "date: Sun, 27 Sep 2026 16:17:00 GMT\r\n" +
      "\r\n" +
      ":ok\n\nevent: message\r\nid: []\rdata: {}\n\n",
  );
  const cassette = importCurlCapture(capture, {
    url: "https://stream.wikimedia.org/v2/stream/test",
    end: "eof",
  });
  const [connection] = cassette.connections;
  assert.equal(connection.response?.status, 200);
  assert.deepStrictEqual(connection.response?.headers, {
    "content-type": "text/event-stream; charset=utf-8",
    date: "Sun, 27 Sep 2026 16:17:00 GMT",
  });
  assert.equal(cassette.recordedAt, "2026-09-27T16:17:00.000Z");
  assert.deepStrictEqual(connection.chunks.map((c) => dec.decode(c.bytes)), [
    ":ok\n",
    "\n",
    "event: message\r\n",
    "id: []\r",
    "data: {}\n",
    "\n",
  ]);
  assert.deepStrictEqual(connection.end, { at: 0, reason: "eof" });
  assert.doesNotMatch(serializeCassette(cassette), /SECRET/);
});

Deno.test("importing refuses what is not a capture, saying why", () => {
  const url = "https://stream.wikimedia.org/v2/stream/test";
  assert.throws(
    () =>
      importCurlCapture(
        enc.encode(": 2026-09-27T16:17Z\nevent: message\n:ok\n\n"),
        { url },
      ),
    {
      name: "TypeError",
      message:
        'Cannot import capture: line 2 comes before ":ok" but is neither a ":" comment nor part of an ' +
        'HTTP response head (curl -i), got "event: message"; remove it or fix the capture',
    },
  );
  assert.throws(
    () => importCurlCapture(enc.encode("data: x\n\n:ok\n\n"), { url }),
    {
      name: "TypeError",
      message: /^Cannot import capture: line 1 comes before ":ok"/,
    },
  );
  assert.throws(() => importCurlCapture(enc.encode(": header\n"), { url }), {
    name: "TypeError",
    message:
      'Cannot import capture: no ":ok" line found; the server\'s output starts with ":ok", ' +
      "so pass the raw bytes of a curl -N capture of /v2/stream/...",
  });
  assert.throws(() => importCurlCapture(enc.encode(":ok\n\n"), { url }), {
    name: "TypeError",
    message:
      "Cannot import capture: no recording time; pass recordedAt (an ISO-8601 time), got undefined",
  });
  assert.throws(
    () => importCurlCapture(enc.encode(":ok\n\n"), { url: "/v2/stream/test" }),
    {
      name: "TypeError",
      message:
        'Cannot import capture: url must be an absolute URL, got "/v2/stream/test"',
    },
  );
  const plain = importCurlCapture(enc.encode(":ok\n\n"), {
    url,
    recordedAt: "2026-09-27T16:17:05Z",
  });
  assert.equal(plain.recordedAt, "2026-09-27T16:17:05.000Z");
  assert.doesNotMatch(plain.note!, /header comments/);
});

Deno.test("an imported capture's URL keeps no credentials or secret query values", () => {
  const cassette = importCurlCapture(enc.encode(":ok\n\n"), {
    url: "https://me:SECRET@stream.wikimedia.org/v2/stream/test?token=SECRET",
    recordedAt: "2026-09-27T16:17:05Z",
  });
  assert.equal(
    cassette.connections[0].request.url,
    "https://stream.wikimedia.org/v2/stream/test?token=REDACTED",
  );
  assert.doesNotMatch(serializeCassette(cassette), /SECRET/);
});

Deno.test("deno task import-capture writes the cassette and explains usage errors", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const stderr = (line: string) => lines.push(line);
  try {
    const out = `${dir}/page_change.cassette.jsonl`;
    const code = await main([
      CAPTURE.pathname,
      "--url",
      URL_,
      "--out",
      out,
      "--header",
      "User-Agent: capture/1.0",
    ], {
      stderr,
    });
    assert.equal(code, 0, lines.join("\n"));
    const written = parseCassette(await Deno.readTextFile(out));
    assert.deepStrictEqual(written.connections[0].request.headers, {
      "user-agent": "capture/1.0",
    });
    assert.equal(written.connections[0].chunks.length, 678);
    assert.match(
      lines.at(-1)!,
      /^Wrote .*page_change\.cassette\.jsonl: 1 connection, 678 chunks, 483532 bytes/,
    );

    assert.equal(await main([CAPTURE.pathname, "--out", out], { stderr }), 2);
    assert.match(lines.at(-1)!, /^Cannot import: --url is required/);
    assert.equal(
      await main([`${dir}/missing.sse`, "--url", URL_, "--out", out], {
        stderr,
      }),
      1,
    );
    assert.match(lines.at(-1)!, /^Cannot import .*missing\.sse: /);
    // A capture without a Date header: the message names the flag.
    await Deno.writeTextFile(`${dir}/bare.sse`, ":ok\n\ndata: {}\n\n");
    assert.equal(
      await main([`${dir}/bare.sse`, "--url", URL_, "--out", out], { stderr }),
      1,
    );
    assert.match(lines.at(-1)!, /pass --recorded-at \(an ISO-8601 time\)/);
    assert.equal(await main(["--help"], { stderr }), 0);
    assert.match(lines.at(-1)!, /^Usage: deno task import-capture/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
