import assert from "node:assert/strict";
import { recordingFetch } from "../src/testing/recorder.ts";
import { parseCassette, serializeCassette } from "../src/testing/cassette.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { readCassette } from "../src/testing/cassette_file.ts";
import { replayFetch } from "../src/testing/replay.ts";
import { serveEmulator } from "../src/testing/emulator/mod.ts";
import { eventStream } from "../src/client.ts";
import { main, parseDuration } from "../scripts/record.ts";
import { serveChunks } from "./_harness_server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Chunks as the server writes them, one split inside "é" (C3 | A9). */
function knownChunks(): Uint8Array[] {
  const data = enc.encode('data: {"title":"café"}\n');
  const cut = data.indexOf(0xc3) + 1;
  return [
    enc.encode(":ok\n\n"),
    enc.encode("event: message\n"),
    enc.encode('id: [{"topic":"eqiad.test","partition":0,"offset":7}]\n'),
    data.slice(0, cut),
    data.slice(cut),
    enc.encode("\n"),
  ];
}

async function readChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<Uint8Array> {
  const { done, value } = await reader.read();
  assert.ok(!done, "the body ended early");
  return value;
}

Deno.test("the recorder keeps every chunk's bytes and boundaries as the caller received them", async () => {
  const chunks = knownChunks();
  const server = serveChunks(chunks, "close");
  const clock = new ManualClock(Date.UTC(2026, 8, 27, 16, 17));
  const recorder = recordingFetch({ clock, tool: "recorder_test" });
  try {
    const response = await recorder.fetch(
      `${server.origin}/v2/stream/test?since=2026-09-27T16%3A17%3A00.000Z`,
      {
        headers: {
          Accept: "text/event-stream",
          "User-Agent": "recorder-test/1.0 (me@example.org)",
          "Last-Event-ID": '[{"topic":"eqiad.test","partition":0,"offset":6}]',
          Authorization: "Bearer CLIENT-SECRET",
          Cookie: "session=CLIENT-SECRET",
        },
      },
    );
    assert.equal(response.status, 200);
    assert.equal(
      response.headers.get("content-type"),
      "text/event-stream; charset=utf-8",
    );
    assert.equal(
      response.url,
      `${server.origin}/v2/stream/test?since=2026-09-27T16%3A17%3A00.000Z`,
    );
    const reader = response.body!.getReader();
    const seen: Uint8Array[] = [];
    for (let i = 0; i < chunks.length; i++) {
      await clock.tick(10);
      server.send();
      seen.push(await readChunk(reader));
    }
    server.send();
    assert.deepStrictEqual(await reader.read(), {
      done: true,
      value: undefined,
    });
    assert.deepStrictEqual(seen, chunks);

    const cassette = recorder.cassette();
    assert.equal(cassette.recordedAt, "2026-09-27T16:17:00.000Z");
    assert.equal(cassette.tool, "recorder_test");
    const [connection] = cassette.connections;
    assert.deepStrictEqual(connection.request, {
      startedAt: 0,
      method: "GET",
      url: `${server.origin}/v2/stream/test?since=2026-09-27T16%3A17%3A00.000Z`,
      headers: {
        accept: "text/event-stream",
        "last-event-id": '[{"topic":"eqiad.test","partition":0,"offset":6}]',
        "user-agent": "recorder-test/1.0 (me@example.org)",
      },
    });
    assert.equal(connection.response?.status, 200);
    assert.equal(
      connection.response?.headers["content-type"],
      "text/event-stream; charset=utf-8",
    );
    assert.ok(!("set-cookie" in connection.response!.headers));
    assert.deepStrictEqual(
      connection.chunks,
      chunks.map((bytes, i) => ({ at: 10 * (i + 1), bytes })),
    );
    assert.deepStrictEqual(connection.end, { at: 60, reason: "eof" });
    assert.deepStrictEqual(recorder.stats, {
      connections: 1,
      chunks: chunks.length,
      bytes: chunks.reduce((n, c) => n + c.byteLength, 0),
    });
    // The server did get the secrets; the cassette text never holds them.
    assert.equal(
      server.requests[0].headers.get("authorization"),
      "Bearer CLIENT-SECRET",
    );
    const text = serializeCassette(cassette);
    assert.doesNotMatch(text, /SECRET|authorization|cookie/i);
    assert.deepStrictEqual(parseCassette(text), cassette);
  } finally {
    await server.close();
  }
});

