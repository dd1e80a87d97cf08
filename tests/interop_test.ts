/**
 * Interop: clients that are not ours consume the emulator like the real
 * server. `curl -N` gets the real capture's bytes; the third-party
 * `eventsource@4` resumes through a cut with the server's own
 * `Last-Event-ID`, approximately, as PROTOCOL.md warns.
 */
import assert from "node:assert/strict";
import { EventSource } from "npm:eventsource@4.1.1";
import {
  type Emulator,
  type EmulatorFault,
  loadFixtureStreams,
  serveEmulator,
} from "../src/testing/emulator/mod.ts";
import { replayFetch } from "../src/testing/replay.ts";
import { readCassette } from "../src/testing/cassette_file.ts";
import { eventStream } from "../src/client.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import {
  CAPTURE_CASSETTE,
  CAPTURE_FIRST_OFFSET,
  FIXTURES,
  PAGE_CHANGE,
  PC_EQIAD,
  take,
  UA,
} from "./_replay_helpers.ts";
import { type ProcessRun, runProcess } from "./_helpers.ts";

const SINCE = "2026-09-27T16:17:00Z";

/** The capture's body as the server sent it: from `:ok` to the end of frame `frames`. */
function captureBody(frames: number): string {
  const text = Deno.readTextFileSync(
    `${FIXTURES}page_change_v1.2026-09-27.sse`,
  );
  const body = text.slice(text.indexOf(":ok\n"));
  let end = 0;
  for (let i = 0; i <= frames; i++) end = body.indexOf("\n\n", end) + 2;
  return body.slice(0, end);
}

async function captureEmulator(
  faults: readonly (readonly EmulatorFault[])[],
): Promise<Emulator> {
  return serveEmulator({
    streams: await loadFixtureStreams(FIXTURES, { counts: {} }),
    faults,
  });
}

/**
 * Why the curl tests cannot run here (curl is not on PATH), or `undefined`
 * when they can. A fresh machine may lack curl; `.ci/run` installs it.
 */
function curlMissing(): string | undefined {
  try {
    new Deno.Command("curl", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return undefined;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return "curl is not installed (not found on PATH); install it (apt-get install curl) to run them";
  }
}
const CURL_MISSING = curlMissing();
if (CURL_MISSING !== undefined) {
  console.warn(`interop_test.ts: skipping the 2 curl tests: ${CURL_MISSING}`);
}

async function curl(
  url: string,
  headers: Record<string, string> = {},
): Promise<ProcessRun> {
  const args = ["-sN", "--max-time", "10", "-H", `User-Agent: ${UA}`];
  for (const [name, value] of Object.entries(headers)) {
    args.push("-H", `${name}: ${value}`);
  }
  return await runProcess("curl", [...args, url]);
}

Deno.test({
  name:
    "curl -N reads the real capture's first frames byte for byte from the emulator and exits at the server's cut",
  ignore: CURL_MISSING !== undefined,
}, async () => {
  await using emulator = await captureEmulator([[{
    kind: "cut",
    afterFrames: 5,
  }]]);
  const { code, stdout, stderr } = await curl(
    `${emulator.url}/v2/stream/${PAGE_CHANGE}?since=${SINCE}`,
  );
  assert.equal(code, 0, stderr);
  assert.equal(stdout, captureBody(5));
  const [request] = emulator.connections;
  assert.equal(request.headers["user-agent"], UA);
  assert.equal(request.end?.reason, "cut-after-frames");
});

Deno.test({
  name:
    "curl -N with our client's cursor as Last-Event-ID resumes exactly after that event",
  ignore: CURL_MISSING !== undefined,
}, async () => {
  // The cursor our client holds after the capture's 3rd event.
  const replay = replayFetch(await readCassette(CAPTURE_CASSETTE));
  const stream = eventStream(PAGE_CHANGE, {
    userAgent: UA,
    fetch: replay.fetch,
    clock: new ManualClock(),
  });
  const third = (await take(stream, 3))[2];
  const cursor = stream.cursor;
  await stream.close();
  assert.equal(third.meta.offset, CAPTURE_FIRST_OFFSET + 2);

  await using emulator = await captureEmulator([[{
    kind: "cut",
    afterFrames: 3,
  }]]);
  const { code, stdout, stderr } = await curl(
    `${emulator.url}/v2/stream/${PAGE_CHANGE}`,
    { "Last-Event-ID": cursor },
  );
  assert.equal(code, 0, stderr);
  const offsets = stdout.split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)).meta.offset);
  assert.deepEqual(offsets, [3, 4, 5].map((i) => CAPTURE_FIRST_OFFSET + i));
  assert.equal(emulator.connections[0].headers["last-event-id"], cursor);
});

Deno.test("eventsource@4 resumes through a cut via the server's Last-Event-ID (approximate: it skips the event sharing the last delivered one's millisecond)", async () => {
  await using emulator = await captureEmulator([[{
    kind: "cut",
    afterFrames: 4,
  }]]);
  // Not server behaviour: EventStreams never sends `retry:`, and eventsource
  // waits 3 s before reconnecting unless told otherwise; this fetch (the
  // library's documented hook, also used to send the User-Agent) prepends
  // `retry: 20` so the test does not sleep 3 s.
  const retry = new TextEncoder().encode("retry: 20\n");
  const withAgent = async (
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> => {
    const headers = new Headers(init?.headers);
    headers.set("User-Agent", UA);
    const response = await fetch(input, { ...init, headers });
    const body = response.body!.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        start: (controller) => controller.enqueue(retry),
      }),
    );
    return new Response(body, {
      status: response.status,
      headers: response.headers,
    });
  };
  const received: MessageEvent[] = [];
  const eight = Promise.withResolvers<void>();
  const source = new EventSource(
    `${emulator.url}/v2/stream/${PAGE_CHANGE}?since=${SINCE}`,
    { fetch: withAgent },
  );
  source.addEventListener("message", (event) => {
    received.push(event);
    if (received.length === 8) eight.resolve();
  });
  try {
    await eight.promise;
  } finally {
    source.close();
  }
  await emulator.waitForEnd(1);

  const offsets = received.map((e) => JSON.parse(e.data).meta.offset);
  const [first, second] = emulator.connections;
  assert.equal(first.end?.reason, "cut-after-frames");
  // The second request carried the id of the last event received...
  assert.equal(second.headers["last-event-id"], received[3].lastEventId);
  assert.equal(
    received[3].lastEventId,
    `[{"topic":"${PC_EQIAD}","partition":0,"timestamp":1790525832951},` +
      `{"topic":"codfw.mediawiki.page_change.v1","partition":0,"offset":-1}]`,
  );
  // ...which won over since (the URL still has it), and resumed by timestamp:
  // offset 119 shares 16:17:12.950 with 118, so the server's id skips it.
  assert.match(second.url, /\?since=/);
  const log = emulator.streams.log(PC_EQIAD)!.messages;
  const at = (offset: number) => log.find((m) => m.offset === offset)!;
  assert.equal(
    at(CAPTURE_FIRST_OFFSET + 4).timestamp,
    at(CAPTURE_FIRST_OFFSET + 3).timestamp,
  );
  // Messages that arrived before close() continue without a gap.
  assert.deepEqual(
    offsets,
    [0, 1, 2, 3, ...Array.from({ length: offsets.length - 4 }, (_, i) => 5 + i)]
      .map((i) => CAPTURE_FIRST_OFFSET + i),
  );
});
