import assert from "node:assert/strict";
import { recordingFetch } from "../src/testing/recorder.ts";
import { parseCassette, serializeCassette } from "../src/testing/cassette.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
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

Deno.test("the recorder keeps secret query values out of the recorded URL, while the server gets them", async () => {
  let sent = "";
  const recorder = recordingFetch({
    fetch: (input) => {
      sent = String(input);
      return Promise.resolve(new Response(""));
    },
  });
  const url =
    "https://stream.wikimedia.org/v2/stream/test?since=2026-09-27T16:00:00Z&access_token=CLIENT-SECRET";
  await (await recorder.fetch(url)).text();
  assert.equal(sent, url);
  const [connection] = recorder.cassette().connections;
  assert.equal(
    connection.request.url,
    "https://stream.wikimedia.org/v2/stream/test?since=2026-09-27T16:00:00Z&access_token=REDACTED",
  );
  // A caller-supplied predicate decides for query parameters as for headers.
  const custom = recordingFetch({
    fetch: () => Promise.resolve(new Response("")),
    isSecretHeader: (name) => name === "wiki",
  });
  await (await custom.fetch(
    "https://stream.wikimedia.org/v2/stream/test?wiki=enwiki",
  )).text();
  assert.equal(
    custom.cassette().connections[0].request.url,
    "https://stream.wikimedia.org/v2/stream/test?wiki=REDACTED",
  );
});