Deno.test("the recorder records a client that cancels the body as aborted", async () => {
  const chunks = knownChunks().slice(0, 2);
  const server = serveChunks(chunks, "hang");
  const clock = new ManualClock(0);
  const recorder = recordingFetch({ clock });
  try {
    const response = await recorder.fetch(`${server.origin}/v2/stream/test`);
    const reader = response.body!.getReader();
    for (const _ of chunks) {
      server.send(); // One at a time: chunks sent together may arrive as one.
      await readChunk(reader);
    }
    await clock.tick(60_000); // The client's idle watchdog gives up.
    await reader.cancel(new DOMException("idle", "TimeoutError"));
    await server.cancelled;
    const [connection] = recorder.cassette().connections;
    assert.equal(connection.chunks.length, 2);
    assert.deepStrictEqual(connection.end, { at: 60_000, reason: "aborted" });
  } finally {
    await server.close();
  }
});

Deno.test("the recorder records a request aborted through its signal as aborted, and the caller sees the abort", async () => {
  const server = serveChunks(knownChunks(), "hang");
  const recorder = recordingFetch({ clock: new ManualClock(0) });
  const controller = new AbortController();
  try {
    const response = await recorder.fetch(`${server.origin}/v2/stream/test`, {
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    server.send();
    assert.equal(dec.decode(await readChunk(reader)), ":ok\n\n");
    const reading = reader.read();
    controller.abort();
    await assert.rejects(reading, { name: "AbortError" });
    await server.cancelled;
    const [connection] = recorder.cassette().connections;
    assert.deepStrictEqual(connection.end, { at: 0, reason: "aborted" });
  } finally {
    await server.close();
  }
});

Deno.test("the recorder records a body that fails mid-stream as an error", async () => {
  const server = serveChunks(knownChunks().slice(0, 1), "error");
  const recorder = recordingFetch({ clock: new ManualClock(0) });
  try {
    const response = await recorder.fetch(`${server.origin}/v2/stream/test`);
    const reader = response.body!.getReader();
    server.send(2);
    await readChunk(reader);
    const error = await reader.read().then(
      () => assert.fail("the body should fail"),
      (e: Error) => e,
    );
    const [connection] = recorder.cassette().connections;
    assert.deepStrictEqual(connection.end, {
      at: 0,
      reason: "error",
      message: error.message,
    });
  } finally {
    await server.close();
  }
});

Deno.test("the recorder hands the caller the very same chunks and the very same error", async () => {
  const first = enc.encode("data: 1\n\n");
  const failure = new TypeError("error reading a body from connection");
  let sent = false;
  const recorder = recordingFetch({
    fetch: () =>
      Promise.resolve(
        new Response(
          new ReadableStream({
            pull(controller) {
              if (sent) return controller.error(failure);
              sent = true;
              controller.enqueue(first);
            },
          }, { highWaterMark: 0 }),
        ),
      ),
  });
  const response = await recorder.fetch(
    "https://stream.wikimedia.org/v2/stream/test",
  );
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  assert.equal(value, first); // Same object: not a copy, not re-chunked.
  await assert.rejects(reader.read(), (error) => error === failure);
  const [connection] = recorder.cassette().connections;
  assert.deepStrictEqual(connection.chunks[0].bytes, first);
  assert.notEqual(connection.chunks[0].bytes, first); // The recording keeps its own copy.
  assert.deepStrictEqual(connection.end, {
    at: connection.end!.at,
    reason: "error",
    message: "error reading a body from connection",
  });
});

Deno.test("the recorder records a fetch that fails before any response", async () => {
  const refused = new TypeError("Connection refused (os error 111)");
  const recorder = recordingFetch({
    fetch: () => Promise.reject(refused),
    clock: new ManualClock(0),
  });
  await assert.rejects(
    recorder.fetch("https://stream.wikimedia.org/v2/stream/test"),
    (e) => e === refused,
  );
  const [connection] = recorder.cassette().connections;
  assert.equal(connection.response, undefined);
  assert.deepStrictEqual(connection.end, {
    at: 0,
    reason: "error",
    message: "Connection refused (os error 111)",
  });
});

Deno.test("the recorder never reads the body ahead of the caller", async () => {
  let pulls = 0;
  const recorder = recordingFetch({
    fetch: () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              pulls++;
              controller.enqueue(enc.encode(`data: ${pulls}\n\n`));
            },
          }, { highWaterMark: 0 }),
        ),
      ),
  });
  const response = await recorder.fetch(
    "https://stream.wikimedia.org/v2/stream/test",
  );
  await Promise.resolve();
  assert.equal(pulls, 0);
  const reader = response.body!.getReader();
  await reader.read();
  await reader.read();
  await new Promise((resolve) => setTimeout(resolve, 0)); // Let any eager read-ahead happen (it must not).
  assert.equal(pulls, 2);
  assert.equal(recorder.stats.chunks, 2);
  await reader.cancel();
  assert.equal(recorder.cassette().connections[0].end?.reason, "aborted");
});

