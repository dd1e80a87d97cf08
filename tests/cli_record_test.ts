/**
 * `eventstreams record` (and `deno task record`, which runs it): record
 * sessions from the local emulator on 127.0.0.1, replay them, and the
 * command line's flags and mistakes.
 */

import assert from "node:assert/strict";
import { parseRecordArgs, UsageError } from "../src/cli/args.ts";
import type { CliIo, CliOutput } from "../src/cli/io.ts";
import { main } from "../src/cli/main.ts";
import { RECORD_HELP } from "../src/cli/record.ts";
import { eventStream } from "../src/client.ts";
import { readCassette } from "../src/testing/cassette_file.ts";
import type { CassetteChunk } from "../src/testing/cassette.ts";
import { serveEmulator } from "../src/testing/emulator/mod.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { replayFetch } from "../src/testing/replay.ts";
import { runProcess } from "./_helpers.ts";

const USER_AGENT = "record-test/1.0 (me@example.org)";
const RECORDED_AT = Date.UTC(2026, 8, 27, 16, 20);
const SINCE = "2026-09-27T16:15:00Z";
const dec = new TextDecoder();

/** stdout or stderr of an in-process run; stderr lines also go to `onLine` as they are written. */
class LineOutput implements CliOutput {
  lines: string[] = [];
  #partial = "";
  constructor(readonly onLine: (line: string) => void = () => {}) {}
  write(bytes: Uint8Array): Promise<number> {
    return Promise.resolve(this.writeSync(bytes));
  }
  writeSync(bytes: Uint8Array): number {
    const parts = (this.#partial + dec.decode(bytes)).split("\n");
    this.#partial = parts.pop()!;
    for (const line of parts) {
      this.lines.push(line);
      this.onLine(line);
    }
    return bytes.length;
  }
  isTerminal(): boolean {
    return false;
  }
  get text(): string {
    return this.lines.map((line) => `${line}\n`).join("") + this.#partial;
  }
}

interface TestIo extends CliIo {
  out: LineOutput;
  err: LineOutput;
  /** Acts like Ctrl-C. */
  interrupt(): void;
}

/** An in-process run on `clock`; `onStderr` sees each progress line as it is written. */
function testIo(
  clock: ManualClock,
  onStderr: (line: string, io: TestIo) => void = () => {},
  env: Record<string, string> = {},
): TestIo {
  let handler: (() => void) | undefined;
  const io: TestIo = {
    out: new LineOutput(),
    err: new LineOutput((line) => onStderr(line, io)),
    get stdout() {
      return this.out;
    },
    get stderr() {
      return this.err;
    },
    env: { get: (name) => env[name] },
    clock,
    onInterrupt(h) {
      handler = h;
      return () => (handler = undefined);
    },
    interrupt: () => handler?.(),
  };
  return io;
}

/**
 * Drives the manual clock through the client's reconnect waits, which the
 * command reports on stderr as `Reconnecting in <ms> ms (...)`. Deferred by a
 * macrotask so the client has armed its timer.
 */
function tickThroughRetries(line: string, io: TestIo): void {
  const retry = /^Reconnecting in (\d+) ms/.exec(line);
  if (retry) {
    setTimeout(() => (io.clock as ManualClock).tick(Number(retry[1])), 0);
  }
}

/** The data of the complete frames of one connection's body (an unterminated last frame is dropped, per spec). */
function completeFrames(chunks: readonly CassetteChunk[]): string[] {
  const text = dec.decode(concatBytes(chunks.map((c) => c.bytes)));
  const blocks = text.split("\n\n");
  blocks.pop(); // Whatever follows the last blank line is unterminated.
  return blocks
    .map((block) =>
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

// ---------------------------------------------------------------------------
// Recording from the emulator
// ---------------------------------------------------------------------------

Deno.test("record: a session cut mid-frame is recorded as two connections, the second resuming with Last-Event-ID, and replays to the same events and requests", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/recentchange.cassette.jsonl`;
  const emulator = serveEmulator({
    generate: { counts: { "mediawiki.recentchange": 30 } },
    faults: [[{ kind: "cut", afterFrames: 10, midFrame: true }]],
  });
  const io = testIo(new ManualClock(RECORDED_AT), tickThroughRetries);
  try {
    const code = await main([
      "record",
      "recentchange",
      "--since",
      SINCE,
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
    ], io);
    assert.equal(code, 0, io.err.text);
  } finally {
    await emulator.close();
  }
  assert.equal(io.out.text, "");
  const progress = io.err.lines;
  assert.equal(
    progress[0],
    "Connected (connection 1): 0 events, 0 bytes, 1 connection so far",
  );
  assert.match(progress[1], /^Reconnecting in \d+ ms \(eof\)$/);
  assert.match(
    progress[2],
    /^Connected \(connection 2, resuming\): 10 events, \d+ bytes, 2 connections so far$/,
  );
  assert.match(
    progress.at(-1)!,
    /^Wrote .*recentchange\.cassette\.jsonl: 25 events, \d+ bytes, 2 connections$/,
  );
  assert.equal(progress.length, 4);

  const cassette = await readCassette(out);
  await Deno.remove(dir, { recursive: true });
  assert.equal(cassette.tool, "eventstreams record");
  assert.equal(cassette.note, "emulator, cut mid-frame after 10 frames");
  assert.equal(cassette.recordedAt, "2026-09-27T16:20:00.000Z");
  assert.equal(cassette.connections.length, 2);
  const [first, second] = cassette.connections;
  assert.equal(
    first.request.url,
    `${emulator.url}/v2/stream/mediawiki.recentchange?since=2026-09-27T16%3A15%3A00.000Z`,
  );
  assert.equal(first.request.headers["last-event-id"], undefined);
  assert.match(
    first.request.headers["user-agent"],
    /^record-test\/1\.0 \(me@example\.org\) eventstreams\//,
  );
  assert.equal(first.end?.reason, "eof");
  assert.equal(completeFrames(first.chunks).length, 10);
  assert.match(
    second.request.headers["last-event-id"],
    /^\[\{"topic":"eqiad\.mediawiki\.recentchange","partition":0,"offset":\d+\}/,
  );
  assert.equal(second.end?.reason, "aborted"); // The command stopped after 25 events.
  const recordedFrames = [
    ...completeFrames(first.chunks),
    ...completeFrames(second.chunks),
  ];

  // Replay: the same client, the cassette instead of the network, virtual time.
  const clock = new ManualClock(RECORDED_AT);
  const replay = replayFetch(cassette, { clock, source: out });
  const stream = eventStream("recentchange", {
    userAgent: USER_AGENT,
    since: SINCE,
    baseUrl: emulator.url, // Closed: replay never touches the network.
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

Deno.test("record: --duration stops on the command's clock and the cassette is written", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/test.cassette.jsonl`;
  const emulator = serveEmulator({
    generate: { counts: { "eventgate-main.test.event": 3 } },
  });
  const io = testIo(new ManualClock(RECORDED_AT), (line, io) => {
    if (line.startsWith("Connected")) {
      setTimeout(() => (io.clock as ManualClock).tick(30_000), 0);
    }
  });
  try {
    const code = await main([
      "record",
      "--stream=test",
      "--duration=30s",
      `--since=${SINCE}`,
      `--out=${out}`,
      `--user-agent=${USER_AGENT}`,
      `--base-url=${emulator.url}`,
    ], io);
    assert.equal(code, 0, io.err.text);
    assert.match(
      io.err.lines.at(-1)!,
      /^Wrote .*test\.cassette\.jsonl: 3 events, \d+ bytes, 1 connection$/,
    );
    const cassette = await readCassette(out);
    assert.equal(cassette.connections.length, 1);
    assert.match(
      cassette.connections[0].request.url,
      /\/v2\/stream\/eventgate-main\.test\.event\?/,
    );
    assert.deepStrictEqual(cassette.connections[0].end, {
      at: 30_000,
      reason: "aborted",
    });
  } finally {
    await emulator.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record: Ctrl-C stops recording and still writes the cassette (exit 0)", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/test.cassette.jsonl`;
  const emulator = serveEmulator({
    generate: { counts: { "eventgate-main.test.event": 3 } },
  });
  const io = testIo(new ManualClock(RECORDED_AT), (line, io) => {
    if (line.startsWith("Connected")) setTimeout(() => io.interrupt(), 0);
  }, { EVENTSTREAMS_USER_AGENT: USER_AGENT });
  try {
    const code = await main([
      "record",
      "test",
      "--since",
      SINCE,
      "--out",
      out,
      "--base-url",
      emulator.url,
    ], io);
    assert.equal(code, 0, io.err.text);
    const cassette = await readCassette(out);
    assert.equal(cassette.connections.length, 1);
    assert.equal(cassette.connections[0].end?.reason, "aborted");
  } finally {
    await emulator.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record: a stream that fails writes what was recorded and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/recentchange.cassette.jsonl`;
  const emulator = serveEmulator({
    generate: { counts: { "mediawiki.recentchange": 30 } },
    faults: [[{ kind: "cut", afterFrames: 5 }], [{
      kind: "status",
      status: 400,
    }]],
  });
  const io = testIo(new ManualClock(RECORDED_AT), tickThroughRetries);
  try {
    const code = await main([
      "record",
      "recentchange",
      "--since",
      SINCE,
      "--out",
      out,
      "--user-agent",
      USER_AGENT,
      "--base-url",
      emulator.url,
    ], io);
    assert.equal(code, 1, io.err.text);
    assert.match(
      io.err.lines.at(-2)!,
      /^eventstreams record: Stream failed after 5 events: .*400.*; writing what was recorded$/,
    );
    assert.match(
      io.err.lines.at(-1)!,
      /^Wrote .*: 5 events, \d+ bytes, 2 connections$/,
    );
    const cassette = await readCassette(out);
    assert.deepStrictEqual(
      cassette.connections.map((c) => c.response?.status),
      [200, 400],
    );
    assert.equal(completeFrames(cassette.connections[0].chunks).length, 5);
  } finally {
    await emulator.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

const env = { get: (_: string): string | undefined => undefined };
const NOW = Date.parse("2026-09-27T12:00:00Z");

function recordArgs(args: string[], environment = env) {
  const parsed = parseRecordArgs(args, environment, NOW);
  assert.ok(!parsed.help);
  return parsed.options;
}

Deno.test("record arguments: streams from arguments and --stream combine; --max is --events; 100 events unless --duration", () => {
  const options = recordArgs([
    "recentchange,page-create",
    "--stream",
    "test",
    "--stream=page-delete,recentchange",
    "--out",
    "x.cassette.jsonl",
    "--user-agent",
    ` ${USER_AGENT} `,
  ]);
  assert.deepStrictEqual(options, {
    streams: [
      "mediawiki.recentchange",
      "mediawiki.page-create",
      "eventgate-main.test.event",
      "mediawiki.page-delete",
    ],
    out: "x.cassette.jsonl",
    events: 100,
    durationMs: undefined,
    since: undefined,
    userAgent: USER_AGENT,
    baseUrl: undefined,
    note: undefined,
    allowUnknownStreams: false,
  });

  const common = ["--stream", "test", "-o", "t.jsonl"];
  const withEnv = {
    get: (name: string) =>
      name === "EVENTSTREAMS_USER_AGENT" ? USER_AGENT : undefined,
  };
  assert.equal(recordArgs([...common, "--max", "7"], withEnv).events, 7);
  assert.equal(recordArgs([...common, "--events", "7"], withEnv).events, 7);
  const timed = recordArgs([...common, "--duration", "1m30s"], withEnv);
  assert.equal(timed.events, undefined);
  assert.equal(timed.durationMs, 90_000);
  const both = recordArgs([
    ...common,
    "--duration",
    "5m",
    "--events",
    "10",
  ], withEnv);
  assert.deepStrictEqual([both.events, both.durationMs], [10, 300_000]);

  const rest = recordArgs([
    "my.new.stream",
    "--allow-unknown-streams",
    "--out",
    "n.jsonl",
    "--since",
    "2h",
    "--base-url",
    "http://127.0.0.1:8092/",
    "--note",
    "why",
  ], withEnv);
  assert.deepStrictEqual(rest.streams, ["my.new.stream"]);
  assert.equal(rest.since?.toISOString(), "2026-09-27T10:00:00.000Z");
  assert.equal(rest.baseUrl, "http://127.0.0.1:8092");
  assert.equal(rest.note, "why");
  assert.equal(rest.allowUnknownStreams, true);

  assert.deepStrictEqual(parseRecordArgs(["--help"], env, NOW), { help: true });
});

Deno.test("record: each usage mistake exits 2 with a message naming the value and what to do", async () => {
  const ok = ["--out", "x.jsonl", "--user-agent", USER_AGENT];
  const table: [string[], string][] = [
    [
      ["--out", "x.jsonl", "--user-agent", USER_AGENT],
      "Missing stream name: say what to record, like 'eventstreams record recentchange --out rc.cassette.jsonl' or --stream recentchange (several: page-create,page-delete)",
    ],
    [
      ["test", "--user-agent", USER_AGENT],
      "Missing --out <file>: say where to write the cassette, like --out fixtures/recentchange.cassette.jsonl",
    ],
    [
      ["test", "--out=", "--user-agent", USER_AGENT],
      "Invalid --out '': say where to write the cassette, like --out fixtures/recentchange.cassette.jsonl",
    ],
    [
      ["test", "--out", "x.jsonl"],
      "Missing user agent: Wikimedia requires one naming your tool and how to reach you; pass --user-agent 'my-tool/1.0 (https://example.org/my-tool; me@example.org)' or set EVENTSTREAMS_USER_AGENT",
    ],
    [
      ["test", ...ok, "--events", "ten"],
      "Invalid --events 'ten': expected a positive whole number, like --events 100",
    ],
    [
      ["test", ...ok, "--max", "0"],
      "Invalid --max '0': expected a positive whole number, like --max 100",
    ],
    [
      ["test", ...ok, "--events", "10", "--max", "20"],
      "Use --events or its alias --max, not both (got --events '10' and --max '20')",
    ],
    [
      ["test", ...ok, "--duration", "soon"],
      "Invalid --duration 'soon': expected a number with a unit, like 30s, 15m, 2h or 1d (units: ms, s, m, h, d)",
    ],
    [
      ["test", ...ok, "--duration", "0s"],
      "Invalid --duration '0s': expected a duration above zero, like 30s or 15m",
    ],
    [
      ["test", ...ok, "--since", "today"],
      "Invalid --since 'today': expected an ISO 8601 date-time like 2026-09-27T16:00:00Z, or a duration before now like 30s, 15m, 2h or 1d, or epoch milliseconds",
    ],
    [
      ["test", ...ok, "--base-url", "ftp://example.org"],
      "Invalid --base-url 'ftp://example.org': expected an http(s) URL like https://stream.wikimedia.org or http://127.0.0.1:8092",
    ],
    [
      ["test", ...ok, "--bogus"],
      "Unknown option '--bogus' for 'eventstreams record'; run 'eventstreams record --help' to see the options",
    ],
    [
      ["test", ...ok, "--events"],
      "Option '--events' needs a value (write --events=VALUE when the value starts with '-'); run 'eventstreams record --help' to see the options",
    ],
  ];
  for (const [args, message] of table) {
    const io = testIo(new ManualClock(NOW));
    assert.equal(await main(["record", ...args], io), 2, args.join(" "));
    assert.equal(io.out.text, "");
    assert.equal(io.err.text, `eventstreams: ${message}\n`, args.join(" "));
  }

  // An unknown stream: the message lists the known ones and names the flag that allows it.
  const unknown = testIo(new ManualClock(NOW));
  assert.equal(await main(["record", "recentchanges", ...ok], unknown), 2);
  assert.match(
    unknown.err.text,
    /^eventstreams: Unknown stream 'recentchanges': expected one of .*mediawiki\.recentchange.*; pass --allow-unknown-streams to use a stream this client does not know\n$/,
  );
  assert.throws(
    () => parseRecordArgs(["--stream", "recentchanges", ...ok], env, NOW),
    UsageError,
  );

  // The client's User-Agent policy check: a generic client is refused before any request.
  const generic = testIo(new ManualClock(NOW));
  assert.equal(
    await main([
      "record",
      "test",
      "--out",
      "x.jsonl",
      "--user-agent",
      "curl/8.0",
    ], generic),
    2,
  );
  assert.match(
    generic.err.text,
    /^eventstreams: Cannot use --user-agent 'curl\/8\.0': it names a generic client, not your tool; Wikimedia's User-Agent policy/,
  );
});

Deno.test("record --help shows how to record from the real server and that secrets are never written", async () => {
  const io = testIo(new ManualClock(NOW));
  assert.equal(await main(["record", "--help"], io), 0);
  assert.equal(io.out.text, RECORD_HELP);
  assert.equal(io.err.text, "");
  for (
    const text of [
      "eventstreams record <stream>... --out <file> [options]",
      "deno task record",
      "From the real server (needs internet access)",
      "Secret headers\n(Authorization, Cookie, Set-Cookie, API keys, tokens) are never written",
      "--stream <stream>",
      "--events <n>",
      "--max <n>                 Alias of --events",
      "default 100",
      "--duration <d>",
      "--since <time>",
      "--out, -o <file>",
      "--note <text>",
      "--user-agent <ua>",
      "EVENTSTREAMS_USER_AGENT",
      "--base-url <url>",
      "https://stream.wikimedia.org",
      "--allow-unknown-streams",
      "what was recorded is still written",
    ]
  ) {
    assert.ok(RECORD_HELP.includes(text), `--help should mention: ${text}`);
  }
});

Deno.test("deno task record runs the CLI's record command", async () => {
  const output = await runProcess(
    Deno.execPath(),
    ["task", "--quiet", "record", "--help"],
    { cwd: new URL("..", import.meta.url) },
  );
  assert.equal(output.code, 0, output.stderr);
  assert.equal(output.stdout, RECORD_HELP);
});