Deno.test("the recorder numbers connections and times them from the session start", async () => {
  const clock = new ManualClock(1_000);
  const recorder = recordingFetch({
    clock,
    fetch: () => Promise.resolve(new Response("")),
  });
  await (await recorder.fetch("https://stream.wikimedia.org/v2/stream/test"))
    .text();
  await clock.tick(2_500);
  await (await recorder.fetch(
    "https://user:pw@stream.wikimedia.org/v2/stream/test",
    { method: "get" },
  )).text();
  const connections = recorder.cassette().connections;
  assert.deepStrictEqual(connections.map((c) => c.request.startedAt), [
    0,
    2_500,
  ]);
  assert.equal(
    connections[1].request.url,
    "https://stream.wikimedia.org/v2/stream/test",
  );
  assert.equal(connections[1].request.method, "GET");
  assert.equal(recorder.cassette().recordedAt, new Date(1_000).toISOString());
});

Deno.test("a request whose signal is already aborted is not recorded", async () => {
  const recorder = recordingFetch({
    fetch: (_input, init) => Promise.reject(init?.signal?.reason),
  });
  await assert.rejects(
    recorder.fetch("https://stream.wikimedia.org/v2/stream/test", {
      signal: AbortSignal.abort(),
    }),
    { name: "AbortError" },
  );
  assert.equal(recorder.cassette().connections.length, 0);
});

Deno.test("a snapshot taken mid-body leaves the open connection without an end", async () => {
  const recorder = recordingFetch({
    fetch: () =>
      Promise.resolve(
        new Response(
          new ReadableStream({
            start: (c) => c.enqueue(enc.encode(":ok\n\n")),
          }),
        ),
      ),
  });
  const response = await recorder.fetch(
    "https://stream.wikimedia.org/v2/stream/test",
  );
  const reader = response.body!.getReader();
  await reader.read();
  const snapshot = recorder.cassette();
  assert.equal(snapshot.connections[0].end, undefined);
  assert.deepStrictEqual(parseCassette(serializeCassette(snapshot)), snapshot);
  await reader.cancel();
  assert.equal(snapshot.connections[0].end, undefined); // Snapshots do not change afterwards.
  assert.equal(recorder.cassette().connections[0].end?.reason, "aborted");
});

// ---------------------------------------------------------------------------
// deno task record (scripts/record.ts) against the local emulator

const USER_AGENT = "record-test/1.0 (me@example.org)";

/** Drives a ManualClock through the client's reconnect waits, which main() reports on stderr. */
function stderrDrivingClock(
  clock: ManualClock,
  lines: string[],
): (line: string) => void {
  return (line) => {
    lines.push(line);
    const retry = /^reconnecting in (\d+(?:\.\d+)?) ms/.exec(line);
    if (retry) setTimeout(() => clock.tick(Number(retry[1])), 0);
  };
}

/** The complete frames of one connection's body (an unterminated last frame is dropped, per spec). */
function completeFrames(chunks: { bytes: Uint8Array }[]): string[] {
  const text = dec.decode(concatBytes(chunks.map((c) => c.bytes)));
  const blocks = text.split("\n\n");
  blocks.pop(); // Whatever follows the last blank line is unterminated.
  return blocks.map((block) =>
    block.split("\n").find((line) => line.startsWith("data: "))?.slice(6)
  )
    .filter((data): data is string => data !== undefined);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

Deno.test("deno task record records a resumed session from the emulator, and it replays through eventStream", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/recentchange.cassette.jsonl`;
  const emulator = serveEmulator({
    generate: { counts: { "mediawiki.recentchange": 30 } },
    faults: [[{ kind: "cut", afterFrames: 10, midFrame: true }]],
  });
  const lines: string[] = [];
  const recordClock = new ManualClock(Date.UTC(2026, 8, 27, 16, 20));
  try {
    const code = await main([
      "--stream",
      "recentchange",
      "--since",
      "2026-09-27T16:15:00Z",
      "--events",
      "25",
      "--out",
      out,
      "--user-agent",
      USER_AGENT,
      "--base-url",
      emulator.url,
      "--note",
      "emulator, cut mid-frame after 10 frames",
    ], { clock: recordClock, stderr: stderrDrivingClock(recordClock, lines) });
    assert.equal(code, 0, lines.join("\n"));
  } finally {
    await emulator.close();
  }
  assert.match(
    lines.at(-1)!,
    /^wrote .*recentchange\.cassette\.jsonl: 25 events, \d+ bytes, 2 connections$/,
  );

  const cassette = await readCassette(out);
  await Deno.remove(dir, { recursive: true });
  assert.equal(cassette.tool, "scripts/record.ts");
  assert.equal(cassette.note, "emulator, cut mid-frame after 10 frames");
  assert.equal(cassette.recordedAt, "2026-09-27T16:20:00.000Z");
  const [first, second] = cassette.connections;
  assert.equal(cassette.connections.length, 2);
  assert.equal(
    new URL(first.request.url).search,
    "?since=2026-09-27T16%3A15%3A00.000Z",
  );
  assert.equal(first.request.headers["last-event-id"], undefined);
  assert.match(
    first.request.headers["user-agent"],
    /^record-test\/1\.0 \(me@example\.org\)/,
  );
  assert.equal(first.end?.reason, "eof");
  assert.match(
    second.request.headers["last-event-id"],
    /^\[\{"topic":"eqiad\.mediawiki\.recentchange","partition":0,"offset":\d+\}/,
  );
  assert.equal(second.end?.reason, "aborted"); // The recorder stopped after 25 events.
  const recordedFrames = [
    ...completeFrames(first.chunks),
    ...completeFrames(second.chunks),
  ];
  assert.equal(completeFrames(first.chunks).length, 10);

  // Replay: the same client, the cassette instead of the network, virtual time.
  const clock = new ManualClock(Date.UTC(2026, 8, 27, 16, 20));
  const replay = replayFetch(cassette, { clock, source: out });
  const stream = eventStream("recentchange", {
    userAgent: USER_AGENT,
    since: "2026-09-27T16:15:00Z",
    baseUrl: "http://127.0.0.1:9", // Never contacted: replay does not touch the network.
    fetch: replay.fetch,
    clock,
    onRetry: ({ delayMs }) => void setTimeout(() => clock.tick(delayMs), 0),
  });
  const replayed: unknown[] = [];
  for await (const event of stream) {
    replayed.push(event);
    if (replayed.length === 25) break;
  }
  await stream.close();
  replay.assertDone();
  assert.deepStrictEqual(
    replayed,
    recordedFrames.slice(0, 25).map((data) => JSON.parse(data)),
  );
  assert.deepStrictEqual(
    replay.requests.map((r) => r.headers["last-event-id"]),
    [null, second.request.headers["last-event-id"]],
  );
});

Deno.test("deno task record stops after --duration on its clock", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/test.cassette.jsonl`;
  const emulator = serveEmulator({
    generate: { counts: { "eventgate-main.test.event": 3 } },
  });
  const clock = new ManualClock(Date.UTC(2026, 8, 27, 16, 20));
  const lines: string[] = [];
  try {
    const code = await main([
      "--stream=test",
      "--duration=30s",
      "--since=2026-09-27T16:15:00Z",
      `--out=${out}`,
      `--user-agent=${USER_AGENT}`,
      `--base-url=${emulator.url}`,
    ], {
      clock,
      stderr: (line) => {
        lines.push(line);
        if (line.startsWith("connected")) {
          setTimeout(() => clock.tick(30_000), 0);
        }
      },
    });
    assert.equal(code, 0, lines.join("\n"));
    const cassette = await readCassette(out);
    assert.equal(cassette.connections.length, 1);
    assert.deepStrictEqual(cassette.connections[0].end, {
      at: 30_000,
      reason: "aborted",
    });
  } finally {
    await emulator.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task record explains a missing user agent and other usage errors", async () => {
  const lines: string[] = [];
  const run = (...args: string[]) =>
    main(args, { stderr: (line) => lines.push(line) });
  assert.equal(await run("--stream", "recentchange", "--out", "x.jsonl"), 2);
  assert.match(
    lines.at(-1)!,
    /^Cannot record: --user-agent is required by Wikimedia's User-Agent policy \(https:\/\/foundation\.wikimedia\.org\/.*\), e\.g\. --user-agent "my-tests\/1\.0 \(https:\/\/example\.org; me@example\.org\)"/,
  );
  assert.equal(await run("--out", "x.jsonl", "--user-agent", USER_AGENT), 2);
  assert.match(lines.at(-1)!, /^Cannot record: --stream is required/);
  assert.equal(await run("--stream", "test", "--user-agent", USER_AGENT), 2);
  assert.match(lines.at(-1)!, /^Cannot record: --out is required/);
  assert.equal(
    await run(
      "--stream",
      "test",
      "--out",
      "x",
      "--user-agent",
      USER_AGENT,
      "--events",
      "ten",
    ),
    2,
  );
  assert.match(
    lines.at(-1)!,
    /^Cannot record: --events must be a positive whole number, got "ten"/,
  );
  assert.equal(
    await run(
      "--stream",
      "test",
      "--out",
      "x",
      "--user-agent",
      USER_AGENT,
      "--duration",
      "soon",
    ),
    2,
  );
  assert.match(
    lines.at(-1)!,
    /^Cannot record: --duration must look like 500ms, 30s, 5m or 1h, got "soon"/,
  );
  assert.equal(
    await run(
      "--stream",
      "nope",
      "--out",
      "x",
      "--user-agent",
      USER_AGENT,
      "--since",
      "today",
    ),
    2,
  );
  assert.match(
    lines.at(-1)!,
    /^Cannot record: --since must be an ISO-8601 time/,
  );
  assert.equal(
    await run(
      "--stream",
      "recentchanges",
      "--out",
      "x",
      "--user-agent",
      USER_AGENT,
    ),
    2,
  );
  assert.match(lines.at(-1)!, /^Cannot record: .*recentchanges/);
  assert.equal(
    await run("--stream", "test", "--out", "x", "--user-agent", "curl/8.0"),
    2,
  );
  assert.match(lines.at(-1)!, /^Cannot record: /);
  assert.equal(await run("--help"), 0);
  assert.match(lines.at(-1)!, /^Usage: deno task record/);
  assert.deepStrictEqual(
    ["500ms", "30s", "5m", "1h", "1.5s", "0s"].map(parseDuration),
    [
      500,
      30_000,
      300_000,
      3_600_000,
      1_500,
      undefined,
    ],
  );
});
